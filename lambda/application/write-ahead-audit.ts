/**
 * The write-ahead audit and the notices (DESIGN.md, "Audit"): no policy write without a record written before it, no
 * verified write without a FIXED notice, and never two records, or two notices, for one fix.
 *
 * 1. Before `SetRepositoryPolicy`, an `intent` per event whose fix the write carries (one conditional call for the
 *    whole repository group). If it cannot be written, nothing is written to ECR.
 * 2. After the write is verified, the FIXED notice is published, then the record becomes `applied` with `notifiedAt`
 *    (in the batch's one conditional write, which also records every other decision). A write that ECR refused or
 *    that could not be verified becomes `failed`.
 * 3. A later delivery of the same event meets the record (the conditional write fails and returns it): an `applied`
 *    record is never overwritten, and its notice is sent only if `notifiedAt` is missing; an `intent` or `failed`
 *    record whose grants are in the policy is completed as `applied` ("it was our write") and notified; a fresh
 *    `intent` of another run means that run is still at work, so the event is retried later.
 *
 * Why the notice goes out before the record is completed: a crash between the two leaves an `intent` whose grants
 * are in the policy, and the next delivery completes it and notifies (again). The other order would leave an
 * `applied` record marked as notified although the notice was never sent. So a verified write always gets its
 * notice; only a crash or a failed audit write right after publishing can make it arrive twice (at least once).
 */
import type { Config } from '../domain/config';
import type { Decision } from '../domain/decision';
import type { RenderedNotification } from '../domain/notification';
import { ownedGrantsPresent } from '../domain/owned-grants';
import {
  decisionFromRecord,
  keyOf,
  notifiedFields,
  recordOf,
  recordable,
  replaceOf,
} from './audit-records';
import {
  AuditNotWrittenError,
  AuditRecordBusyError,
  NoticeNotSentError,
  messageOf,
} from './errors';
import type { EventOutcome, EventResult, PendingEvent } from './event-outcome';
import type { Notices } from './notices';
import type {
  AuditLog,
  AuditRecord,
  AuditState,
  AuditWrite,
  AuditWriteResult,
  Clock,
} from './ports';
import type { IntentsWritten, IntentWriter } from './repository-fix';

/**
 * How long an `intent` counts as its run's work in progress. Longer than any run holds it (the Lambda's timeout and
 * the repository lease are 60 s), shorter than the queue's visibility timeout (360 s), so the first redelivery after
 * a crash takes the intent over.
 */
export const LIVE_INTENT_MS = 180_000;

export interface WriteAheadAuditDependencies {
  readonly config: Config;
  /** Null: no audit log. Writes are then made without intents and nothing is recorded. */
  readonly audit: AuditLog | null;
  readonly notices: Notices;
  readonly clock: Clock;
  /** This pipeline run's id: the owner of the records it writes. */
  readonly runId: string;
  /** Told right before a write that no audit log records (no audit log at all). */
  readonly onUnauditedWrite?: ((repositoryArn: string) => void) | undefined;
}

type Tags = Readonly<Record<string, string>>;

/** A record that decides for an event: the one met by a conditional write, with the facts needed to resolve it. */
interface Conflict {
  readonly index: number;
  readonly existing: AuditRecord;
  readonly decision: Decision;
  /** The event's own decision still stands (a record is written for it if the existing one allows). */
  readonly ownDecisionStands: boolean;
  readonly policySeen: string | null | undefined;
}

export class WriteAheadAudit implements IntentWriter {
  constructor(private readonly deps: WriteAheadAuditDependencies) {}

  /** Step 1: the intents of one write, in one conditional call. */
  async writeIntents(
    fixes: readonly { readonly pending: PendingEvent; readonly decision: Decision }[],
    policyBefore: string | null,
    policyPlanned: string,
    tags: Tags
  ): Promise<IntentsWritten> {
    const intents = new Map<PendingEvent, AuditRecord>();
    const conflicts = new Map<PendingEvent, AuditRecord>();
    const { audit, clock, notices } = this.deps;
    if (audit === null) {
      const first = fixes[0];
      if (first !== undefined) this.deps.onUnauditedWrite?.(first.pending.target.repositoryArn);
      return { intents, conflicts, unwritten: null };
    }
    const now = clock.now();
    const staleBefore = new Date(now.getTime() - LIVE_INTENT_MS).toISOString();
    const records = fixes.map(({ decision }) => ({
      ...this.record(decision, 'intent', now),
      policyBefore,
      policyPlanned,
      notice: notices.render(decision, true, tags),
    }));
    const results = await audit.write(
      records.map((record) => ({ kind: 'intent', record, staleBefore }))
    );
    let unwritten: string | null = null;
    results.forEach((result, index) => {
      const { pending } = fixes[index] as (typeof fixes)[number];
      if (result.status === 'written') intents.set(pending, records[index] as AuditRecord);
      else if (result.status === 'conflict' && result.existing !== null) {
        conflicts.set(pending, result.existing);
      } else {
        unwritten ??= `the intent of event ${pending.call.eventId} was not written (${result.status === 'unwritten' ? result.reason : 'no record'})`;
      }
    });
    return { intents, conflicts, unwritten };
  }

