/**
 * The named errors the adapters raise instead of SDK exceptions. Each one is a situation a person has to act on, so
 * each carries the `needs-human` reason the pipeline reports and a message that says what to do. Every other SDK error
 * (throttling, 5xx, expired tokens, …) propagates unchanged so the queue retries the message and the DLQ keeps it.
 */
import type { Decision, NeedsHumanReason } from '../domain/decision';
import { repositoryArnOf as arnOf } from '../domain/repository-arn';
import type { RepositoryRef } from './ports';

function repositoryArnOf(repository: RepositoryRef): string {
  return arnOf(
    repository.partition,
    repository.region,
    repository.registryAccount,
    repository.repositoryName
  );
}

/** The repository named by the image URI does not exist (`RepositoryNotFoundException`). */
export class RepositoryNotFoundError extends Error {
  override readonly name = 'RepositoryNotFoundError';
  readonly reason: NeedsHumanReason = 'repository-not-found';

  constructor(
    readonly repository: RepositoryRef,
    options?: ErrorOptions
  ) {
    super(
      `Repository ${repository.repositoryName} does not exist in registry ${repository.registryAccount} ` +
        `(${repository.region}). Check the image URI, or create the repository and push the image first.`,
      options
    );
  }
}

/**
 * The role the fixer uses in the registry account (its own role in its own account, else the member role) may not
 * call an ECR action on the repository (`AccessDeniedException`).
 */
export class RegistryAccessDeniedError extends Error {
  override readonly name = 'RegistryAccessDeniedError';
  readonly reason: NeedsHumanReason = 'access-denied-to-fixer';

  constructor(
    /** The IAM action, e.g. `ecr:SetRepositoryPolicy`. */
    readonly action: string,
    /** Who was denied: the registry role ARN, or a description of the fixer's own role. */
    readonly principal: string,
    readonly repository: RepositoryRef,
    options?: ErrorOptions & { awsMessage?: string }
  ) {
    const aws = options?.awsMessage ? ` AWS said: ${options.awsMessage}` : '';
    super(
      `Access denied: ${principal} may not call ${action} on ${repositoryArnOf(repository)}. ` +
        `Allow ${action} on the repository for that role (the lambda-ecr-autofix member stack grants ` +
        'ecr:GetRepositoryPolicy, ecr:SetRepositoryPolicy, ecr:ListTagsForResource and lambda:GetFunction; ' +
        'update it if it is older) and check service control policies and permissions boundaries.' +
        aws,
      options
    );
  }
}

/** ECR rejected the policy text we tried to set (`InvalidParameterException` on SetRepositoryPolicy). */
export class InvalidPolicyError extends Error {
  override readonly name = 'InvalidPolicyError';
  readonly reason: NeedsHumanReason = 'policy-invalid';

  constructor(
    readonly repository: RepositoryRef,
    /** What ECR (or the stand-in) said about the text. */
    readonly detail: string,
    options?: ErrorOptions
  ) {
    super(
      `ECR rejected the new policy for ${repositoryArnOf(repository)}: ${detail} ` +
        'The policy was not changed; review the current policy and add the statement by hand.',
      options
    );
  }
}

/** The fixer cannot assume the member role in a registry (or consumer) account. */
export class RegistryRoleUnavailableError extends Error {
  override readonly name = 'RegistryRoleUnavailableError';
  readonly reason: NeedsHumanReason = 'registry-role-unavailable';

  constructor(
    readonly account: string,
    /** The role the fixer tried to assume. */
    readonly roleArn: string,
    options?: ErrorOptions & { awsMessage?: string }
  ) {
    const aws = options?.awsMessage ? ` AWS said: ${options.awsMessage}` : '';
    super(
      `Cannot assume ${roleArn} in account ${account}. To fix: deploy the lambda-ecr-autofix member stack in ` +
        `account ${account} (it creates role ARN ${roleArn} trusted by the fixer role).` +
        aws,
      options
    );
  }
}

/**
 * Another fixer invocation held the repository's lease for too long. Transient: the events fail and SQS delivers
 * them again later, when the repository is free.
 */
export class RepositoryBusyError extends Error {
  override readonly name = 'RepositoryBusyError';

  constructor(
    readonly repositoryArn: string,
    waitedMs: number
  ) {
    super(
      `Repository ${repositoryArn} was being changed by another lambda-ecr-autofix invocation for ${waitedMs} ms; ` +
        'the events will be retried.'
    );
  }
}

/**
 * The policy was written and verified, but its notice could not be published. The event fails (SQS retries it) and
 * the audit record keeps the notice as unsent, so the retry (or a rerun of `apply` with the same audit table) sends
 * it without writing again. The CLI exits 3 with this message.
 */
export class NoticeNotSentError extends Error {
  override readonly name = 'NoticeNotSentError';

  constructor(
    cause: unknown,
    /** The decision whose change is in the policy, so that whoever ran it still sees what was written. */
    readonly decision: Decision | null = null,
    /** The change was written by an earlier attempt (its record was completed; nothing was written now). */
    readonly replayed = false
  ) {
    super(`policy written and verified; notice not sent: ${messageOf(cause)}`, { cause });
  }
}

/**
 * Notices of applied changes that the notice outbox (notice-outbox.ts) could not send: the audit table keeps them
 * owed. The sweep fails its message with it (and the drift guard its event), so that SQS delivers the message again
 * and the next attempt sends them; at the end of the retries the message waits in the dead-letter queue.
 */
export class NoticesOwedError extends Error {
  override readonly name = 'NoticesOwedError';

  constructor(readonly owed: readonly { readonly subject: string; readonly error: string }[]) {
    const first = owed[0];
    super(
      `${owed.length} notice(s) of applied changes could not be sent${first === undefined ? '' : ` (first: "${first.subject}": ${first.error})`}; ` +
        'the audit table keeps them as owed, and the next attempt sends them.'
    );
  }
}

/**
 * Another fixer run holds a fresh `intent` for the same event: it is between its write and the completion of the
 * record. Transient: the event fails and is retried after the other run has finished (or is known to be dead).
 */
export class AuditRecordBusyError extends Error {
  override readonly name = 'AuditRecordBusyError';

  constructor(
    readonly repositoryArn: string,
    readonly eventId: string,
    readonly owner: string,
    readonly since: string,
    /** When that run is known to have stopped, if it has not finished by then. */
    readonly retryAfter: string
  ) {
    super(
      `Event ${eventId} on ${repositoryArn} is being completed by another lambda-ecr-autofix run (${owner}, ` +
        `since ${since}); process it again after ${retryAfter} (SQS does so on its own).`
    );
  }
}

/** An audit record could not be written (the write conflicted or was refused again and again). Transient. */
export class AuditNotWrittenError extends Error {
  override readonly name = 'AuditNotWrittenError';

  constructor(
    readonly repositoryArn: string,
    readonly eventId: string,
    detail: string
  ) {
    super(
      `The audit record of event ${eventId} on ${repositoryArn} could not be written (${detail}); ` +
        'processing the event again is safe (SQS does so on its own).'
    );
  }
}

/** An error's message, or the value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The SDK error's name (`RepositoryNotFoundException`, `AccessDenied`, …), or undefined for anything else. */
export function sdkErrorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** The SDK error's message, for quoting AWS in our own messages. */
export function sdkErrorMessage(error: unknown): string | undefined {
  return error instanceof Error && error.message !== '' ? error.message : undefined;
}
