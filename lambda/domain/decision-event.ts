/**
 * Decision events (DESIGN.md, "After the fix"): each decision worth telling is also put on the central bus, so teams
 * route it to chat, tickets or their own automation with an ordinary EventBridge rule, e.g. on
 * `detail.consumerAccount`. The detail is the decision without policy texts: who, what, why, and what changed.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
 */
import type { Decision, Outcome, Reason } from './decision';
import type { GrantDecision } from './grant-decision';

export const DECISION_EVENT_SOURCE = 'lambda-ecr-autofix';
export const DECISION_EVENT_DETAIL_TYPE = 'Lambda ECR Autofix Decision';
/** Bump when a field changes meaning; new fields may appear without a bump. */
export const DECISION_EVENT_VERSION = '1';

/** The `detail` of a decision event. */
export interface DecisionEventDetail {
  readonly version: typeof DECISION_EVENT_VERSION;
  /** What made the decision: a failed deploy (`fix`), a `revoke`, the drift guard (`drift`). */
  readonly kind: 'fix' | 'revoke' | 'drift';
  readonly outcome: Outcome;
  readonly reason: Reason;
  readonly explanation: string;
  readonly mode: 'enforce' | 'dry-run';
  /** The policy change is in the policy (written and verified). */
  readonly applied: boolean;
  /** The CloudTrail event id (or the revoke's request id) the decision is about. */
  readonly eventId: string | null;
  readonly eventTime: string | null;
  readonly repository: {
    readonly arn: string;
    readonly name: string;
    readonly registryAccount: string;
    readonly region: string;
    readonly partition: string;
  } | null;
  readonly consumerAccount: string | null;
  readonly functionArn: string | null;
  /** Who made the call (the failed deploy, the ECR call) or ran the revoke, when known. */
  readonly callerArn: string | null;
  /** What changed (or would change) in the fixer's statements: values added or removed per statement. */
  readonly changes: readonly {
    readonly sid: string;
    readonly change: 'created' | 'extended' | 'removed' | 'missing';
    readonly values: readonly string[];
  }[];
  /** The SNS message id of the notice, when one was sent. */
  readonly notificationId: string | null;
}

export interface DecisionFacts {
  readonly mode: 'enforce' | 'dry-run';
  readonly applied: boolean;
  readonly notificationId: string | null;
}

/** The event detail of a fix-pipeline decision. */
export function fixDecisionDetail(decision: Decision, facts: DecisionFacts): DecisionEventDetail {
  const target = decision.target;
  return {
    version: DECISION_EVENT_VERSION,
    kind: 'fix',
    outcome: decision.outcome,
    reason: decision.reason,
    explanation: decision.explanation,
    ...facts,
    eventId: decision.call?.eventId ?? null,
    eventTime: decision.call?.eventTime ?? null,
    repository:
      target === null
        ? null
        : {
            arn: target.repositoryArn,
            name: target.repositoryName,
            registryAccount: target.registryAccount,
            region: target.region,
            partition: target.partition,
          },
    consumerAccount: target?.consumerAccount ?? decision.call?.consumerAccount ?? null,
    functionArn: target?.functionArn ?? null,
    callerArn: decision.call?.caller.arn ?? null,
    changes:
      decision.outcome === 'fix'
        ? decision.grants.map((grant) => ({
            sid: grant.sid,
            change: grant.change,
            values: grant.added,
          }))
        : [],
  };
}

/** The event detail of a revoke or drift decision. */
export function grantDecisionDetail(
  decision: GrantDecision,
  facts: DecisionFacts & {
    readonly eventId: string;
    readonly eventTime: string;
    readonly actorArn: string | null;
  }
): DecisionEventDetail {
  const repository = decision.repository;
  const removal: 'removed' | 'missing' = decision.kind === 'revoke' ? 'removed' : 'missing';
  return {
    version: DECISION_EVENT_VERSION,
    kind: decision.kind,
    outcome: decision.outcome,
    reason: decision.reason,
    explanation: decision.explanation,
    mode: facts.mode,
    applied: facts.applied,
    notificationId: facts.notificationId,
    eventId: facts.eventId,
    eventTime: facts.eventTime,
    repository: {
      arn: repository.repositoryArn,
      name: repository.repositoryName,
      registryAccount: repository.registryAccount,
      region: repository.region,
      partition: repository.partition,
    },
    consumerAccount: decision.consumerAccount,
    functionArn: decision.functionArn,
    callerArn: facts.actorArn,
    changes: [
      ...(decision.outcome === 'revoke' && decision.reason === 'already-revoked'
        ? []
        : decision.removed.map((entry) => ({
            sid: entry.sid,
            change: removal,
            values: entry.values,
          }))),
      ...decision.grants.map((grant) => ({
        sid: grant.sid,
        change: grant.change,
        values: grant.added,
      })),
    ],
  };
}
