/**
 * The ports the fix pipeline talks through. Adapters in `lambda/adapters/` implement them over the AWS SDK v3
 * (real clients, aws-sdk-client-mock in unit tests, moto_server in integration tests); in-memory stand-ins
 * implement them for the demo and for pipeline tests. The pipeline never sees an SDK type.
 */
import type { DecisionEventDetail } from '../domain/decision-event';
import type { Outcome, Partition, Reason } from '../domain/decision';
import type { OwnedValues } from '../domain/grant-decision';

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
  /**
   * Deletes the policy (`revoke` when no statement is left; a repository without a policy already counts as done).
   * Only `revoke`, run by a person, calls it: neither the fixer role nor the registry role may.
   */
  deletePolicy(repository: RepositoryRef): Promise<void>;
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

/**
 * Finds a function's ARN and its *current* image URI, for the sweep and `scan` (functions that no longer pull their
 * image). Never for a failed UpdateFunctionCode: the function's current image is the one before the failed update,
 * so it names the wrong repository.
 */
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
    /**
     * The decision's outcome, `error` when an event could not be processed at all, `sweep` for a sweep's digest.
     */
    readonly outcome: Outcome | 'error' | 'sweep';
    readonly reason: Reason | 'processing-failed' | 'sweep-digest';
    readonly consumerAccount: string;
    readonly repository: string;
  };
}

/** Publishes notifications (SNS). */
export interface Notifier {
  /** Returns the message id. */
  publish(message: NotificationMessage): Promise<string>;
}

/** Identifies one audit record: DynamoDB partition key `repositoryArn`, sort key `eventKey` = `${eventTime}#${eventId}`. */
export interface AuditKey {
  /** The repository ARN, or `none` when the event named no repository. */
  readonly repositoryArn: string;
  /** CloudTrail event id of the failed call. */
  readonly eventId: string;
  /** CloudTrail event time (ISO 8601). */
  readonly eventTime: string;
}

