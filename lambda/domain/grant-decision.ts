/**
 * Decisions about grants the fixer already made: a `revoke` (one consumer taken out of the fixer's statements) and
 * the drift guard's verdict on an ECR call that changed a repository policy. They share the outcome vocabulary of
 * the fix pipeline (decision.ts) but are about a repository and a consumer, not about a failed deploy.
 */
import type { Caller, Outcome, Partition, Reason, StatementChange } from './decision';

/** One repository, as revoke and the drift guard address it. */
export interface RepositoryTarget {
  readonly partition: Partition;
  readonly region: string;
  readonly registryAccount: string;
  readonly repositoryName: string;
  readonly repositoryArn: string;
}

/** The ECR calls the drift guard watches (successful ones only). */
export const POLICY_CALL_NAMES = [
  'SetRepositoryPolicy',
  'DeleteRepositoryPolicy',
  'DeleteRepository',
] as const;
export type PolicyCallName = (typeof POLICY_CALL_NAMES)[number];

/**
 * A successful ECR call that changed or removed a repository policy, parsed from an EventBridge "AWS API Call via
 * CloudTrail" event (policy-call-event.ts). Every field comes from the event.
 */
export interface PolicyCall {
  /** EventBridge envelope `id` (the CloudTrail event id for a bare record). */
  readonly envelopeId: string;
  /** CloudTrail `eventID`. */
  readonly eventId: string;
  readonly eventName: PolicyCallName;
  /** CloudTrail `eventTime` (ISO 8601). */
  readonly eventTime: string;
  /** The repository (its account is the event's account: `recipientAccountId`). */
  readonly repository: RepositoryTarget;
  readonly caller: Caller;
  readonly userAgent: string | null;
}

/** Values of one owned statement: `aws:SourceArn` patterns (service statement) or account roots (accounts statement). */
export interface OwnedValues {
  readonly sid: string;
  readonly values: readonly string[];
}

/** What a `revoke` or the drift guard decided for one consumer of one repository. */
export interface GrantDecision {
  readonly kind: 'revoke' | 'drift';
  readonly outcome: Outcome;
  readonly reason: Reason;
  /** One sentence a person understands, naming the repository, the consumer and the statements. */
  readonly explanation: string;
  readonly nextSteps: readonly string[];
  readonly repository: RepositoryTarget;
  /** The consumer account whose grant this is about; null when the decision concerns none in particular. */
  readonly consumerAccount: string | null;
  /** The function (`revoke --function`, or the function an audited grant was made for), else null. */
  readonly functionArn: string | null;
  /** The repository policy as read (compact JSON text), or null for none / not read. */
  readonly policyBefore: string | null;
  /** The whole new policy when the decision changes it (null also when it deletes the policy: see `deletesPolicy`). */
  readonly policyAfter: string | null;
  /** The change deletes the repository policy (a revoke that leaves no statement). */
  readonly deletesPolicy: boolean;
  /** Revoke: the values taken out of the fixer's statements. Drift: the audited values the policy no longer allows. */
  readonly removed: readonly OwnedValues[];
  /** Drift restore: the statements the fix puts back (as the planner reports them). Empty otherwise. */
  readonly grants: readonly StatementChange[];
  /** Drift: the ECR call that was checked. Null for a revoke. */
  readonly call: PolicyCall | null;
}

/** Whether a grant decision changes the policy (a revoke that removes something, a drift restore). */
export function changesPolicy(decision: GrantDecision): boolean {
  return decision.policyAfter !== null || decision.deletesPolicy;
}

/** The consumer account an owned value is for: `…:lambda:REGION:ACCOUNT:function:…` or `arn:…:iam::ACCOUNT:root`. */
export function accountOfOwnedValue(value: string): string | null {
  const lambda = /^arn:[a-z-]+:lambda:[a-z0-9-]*:(\d{12}):function:/.exec(value);
  if (lambda !== null) return lambda[1] as string;
  const root = /^arn:[a-z-]+:iam::(\d{12}):root$/.exec(value);
  return root === null ? null : (root[1] as string);
}
