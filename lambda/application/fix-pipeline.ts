/**
 * The fix pipeline: turns a batch of events into decisions, decisions into verified policy changes, and both into
 * audit records, notices, one log line and metrics. The Lambda handler, the `apply` command and the `demo` all run
 * this same code with different adapters.
 *
 * This file is the batch: triage (what can be decided from the event alone), de-duplication (one delivery per audit
 * key), grouping by repository (a burst against one repository costs one read, at most one write and one
 * verification), and reporting. What happens to one repository is in repository-fix.ts; the write-ahead audit and
 * the notices are in write-ahead-audit.ts. ECR repository-policy calls (the drift guard's input) go to drift-guard.ts;
 * decisions worth telling are also put on the central bus (decision-events.ts).
 */
import type { Config } from '../domain/config';
import type { FixerIdentity } from '../domain/decide';
import { triage } from '../domain/decide';
import { bare } from '../domain/decide';
import type { Decision, DeployCall } from '../domain/decision';
import { fixDecisionDetail } from '../domain/decision-event';
import type { PolicyCall } from '../domain/grant-decision';
import { isEcrEvent, parsePolicyCallEvent } from '../domain/policy-call-event';
import type { UndoContext } from '../domain/undo-instructions';
import type { DecisionEventsTelemetry } from './decision-events';
import { DecisionEventPublisher } from './decision-events';
import { DriftGuard } from './drift-guard';
import { NoticeNotSentError, NoticesOwedError } from './errors';
import type { EventOutcome, EventResult, IncomingEvent, PendingEvent } from './event-outcome';
import { Notices } from './notices';
import type {
  AuditLog,
  Clock,
  DecisionEvents,
  Notifier,
  RegistryAccess,
  RepositoryLocks,
} from './ports';
import { fixRepository } from './repository-fix';
import { newRunId } from './repository-lease';
import { WriteAheadAudit } from './write-ahead-audit';

export type { EventResult, IncomingEvent } from './event-outcome';
export { MAX_WRITE_ATTEMPTS } from './repository-fix';
export { LEASE_MS, LEASE_WAIT_MS } from './repository-lease';

export interface PipelineDependencies {
  readonly config: Config;
  readonly fixer: FixerIdentity;
  readonly registry: RegistryAccess;
  readonly notifier: Notifier | null;
  /** The write-ahead audit log; null for none (the CLI without --audit-table). */
  readonly audit: AuditLog | null;
  /** Repository leases between concurrent invocations; null for a single process without an audit table. */
  readonly locks: RepositoryLocks | null;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  /** The central bus for decision events; null or absent for none. */
  readonly decisionEvents?: DecisionEvents | null;
  /** What the FIXED notices' undo section names: the audit table and the central region. */
  readonly undo?: UndoContext;
  /**
   * A new id for each run of `process`: the owner of its leases and records.
   * @default a random UUID
   */
  readonly newRunId?: () => string;
  /** Told right before each policy write when there is no audit log (the CLI warns that nothing records it). */
  readonly onUnauditedWrite?: (repositoryArn: string) => void;
}

/** Where the pipeline reports what it did: the handler maps this to Powertools Logger and Metrics. */
export interface Telemetry extends Partial<DecisionEventsTelemetry> {
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
  /** Seconds from the failed call to the verified fix, for fixes applied by this run. */
  readonly secondsToFix: number | null;
}

export class FixPipeline {
  constructor(private readonly deps: PipelineDependencies) {}

