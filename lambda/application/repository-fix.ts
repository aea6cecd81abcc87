/**
 * What happens to one repository: all the events of a batch that name it are planned together on one read of its
 * policy, and at most one write (plus its verification) carries all their fixes.
 *
 *   read policy → plan (tags only when a change is planned) → [lease] re-read → plan → write intents → write →
 *   re-read and verify → done, or re-plan on what another writer left and try again (bounded, with jitter)
 *
 * Every write is announced first: the intents (see write-ahead-audit.ts) go to the audit log before
 * `SetRepositoryPolicy`, and when they cannot be written nothing is written to ECR.
 */
import type { Config } from '../domain/config';
import { bare, decideForPolicy } from '../domain/decide';
import type { Decision, NeedsHumanReason, Target } from '../domain/decision';
import {
  InvalidPolicyError,
  RegistryAccessDeniedError,
  RegistryRoleUnavailableError,
  RepositoryNotFoundError,
} from './errors';
import type { EventOutcome, PendingEvent } from './event-outcome';
import type {
  AuditRecord,
  Clock,
  RegistryAccess,
  RepositoryLocks,
  RepositoryPolicyStore,
  RepositoryRef,
} from './ports';
import { withRepositoryLease } from './repository-lease';
import { MAX_WRITE_ATTEMPTS, writeVerified } from './verified-write';

export { MAX_WRITE_ATTEMPTS } from './verified-write';

type Tags = Readonly<Record<string, string>>;

/** Announces a write before it is made (the write-ahead audit); see `WriteAheadAudit.writeIntents`. */
export interface IntentWriter {
  writeIntents(
    fixes: readonly { readonly pending: PendingEvent; readonly decision: Decision }[],
    policyBefore: string | null,
    policyPlanned: string,
    tags: Tags
  ): Promise<IntentsWritten>;
}

export interface IntentsWritten {
  /** The intents written, by event. */
  readonly intents: ReadonlyMap<PendingEvent, AuditRecord>;
  /** Events whose intent met the record of an earlier delivery's write (applied, or still in progress). */
  readonly conflicts: ReadonlyMap<PendingEvent, AuditRecord>;
  /** Why some intent could not be written (then nothing may be written to ECR), or null. */
  readonly unwritten: string | null;
}

export interface RepositoryFixDependencies {
  readonly config: Config;
  readonly registry: RegistryAccess;
  readonly locks: RepositoryLocks | null;
  readonly clock: Clock;
  /** This pipeline run's id: the owner of its leases. */
  readonly runId: string;
  /** Null: no audit log (the CLI without --audit-table, the in-memory demo without one). */
  readonly intents: IntentWriter | null;
}

/** Raised inside the write loop when an intent could not be written: nothing is written to ECR. */
class IntentNotWrittenError extends Error {
  override readonly name = 'IntentNotWrittenError';
}

/**
 * Fixes one repository for all its events. Never throws for a single event's sake: a failure that SQS should retry
 * comes back as `failed` outcomes (with the intents written so far, so they can be closed as `failed`); only a
 * failure before any intent (e.g. a lease that stays busy) is thrown, failing the whole group.
 */
export async function fixRepository(
  deps: RepositoryFixDependencies,
  group: readonly PendingEvent[]
): Promise<EventOutcome[]> {
  const first = group[0] as PendingEvent;
  const ref = repositoryRef(first.target);
  let store: RepositoryPolicyStore;
  let policyText: string | null;
  try {
    store = await deps.registry.storeFor(ref, sessionName(first));
    policyText = await store.getPolicy(ref);
  } catch (error) {
    return needsHumanOn(group, error, undefined, new Map());
  }

  let tags: Tags | undefined;
  let planned = planGroup(group, policyText, {}, deps.config);
  const needsTags =
    planned.policyAfter !== null ||
    planned.decisions.some((decision) => decision.reason === 'sharing-not-consented');
  if (needsTags) {
    // Tags matter once a change is planned (the opt-out tag, IaC ownership for the e-mail), or when only the
    // owner's share tag can consent to a cross-account grant.
    try {
      tags = await store.getTags(ref);
    } catch (error) {
      return needsHumanOn(group, error, policyText, new Map());
    }
    planned = planGroup(group, policyText, tags, deps.config);
  }
  if (planned.policyAfter === null || deps.config.mode === 'dry-run') {
    return decided(group, planned.decisions, { tags, applied: false, policySeen: policyText });
  }
  const fixTags = tags ?? {};
  return withRepositoryLease(deps.locks, deps.clock, first.target.repositoryArn, deps.runId, () =>
    writeAndVerify(deps, store, ref, group, fixTags, policyText)
  );
}

