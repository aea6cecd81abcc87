/**
 * The write-ahead audit of revoke and the drift guard, on the same table and with the same conditional writes as the
 * fix pipeline's (ports.ts, `AuditWrite`; DESIGN.md, "Audit"):
 *
 * 1. an `intent` before the write (a revoke's intent lists the values it takes out, a restore's the values it puts
 *    back); when it cannot be written, nothing is written to ECR;
 * 2. after the write is verified, the notice goes out, then the record becomes `applied` with `notifiedAt` (the same
 *    order as a fix, for the same reason: a crash in between leaves an intent whose change is in the policy, which the
 *    next attempt completes and notifies);
 * 3. a record an earlier attempt left unfinished is completed when its change is in the policy ("it was our write"),
 *    and an `applied` record whose notice never went out gets it now;
 * 4. a decision that writes nothing is `recorded`.
 */
import type { Config } from '../domain/config';
import type { GrantDecision } from '../domain/grant-decision';
import type { RenderedNotification } from '../domain/notification';
import { changeInPolicy, notifiedFields, replaceOf } from './audit-records';
import { AuditNotWrittenError, AuditRecordBusyError, messageOf } from './errors';
import type { GrantNotices } from './grant-notices';
import type { AuditLog, AuditRecord, AuditState, Clock } from './ports';
import { LIVE_INTENT_MS } from './write-ahead-audit';

/** What identifies a grant decision's record: its repository, and an event id and time of its own. */
export interface GrantKey {
  readonly eventId: string;
  readonly eventTime: string;
  /** Who made the call (the ECR call's caller, or the person running revoke). */
  readonly actorArn: string | null;
}

export interface GrantAuditDependencies {
  readonly config: Pick<Config, 'mode' | 'auditRetentionDays'>;
  /** Null: no audit table (a revoke with --dry-run, or the CLI without one). */
  readonly audit: AuditLog | null;
  readonly notices: GrantNotices;
  readonly clock: Pick<Clock, 'now'>;
  readonly runId: string;
}

/** A decision as it ends: whether its change is in the policy, and its notice. */
export interface GrantOutcome {
  readonly decision: GrantDecision;
  readonly key: GrantKey;
  readonly applied: boolean;
  /** Completed from an earlier attempt's record; nothing was written now. */
  readonly replayed: boolean;
  readonly notice: RenderedNotification | null;
  readonly notificationId: string | null;
  /** The notice was due but could not be sent (the record keeps it unsent, so a later attempt sends it). */
  readonly noticeError: unknown;
}

export class GrantAudit {
  constructor(private readonly deps: GrantAuditDependencies) {}

  /** A fresh record of `decision` in `state`, owned by this run. */
  record(decision: GrantDecision, key: GrantKey, state: AuditState): AuditRecord {
    const now = this.deps.clock.now();
    const stamp = now.toISOString();
    return {
      repositoryArn: decision.repository.repositoryArn,
      eventId: key.eventId,
      eventTime: key.eventTime,
      kind: decision.kind,
      state,
      decidedAt: stamp,
      updatedAt: stamp,
      owner: this.deps.runId,
      consumerAccount: decision.consumerAccount,
      callerArn: key.actorArn,
      functionArn: decision.functionArn,
      outcome: decision.outcome,
      reason: decision.reason,
      explanation: decision.explanation,
      mode: this.deps.config.mode,
      policyBefore: decision.policyBefore,
      policyPlanned: decision.policyAfter,
      policyAfter: null,
      grants: decision.grants.map(({ sid, change, added }) => ({ sid, change, added: [...added] })),
      removed: decision.removed.map(({ sid, values }) => ({ sid, values: [...values] })),
      error: null,
      notice: null,
      notifiedAt: null,
      notificationId: null,
      expiresAt: Math.floor(now.getTime() / 1000) + this.deps.config.auditRetentionDays * 86_400,
    };
  }

