/**
 * `revoke`: takes one consumer (or one of its functions) out of the fixer's statements of one repository, with the
 * fixer's own machinery: the registry access, the repository lease, the read–write–verify loop (verified-write.ts)
 * and the write-ahead audit (grant-audit.ts). The plan is revoke-plan.ts.
 *
 *   [audit] the repository's records → complete a revoke an earlier run left unfinished, if its change is in the policy
 *   → read policy → plan → (dry-run: stop) → lease → re-read → plan → intent → write (or delete) → re-read, verify →
 *   notice → record applied
 *
 * A revoke records its intent before it writes, so the drift guard, which sees the ECR event of that write, finds
 * the grant taken back already and never calls it drift.
 */
import type { Config } from '../domain/config';
import type { DecisionEventDetail } from '../domain/decision-event';
import { grantDecisionDetail } from '../domain/decision-event';
import type { GrantDecision, RepositoryTarget } from '../domain/grant-decision';
import { ownedValuesAbsent } from '../domain/owned-grants';
import { planRevoke } from '../domain/revoke-plan';
import type { DecisionEventPublisher } from './decision-events';
import type { GrantKey, GrantOutcome } from './grant-audit';
import { GrantAudit, decisionOfRecord } from './grant-audit';
import { GrantNotices } from './grant-notices';
import type {
  AuditLog,
  AuditRecord,
  Clock,
  Notifier,
  RegistryAccess,
  RepositoryLocks,
  RepositoryRef,
} from './ports';
import { newRunId, withRepositoryLease } from './repository-lease';
import { writeVerified } from './verified-write';

export interface RevokeRequest {
  readonly repository: RepositoryTarget;
  readonly consumerAccount: string;
  /** Only this function's patterns; null for the whole account. */
  readonly functionName: string | null;
  /** Who runs the revoke (the caller's ARN), for the record and the decision event. */
  readonly requestedBy: string | null;
  /** Plan and show, write nothing (no record, no notice). */
  readonly dryRun: boolean;
}

export interface RevokeDependencies {
  readonly config: Config;
  readonly registry: RegistryAccess;
  /** Null only with `dryRun` (or when the caller accepts that the drift guard will not know about the revoke). */
  readonly audit: AuditLog | null;
  readonly locks: RepositoryLocks | null;
  readonly notifier: Notifier | null;
  readonly decisionEvents: DecisionEventPublisher | null;
  readonly clock: Clock;
  /** @default a random UUID */
  readonly newRunId?: () => string;
}

export interface RevokeResult extends GrantOutcome {
  /** A `verification-failed` report: another writer kept replacing the policy. */
  readonly unverified: boolean;
}

