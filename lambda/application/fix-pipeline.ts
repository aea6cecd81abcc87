/**
 * The fix pipeline: turns events into decisions, decisions into verified policy changes, and both into an audit
 * record, a notification, one log line and metrics. The Lambda handler, the `apply` command and the `demo` all run
 * this same code with different adapters.
 *
 * A batch is grouped by repository so that a burst of failures against one repository costs one read, at most one
 * write and one verification, however many events it holds.
 */
import type { Config } from '../domain/config';
import type { FixerIdentity } from '../domain/decide';
import { bare, decideForPolicy, triage, triageCall } from '../domain/decide';
import type { Decision, DeployCall, NeedsHumanReason, Target } from '../domain/decision';
import type { NotificationContext } from '../domain/notification';
import { renderNotification } from '../domain/notification';
import {
  InvalidPolicyError,
  RegistryAccessDeniedError,
  RegistryRoleUnavailableError,
  RepositoryBusyError,
  RepositoryNotFoundError,
} from './errors';
import type {
  AuditLog,
  AuditRecord,
  Clock,
  FunctionLookup,
  Notifier,
  RegistryAccess,
  RepositoryLocks,
  RepositoryPolicyStore,
  RepositoryRef,
} from './ports';

/** How many times a write is re-planned when a concurrent writer changed the policy under us. */
export const MAX_WRITE_ATTEMPTS = 4;
const BACKOFF_BASE_MS = 200;
/** A repository lease outlives any write-and-verify (four attempts with backoff take seconds). */
export const LEASE_MS = 60_000;
/** How long an invocation waits for another to finish with a repository before SQS retries the events later. */
export const LEASE_WAIT_MS = 20_000;

export interface PipelineDependencies {
  readonly config: Config;
  readonly fixer: FixerIdentity;
  readonly registry: RegistryAccess;
  /** Finds the image of UpdateFunctionCode events that lack it; null disables the lookup. */
  readonly functions: FunctionLookup | null;
  readonly notifier: Notifier | null;
  readonly audit: AuditLog | null;
  /** Repository leases between concurrent invocations; null for a single process (the CLI). */
  readonly locks: RepositoryLocks | null;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
}

/** Where the pipeline reports what it did: the handler maps this to Powertools Logger and Metrics. */
export interface Telemetry {
  decided(report: DecisionReport): void;
  failed(report: {
    readonly messageId: string;
    readonly eventId: string | null;
    readonly error: unknown;
  }): void;
}

export interface DecisionReport {
  readonly messageId: string;
  readonly eventId: string | null;
  readonly outcome: Decision['outcome'];
  readonly reason: Decision['reason'];
  readonly repository: string | null;
  readonly consumerAccount: string | null;
  readonly applied: boolean;
  readonly notified: boolean;
  readonly mode: Config['mode'];
  /** Seconds from the failed call to the verified fix, for applied fixes. */
  readonly secondsToFix: number | null;
}

/** One event to process. */
export interface IncomingEvent {
  /** Identifies the message (SQS message id, or a file name for the CLI). */
  readonly messageId: string;
  /** The event, already parsed from JSON. */
  readonly event: unknown;
  /** How many times this message was delivered (1 = first). Retries look up what an earlier attempt did. */
  readonly attempt: number;
}

export type EventResult =
  | {
      readonly messageId: string;
      readonly status: 'done';
      readonly decision: Decision;
      readonly applied: boolean;
      readonly notificationId: string | null;
    }
  | { readonly messageId: string; readonly status: 'failed'; readonly error: unknown };

/** A decision in progress for one event of a repository group. */
interface Pending {
  readonly incoming: IncomingEvent;
  readonly call: DeployCall;
  readonly target: Target;
}

interface Settled {
  readonly incoming: IncomingEvent;
  readonly decision: Decision;
  readonly applied: boolean;
  readonly tags: Readonly<Record<string, string>> | undefined;
}

export class FixPipeline {
  constructor(private readonly deps: PipelineDependencies) {}

