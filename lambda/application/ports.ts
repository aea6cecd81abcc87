/**
 * The ports the fix pipeline talks through. Adapters in `lambda/adapters/` implement them over the AWS SDK v3
 * (real clients, aws-sdk-client-mock in unit tests, moto_server in integration tests); in-memory stand-ins
 * implement them for the demo and for pipeline tests. The pipeline never sees an SDK type.
 */
import type { Outcome, Partition, Reason } from '../domain/decision';

/** Identifies one ECR repository. */
export interface RepositoryRef {
  readonly partition: Partition;
  readonly region: string;
  readonly registryAccount: string;
  readonly repositoryName: string;
}

/**
 * Reads and writes ECR repository policies and tags, in the repository's own account. Every method may throw
 * `RepositoryNotFoundError` or `RegistryAccessDeniedError` (see `lambda/adapters/errors.ts`); `setPolicy` also
 * `InvalidPolicyError`. Any other error is transient or unexpected and should propagate (the queue retries).
 */
export interface RepositoryPolicyStore {
  /** The policy text, or null when the repository has no policy (`RepositoryPolicyNotFoundException`). */
  getPolicy(repository: RepositoryRef): Promise<string | null>;
  /** Sets the policy (never with `force`). Returns the policy text ECR stored. */
  setPolicy(repository: RepositoryRef, policyText: string): Promise<string>;
  /** The repository's tags as a plain map. */
  getTags(repository: RepositoryRef): Promise<Readonly<Record<string, string>>>;
}

/** Opens a policy store for a registry account: the fixer's own account directly, others through STS. */
export interface RegistryAccess {
  /**
   * Throws `RegistryRoleUnavailableError` when the member role of another account cannot be assumed.
   * `sessionName` (e.g. `lambda-ecr-autofix-<eventId>`) names the assumed-role session in that account's CloudTrail.
   */
  storeFor(repository: RepositoryRef, sessionName: string): Promise<RepositoryPolicyStore>;
}

/** Finds a function's ARN and current image URI (for UpdateFunctionCode events that lack them). */
export interface FunctionLookup {
  /**
   * Null when the function does not exist (yet). For another account it goes through the same member role as
   * `RegistryAccess`, so it may throw `RegistryRoleUnavailableError` too.
   */
  getFunction(
    input: { readonly functionName: string; readonly region: string; readonly account: string },
    sessionName: string
  ): Promise<{ functionArn: string; imageUri: string | null } | null>;
}

export interface NotificationMessage {
  readonly subject: string;
  readonly message: string;
  readonly attributes: {
    /** The decision's outcome, or `error` when an event could not be processed at all. */
    readonly outcome: Outcome | 'error';
    readonly reason: Reason | 'processing-failed';
    readonly consumerAccount: string;
    readonly repository: string;
  };
}

/** Publishes notifications (SNS). */
export interface Notifier {
  /** Returns the message id. */
  publish(message: NotificationMessage): Promise<string>;
}

/**
 * One audit record: enough to understand and undo a decision later. DynamoDB key: partition key `repositoryArn`
 * (S), sort key `eventKey` (S) = `${eventTime}#${eventId}`; TTL attribute `expiresAt`.
 */
export interface AuditRecord {
  /** Partition key: the repository ARN, or `none` when the event named no repository. */
  readonly repositoryArn: string;
  /** CloudTrail event id of the failed call. */
  readonly eventId: string;
  /** CloudTrail event time (ISO 8601). */
  readonly eventTime: string;
  /** When the fixer decided (ISO 8601). */
  readonly decidedAt: string;
  readonly consumerAccount: string | null;
  readonly callerArn: string | null;
  readonly functionArn: string | null;
  readonly outcome: Outcome;
  readonly reason: Reason;
  readonly explanation: string;
  readonly mode: 'enforce' | 'dry-run';
  /** Whether the fixer wrote the policy. */
  readonly applied: boolean;
  readonly policyBefore: string | null;
  readonly policyAfter: string | null;
  /** Seconds since the epoch after which DynamoDB may delete the record. */
  readonly expiresAt: number;
}

export interface AuditLog {
  record(entry: AuditRecord): Promise<void>;
  /**
   * Writes several records at once (DynamoDB: BatchWriteItem, 25 a call). Resolves to the records that could not be
   * written, so only their events fail and are retried.
   */
  recordAll(entries: readonly AuditRecord[]): Promise<readonly AuditRecord[]>;
  /**
   * The record already written for this event on this repository, if any. Lets a retried message (for example after
   * SNS failed) skip the write it already made and still notify.
   */
  find(repositoryArn: string, eventTime: string, eventId: string): Promise<AuditRecord | null>;
}

/**
 * Short leases on repositories, so that two fixer invocations never interleave their read-write-verify on the same
 * policy (ECR's SetRepositoryPolicy has no condition; the last writer wins). DynamoDB: a conditional put on the audit
 * table. Other writers (people, IaC) are covered by the re-read before and after each write instead.
 */
export interface RepositoryLocks {
  /** Takes the lease for `leaseMs` unless another owner holds an unexpired one; true when taken. */
  tryAcquire(repositoryArn: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Gives the lease back if `owner` still holds it. */
  release(repositoryArn: string, owner: string): Promise<void>;
}

/** Time and randomness, injected so the pipeline stays deterministic in tests. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
  random(): number;
}
