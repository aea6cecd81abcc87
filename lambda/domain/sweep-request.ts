/**
 * What may start or continue a sweep, checked like a deploy event before anything is done with it:
 *
 * - a sweep request: the "Scheduled Event" of the member stack's rule `lambda-ecr-autofix-sweep`, forwarded from the
 *   member account's default bus to the central bus (or, in the central account's own Region, sent straight to the
 *   sweep queue). EventBridge sets the envelope's `account` (the sender's account for anything put on a bus) and
 *   `region`, and names the rule in `resources`
 *   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html); `aws.` sources are AWS's
 *   (PutEvents answers NotAuthorizedForSourceException otherwise: research/events-and-errors.md, section 5). So the
 *   account swept is the envelope's account, and the rule ARN must agree with it: same account, same Region, our rule
 *   name. At worst, an account of the organization can have itself swept more often.
 * - a continuation: the fixer's own message to itself when a sweep needs more time than one invocation has. It can
 *   only come through the sweep queue, and names the account and Region the checked request named.
 */
import * as z from 'zod/mini';

import type { Partition } from './decision';
import { SCAN_STATUSES } from './scan';
import type { SweepDigest } from './sweep-digest';
import { emptyDigest } from './sweep-digest';
import { isSupportedRegion, partitionOfRegion } from './partition';

/** The name of the scheduled rule every member stack (and the central stack) creates. */
export const SWEEP_RULE_NAME = 'lambda-ecr-autofix-sweep';
export const CONTINUATION_SOURCE = 'lambda-ecr-autofix';
export const CONTINUATION_DETAIL_TYPE = 'Lambda ECR Autofix Sweep Continuation';

/** One sweep of one account in one Region, at some point of its progress. */
export interface SweepRequest {
  /** The scheduled event's id: names the sweep in logs and sessions. */
  readonly sweepId: string;
  readonly account: string;
  readonly region: string;
  readonly partition: Partition;
  /** The scheduled event's time. */
  readonly startedAt: string;
  /** Where to continue listing; null at the start. */
  readonly marker: string | null;
  /** 1 for the first invocation, then 2, 3 … */
  readonly chunk: number;
  readonly digest: SweepDigest;
  /**
   * Repositories whose notices an earlier part of the sweep still owes (the notice outbox could not send them): this
   * part tries them again, and the sweep does not finish while one is owed.
   */
  readonly owedNotices: readonly string[];
  /** When the previous part sent this continuation (ISO 8601); null for the scheduled event itself. */
  readonly sentAt: string | null;
}

/** At most this many repositories with owed notices travel in a continuation; more, and the part is retried. */
export const MAX_OWED_NOTICES = 50;

/**
 * A message enqueued this long after it was made was sent again: a dead-letter-queue redrive (or a replay by hand),
 * which SQS counts as a new message, so its receive count starts at 1 again
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html:
 * "All redriven messages are considered new messages"). EventBridge and SNS deliver to SQS within seconds.
 */
export const RESENT_AFTER_MS = 15 * 60_000;

/**
 * Whether the message of `request` was sent again long after it was made (see `RESENT_AFTER_MS`): `enqueuedAtMs` is
 * the SQS `SentTimestamp`, the request's own time is the continuation's `sentAt` or the scheduled event's time.
 */
export function resentLate(request: SweepRequest, enqueuedAtMs: number): boolean {
  const madeAt = Date.parse(request.sentAt ?? request.startedAt);
  return Number.isFinite(madeAt) && enqueuedAtMs - madeAt > RESENT_AFTER_MS;
}

export type SweepMessageResult =
  | { readonly ok: true; readonly request: SweepRequest }
  | {
      readonly ok: false;
      readonly reason: 'invalid-event' | 'inconsistent-event';
      readonly explanation: string;
    };

const ACCOUNT = /^\d{12}$/;
const REPOSITORY_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):ecr:[a-z0-9-]+:\d{12}:repository\/[a-z0-9._/-]{2,256}$/;
const RULE_ARN = /^arn:(aws|aws-cn|aws-us-gov):events:([a-z0-9-]+):(\d{12}):rule\/(.+)$/;
const bounded = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const count = z.int().check(z.gte(0));

const scheduledSchema = z.object({
  id: bounded(128),
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  account: z.string().check(z.regex(ACCOUNT)),
  time: bounded(64),
  region: z.string().check(z.refine(isSupportedRegion)),
  resources: z.array(z.string()).check(z.length(1)),
});