/**
 * Under the lease: the read–write–verify loop (verified-write.ts) with this group's plan. Before each write the intents
 * of its fixes are written; an event whose intent meets the record of an earlier delivery's write is decided by that
 * record, and the others are planned again without it (not a write attempt: each round removes at least one event).
 */
async function writeAndVerify(
  deps: RepositoryFixDependencies,
  store: RepositoryPolicyStore,
  ref: RepositoryRef,
  group: readonly PendingEvent[],
  tags: Tags,
  firstRead: string | null
): Promise<EventOutcome[]> {
  const { config, clock } = deps;
  const held = new Map<PendingEvent, AuditRecord>();
  const earlier: EventOutcome[] = [];
  let active = [...group];
  let lastSeen = firstRead;
  let decisions: Decision[] = [];
  type Planned = { policyAfter: string; fixes: { pending: PendingEvent; decision: Decision }[] };
  try {
    const outcome = await writeVerified<Planned>(store, ref, clock, {
      seen: (policy) => {
        lastSeen = policy;
      },
      plan: (current) => {
        const planned = planGroup(active, current, tags, config);
        decisions = planned.decisions;
        if (planned.policyAfter === null) return null;
        const fixes = active
          .map((pending, index) => ({ pending, decision: planned.decisions[index] as Decision }))
          .filter(({ decision }) => decision.outcome === 'fix');
        return { policyAfter: planned.policyAfter, fixes };
      },
      policyOf: (planned) => planned.policyAfter,
      announce: async (planned, current) => {
        if (deps.intents === null) return 'write';
        const written = await deps.intents.writeIntents(
          planned.fixes,
          current,
          planned.policyAfter,
          tags
        );
        for (const [pending, intent] of written.intents) held.set(pending, intent);
        if (written.unwritten !== null) throw new IntentNotWrittenError(written.unwritten);
        if (written.conflicts.size === 0) return 'write';
        // An earlier delivery of these events wrote (or is writing) already: its record decides for them.
        for (const [pending, existing] of written.conflicts) {
          const decision = planned.fixes.find((fix) => fix.pending === pending)
            ?.decision as Decision;
          earlier.push({
            kind: 'recorded-earlier',
            incoming: pending.incoming,
            decision,
            existing,
            policySeen: current,
          });
        }
        active = active.filter((pending) => !written.conflicts.has(pending));
        return active.length === 0 ? 'abandon' : 'replan';
      },
      holds: (read, planned) =>
        planGroup(
          planned.fixes.map(({ pending }) => pending),
          read,
          tags,
          config
        ).decisions.every((decision) => decision.outcome === 'already-allowed'),
    });
    if (outcome.kind === 'unneeded') {
      return [
        ...earlier,
        ...decided(active, decisions, { tags, applied: false, policySeen: outcome.policy }, held),
      ];
    }
    if (outcome.kind === 'verified') {
      return [
        ...earlier,
        ...decided(active, decisions, { tags, applied: true, policySeen: outcome.policy }, held),
      ];
    }
    return [
      ...earlier,
      ...active.map((pending) => verificationFailed(pending, outcome.policy, tags, held)),
    ];
  } catch (error) {
    if (humanReasonOf(error) !== null) {
      return [...earlier, ...needsHumanOn(active, error, lastSeen, held)];
    }
    // Transient or unknown (a timeout right after SetRepositoryPolicy included): the write may or may not have
    // happened. The events fail and are retried; their intents are closed as `failed`, and the retry completes them
    // if it finds the grants in the policy.
    return [
      ...earlier,
      ...active.map((pending): EventOutcome => ({
        kind: 'failed',
        incoming: pending.incoming,
        call: pending.call,
        error,
        intent: held.get(pending) ?? null,
      })),
    ];
  }
}