  /**
   * Records decisions that write nothing, then sends their notices (where wanted). A record of an earlier delivery's
   * write under the same key is left as it is (the decision is still reported and notified).
   */
  async recordDecisions(
    decisions: readonly { readonly decision: GrantDecision; readonly key: GrantKey }[],
    /** Send their notices (the drift guard's reports); a revoke that changes nothing is only shown to its runner. */
    notify = true
  ): Promise<GrantOutcome[]> {
    const { audit, notices } = this.deps;
    if (audit !== null && decisions.length > 0) {
      const results = await audit.write(
        decisions.map(({ decision, key }) => ({
          kind: 'decision',
          record: this.record(decision, key, 'recorded'),
        }))
      );
      results.forEach((result, index) => {
        if (result.status === 'unwritten') {
          const { decision, key } = decisions[index] as (typeof decisions)[number];
          throw new AuditNotWrittenError(
            decision.repository.repositoryArn,
            key.eventId,
            result.reason
          );
        }
      });
    }
    return Promise.all(
      decisions.map(async ({ decision, key }) => {
        if (!notify || !notices.wanted(decision)) {
          return outcomeOf(decision, key, false, null, null, null);
        }
        const notice = notices.render(decision, false);
        try {
          const id = await notices.publish(decision, notice);
          return outcomeOf(decision, key, false, notice, id, null);
        } catch (error) {
          return outcomeOf(decision, key, false, notice, null, error);
        }
      })
    );
  }

  /**
   * Step 1: the intents of one write (the notice each will send is rendered now, so whichever attempt completes the
   * record sends the same text). Throws when an intent cannot be written: then nothing may be written to ECR.
   */
  async writeIntents(
    changes: readonly { readonly decision: GrantDecision; readonly key: GrantKey }[]
  ): Promise<AuditRecord[]> {
    const { audit, notices, clock } = this.deps;
    const records = changes.map(({ decision, key }) => ({
      ...this.record(decision, key, 'intent'),
      notice: notices.render(decision, true),
    }));
    if (audit === null) return records;
    const staleBefore = new Date(clock.now().getTime() - LIVE_INTENT_MS).toISOString();
    const results = await audit.write(
      records.map((record) => ({ kind: 'intent', record, staleBefore }))
    );
    results.forEach((result, index) => {
      const record = records[index] as AuditRecord;
      if (result.status === 'written') return;
      if (result.status === 'conflict' && result.existing?.state === 'intent') {
        const { owner, updatedAt } = result.existing;
        const retryAfter = new Date(Date.parse(updatedAt) + LIVE_INTENT_MS).toISOString();
        throw new AuditRecordBusyError(
          record.repositoryArn,
          record.eventId,
          owner,
          updatedAt,
          retryAfter
        );
      }
      const detail =
        result.status === 'unwritten'
          ? result.reason
          : `an earlier ${result.existing?.state ?? 'missing'} record is in the way`;
      throw new AuditNotWrittenError(record.repositoryArn, record.eventId, detail);
    });
    return records;
  }

  /** Step 2: the change is verified. Sends the notice (where wanted), then completes the record. */
  async complete(
    intent: AuditRecord,
    decision: GrantDecision,
    key: GrantKey,
    policyAfter: string | null,
    replayed = false
  ): Promise<GrantOutcome> {
    const { notices, clock } = this.deps;
    const notice = intent.notice ?? notices.render(decision, true);
    let sent: { id: string } | { error: unknown } | undefined;
    if (notices.wanted(decision)) {
      try {
        sent = { id: await notices.publish(decision, notice) };
      } catch (error) {
        sent = { error };
      }
    }
    const now = clock.now();
    await this.replace(intent, {
      ...intent,
      updatedAt: now.toISOString(),
      owner: this.deps.runId,
      state: 'applied',
      policyAfter,
      error: null,
      ...notifiedFields(sent, now),
    });
    return outcomeOf(
      decision,
      key,
      true,
      notice,
      sent !== undefined && 'id' in sent ? sent.id : null,
      sent !== undefined && 'error' in sent ? sent.error : null,
      replayed
    );
  }