const entrySchema = z.object({
  functionName: bounded(64),
  status: z.enum(['broken', 'at-risk', 'needs-human', 'unknown']),
  reason: bounded(64),
  repositoryArn: z.nullable(bounded(400)),
  explanation: bounded(300),
});

const digestSchema = z.object({
  counts: z.object(
    Object.fromEntries(SCAN_STATUSES.map((status) => [status, count])) as Record<
      (typeof SCAN_STATUSES)[number],
      typeof count
    >
  ),
  deleted: count,
  listed: z.array(entrySchema).check(z.maxLength(50)),
  unlisted: count,
  fixed: z
    .array(
      z.object({
        repositoryArn: bounded(400),
        functions: z.array(bounded(64)).check(z.maxLength(10_000)),
      })
    )
    .check(z.maxLength(20)),
  unlistedFixes: count,
  failedFixes: count,
  unnotifiedFixes: count,
  // Absent in the continuations of a version before the notice outbox.
  lateNotices: z._default(count, 0),
  completedWrites: z._default(count, 0),
  problems: z.array(bounded(300)).check(z.maxLength(5)),
});

const continuationSchema = z.object({
  source: z.literal(CONTINUATION_SOURCE),
  'detail-type': z.literal(CONTINUATION_DETAIL_TYPE),
  detail: z.object({
    sweepId: bounded(128),
    account: z.string().check(z.regex(ACCOUNT)),
    region: z.string().check(z.refine(isSupportedRegion)),
    startedAt: bounded(64),
    marker: bounded(1024),
    chunk: z.int().check(z.gte(2)),
    digest: digestSchema,
    owedNotices: z._default(
      z.array(z.string().check(z.regex(REPOSITORY_ARN))).check(z.maxLength(MAX_OWED_NOTICES)),
      []
    ),
    sentAt: z.optional(bounded(64)),
  }),
});

/** Parses a sweep request or continuation; never throws. */
export function parseSweepMessage(input: unknown): SweepMessageResult {
  const source =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>)['source']
      : undefined;
  if (source === CONTINUATION_SOURCE) return parseContinuation(input);
  const scheduled = scheduledSchema.safeParse(input);
  if (!scheduled.success) {
    return {
      ok: false,
      reason: 'invalid-event',
      explanation:
        'The message is neither the scheduled event of the lambda-ecr-autofix-sweep rule nor a sweep continuation.',
    };
  }
  const { id, account, time, region, resources } = scheduled.data;
  const rule = RULE_ARN.exec(resources[0] as string);
  const partition = partitionOfRegion(region);
  if (
    rule === null ||
    rule[1] !== partition ||
    rule[2] !== region ||
    rule[3] !== account ||
    rule[4] !== SWEEP_RULE_NAME
  ) {
    return {
      ok: false,
      reason: 'inconsistent-event',
      explanation: `The scheduled event of account ${account} in ${region} names the rule ${clip(resources[0] as string)}, not ${SWEEP_RULE_NAME} of that account and Region, so it is not acted on.`,
    };
  }
  return {
    ok: true,
    request: {
      sweepId: id,
      account,
      region,
      partition,
      startedAt: time,
      marker: null,
      chunk: 1,
      digest: emptyDigest(),
      owedNotices: [],
      sentAt: null,
    },
  };
}

function parseContinuation(input: unknown): SweepMessageResult {
  const parsed = continuationSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'invalid-event',
      explanation: `The sweep continuation is malformed (at "${(parsed.error.issues[0] as z.core.$ZodIssue).path.join('.')}").`,
    };
  }
  const { sentAt, ...detail } = parsed.data.detail;
  return {
    ok: true,
    request: { ...detail, sentAt: sentAt ?? null, partition: partitionOfRegion(detail.region) },
  };
}

/**
 * The message that continues `request` from `marker` with the digest so far, the repositories whose notices are still
 * owed, and when it was sent.
 */
export function continuationMessage(
  request: SweepRequest,
  marker: string,
  digest: SweepDigest,
  handOver: { readonly owedNotices: readonly string[]; readonly sentAt: string }
): Record<string, unknown> {
  return {
    source: CONTINUATION_SOURCE,
    'detail-type': CONTINUATION_DETAIL_TYPE,
    detail: {
      sweepId: request.sweepId,
      account: request.account,
      region: request.region,
      startedAt: request.startedAt,
      marker,
      chunk: request.chunk + 1,
      digest,
      owedNotices: [...handOver.owedNotices],
      sentAt: handOver.sentAt,
    },
  };
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