  /** Processes a batch; one result per event, in the order given. A failed event is retried by its caller. */
  async process(events: readonly IncomingEvent[]): Promise<EventResult[]> {
    const { config, fixer, registry, locks, clock, audit, notifier } = this.deps;
    const runId = (this.deps.newRunId ?? newRunId)();
    const writeAhead = new WriteAheadAudit({
      config,
      audit,
      notices: new Notices(notifier, config, this.deps.undo),
      clock,
      runId,
      onUnauditedWrite: this.deps.onUnauditedWrite,
    });
    const telemetry = this.deps.telemetry;
    const decisionEvents = new DecisionEventPublisher(this.deps.decisionEvents ?? null, config, {
      decisionEventsNotPut: (report) => telemetry.decisionEventsNotPut?.(report),
    });
    /** ECR repository-policy calls, for the drift guard (one per CloudTrail event id). */
    const policyCalls = new Map<string, { incoming: IncomingEvent; call: PolicyCall }>();
    const policyCallDuplicates = new Map<IncomingEvent, string>();

    const outcomes: EventOutcome[] = [];
    const groups = new Map<string, PendingEvent[]>();
    /** Later deliveries of an event already in the batch: they share the first one's result. */
    const duplicates = new Map<IncomingEvent, IncomingEvent>();
    const firstByKey = new Map<string, IncomingEvent>();
    for (const incoming of events) {
      if (isEcrEvent(incoming.event)) {
        const parsed = parsePolicyCallEvent(incoming.event);
        if (parsed.ok) {
          if (policyCalls.has(parsed.call.eventId)) {
            policyCallDuplicates.set(incoming, parsed.call.eventId);
          } else {
            policyCalls.set(parsed.call.eventId, { incoming, call: parsed.call });
          }
          continue;
        }
        outcomes.push({
          kind: 'decided',
          incoming,
          decision: bare('ignored', parsed.reason, parsed.explanation, null),
          applied: false,
          tags: undefined,
          intent: null,
          writeFailure: null,
          policySeen: undefined,
        });
        continue;
      }
      const triaged = triage(incoming.event, config, fixer);
      const decision = triaged.kind === 'decided' ? triaged.decision : null;
      const call = triaged.kind === 'decided' ? triaged.decision.call : triaged.call;
      if (call !== null) {
        // The audit key: two messages with the same key would be two writes of one record (DynamoDB rejects a
        // transaction, or a batch, that names an item twice) and, worse, two notices.
        const repositoryArn =
          triaged.kind === 'decided'
            ? (triaged.decision.target?.repositoryArn ?? 'none')
            : triaged.target.repositoryArn;
        const key = `${repositoryArn}\n${call.eventTime}#${call.eventId}`;
        const first = firstByKey.get(key);
        if (first !== undefined) {
          duplicates.set(incoming, first);
          continue;
        }
        firstByKey.set(key, incoming);
      }
      if (decision !== null) {
        outcomes.push({
          kind: 'decided',
          incoming,
          decision,
          applied: false,
          tags: undefined,
          intent: null,
          writeFailure: null,
          policySeen: undefined,
        });
        continue;
      }
      if (triaged.kind !== 'read-repository') continue;
      const group = groups.get(triaged.target.repositoryArn) ?? [];
      group.push({ incoming, call: triaged.call, target: triaged.target });
      groups.set(triaged.target.repositoryArn, group);
    }

    const repositoryDeps = { config, registry, locks, clock, runId, intents: writeAhead };
    await Promise.all(
      [...groups.values()].map(async (group) => {
        try {
          outcomes.push(...(await fixRepository(repositoryDeps, group)));
        } catch (error) {
          for (const { incoming, call } of group) {
            outcomes.push({ kind: 'failed', incoming, call, error, intent: null });
          }
        }
      })
    );

    const settled = await writeAhead.settle(outcomes);
    const results = new Map<IncomingEvent, EventResult>();
    settled.forEach((result, index) => {
      const outcome = outcomes[index] as EventOutcome;
      results.set(outcome.incoming, result);
      this.report(result, outcome.kind === 'failed' ? outcome.call : outcome.decision.call);
    });
    // Decision events of this run's decisions (a replayed one was told by the delivery that made it).
    await decisionEvents.publish(
      settled.flatMap((result) =>
        result.status === 'done' && !result.replayed
          ? [
              fixDecisionDetail(result.decision, {
                mode: config.mode,
                applied: result.applied,
                notificationId: result.notificationId,
              }),
            ]
          : []
      )
    );

    const checked = await this.checkPolicyCalls([...policyCalls.values()], runId, decisionEvents);
    for (const [incoming, result] of checked) {
      results.set(incoming, result);
      this.reportCheck(result);
    }
    for (const [duplicate, eventId] of policyCallDuplicates) {
      const first = policyCalls.get(eventId) as { incoming: IncomingEvent };
      results.set(duplicate, {
        ...(results.get(first.incoming) as EventResult),
        messageId: duplicate.messageId,
      });
    }
    for (const [duplicate, first] of duplicates) {
      const result = { ...(results.get(first) as EventResult), messageId: duplicate.messageId };
      results.set(duplicate, result);
      // The notice and the write belong to the first delivery; this one only reports the same decision.
      this.report(
        result.status === 'done' ? { ...result, applied: false, notificationId: null } : result,
        callOf(results.get(first) as EventResult)
      );
    }
    return events.map((incoming) => results.get(incoming) as EventResult);
  }