/** Runs one revoke. Errors of AWS (and the named adapter errors) propagate; the caller explains them. */
export async function revokeConsumer(
  deps: RevokeDependencies,
  request: RevokeRequest
): Promise<RevokeResult> {
  const { config, clock } = deps;
  const runId = (deps.newRunId ?? newRunId)();
  const now = clock.now().toISOString();
  const key: GrantKey = {
    eventId: `revoke-${runId}`,
    eventTime: now,
    actorArn: request.requestedBy,
  };
  const audit = request.dryRun ? null : deps.audit;
  const grantAudit = new GrantAudit({
    config,
    audit,
    notices: new GrantNotices(request.dryRun ? null : deps.notifier, config),
    clock,
    runId,
  });
  const repository = request.repository;
  const ref = refOf(repository);
  const functionArn =
    request.functionName === null
      ? null
      : `arn:${repository.partition}:lambda:${repository.region}:${request.consumerAccount}:function:${request.functionName}`;

  const unfinished = audit === null ? null : await unfinishedRevoke(audit, request, functionArn);
  const store = await deps.registry.storeFor(ref, `lambda-ecr-autofix-${key.eventId}`);
  const policy = await store.getPolicy(ref);

  if (unfinished !== null) {
    const earlier = decisionOfRecord(unfinished, { repository, call: null });
    const earlierKey = {
      eventId: unfinished.eventId,
      eventTime: unfinished.eventTime,
      actorArn: unfinished.callerArn,
    };
    const resumed = await grantAudit.resume(unfinished, earlier, earlierKey, policy);
    if (resumed !== null) {
      await publish(deps, config, resumed);
      return { ...resumed, unverified: false };
    }
    if (unfinished.state === 'intent') {
      // Its write never happened (the values are still in the policy): close it, then revoke anew.
      await grantAudit.fail(
        unfinished,
        `superseded by revoke ${key.eventId}: the earlier write did not happen`
      );
    }
  }

  const decide = (policyText: string | null): GrantDecision =>
    decisionOf(
      planRevoke({
        policyText,
        repository,
        consumerAccount: request.consumerAccount,
        functionName: request.functionName,
        organizationId: config.organizationId,
      }),
      policyText,
      request,
      functionArn
    );
  const first = decide(policy);
  if (first.reason !== 'consumer-revoked' || request.dryRun) {
    const [recorded] = request.dryRun
      ? [
          {
            decision: first,
            key,
            applied: false,
            replayed: false,
            notice: null,
            notificationId: null,
            noticeError: null,
          },
        ]
      : await grantAudit.recordDecisions([{ decision: first, key }], false);
    const result = recorded as GrantOutcome;
    if (!request.dryRun) await publish(deps, config, result);
    return { ...result, unverified: false };
  }

  // Written inside the loop's callbacks: a holder, so that the checks below see the assignments.
  const held: { intent: AuditRecord | null } = { intent: null };
  let lastPlanned = first;
  try {
    const outcome = await withRepositoryLease(
      deps.locks,
      clock,
      repository.repositoryArn,
      runId,
      () =>
        writeVerified<GrantDecision>(store, ref, clock, {
          plan: (current) => {
            const decision = decide(current);
            return decision.reason === 'consumer-revoked' ? decision : null;
          },
          policyOf: (planned) => (planned.deletesPolicy ? null : planned.policyAfter),
          announce: async (planned) => {
            lastPlanned = planned;
            held.intent = (await grantAudit.writeIntents([{ decision: planned, key }]))[0] ?? null;
            return 'write';
          },
          holds: (read, planned) =>
            ownedValuesAbsent(
              read,
              planned.removed.map((entry) => ({ sid: entry.sid, added: entry.values }))
            ),
        })
    );
    const intent = held.intent;
    if (outcome.kind === 'unneeded' && intent === null) {
      // Someone else took the values out between the first read and the lease.
      const [recorded] = await grantAudit.recordDecisions(
        [{ decision: decide(outcome.policy), key }],
        false
      );
      await publish(deps, config, recorded as GrantOutcome);
      return { ...(recorded as GrantOutcome), unverified: false };
    }
    if (outcome.kind === 'unverified') {
      const explanation = `The policy of ${repository.repositoryArn} kept changing under lambda-ecr-autofix (another writer replaced it after each write), so the revoke could not be verified.`;
      await grantAudit.fail(intent as AuditRecord, explanation);
      const decision: GrantDecision = {
        ...outcome.planned,
        outcome: 'needs-human',
        reason: 'verification-failed',
        explanation,
        nextSteps: [
          'Find the other process that rewrites this repository policy (often an IaC pipeline) and remove the consumer there.',
        ],
      };
      return {
        decision,
        key,
        applied: false,
        replayed: false,
        notice: null,
        notificationId: null,
        noticeError: null,
        unverified: true,
      };
    }
    // Verified, or (after a write) found done on a re-read: either way the values are out.
    const planned = outcome.kind === 'verified' ? outcome.planned : lastPlanned;
    const completed = await grantAudit.complete(
      intent as AuditRecord,
      planned,
      key,
      outcome.policy
    );
    await publish(deps, config, completed);
    return { ...completed, unverified: false };
  } catch (error) {
    // The write may or may not have happened: the record becomes `failed`, and the next run completes it (as
    // `applied`, with its notice) when it finds the values out of the policy.
    if (held.intent !== null) {
      await grantAudit.fail(held.intent, error).catch(() => undefined);
    }
    throw error;
  }
}

/** The most recent revoke of this consumer (and function) that an earlier run left unfinished, if any. */
async function unfinishedRevoke(
  audit: AuditLog,
  request: RevokeRequest,
  functionArn: string | null
): Promise<AuditRecord | null> {
  const records = await audit.list({
    repositoryArn: request.repository.repositoryArn,
    consumerAccount: request.consumerAccount,
  });
  const revokes = records
    .filter((record) => record.kind === 'revoke' && record.functionArn === functionArn)
    .sort((a, b) => (a.decidedAt < b.decidedAt ? 1 : a.decidedAt > b.decidedAt ? -1 : 0));
  const latest = revokes[0];
  if (latest === undefined) return null;
  const unfinished =
    latest.state === 'intent' ||
    latest.state === 'failed' ||
    (latest.state === 'applied' && latest.notifiedAt === null && latest.notice !== null);
  return unfinished && latest.reason === 'consumer-revoked' ? latest : null;
}

function decisionOf(
  plan: ReturnType<typeof planRevoke>,
  policyText: string | null,
  request: RevokeRequest,
  functionArn: string | null
): GrantDecision {
  return {
    kind: 'revoke',
    outcome: plan.outcome,
    reason: plan.reason,
    explanation: plan.explanation,
    nextSteps: 'nextSteps' in plan ? plan.nextSteps : [],
    repository: request.repository,
    consumerAccount: request.consumerAccount,
    functionArn,
    policyBefore: policyText,
    policyAfter: plan.reason === 'consumer-revoked' ? plan.policyAfter : null,
    deletesPolicy: plan.reason === 'consumer-revoked' && plan.deletesPolicy,
    removed: plan.reason === 'consumer-revoked' ? plan.removed : [],
    grants: [],
    call: null,
  };
}

async function publish(
  deps: RevokeDependencies,
  config: Config,
  result: GrantOutcome
): Promise<void> {
  // Nothing to tell when there was nothing to revoke.
  if (deps.decisionEvents === null || result.decision.reason === 'already-revoked') return;
  const detail: DecisionEventDetail = grantDecisionDetail(result.decision, {
    mode: config.mode,
    applied: result.applied,
    notificationId: result.notificationId,
    eventId: result.key.eventId,
    eventTime: result.key.eventTime,
    actorArn: result.key.actorArn,
  });
  await deps.decisionEvents.publish([detail]);
}

function refOf(repository: RepositoryTarget): RepositoryRef {
  return {
    partition: repository.partition,
    region: repository.region,
    registryAccount: repository.registryAccount,
    repositoryName: repository.repositoryName,
  };
}