  /** Steps 2 and 3: completes every record of the batch and sends the notices; one result per outcome, in order. */
  async settle(outcomes: readonly EventOutcome[]): Promise<EventResult[]> {
    const { notices, clock } = this.deps;
    const now = clock.now();
    const results: (EventResult | undefined)[] = outcomes.map(() => undefined);

    // The FIXED notices of this run's verified writes go out before their records are completed (see above).
    const published = new Map<number, { id: string } | { error: unknown }>();
    await Promise.all(
      outcomes.map(async (outcome, index) => {
        if (outcome.kind !== 'decided' || !outcome.applied || !notices.wanted(outcome.decision)) {
          return;
        }
        const notice =
          outcome.intent?.notice ?? notices.render(outcome.decision, true, outcome.tags);
        published.set(index, await attempt(() => notices.publish(outcome.decision, notice)));
      })
    );

    // The batch's records, in one conditional write.
    const writes = new Map<number, AuditWrite>();
    outcomes.forEach((outcome, index) => {
      const write = this.finalWrite(outcome, published.get(index), now);
      if (write !== null) writes.set(index, write);
    });
    const written = await this.writeAll(writes);

    const conflicts: Conflict[] = [];
    const toNotify: number[] = [];
    outcomes.forEach((outcome, index) => {
      const messageId = outcome.incoming.messageId;
      if (outcome.kind === 'failed') {
        results[index] = { messageId, status: 'failed', error: outcome.error };
        return;
      }
      if (outcome.kind === 'recorded-earlier') {
        conflicts.push({
          index,
          existing: outcome.existing,
          decision: outcome.decision,
          ownDecisionStands: false,
          policySeen: outcome.policySeen,
        });
        return;
      }
      const result = written.get(index);
      if (result instanceof Error || result?.status === 'unwritten') {
        // Only recordable decisions (with a call) are written.
        const key = keyOf(outcome.decision);
        const detail = result instanceof Error ? messageOf(result) : result.reason;
        results[index] = failed(
          messageId,
          new AuditNotWrittenError(key.repositoryArn, key.eventId, detail)
        );
        return;
      }
      if (result?.status === 'conflict' && outcome.intent === null && result.existing !== null) {
        conflicts.push({
          index,
          existing: result.existing,
          decision: outcome.decision,
          ownDecisionStands: true,
          policySeen: outcome.policySeen,
        });
        return;
      }
      // Written (or this run's own intent was taken over meanwhile by another run, which now owns the record).
      if (outcome.applied) {
        results[index] = this.appliedResult(
          messageId,
          outcome.decision,
          outcome.intent,
          outcome.tags,
          published.get(index)
        );
        return;
      }
      toNotify.push(index);
    });

    toNotify.push(...(await this.resolve(outcomes, conflicts, results, now)));

    // The notices of every other decision, after their records.
    await Promise.all(
      toNotify.map(async (index) => {
        const outcome = outcomes[index] as Extract<EventOutcome, { kind: 'decided' }>;
        results[index] = await this.notifyDecision(outcome);
      })
    );
    return results as EventResult[];
  }