/** Plans every event of a group in turn, each on top of the policy the previous one planned. */
export function planGroup(
  group: readonly PendingEvent[],
  policyText: string | null,
  tags: Tags,
  config: Config
): { decisions: Decision[]; policyAfter: string | null } {
  let current = policyText;
  let changed = false;
  const fixedBy = new Map<string, string>();
  const decisions = group.map((pending) => {
    const decision = decideForPolicy(
      pending.call,
      pending.target,
      { policyText: current, tags },
      config
    );
    if (decision.outcome === 'fix' && decision.policyAfter !== null) {
      current = decision.policyAfter;
      changed = true;
      fixedBy.set(decision.policyAfter, pending.call.eventId);
      return decision;
    }
    if (decision.outcome === 'already-allowed' && changed && current !== policyText) {
      const eventId = fixedBy.get(current as string);
      return {
        ...decision,
        explanation: `${decision.explanation} The grant comes from the change made moments ago for event ${eventId ?? 'of this batch'}.`,
      };
    }
    return decision;
  });
  return { decisions, policyAfter: changed ? current : null };
}

function decided(
  group: readonly PendingEvent[],
  decisions: readonly Decision[],
  facts: { tags: Tags | undefined; applied: boolean; policySeen: string | null },
  held: ReadonlyMap<PendingEvent, AuditRecord> = new Map()
): EventOutcome[] {
  return group.map((pending, index) => {
    const decision = decisions[index] as Decision;
    return {
      kind: 'decided',
      incoming: pending.incoming,
      decision,
      applied: facts.applied && decision.outcome === 'fix',
      tags: facts.tags,
      intent: held.get(pending) ?? null,
      writeFailure: null,
      policySeen: facts.policySeen,
    };
  });
}

function verificationFailed(
  pending: PendingEvent,
  policyText: string | null,
  tags: Tags,
  held: ReadonlyMap<PendingEvent, AuditRecord>
): EventOutcome {
  const reason: NeedsHumanReason = 'verification-failed';
  const explanation = `The policy of ${pending.target.repositoryArn} kept changing under lambda-ecr-autofix (another writer replaced it ${MAX_WRITE_ATTEMPTS} times), so the grant could not be verified.`;
  return {
    kind: 'decided',
    incoming: pending.incoming,
    decision: {
      ...bare('needs-human', reason, explanation, pending.call, [
        'Find the other process that rewrites this repository policy (often an IaC pipeline) and add the grant there.',
      ]),
      target: pending.target,
      policyBefore: policyText,
    },
    applied: false,
    tags,
    intent: held.get(pending) ?? null,
    writeFailure: explanation,
    policySeen: policyText,
  };
}

/** A situation a person must act on (no repository, no access, a rejected policy): `needs-human`; else rethrown. */
function needsHumanOn(
  group: readonly PendingEvent[],
  error: unknown,
  policyText: string | null | undefined,
  held: ReadonlyMap<PendingEvent, AuditRecord>
): EventOutcome[] {
  const reason = humanReasonOf(error);
  if (reason === null) throw error;
  const message = (error as Error).message;
  return group.map((pending) => ({
    kind: 'decided',
    incoming: pending.incoming,
    decision: {
      ...bare('needs-human', reason, message, pending.call),
      target: pending.target,
      policyBefore: policyText ?? null,
    },
    applied: false,
    tags: undefined,
    intent: held.get(pending) ?? null,
    writeFailure: held.has(pending) ? message : null,
    policySeen: policyText,
  }));
}

function humanReasonOf(error: unknown): NeedsHumanReason | null {
  if (
    error instanceof RepositoryNotFoundError ||
    error instanceof RegistryAccessDeniedError ||
    error instanceof InvalidPolicyError ||
    error instanceof RegistryRoleUnavailableError
  ) {
    return error.reason;
  }
  return null;
}

function repositoryRef(target: Target): RepositoryRef {
  return {
    partition: target.partition,
    region: target.region,
    registryAccount: target.registryAccount,
    repositoryName: target.repositoryName,
  };
}

/** STS session names name the event, so CloudTrail in the registry account shows why the fixer acted. */
function sessionName(pending: PendingEvent): string {
  return `lambda-ecr-autofix-${pending.call.eventId}`;
}