  /** The write was refused or could not be verified: the record becomes `failed` (a retry may complete it). */
  async fail(intent: AuditRecord, error: unknown): Promise<void> {
    await this.replace(intent, {
      ...intent,
      updatedAt: this.deps.clock.now().toISOString(),
      owner: this.deps.runId,
      state: 'failed',
      error: messageOf(error),
    });
  }

  /**
   * Step 3 for one record an earlier attempt left: an `applied` one without its notice gets it; an `intent` (not
   * live any more) or `failed` one whose change is in `policyNow` is completed. Null when the record needs nothing
   * (or its change is not in the policy: the caller decides anew). Throws `AuditRecordBusyError` for another run's
   * live intent.
   */
  async resume(
    existing: AuditRecord,
    decision: GrantDecision,
    key: GrantKey,
    policyNow: string | null
  ): Promise<GrantOutcome | null> {
    const { audit, notices, clock, runId } = this.deps;
    if (existing.state === 'applied') {
      if (existing.notifiedAt !== null || existing.notice === null || !notices.wanted(decision)) {
        return null;
      }
      try {
        const id = await notices.publish(decision, existing.notice);
        await (audit as AuditLog).markNotified(existing, clock.now().toISOString(), id);
        return outcomeOf(decision, key, true, existing.notice, id, null, true);
      } catch (error) {
        return outcomeOf(decision, key, true, existing.notice, null, error, true);
      }
    }
    if (existing.state === 'recorded') return null;
    const staleBefore = new Date(clock.now().getTime() - LIVE_INTENT_MS).toISOString();
    if (
      existing.state === 'intent' &&
      existing.owner !== runId &&
      existing.updatedAt >= staleBefore
    ) {
      const retryAfter = new Date(Date.parse(existing.updatedAt) + LIVE_INTENT_MS).toISOString();
      throw new AuditRecordBusyError(
        existing.repositoryArn,
        existing.eventId,
        existing.owner,
        existing.updatedAt,
        retryAfter
      );
    }
    if (!changeInPolicy(existing, policyNow)) return null;
    return this.complete(existing, decision, key, policyNow, true);
  }

  private async replace(existing: AuditRecord, record: AuditRecord): Promise<void> {
    const audit = this.deps.audit;
    if (audit === null) return;
    const [result] = await audit.write([replaceOf(existing, record)]);
    if (result?.status !== 'written') {
      const detail =
        result?.status === 'unwritten' ? result.reason : 'the record changed meanwhile';
      throw new AuditNotWrittenError(existing.repositoryArn, existing.eventId, detail);
    }
  }
}

/** The decision an existing record describes, for resuming it (the record's own words, on today's repository). */
export function decisionOfRecord(
  record: AuditRecord,
  base: Pick<GrantDecision, 'repository' | 'call'>
): GrantDecision {
  return {
    kind: record.kind === 'revoke' ? 'revoke' : 'drift',
    outcome: record.outcome,
    reason: record.reason,
    explanation: record.explanation,
    nextSteps: [],
    repository: base.repository,
    consumerAccount: record.consumerAccount,
    functionArn: record.functionArn,
    policyBefore: record.policyBefore,
    policyAfter: record.policyPlanned,
    deletesPolicy:
      record.kind === 'revoke' && record.policyPlanned === null && record.removed.length > 0,
    removed: record.removed,
    grants: record.grants.map((grant) => ({ ...grant, statement: {} })),
    call: base.call,
  };
}

function outcomeOf(
  decision: GrantDecision,
  key: GrantKey,
  applied: boolean,
  notice: RenderedNotification | null,
  notificationId: string | null,
  noticeError: unknown,
  replayed = false
): GrantOutcome {
  return { decision, key, applied, replayed, notice, notificationId, noticeError };
}