  /** The write that completes an outcome's record, or null when there is nothing to write. */
  private finalWrite(
    outcome: EventOutcome,
    notice: { id: string } | { error: unknown } | undefined,
    now: Date
  ): AuditWrite | null {
    if (this.deps.audit === null) return null;
    const stamp = { updatedAt: now.toISOString(), owner: this.deps.runId };
    if (outcome.kind === 'recorded-earlier') return null;
    if (outcome.kind === 'failed') {
      if (outcome.intent === null) return null;
      return replaceOf(outcome.intent, {
        ...outcome.intent,
        ...stamp,
        state: 'failed',
        error: messageOf(outcome.error),
      });
    }
    const { decision, intent } = outcome;
    if (intent !== null && outcome.applied) {
      return replaceOf(intent, {
        ...intent,
        ...stamp,
        state: 'applied',
        policyAfter: outcome.policySeen ?? null,
        ...notifiedFields(notice, now),
      });
    }
    if (intent !== null) {
      // The write announced by the intent was refused, never verified, or turned out unneeded on a re-plan.
      const failure = outcome.writeFailure;
      return replaceOf(intent, {
        ...this.record(decision, failure === null ? 'recorded' : 'failed', now),
        decidedAt: intent.decidedAt,
        ...(failure === null
          ? {}
          : { policyPlanned: intent.policyPlanned, grants: intent.grants, error: failure }),
      });
    }
    if (!recordable(decision)) return null;
    return { kind: 'decision', record: this.record(decision, 'recorded', now) };
  }

  /**
   * The records met by conditional writes decide for their events. Resolves them (publishing notices where one is
   * due) and returns the indexes whose own decision stands and is to be notified as usual.
   */
  private async resolve(
    outcomes: readonly EventOutcome[],
    conflicts: readonly Conflict[],
    results: (EventResult | undefined)[],
    now: Date
  ): Promise<number[]> {
    const { notices, runId } = this.deps;
    const staleBefore = new Date(now.getTime() - LIVE_INTENT_MS).toISOString();
    const stamp = { updatedAt: now.toISOString(), owner: runId };
    const ownDecisions: number[] = [];
    /** Records to replace, each with the result its event gets once the replacement is written. */
    const replaces = new Map<number, { write: AuditWrite; result: EventResult | 'own-decision' }>();

    await Promise.all(
      conflicts.map(async (conflict) => {
        const { index, existing, decision } = conflict;
        const messageId = (outcomes[index] as EventOutcome).incoming.messageId;
        const replayed = decisionFromRecord(existing, decision.call, decision.target);
        const grantsPresent =
          conflict.policySeen !== undefined &&
          ownedGrantsPresent(conflict.policySeen, existing.grants);

        if (existing.state === 'applied') {
          if (existing.notifiedAt === null && notices.wanted(replayed)) {
            results[index] = await this.sendMissingNotice(messageId, existing, replayed);
          } else if (conflict.ownDecisionStands) {
            // A duplicate delivery: the applied record stays as it is; the decision made now is reported.
            ownDecisions.push(index);
          } else {
            results[index] = done(messageId, replayed, grantsPresent, null, null, true);
          }
        } else if (
          existing.state === 'intent' &&
          existing.owner !== runId &&
          existing.updatedAt >= staleBefore
        ) {
          const { repositoryArn, eventId, owner, updatedAt } = existing;
          // The adapters only return records with ISO 8601 times (dynamodb-audit-log.ts checks them).
          const retryAfter = new Date(Date.parse(updatedAt) + LIVE_INTENT_MS).toISOString();
          results[index] = failed(
            messageId,
            new AuditRecordBusyError(repositoryArn, eventId, owner, updatedAt, retryAfter)
          );
        } else if (existing.state !== 'recorded' && grantsPresent) {
          // An earlier attempt's write is in the policy: it was ours. Notify, then complete the record.
          const notice = existing.notice ?? notices.render(replayed, true, undefined);
          const sent = notices.wanted(replayed)
            ? await attempt(() => notices.publish(replayed, notice))
            : undefined;
          const completed: AuditRecord = {
            ...existing,
            ...stamp,
            state: 'applied',
            policyAfter: conflict.policySeen ?? null,
            error: null,
            ...notifiedFields(sent, now),
          };
          replaces.set(index, {
            write: replaceOf(existing, completed),
            result: this.appliedResult(messageId, replayed, existing, undefined, sent, true),
          });
        } else if (!conflict.ownDecisionStands) {
          // The record changed between the intent write and now: let a retry look again.
          const detail = `an earlier ${existing.state} record is in the way`;
          results[index] = failed(
            messageId,
            new AuditNotWrittenError(existing.repositoryArn, existing.eventId, detail)
          );
        } else if (existing.state !== 'recorded' && conflict.policySeen === undefined) {
          // Without the policy there is no telling whether that write happened: its record is left as it is.
          ownDecisions.push(index);
        } else {
          // The earlier write is not in the policy (it never happened, or was undone): the decision made now
          // replaces its record.
          replaces.set(index, {
            write: replaceOf(existing, this.record(decision, 'recorded', now)),
            result: 'own-decision',
          });
        }
      })
    );

    const written = await this.writeAll(
      new Map([...replaces].map(([index, replace]) => [index, replace.write]))
    );
    for (const [index, replace] of replaces) {
      const result = written.get(index);
      if (result !== undefined && !(result instanceof Error) && result.status === 'written') {
        if (replace.result === 'own-decision') ownDecisions.push(index);
        else results[index] = replace.result;
        continue;
      }
      const { repositoryArn, eventId } = replace.write.record;
      const detail =
        result instanceof Error
          ? messageOf(result)
          : result?.status === 'unwritten'
            ? result.reason
            : 'the record changed meanwhile';
      results[index] = failed(
        (outcomes[index] as EventOutcome).incoming.messageId,
        new AuditNotWrittenError(repositoryArn, eventId, detail)
      );
    }
    return ownDecisions;
  }