  /**
   * The drift guard, for each ECR repository-policy call: calls on one repository one after the other (each reads the
   * audit the previous one wrote), repositories in parallel.
   */
  private async checkPolicyCalls(
    calls: readonly { incoming: IncomingEvent; call: PolicyCall }[],
    runId: string,
    decisionEvents: DecisionEventPublisher
  ): Promise<Map<IncomingEvent, EventResult>> {
    const { config, registry, audit, locks, clock, notifier } = this.deps;
    const guard = new DriftGuard({
      config,
      registry,
      audit,
      locks,
      notifier,
      decisionEvents,
      clock,
      runId,
      ...(this.deps.undo === undefined ? {} : { undo: this.deps.undo }),
    });
    const byRepository = new Map<string, { incoming: IncomingEvent; call: PolicyCall }[]>();
    for (const entry of calls) {
      const arn = entry.call.repository.repositoryArn;
      byRepository.set(arn, [...(byRepository.get(arn) ?? []), entry]);
    }
    const results = new Map<IncomingEvent, EventResult>();
    await Promise.all(
      [...byRepository.values()].map(async (entries) => {
        for (const { incoming, call } of entries) {
          const messageId = incoming.messageId;
          try {
            const check = await guard.check(call);
            const unsent =
              check.kind === 'decided'
                ? check.outcomes.find((outcome) => outcome.noticeError !== null)
                : undefined;
            const owed = check.outbox?.unsent ?? [];
            results.set(
              incoming,
              unsent !== undefined
                ? // Retried: the record keeps the notice unsent (or the report is recorded again), so it goes out then.
                  { messageId, status: 'failed', error: new NoticeNotSentError(unsent.noticeError) }
                : owed.length > 0
                  ? // Retried, so that the outbox tries again the notices other runs' writes still owe.
                    { messageId, status: 'failed', error: new NoticesOwedError(owed) }
                  : { messageId, status: 'checked', call, check }
            );
          } catch (error) {
            results.set(incoming, { messageId, status: 'failed', error });
          }
        }
      })
    );
    return results;
  }

  private reportCheck(result: EventResult): void {
    const { config, telemetry } = this.deps;
    if (result.status === 'failed') {
      telemetry.failed({ messageId: result.messageId, eventId: null, error: result.error });
      return;
    }
    if (result.status !== 'checked') return;
    const { call, check } = result;
    const base = {
      messageId: result.messageId,
      eventId: call.eventId,
      repository: call.repository.repositoryArn,
      mode: config.mode,
      secondsToFix: null,
    };
    if (check.kind === 'ignored') {
      telemetry.decided({
        ...base,
        outcome: 'ignored',
        reason: check.reason,
        consumerAccount: null,
        applied: false,
        notified: false,
      });
      return;
    }
    for (const outcome of check.outcomes) {
      telemetry.decided({
        ...base,
        outcome: outcome.decision.outcome,
        reason: outcome.decision.reason,
        consumerAccount: outcome.decision.consumerAccount,
        applied: outcome.applied,
        notified: outcome.notificationId !== null,
      });
    }
  }

  private report(result: EventResult, call: DeployCall | null): void {
    const { config, telemetry, clock } = this.deps;
    if (result.status === 'checked') return;
    if (result.status === 'failed') {
      telemetry.failed({
        messageId: result.messageId,
        eventId: call?.eventId ?? null,
        error: result.error,
      });
      return;
    }
    const { decision, applied, replayed } = result;
    const eventTime = decision.call === null ? NaN : Date.parse(decision.call.eventTime);
    telemetry.decided({
      messageId: result.messageId,
      eventId: decision.call?.eventId ?? null,
      outcome: decision.outcome,
      reason: decision.reason,
      repository: decision.target?.repositoryArn ?? null,
      consumerAccount: decision.call?.consumerAccount ?? null,
      applied,
      notified: result.notificationId !== null,
      mode: config.mode,
      secondsToFix:
        applied && !replayed && Number.isFinite(eventTime)
          ? Math.max(0, (clock.now().getTime() - eventTime) / 1000)
          : null,
    });
  }
}

function callOf(result: EventResult): DeployCall | null {
  return result.status === 'done' ? result.decision.call : null;
}
