/**
 * The drift guard (DESIGN.md, "After the fix"): for one successful ECR `SetRepositoryPolicy`,
 * `DeleteRepositoryPolicy` or `DeleteRepository` call, compares the repository's policy with the grants the audit
 * table says the fixer made and nobody took back through it (grant-ledger.ts), and reports or restores what is missing
 * (drift.ts), with the same registry access, lease, read–write–verify loop and write-ahead audit as a fix.
 *
 * The audit decides, not the caller: the fixer's own writes add grants (they are never missing afterwards), and a
 * revoke records its intent before it writes (its values have left the ledger by the time its event arrives), so
 * neither is ever drift, whoever the CloudTrail record names as the caller. Every call is checked against the policy
 * as it is now, not as the event describes it, so a late or repeated event can only find what is really missing.
 *
 * Records: one per consumer account and call, keyed by the call's event id and the account (`EVENT/ACCOUNT`), so a
 * redelivery of the same call meets its own records: a restore completed by an earlier attempt is not done twice, and
 * a notice it could not send goes out now.
 */
import type { Config } from '../domain/config';
import { grantDecisionDetail } from '../domain/decision-event';
import type { ConsumerDrift } from '../domain/drift';
import { assessDrift, findDrift, grantsOfDrift, respondToDrift } from '../domain/drift';
import type { UndoContext } from '../domain/undo-instructions';
import type { GrantDecision, PolicyCall } from '../domain/grant-decision';
import type { DecisionEventPublisher } from './decision-events';
import { RepositoryNotFoundError } from './errors';
import type { GrantKey, GrantOutcome } from './grant-audit';
import { GrantAudit, decisionOfRecord } from './grant-audit';
import { GrantNotices } from './grant-notices';
import type { OutboxReport } from './notice-outbox';
import { NoticeOutbox } from './notice-outbox';
import type {
  AuditLog,
  AuditRecord,
  Clock,
  Notifier,
  RegistryAccess,
  RepositoryLocks,
  RepositoryRef,
} from './ports';
import { withRepositoryLease } from './repository-lease';
import { writeVerified } from './verified-write';

export interface DriftGuardDependencies {
  readonly config: Config;
  readonly registry: RegistryAccess;
  readonly audit: AuditLog | null;
  readonly locks: RepositoryLocks | null;
  readonly notifier: Notifier | null;
  readonly decisionEvents: DecisionEventPublisher | null;
  readonly clock: Clock;
  /** This pipeline run's id: the owner of its leases and records. */
  readonly runId: string;
  /** What the notices' revoke commands name: the audit table and the central region. */
  readonly undo?: UndoContext;
}

/** What the guard made of one call. */
export type DriftCheck = (
  | {
      readonly kind: 'ignored';
      readonly reason: 'no-drift' | 'drift-already-reported' | 'drift-guard-off';
      readonly explanation: string;
    }
  | {
      readonly kind: 'decided';
      /** One per consumer account with missing grants. */
      readonly outcomes: readonly GrantOutcome[];
      /** The restore was written but could not be verified (another writer kept replacing the policy). */
      readonly unverified: boolean;
    }
) & {
  /**
   * What the notice outbox did for the repository's other records (notices other runs' writes still owed, writes it
   * completed); absent when it did nothing.
   */
  readonly outbox?: OutboxReport;
};

export class DriftGuard {
  private readonly grantAudit: GrantAudit;

  constructor(private readonly deps: DriftGuardDependencies) {
    this.grantAudit = new GrantAudit({
      config: deps.config,
      audit: deps.audit,
      notices: new GrantNotices(deps.notifier, deps.config),
      clock: deps.clock,
      runId: deps.runId,
    });
  }

  /** Checks one call. Errors of AWS propagate (the message is retried; everything here is safe to repeat). */
  async check(call: PolicyCall): Promise<DriftCheck> {
    const { config, audit } = this.deps;
    if (config.driftAction === 'off') return assessDrift(call, [], null, config) as DriftCheck;
    const where = `repository ${call.repository.repositoryName} (account ${call.repository.registryAccount}, ${call.repository.region})`;
    if (audit === null) {
      return ignored(
        'no-drift',
        `There is no audit table, so no grant of lambda-ecr-autofix on ${where} is known.`
      );
    }
    const records = await audit.list({ repositoryArn: call.repository.repositoryArn });
    await this.announceRevokes(audit, call, records);
    const own = records.filter((record) => record.eventId.startsWith(`${call.eventId}/`));
    const others = records.filter((record) => !own.includes(record));
    const seen: { policy: string | null | undefined } = { policy: undefined };
    const check = await this.decide(call, own, others, seen);
    // The notice outbox on the records read anyway: what other runs' writes on this repository still owe.
    const { notifier, clock, runId } = this.deps;
    const outbox = await new NoticeOutbox({ audit, notifier, config, clock, runId }).settle(
      others,
      seen.policy
    );
    const quiet = outbox.sent.length === 0 && outbox.unsent.length === 0 && outbox.completed === 0;
    return quiet ? check : { ...check, outbox };
  }