  /** Processes a batch; one result per event, in the order given. A failed event is retried by its caller. */
  async process(events: readonly IncomingEvent[]): Promise<EventResult[]> {
    const results = new Map<string, EventResult>();
    const groups = new Map<string, Pending[]>();
    const settled: Settled[] = [];

    await Promise.all(
      events.map(async (incoming) => {
        try {
          const triaged = await this.triage(incoming);
          if (triaged.kind === 'settled') {
            settled.push({ incoming, decision: triaged.decision, applied: false, tags: undefined });
            return;
          }
          const group = groups.get(triaged.target.repositoryArn) ?? [];
          group.push({ incoming, call: triaged.call, target: triaged.target });
          groups.set(triaged.target.repositoryArn, group);
        } catch (error) {
          results.set(incoming.messageId, this.fail(incoming, null, error));
        }
      })
    );

    await Promise.all(
      [...groups.values()].map(async (group) => {
        try {
          settled.push(...(await this.processRepository(group)));
        } catch (error) {
          for (const pending of group) {
            results.set(
              pending.incoming.messageId,
              this.fail(pending.incoming, pending.call, error)
            );
          }
        }
      })
    );

    await this.recordAll(settled, results);
    await Promise.all(
      settled
        .filter((s) => !results.has(s.incoming.messageId))
        .map(async (s) => results.set(s.incoming.messageId, await this.finish(s)))
    );
    return events.map((incoming) => results.get(incoming.messageId) as EventResult);
  }

  /** Decides what can be decided without the repository; looks up the function's image when the event lacks it. */
  private async triage(
    incoming: IncomingEvent
  ): Promise<
    | { kind: 'settled'; decision: Decision }
    | { kind: 'repository'; call: DeployCall; target: Target }
  > {
    const { config, fixer, functions } = this.deps;
    let triaged = triage(incoming.event, config, fixer);
    if (triaged.kind === 'look-up-function' && functions !== null) {
      const call = triaged.call;
      const found = await lookUpImage(functions, call, sessionName(call));
      if (found !== null) {
        triaged = triageCall({ ...call, requestImageUri: found }, config, fixer);
      }
    }
    switch (triaged.kind) {
      case 'decided':
      case 'look-up-function':
        return { kind: 'settled', decision: triaged.decision };
      case 'read-repository':
        return { kind: 'repository', call: triaged.call, target: triaged.target };
    }
  }

  /**
   * One repository, all its events: read the policy once, plan every event on top of the previous plan, write once,
   * re-read and verify. A concurrent writer is detected before the write (the policy changed since it was read) and
   * after it (the grant is missing from what ECR now returns); both lead to re-planning on the fresh policy.
   */
  private async processRepository(group: readonly Pending[]): Promise<Settled[]> {
    const first = group[0] as Pending;
    const ref = repositoryRef(first.target);
    let store: RepositoryPolicyStore;
    let policyText: string | null;
    try {
      store = await this.deps.registry.storeFor(ref, sessionName(first.call));
      policyText = await store.getPolicy(ref);
    } catch (error) {
      return this.settleOnHumanError(group, error, null);
    }

    const retried = await this.replayRetries(group, policyText, () => store.getTags(ref));
    const fresh = group.filter((pending) => !retried.some((s) => s.incoming === pending.incoming));
    if (fresh.length === 0) return retried;

    let tags: Readonly<Record<string, string>> | undefined;
    let planned = planGroup(fresh, policyText, {}, this.deps.config);
    const needsTags =
      planned.policyAfter !== null ||
      planned.decisions.some((decision) => decision.reason === 'sharing-not-consented');
    if (needsTags) {
      // Tags matter once a change is planned (the opt-out tag, IaC ownership for the e-mail), or when only the
      // owner's share tag can consent to a cross-account grant.
      try {
        tags = await store.getTags(ref);
      } catch (error) {
        return [...retried, ...this.settleOnHumanError(fresh, error, policyText)];
      }
      planned = planGroup(fresh, policyText, tags, this.deps.config);
    }
    if (planned.policyAfter === null || this.deps.config.mode === 'dry-run') {
      return [...retried, ...settle(fresh, planned.decisions, tags, false)];
    }
    const written = await this.withLease(first, () =>
      this.writeAndVerify(store, ref, fresh, tags ?? {}, policyText)
    );
    return [...retried, ...written];
  }

