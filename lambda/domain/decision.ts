/**
 * The vocabulary every part of the product shares: outcomes, reasons, the located target and the decision.
 * Plain data only, so the CLI, the Lambda, the demo, logs, metrics and notifications all speak the same words.
 */

export const OUTCOMES = ['fix', 'already-allowed', 'needs-human', 'ignored', 'revoke'] as const;
/**
 * What the fixer decided for one event. See DESIGN.md, "Outcomes". `revoke` is the outcome of the `revoke` command
 * (one consumer taken out of the fixer's own statements); a drift restore is a `fix`, a drift report `needs-human`.
 */
export type Outcome = (typeof OUTCOMES)[number];

/** Reasons, grouped by the outcome they go with. Kebab-case, stable: users filter SNS subscriptions on them. */
export const REASONS = {
  fix: [
    'repository-policy-missing-grant',
    // the drift guard: a grant the fixer made (per the audit) was removed by someone else
    'grant-removed',
  ],
  'already-allowed': ['grant-already-present'],
  'needs-human': [
    // the caller, not the repository, lacks the permission
    'caller-identity-policy',
    // guardrails we never loosen
    'explicit-deny',
    'permissions-boundary',
    'session-policy',
    'service-control-policy',
    'vpc-endpoint-policy',
    'unrecognized-ecr-denial',
    // the image itself
    'image-not-found',
    'repository-not-found',
    'invalid-image-uri',
    'unsupported-media-type',
    'cross-region-image',
    'legacy-cross-account-unsupported',
    'image-uri-unknown',
    'function-name-unknown',
    // the repository policy
    'policy-too-large',
    'policy-invalid',
    'policy-not-understood',
    // scope and configuration
    'repository-excluded',
    'repository-opted-out',
    'registry-account-excluded',
    'consumer-account-excluded',
    // sharing an image with another account needs its owner's consent
    'sharing-not-consented',
    // the fixer could not do its job
    'registry-role-unavailable',
    'access-denied-to-fixer',
    'verification-failed',
    // after the fix: revoke and the drift guard
    'not-granted-by-autofix',
    'granted-at-account-scope',
    'grant-removed',
    'repository-deleted',
  ],
  ignored: [
    'invalid-event',
    // the event's fields name different accounts (or Regions): it did not come from AWS as it is
    'inconsistent-event',
    'not-a-lambda-deploy',
    'call-succeeded',
    'zip-package',
    'not-an-ecr-failure',
    'own-change',
    // ECR policy calls the drift guard looks at
    'not-a-policy-change',
    'call-failed',
    'no-drift',
    'drift-already-reported',
    'drift-guard-off',
  ],
  revoke: [
    // the consumer's values were taken out of the fixer's statements
    'consumer-revoked',
    // the fixer's statements grant the consumer nothing (any more): nothing to do
    'already-revoked',
  ],
} as const satisfies Record<Outcome, readonly string[]>;

export type FixReason = (typeof REASONS)['fix'][number];
export type AlreadyAllowedReason = (typeof REASONS)['already-allowed'][number];
export type NeedsHumanReason = (typeof REASONS)['needs-human'][number];
export type IgnoredReason = (typeof REASONS)['ignored'][number];
export type RevokeReason = (typeof REASONS)['revoke'][number];
export type Reason =
  FixReason | AlreadyAllowedReason | NeedsHumanReason | IgnoredReason | RevokeReason;

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

/** A parsed Amazon ECR image reference (`ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO(:TAG|@sha256:DIGEST)`). */
export interface ImageReference {
  /** The URI exactly as found. */
  readonly uri: string;
  readonly registryAccount: string;
  readonly region: string;
  readonly partition: Partition;
  /** May contain `/` namespaces, e.g. `platform/payments-worker`. */
  readonly repositoryName: string;
  readonly tag: string | null;
  /** `sha256:<64 hex>` when the image is pinned by digest. */
  readonly digest: string | null;
}

/** Who made the failed call, as far as CloudTrail tells. */
export interface Caller {
  /** `userIdentity.arn` (an assumed-role session ARN for roles). */
  readonly arn: string | null;
  /** `userIdentity.type`: IAMUser, AssumedRole, Root, FederatedUser, AWSService, … */
  readonly type: string | null;
  /** The IAM role or user behind the session (`sessionContext.sessionIssuer.arn`), else `arn`. */
  readonly principalArn: string | null;
  /** `userIdentity.invokedBy`, e.g. `cloudformation.amazonaws.com`. */
  readonly invokedBy: string | null;
}

