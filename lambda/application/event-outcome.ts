/**
 * The data that flows between the stages of the fix pipeline: an incoming event, the outcome of its repository's
 * read–plan–write–verify loop, and the result the caller (the Lambda handler, the CLI) receives.
 */
import type { Decision, DeployCall, Target } from '../domain/decision';
import type { PolicyCall } from '../domain/grant-decision';
import type { DriftCheck } from './drift-guard';
import type { RenderedNotification } from '../domain/notification';
import type { AuditRecord } from './ports';

/** One event to process. */
export interface IncomingEvent {
  /** Identifies the message (SQS message id, or a file name for the CLI). */
  readonly messageId: string;
  /** The event, already parsed from JSON. */
  readonly event: unknown;
  /** How many times this message was delivered (1 = first); the handler's last attempt sends an `error` notice. */
  readonly attempt: number;
}

export type EventResult =
  | {
      readonly messageId: string;
      readonly status: 'done';
      readonly decision: Decision;
      /** The fix is in the policy: written and verified now, or by an earlier attempt whose record this one completed. */
      readonly applied: boolean;
      /** The SNS message id of the notice sent now, or null. */
      readonly notificationId: string | null;
      /** The notice for this decision (sent or not), or null when none is due. */
      readonly notice: RenderedNotification | null;
      /** The decision comes from the audit record of an earlier delivery of the same event; nothing was written now. */
      readonly replayed: boolean;
    }
  | {
      readonly messageId: string;
      /** An ECR repository-policy call the drift guard checked (drift-guard.ts). */
      readonly status: 'checked';
      readonly call: PolicyCall;
      readonly check: DriftCheck;
    }
  | { readonly messageId: string; readonly status: 'failed'; readonly error: unknown };

/** A repository-policy event whose target is known, waiting for its repository's turn. */
export interface PendingEvent {
  readonly incoming: IncomingEvent;
  readonly call: DeployCall;
  readonly target: Target;
}

/** What the first stages made of one event, before its audit record is completed and its notice sent. */
export type EventOutcome =
  | {
      readonly kind: 'decided';
      readonly incoming: IncomingEvent;
      readonly decision: Decision;
      /** This run wrote the fix and verified it. */
      readonly applied: boolean;
      /** The repository's tags, when they were read. */
      readonly tags: Readonly<Record<string, string>> | undefined;
      /** The intent this run wrote for the event before writing the policy, if any. */
      readonly intent: AuditRecord | null;
      /** Why the write announced by `intent` did not happen or could not be verified. */
      readonly writeFailure: string | null;
      /** The repository policy as last read (undefined: the repository was not read). */
      readonly policySeen: string | null | undefined;
    }
  | {
      /** An earlier delivery of the event already has a write's record, which decides what happens now. */
      readonly kind: 'recorded-earlier';
      readonly incoming: IncomingEvent;
      readonly decision: Decision;
      readonly existing: AuditRecord;
      readonly policySeen: string | null | undefined;
    }
  | {
      readonly kind: 'failed';
      readonly incoming: IncomingEvent;
      readonly call: DeployCall | null;
      readonly error: unknown;
      /** The intent this run wrote before the failure, if any: it is marked `failed`. */
      readonly intent: AuditRecord | null;
    };