  /**
   * Under the lease: re-read (the policy may have changed since the first read), plan on what is there, write,
   * re-read and check every planned grant. A grant missing after the write means another writer replaced the
   * policy: plan again on theirs and write again, a bounded number of times with jittered backoff.
   */
  private async writeAndVerify(
    store: RepositoryPolicyStore,
    ref: RepositoryRef,
    group: readonly Pending[],
    tags: Readonly<Record<string, string>>,
    firstRead: string | null
  ): Promise<Settled[]> {
    const { config, clock } = this.deps;
    let lastSeen: string | null | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        const current = await store.getPolicy(ref);
        lastSeen = current;
        const planned = planGroup(group, current, tags, config);
        if (planned.policyAfter === null) return settle(group, planned.decisions, tags, false);
        await store.setPolicy(ref, planned.policyAfter);
        const verified = await store.getPolicy(ref);
        lastSeen = verified;
        const fixes = group.filter((_, index) => planned.decisions[index]?.outcome === 'fix');
        const check = planGroup(fixes, verified, tags, config);
        if (check.decisions.every((decision) => decision.outcome === 'already-allowed')) {
          return settle(group, planned.decisions, tags, true);
        }
        if (attempt >= MAX_WRITE_ATTEMPTS) {
          return group.map((pending) => verificationFailed(pending, verified, tags));
        }
        await clock.sleep(BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.5 + clock.random()));
      }
    } catch (error) {
      return this.settleOnHumanError(group, error, lastSeen === undefined ? firstRead : lastSeen);
    }
  }

  /**
   * Runs `work` holding the repository's lease, so concurrent fixer invocations take turns on one policy. Waits (with
   * jitter) while another holds it; gives up with `RepositoryBusyError`, a transient failure SQS retries.
   */
  private async withLease<T>(first: Pending, work: () => Promise<T>): Promise<T> {
    const { locks, clock } = this.deps;
    if (locks === null) return work();
    const arn = first.target.repositoryArn;
    const owner = sessionName(first.call);
    const deadline = clock.now().getTime() + LEASE_WAIT_MS;
    while (!(await locks.tryAcquire(arn, owner, LEASE_MS))) {
      if (clock.now().getTime() >= deadline) throw new RepositoryBusyError(arn, LEASE_WAIT_MS);
      await clock.sleep(100 + 300 * clock.random());
    }
    try {
      return await work();
    } finally {
      // A lease that cannot be returned expires on its own; the work is done, so this must not fail the events.
      await locks.release(arn, owner).catch(() => undefined);
    }
  }

  /**
   * Retried messages whose earlier attempt already changed the policy (and then, say, failed to notify): do not
   * write again; report the recorded decision so the notification still goes out.
   */
  private async replayRetries(
    group: readonly Pending[],
    policyText: string | null,
    readTags: () => Promise<Readonly<Record<string, string>>>
  ): Promise<Settled[]> {
    const audit = this.deps.audit;
    if (audit === null) return [];
    const replays: Settled[] = [];
    let tags: Readonly<Record<string, string>> | undefined;
    for (const pending of group) {
      if (pending.incoming.attempt <= 1) continue;
      const { call, target } = pending;
      const record = await audit.find(target.repositoryArn, call.eventTime, call.eventId);
      if (record === null || !record.applied) continue;
      // The owner's share tag consented to the cross-account grant: the replayed decision needs it again.
      tags ??= await readTags();
      // Planning is deterministic: the recorded "before" policy gives back the decision that was applied.
      const decision = decideForPolicy(
        call,
        target,
        { policyText: record.policyBefore, tags },
        this.deps.config
      );
      const stillThere =
        planGroup([pending], policyText, tags, this.deps.config).policyAfter === null;
      replays.push({ incoming: pending.incoming, decision, applied: stillThere, tags });
    }
    return replays;
  }

  private settleOnHumanError(
    group: readonly Pending[],
    error: unknown,
    policyText: string | null
  ): Settled[] {
    const reason = humanReasonOf(error);
    if (reason === null) throw error;
    return group.map((pending) => ({
      incoming: pending.incoming,
      decision: {
        ...bare('needs-human', reason, (error as Error).message, pending.call),
        target: pending.target,
        policyBefore: policyText,
      },
      applied: false,
      tags: undefined,
    }));
  }

  /** Writes the audit records of the batch (not for ignored events) in one go; an unwritten record fails its event. */
  private async recordAll(settled: readonly Settled[], results: Map<string, EventResult>) {
    const audit = this.deps.audit;
    if (audit === null) return;
    const decidedAt = this.deps.clock.now();
    const entries = settled
      .filter((s) => s.decision.outcome !== 'ignored' && s.decision.call !== null)
      .map((s) => ({ settled: s, entry: this.auditRecord(s, decidedAt) }));
    let unwritten: readonly AuditRecord[];
    try {
      unwritten = await audit.recordAll(entries.map(({ entry }) => entry));
    } catch (error) {
      for (const { settled: s } of entries) {
        results.set(s.incoming.messageId, this.fail(s.incoming, s.decision.call, error));
      }
      return;
    }
    for (const { settled: s, entry } of entries) {
      if (unwritten.includes(entry)) {
        const error = new Error(`The audit record of event ${entry.eventId} could not be written.`);
        results.set(s.incoming.messageId, this.fail(s.incoming, s.decision.call, error));
      }
    }
  }

  private auditRecord(s: Settled, decidedAt: Date): AuditRecord {
    const { decision } = s;
    const call = decision.call as DeployCall;
    return {
      repositoryArn: decision.target?.repositoryArn ?? 'none',
      eventId: call.eventId,
      eventTime: call.eventTime,
      decidedAt: decidedAt.toISOString(),
      consumerAccount: call.consumerAccount,
      callerArn: call.caller.arn,
      functionArn: decision.target?.functionArn ?? null,
      outcome: decision.outcome,
      reason: decision.reason,
      explanation: decision.explanation,
      mode: this.deps.config.mode,
      applied: s.applied,
      policyBefore: decision.policyBefore,
      policyAfter: decision.policyAfter,
      expiresAt:
        Math.floor(decidedAt.getTime() / 1000) + this.deps.config.auditRetentionDays * 86_400,
    };
  }

  /** Notifies (per `notifyOn`) and reports one decision. */
  private async finish(s: Settled): Promise<EventResult> {
    const { config, notifier, telemetry, clock } = this.deps;
    const { decision, applied, incoming } = s;
    let notificationId: string | null = null;
    if (notifier !== null && config.notifyOn.includes(decision.outcome)) {
      const context: NotificationContext = {
        mode: config.mode,
        applied,
        ...(s.tags === undefined ? {} : { repositoryTags: s.tags }),
      };
      const rendered = renderNotification(decision, context);
      try {
        notificationId = await notifier.publish({
          ...rendered,
          attributes: {
            outcome: decision.outcome,
            reason: decision.reason,
            consumerAccount: decision.call?.consumerAccount ?? 'unknown',
            repository: decision.target?.repositoryName ?? 'unknown',
          },
        });
      } catch (error) {
        return this.fail(incoming, decision.call, error);
      }
    }
    const eventTime = decision.call === null ? NaN : Date.parse(decision.call.eventTime);
    telemetry.decided({
      messageId: incoming.messageId,
      eventId: decision.call?.eventId ?? null,
      outcome: decision.outcome,
      reason: decision.reason,
      repository: decision.target?.repositoryArn ?? null,
      consumerAccount: decision.call?.consumerAccount ?? null,
      applied,
      notified: notificationId !== null,
      mode: config.mode,
      secondsToFix:
        applied && Number.isFinite(eventTime)
          ? Math.max(0, (clock.now().getTime() - eventTime) / 1000)
          : null,
    });
    return { messageId: incoming.messageId, status: 'done', decision, applied, notificationId };
  }

  private fail(incoming: IncomingEvent, call: DeployCall | null, error: unknown): EventResult {
    this.deps.telemetry.failed({
      messageId: incoming.messageId,
      eventId: call?.eventId ?? null,
      error,
    });
    return { messageId: incoming.messageId, status: 'failed', error };
  }
}