/**
 * A failed (or, to be ignored, successful) Lambda `CreateFunction*` or `UpdateFunctionCode*` call, parsed from an
 * EventBridge "AWS API Call via CloudTrail" event. Every field comes from the event; nothing is guessed.
 */
export interface DeployCall {
  /** EventBridge envelope `id`. */
  readonly envelopeId: string;
  /** CloudTrail `eventID` (unique per record). */
  readonly eventId: string;
  /** The raw CloudTrail `eventName`, e.g. `CreateFunction20150331`. */
  readonly eventName: string;
  /** The public API behind the versioned event name. */
  readonly api: 'CreateFunction' | 'UpdateFunctionCode';
  /** CloudTrail `eventTime` (ISO 8601). */
  readonly eventTime: string;
  /** `awsRegion`: the function's region. */
  readonly region: string;
  /** `recipientAccountId`: the function's (consumer) account. Never taken from request fields. */
  readonly consumerAccount: string;
  /** `errorCode`, or null when the call succeeded. */
  readonly errorCode: string | null;
  /** `errorMessage`, or '' when absent. */
  readonly errorMessage: string;
  /** `requestParameters.functionName` as given: a name, a partial ARN or a full ARN. */
  readonly functionName: string | null;
  /** The image URI from the request (`code.imageUri` or `imageUri`), or null. */
  readonly requestImageUri: string | null;
  /** `requestParameters.packageType` (`Image`, `Zip`) when present. */
  readonly packageType: string | null;
  /** True when the request clearly describes a zip package (S3 location, zip file, runtime + handler). */
  readonly looksLikeZip: boolean;
  readonly caller: Caller;
  readonly userAgent: string | null;
  readonly sourceIpAddress: string | null;
  /** Tags sent with the request (CreateFunction), used to spot IaC ownership of the function. */
  readonly requestTags: Readonly<Record<string, string>>;
}

/** Where the fix goes and who it is for. */
export interface Target {
  readonly partition: Partition;
  /** The function's region; always equal to the image's region for a target we act on. */
  readonly region: string;
  readonly registryAccount: string;
  readonly repositoryName: string;
  readonly repositoryArn: string;
  /** The function's account (`recipientAccountId`). */
  readonly consumerAccount: string;
  /** `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`, null when the event names no function. */
  readonly functionArn: string | null;
  /** The bare function name, null when unknown. */
  readonly functionName: string | null;
  readonly image: ImageReference;
  /** Registry account ≠ consumer account. */
  readonly crossAccount: boolean;
}

/** The JSON-visible shape of a target, exactly the fields DESIGN.md's CLI contract names. */
export interface TargetSummary {
  readonly partition: Partition;
  readonly region: string;
  readonly registryAccount: string;
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly consumerAccount: string;
  readonly functionArn: string | null;
}

/** A decision before any notification text is attached. */
export interface Decision {
  readonly outcome: Outcome;
  readonly reason: Reason;
  /** One sentence a person understands, naming the specifics (account, repository, statement). */
  readonly explanation: string;
  /** What a person should do next, for `needs-human`; empty otherwise. */
  readonly nextSteps: readonly string[];
  /** The parsed call, when the input was a call at all. */
  readonly call: DeployCall | null;
  /** The located target, when it could be located. */
  readonly target: Target | null;
  /** The repository policy as read (compact JSON text), or null for none / not read. */
  readonly policyBefore: string | null;
  /** The whole new policy text for `fix`, else null. */
  readonly policyAfter: string | null;
  /** Statements the fix adds or extends (for diffs and for the manual remedy of `policy-too-large`). */
  readonly grants: readonly StatementChange[];
}

/** One owned statement the plan creates or extends, with the values it adds. */
export interface StatementChange {
  readonly sid: string;
  /** `created` when the statement did not exist, else `extended`. */
  readonly change: 'created' | 'extended';
  /** The principals (`Service` or `AWS` values) or SourceArn patterns added. */
  readonly added: readonly string[];
  /** The statement as it is after the change. */
  readonly statement: Readonly<Record<string, unknown>>;
}

export function summarizeTarget(target: Target | null): TargetSummary | null {
  if (target === null) return null;
  return {
    partition: target.partition,
    region: target.region,
    registryAccount: target.registryAccount,
    repositoryName: target.repositoryName,
    repositoryArn: target.repositoryArn,
    consumerAccount: target.consumerAccount,
    functionArn: target.functionArn,
  };
}