  /** The check proper, once the records are read; `seen.policy` gets the policy it read (if it read one). */
  private async decide(
    call: PolicyCall,
    own: readonly AuditRecord[],
    others: readonly AuditRecord[],
    seen: { policy: string | null | undefined }
  ): Promise<DriftCheck> {
    const { config } = this.deps;
    const where = `repository ${call.repository.repositoryName} (account ${call.repository.registryAccount}, ${call.repository.region})`;
    if (call.eventName === 'DeleteRepository') {
      const assessed = assessDrift(call, others, null, config);
      if (assessed.kind !== 'deleted') return assessed as DriftCheck;
      const outcomes = await this.grantAudit.recordDecisions(
        assessed.decisions.map((decision) => ({ decision, key: keyOf(call, decision) }))
      );
      return this.decided(outcomes, false);
    }

    const ref = refOf(call);
    const store = await this.deps.registry.storeFor(ref, `lambda-ecr-autofix-${call.eventId}`);
    let policy: string | null;
    try {
      policy = await store.getPolicy(ref);
      seen.policy = policy;
    } catch (error) {
      if (error instanceof RepositoryNotFoundError) {
        return ignored(
          'no-drift',
          `${where} does not exist any more; its DeleteRepository event reports the grants that went with it.`
        );
      }
      throw error;
    }

    // An earlier delivery of this call may have left records: finish them first.
    const resumed: GrantOutcome[] = [];
    for (const record of own) {
      const decision = decisionOfRecord(record, { repository: call.repository, call });
      const outcome = await this.grantAudit.resume(record, decision, keyOf(call, decision), policy);
      if (outcome !== null) resumed.push(outcome);
    }
    if (resumed.length > 0) return this.decided(resumed, false);
    // A restore an earlier delivery completed (and notified): this delivery has nothing left to do. A later removal
    // comes with its own event.
    const completed = own.filter((record) => record.state === 'applied');
    if (completed.length > 0) {
      return {
        kind: 'decided',
        outcomes: completed.map((record) => ({
          decision: decisionOfRecord(record, { repository: call.repository, call }),
          key: { eventId: record.eventId, eventTime: record.eventTime, actorArn: record.callerArn },
          applied: true,
          replayed: true,
          notice: record.notice,
          notificationId: record.notificationId,
          noticeError: null,
        })),
        unverified: false,
      };
    }

    const assessed = assessDrift(call, others, policy, config);
    if (assessed.kind !== 'drift') return assessed as DriftCheck;
    const news = assessed.drifts;
    const restoring = config.driftAction === 'restore' && config.mode === 'enforce';
    const tags = restoring ? await store.getTags(ref) : null;
    const response = respondToDrift(
      call,
      news,
      { policyText: policy, tags },
      config,
      this.deps.undo
    );
    if (response.decisions.length === 0) {
      return ignored(
        'drift-already-reported',
        `The grants missing from the policy of ${where} were reported before and still cannot be put back; nothing changed since.`
      );
    }
    const reports = response.decisions.filter((decision) => decision.outcome !== 'fix');
    const restores = response.decisions.filter((decision) => decision.outcome === 'fix');
    const outcomes = await this.grantAudit.recordDecisions(
      reports.map((decision) => ({ decision, key: keyOf(call, decision) }))
    );
    if (restores.length === 0 || response.policyAfter === null) {
      return this.decided(outcomes, false);
    }
    const restored = await this.restore(call, store, ref, news, tags ?? {}, restores);
    return this.decided([...outcomes, ...restored.outcomes], restored.unverified);
  }