/** Plans every event of a group in turn, each on top of the policy the previous one planned. */
function planGroup(
  group: readonly Pending[],
  policyText: string | null,
  tags: Readonly<Record<string, string>>,
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

function settle(
  group: readonly Pending[],
  decisions: readonly Decision[],
  tags: Readonly<Record<string, string>> | undefined,
  written: boolean
): Settled[] {
  return group.map((pending, index) => {
    const decision = decisions[index] as Decision;
    return {
      incoming: pending.incoming,
      decision,
      applied: written && decision.outcome === 'fix',
      tags,
    };
  });
}

function verificationFailed(
  pending: Pending,
  policyText: string | null,
  tags: Readonly<Record<string, string>> | undefined
): Settled {
  const reason: NeedsHumanReason = 'verification-failed';
  return {
    incoming: pending.incoming,
    decision: {
      ...bare(
        'needs-human',
        reason,
        `The policy of ${pending.target.repositoryArn} kept changing under lambda-ecr-autofix (another writer replaced it ${MAX_WRITE_ATTEMPTS} times), so the grant could not be verified.`,
        pending.call,
        [
          'Find the other process that rewrites this repository policy (often an IaC pipeline) and add the grant there.',
        ]
      ),
      target: pending.target,
      policyBefore: policyText,
    },
    applied: false,
    tags,
  };
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

async function lookUpImage(
  functions: FunctionLookup,
  call: DeployCall,
  session: string
): Promise<string | null> {
  try {
    const found = await functions.getFunction(
      {
        functionName: call.functionName as string,
        region: call.region,
        account: call.consumerAccount,
      },
      session
    );
    return found?.imageUri ?? null;
  } catch (error) {
    // Without the member role in the function's account the lookup cannot help; the event stays needs-human.
    if (error instanceof RegistryRoleUnavailableError) return null;
    throw error;
  }
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
function sessionName(call: DeployCall): string {
  return `lambda-ecr-autofix-${call.eventId}`;
}