  /** An applied record whose notice never went out: send it now, then mark it sent. */
  private async sendMissingNotice(
    messageId: string,
    existing: AuditRecord,
    replayed: Decision
  ): Promise<EventResult> {
    const { notices, audit, clock } = this.deps;
    const notice = existing.notice ?? notices.render(replayed, true, undefined);
    const sent = await attempt(() => notices.publish(replayed, notice));
    if ('error' in sent)
      return failed(messageId, new NoticeNotSentError(sent.error, replayed, true));
    try {
      // False: another run marked it first (it sent the notice too: at least once).
      await (audit as AuditLog).markNotified(existing, clock.now().toISOString(), sent.id);
    } catch (error) {
      const { repositoryArn, eventId } = existing;
      return failed(messageId, new AuditNotWrittenError(repositoryArn, eventId, messageOf(error)));
    }
    return done(messageId, replayed, true, sent.id, notice, true);
  }

  /** Notifies a decision that changed nothing (per `notifyOn`). */
  private async notifyDecision(
    outcome: Extract<EventOutcome, { kind: 'decided' }>
  ): Promise<EventResult> {
    const { notices } = this.deps;
    const { decision, incoming } = outcome;
    if (!notices.wanted(decision))
      return done(incoming.messageId, decision, false, null, null, false);
    const notice = notices.render(decision, false, outcome.tags);
    const sent = await attempt(() => notices.publish(decision, notice));
    if ('error' in sent) return failed(incoming.messageId, sent.error);
    return done(incoming.messageId, decision, false, sent.id, notice, false);
  }

  private appliedResult(
    messageId: string,
    decision: Decision,
    record: AuditRecord | null,
    tags: Tags | undefined,
    sent: { id: string } | { error: unknown } | undefined,
    replayed = false
  ): EventResult {
    if (sent !== undefined && 'error' in sent) {
      return failed(messageId, new NoticeNotSentError(sent.error, decision, replayed));
    }
    const notice = record?.notice ?? this.deps.notices.render(decision, true, tags);
    return done(messageId, decision, true, sent?.id ?? null, notice, replayed);
  }

  /** A fresh record of `decision` in `state`, owned by this run. */
  private record(decision: Decision, state: AuditState, now: Date): AuditRecord {
    const { config, runId } = this.deps;
    return recordOf(decision, state, now, {
      owner: runId,
      mode: config.mode,
      retentionDays: config.auditRetentionDays,
    });
  }

  private async writeAll(
    writes: ReadonlyMap<number, AuditWrite>
  ): Promise<Map<number, AuditWriteResult | Error>> {
    const audit = this.deps.audit;
    const indexes = [...writes.keys()];
    const results = new Map<number, AuditWriteResult | Error>();
    if (audit === null || indexes.length === 0) return results;
    try {
      const written = await audit.write(indexes.map((index) => writes.get(index) as AuditWrite));
      indexes.forEach((index, position) =>
        results.set(index, written[position] as AuditWriteResult)
      );
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      for (const index of indexes) results.set(index, cause);
    }
    return results;
  }
}

async function attempt(
  publish: () => Promise<string>
): Promise<{ id: string } | { error: unknown }> {
  try {
    return { id: await publish() };
  } catch (error) {
    return { error };
  }
}

function done(
  messageId: string,
  decision: Decision,
  applied: boolean,
  notificationId: string | null,
  notice: RenderedNotification | null,
  replayed: boolean
): EventResult {
  return { messageId, status: 'done', decision, applied, notificationId, notice, replayed };
}

function failed(messageId: string, error: unknown): EventResult {
  return { messageId, status: 'failed', error };
}