  /** Under the lease: plan the restore on the policy as it is now, announce it, write it, verify it. */
  private async restore(
    call: PolicyCall,
    store: Awaited<ReturnType<RegistryAccess['storeFor']>>,
    ref: RepositoryRef,
    drifts: readonly ConsumerDrift[],
    tags: Readonly<Record<string, string>>,
    planned: readonly GrantDecision[]
  ): Promise<{ outcomes: GrantOutcome[]; unverified: boolean }> {
    const { config, clock, runId } = this.deps;
    const consumers = new Set(planned.map((decision) => decision.consumerAccount));
    const restoring = drifts.filter((drift) => consumers.has(drift.consumerAccount));
    const held = new Map<string, AuditRecord>();
    let decisions = [...planned];
    const missingFor = (policyText: string | null): ConsumerDrift[] =>
      findDrift(
        policyText,
        restoring.flatMap((drift) => grantsOfDrift(drift, call.eventId)),
        call.repository,
        config.organizationId
      );
    try {
      const outcome = await withRepositoryLease(
        this.deps.locks,
        clock,
        call.repository.repositoryArn,
        runId,
        () =>
          writeVerified<string>(store, ref, clock, {
            plan: (current) => {
              const left = missingFor(current);
              if (left.length === 0) return null;
              const response = respondToDrift(
                call,
                left,
                { policyText: current, tags },
                config,
                this.deps.undo
              );
              decisions = response.decisions.filter((decision) => decision.outcome === 'fix');
              return response.policyAfter;
            },
            policyOf: (policyAfter) => policyAfter,
            announce: async () => {
              const intents = await this.grantAudit.writeIntents(
                decisions.map((decision) => ({ decision, key: keyOf(call, decision) }))
              );
              for (const intent of intents) held.set(intent.eventId, intent);
              return 'write';
            },
            holds: (read) => missingFor(read).length === 0,
          })
      );
      if (outcome.kind === 'unverified') {
        for (const intent of held.values()) {
          await this.grantAudit.fail(intent, 'another writer kept replacing the policy');
        }
        return {
          outcomes: decisions.map((decision) => ({
            decision: {
              ...decision,
              outcome: 'needs-human',
              reason: 'verification-failed',
              explanation: `The policy of ${call.repository.repositoryArn} kept changing under lambda-ecr-autofix, so the restored grant could not be verified.`,
              nextSteps: [
                'Find the other process that rewrites this repository policy (often an IaC pipeline) and add the grant there.',
              ],
            },
            key: keyOf(call, decision),
            applied: false,
            replayed: false,
            notice: null,
            notificationId: null,
            noticeError: null,
          })),
          unverified: true,
        };
      }
      if (outcome.kind === 'unneeded' && held.size === 0) {
        // Someone put the grants back between the first read and the lease: nothing to restore, nothing to tell.
        return { outcomes: [], unverified: false };
      }
      const outcomes: GrantOutcome[] = [];
      for (const decision of decisions) {
        const key = keyOf(call, decision);
        const intent = held.get(key.eventId);
        if (intent === undefined) continue;
        outcomes.push(await this.grantAudit.complete(intent, decision, key, outcome.policy));
      }
      return { outcomes, unverified: false };
    } catch (error) {
      for (const intent of held.values()) {
        await this.grantAudit.fail(intent, error).catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * A revoke is run by a person, whose credentials may not put decision events on the central bus (only the fixer's
   * code may). Its own write reaches the drift guard as any policy change does: the fixer then announces each applied
   * revoke of the repository it has not announced yet, once. `announcedAt` is set by a conditional update before the
   * put, so two runs never both announce it; a put that fails is logged and counted like any other decision event.
   */
  private async announceRevokes(
    audit: AuditLog,
    call: PolicyCall,
    records: readonly AuditRecord[]
  ): Promise<void> {
    const { decisionEvents, clock } = this.deps;
    if (decisionEvents === null || !decisionEvents.wanted('revoke')) return;
    const due = records.filter(
      (record) =>
        record.kind === 'revoke' &&
        record.state === 'applied' &&
        record.reason === 'consumer-revoked' &&
        (record.announcedAt ?? null) === null
    );
    const details = [];
    for (const record of due) {
      if (!(await audit.markAnnounced(record, clock.now().toISOString()))) continue;
      details.push(
        grantDecisionDetail(decisionOfRecord(record, { repository: call.repository, call: null }), {
          mode: record.mode,
          applied: true,
          notificationId: record.notificationId,
          eventId: record.eventId,
          eventTime: record.eventTime,
          actorArn: record.callerArn,
        })
      );
    }
    await decisionEvents.publish(details);
  }

  private async decided(outcomes: GrantOutcome[], unverified: boolean): Promise<DriftCheck> {
    const { decisionEvents, config } = this.deps;
    if (decisionEvents !== null) {
      await decisionEvents.publish(
        outcomes.map((outcome) =>
          grantDecisionDetail(outcome.decision, {
            mode: config.mode,
            applied: outcome.applied,
            notificationId: outcome.notificationId,
            eventId: outcome.key.eventId,
            eventTime: outcome.key.eventTime,
            actorArn: outcome.key.actorArn,
          })
        )
      );
    }
    return { kind: 'decided', outcomes, unverified };
  }
}

/** `EVENT/ACCOUNT`: one record per consumer account and call. */
function keyOf(call: PolicyCall, decision: GrantDecision): GrantKey {
  return {
    eventId: `${call.eventId}/${decision.consumerAccount ?? 'none'}`,
    eventTime: call.eventTime,
    actorArn: call.caller.arn,
  };
}

function ignored(
  reason: Extract<DriftCheck, { kind: 'ignored' }>['reason'],
  explanation: string
): DriftCheck {
  return { kind: 'ignored', reason, explanation };
}

function refOf(call: PolicyCall): RepositoryRef {
  const { partition, region, registryAccount, repositoryName } = call.repository;
  return { partition, region, registryAccount, repositoryName };
}