/** What produced a record: the fix pipeline (`fix`), the `revoke` command, the drift guard (`drift`). */
export const AUDIT_KINDS = ['fix', 'revoke', 'drift'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/**
 * Where a record stands (DESIGN.md, "Audit"). `intent`: written before `SetRepositoryPolicy`, the write may or may not
 * have happened. `applied`: the write was verified. `failed`: the write was refused, or could not be verified.
 * `recorded`: a decision that changed nothing (already allowed, needs a human, dry-run, …).
 */
export const AUDIT_STATES = ['intent', 'applied', 'failed', 'recorded'] as const;
export type AuditState = (typeof AUDIT_STATES)[number];

/** What one write added to one owned statement (`LambdaEcrAutofixService` / `LambdaEcrAutofixAccounts`). */
export interface AuditGrant {
  readonly sid: string;
  /** `created` when the write created the statement, else `extended`. */
  readonly change: 'created' | 'extended';
  /** The values added: `aws:SourceArn` patterns (service statement) or account roots (accounts statement). */
  readonly added: readonly string[];
}

/**
 * One audit record: what the fixer decided for one event on one repository, and what it wrote. The source of truth
 * for "which grants did the fixer make" (`revoke`, `history` and the drift guard read it), so a record is written
 * *before* the policy changes and an `applied` record is never overwritten. TTL attribute `expiresAt`.
 */
export interface AuditRecord extends AuditKey {
  readonly kind: AuditKind;
  readonly state: AuditState;
  /** When the fixer decided (ISO 8601). */
  readonly decidedAt: string;
  /** When the record last changed state (ISO 8601); with `owner`, it tells a live intent from an abandoned one. */
  readonly updatedAt: string;
  /** The fixer invocation (or CLI run) that last wrote the record: a random id, never reused. */
  readonly owner: string;
  readonly consumerAccount: string | null;
  readonly callerArn: string | null;
  readonly functionArn: string | null;
  readonly outcome: Outcome;
  readonly reason: Reason;
  readonly explanation: string;
  readonly mode: 'enforce' | 'dry-run';
  /** The policy as read before the change (null: the repository had none, or it was not read). */
  readonly policyBefore: string | null;
  /** The policy the fixer planned to write (intent, applied, failed) or proposed (a dry-run fix). */
  readonly policyPlanned: string | null;
  /** The policy read back when the write was verified (applied only). */
  readonly policyAfter: string | null;
  /** What this event's fix (or drift restore) added to the owned statements (empty when nothing was planned). */
  readonly grants: readonly AuditGrant[];
  /**
   * A revoke: the values it takes out of the owned statements. A drift record: the audited values the policy no longer
   * allowed (or, for a deleted repository, the grants that went with it). Empty for a fix.
   */
  readonly removed: readonly OwnedValues[];
  /** Why the write failed (failed only). */
  readonly error: string | null;
  /**
   * The FIXED notice, rendered when the intent is written, so that whichever attempt completes the record sends the
   * same text. Null for records that need no notice.
   */
  readonly notice: { readonly subject: string; readonly message: string } | null;
  /** When the FIXED notice was published (applied only); missing = still to be sent. */
  readonly notifiedAt: string | null;
  /** The SNS message id of that notice. */
  readonly notificationId: string | null;
  /**
   * A revoke's decision event, put on the central bus by the fixer (a person's credentials may not put one there): when
   * it was announced. Absent until then, and on every other kind of record.
   */
  readonly announcedAt?: string | null;
  /** Seconds since the epoch after which DynamoDB may delete the record. */
  readonly expiresAt: number;
}

/**
 * One conditional write of the audit log. The conditions are what keep the log true under retries, duplicate
 * deliveries and concurrent invocations; the DynamoDB adapter and the in-memory stand-in implement exactly these.
 */
export type AuditWrite =
  /**
   * An `intent` before `SetRepositoryPolicy`. Written when there is no record, a `recorded` or `failed` one, this
   * owner's own intent, or an intent last updated before `staleBefore` (its invocation died). Never over an `applied`
   * record, nor over another invocation's live intent.
   */
  | { readonly kind: 'intent'; readonly record: AuditRecord; readonly staleBefore: string }
  /** A `recorded` decision. Written when there is no record or a `recorded` one: never over a write's record. */
  | { readonly kind: 'decision'; readonly record: AuditRecord }
  /** Replaces a record only if it is still exactly the one read (same state, owner and update time). */
  | {
      readonly kind: 'replace';
      readonly record: AuditRecord;
      readonly expected: Pick<AuditRecord, 'state' | 'owner' | 'updatedAt'>;
    };

export type AuditWriteResult =
  | { readonly status: 'written' }
  /** The condition did not hold: `existing` is the record that is there (null: none, for a `replace`). */
  | { readonly status: 'conflict'; readonly existing: AuditRecord | null }
  /** Not written for another reason (e.g. DynamoDB's `TransactionConflict`, again and again); safe to retry later. */
  | { readonly status: 'unwritten'; readonly reason: string };

export interface AuditLog {
  /**
   * Writes each entry under its condition, in as few calls as possible (DynamoDB: TransactWriteItems, 100 a call).
   * Keys must be unique within one call. Resolves to one result per write, in order; rejects only when the call
   * itself failed (throttling, network), in which case any of the writes may or may not have been made.
   */
  write(writes: readonly AuditWrite[]): Promise<AuditWriteResult[]>;
  /**
   * Sets `notifiedAt` and `notificationId` on an `applied` record that has no `notifiedAt` yet; false when the record
   * is not (or no longer) such a record.
   */
  markNotified(key: AuditKey, notifiedAt: string, notificationId: string): Promise<boolean>;
  /**
   * Sets `announcedAt` on an `applied` revoke record that has none; false when the record is not (or no longer) such a
   * record (another run announced it).
   */
  markAnnounced(key: AuditKey, announcedAt: string): Promise<boolean>;
  /** The record for this event on this repository, if any (a strongly consistent read). */
  find(key: AuditKey): Promise<AuditRecord | null>;
  /**
   * Every record of one repository (a strongly consistent Query, all pages), or of the whole table (a Scan, all pages)
   * when `repositoryArn` is not given; optionally only those of one consumer account, decided at or after `since`
   * (ISO 8601), or still `unsettled`. Order unspecified. Leases are not records and never returned.
   */
  list(filter: AuditFilter): Promise<AuditRecord[]>;
}

export interface AuditFilter {
  readonly repositoryArn?: string | undefined;
  readonly consumerAccount?: string | undefined;
  /** ISO 8601: records whose `decidedAt` is at or after it. */
  readonly since?: string | undefined;
  /**
   * Only the records that may still owe something (the notice outbox, notice-outbox.ts): an `intent` or a `failed`
   * write (it may be in the policy without its record saying so), or an `applied` one without `notifiedAt`.
   */
  readonly unsettled?: boolean | undefined;
}

/**
 * Puts decision events on the central bus (EventBridge PutEvents). Rejects when any entry was not put (the call
 * failed, or PutEvents reported failed entries), naming how many.
 */
export interface DecisionEvents {
  put(details: readonly DecisionEventDetail[]): Promise<void>;
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
