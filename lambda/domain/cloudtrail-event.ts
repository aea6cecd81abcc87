/**
 * Parsing the fixer's input: an EventBridge "AWS API Call via CloudTrail" event (or, for the CLI, a bare CloudTrail
 * record as stored in CloudTrail log files) for a Lambda `CreateFunction*` / `UpdateFunctionCode*` call.
 *
 * Lenient about fields we do not use (unknown keys are accepted and dropped, never copied, so keys like `__proto__`
 * are inert); strict about the types of the fields we do use. Never throws: whatever the JSON, the answer is a
 * `DeployCall` or a reason with a one-sentence explanation naming the field and what was wrong.
 *
 * Provenance (DESIGN.md, "Provenance"): the fixer acts only on events that check out. The envelope's `source` must be
 * `aws.lambda` and its `detail-type` a CloudTrail API call; the record's `eventSource` `lambda.amazonaws.com`; the
 * envelope `account` and `recipientAccountId` the same account (when both are there); a function given as an ARN must
 * belong to that account and Region (the caller's own account may differ: a CI account's role deploys into workload
 * accounts); `eventTime` a strict ISO-8601 timestamp, and the ids printable and short. Fields that disagree make the
 * event `inconsistent-event`, malformed ones `invalid-event`.
 *
 * A bare record (no envelope) is what CloudTrail log files and `aws cloudtrail lookup-events` hold; `plan` and `apply`
 * accept it, with every check above except the envelope's. It gives the fixer nothing an envelope would not: whoever
 * can put a message on the work queue can write an envelope just as well, which is why the queue policy admits only
 * the project's rules (docs/security-model.md).
 *
 * Every string kept from the event is bounded (cut on whole code points) and well-formed, and free text (user agent,
 * error message, ARNs, names) is one line: control characters become spaces, so no event field can add lines to an
 * e-mail body, split a character when shortened later, or make a key or a publish call fail.
 *
 * Envelope: https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-lambda.html
 * Record: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 */
// zod/mini: the same validation as classic zod, tree-shakable, so the Lambda bundle stays small.
import * as z from 'zod/mini';

import { cleanText } from './bounded-text';
import type { DeployCall, IgnoredReason } from './decision';
import { parseFunctionName } from './function-name';
import { isRegionName, partitionOfRegion } from './partition';

/** A parsed deploy call, or why the input is not one. */
export type ParseDeployEventResult =
  | { readonly ok: true; readonly call: DeployCall }
  | {
      readonly ok: false;
      readonly reason: Extract<
        IgnoredReason,
        'invalid-event' | 'inconsistent-event' | 'not-a-lambda-deploy'
      >;
      readonly explanation: string;
    };

/**
 * The detail-types a CloudTrail API call arrives with. The China-partition copy of the EventBridge reference prints
 * "Amazon API Call via CloudTrail" (https://docs.amazonaws.cn/en_us/eventbridge/latest/ref/events-ref-lambda.md);
 * whether that is the wire value there is unconfirmed, so both are accepted.
 */
export const CLOUDTRAIL_DETAIL_TYPES: readonly string[] = [
  'AWS API Call via CloudTrail',
  'Amazon API Call via CloudTrail',
];

/**
 * Lambda's CloudTrail event names carry the API version as a suffix (`CreateFunction20150331`,
 * `UpdateFunctionCode20150331v2`; https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html). The
 * suffix must be a date (and optional `vN`) or nothing, so `CreateFunctionUrlConfig20211031` and
 * `UpdateFunctionCodeSigningConfig` do not match.
 */
const DEPLOY_EVENT_NAME = /^(CreateFunction|UpdateFunctionCode)(?:\d{8}(?:v\d+)?)?$/;

const ACCOUNT_ID = /^\d{12}$/;
/** Event ids are UUIDs; anything printable up to 128 characters is accepted, as ids become audit keys. */
const EVENT_ID = /^[\x21-\x7e]{1,128}$/;
/**
 * CloudTrail's `eventTime` (`2026-03-03T14:02:51Z`), strictly: date, `T`, time, optional fraction and a zone. It
 * becomes part of the audit key, so nothing longer or looser gets through.
 */
const EVENT_TIME =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** Bounds of the kept strings (UTF-16 code units). Real values are far shorter; only a hostile event reaches them. */
const MAX_LENGTH = {
  errorCode: 128,
  /** The e-mail prints facts of up to 2,000 characters whole; IAM's longest messages are under 1,000. */
  errorMessage: 2_000,
  functionName: 256,
  imageUri: 1_024,
  packageType: 32,
  arn: 1_024,
  identityType: 64,
  userAgent: 1_024,
  sourceIpAddress: 256,
  tagKey: 128,
  tagValue: 256,
} as const;
/** Lambda allows 50 tags per function: https://docs.aws.amazon.com/lambda/latest/dg/configuration-tags.html */
const MAX_TAGS = 50;

export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const object = <Shape extends z.core.$ZodLooseShape>(shape: Shape) =>
  z.object(shape, { error: 'must be a JSON object' });
const requiredText = z
  .string({ error: 'must be a string' })
  .check(z.minLength(1, { error: 'must not be empty' }));
const optionalText = z.nullish(z.string({ error: 'must be a string' }));
const accountId = z
  .string({ error: 'must be a 12-digit account id' })
  .check(z.regex(ACCOUNT_ID, { error: 'must be a 12-digit account id' }));
/** Fields we only test for presence or read leniently (a non-string `imageUri` counts as no image URI). */
const anything = z.optional(z.unknown());

export const eventIdSchema = z
  .string({ error: 'must be a string' })
  .check(z.regex(EVENT_ID, { error: 'must be 1 to 128 printable characters without spaces' }));

/** A CloudTrail record's `eventTime` (strict: the audit key is built from it). */
export const eventTimeSchema = z.string({ error: 'must be a string' }).check(
  z.refine(isEventTime, {
    error: 'must be an ISO-8601 timestamp such as "2026-03-03T14:02:51Z"',
  })
);

/** A CloudTrail record's `awsRegion`. */
export const regionSchema = z
  .string({ error: 'must be a string' })
  .check(z.refine(isRegionName, { error: 'must be an AWS Region name such as "eu-west-1"' }));

export const envelopeSchema = z.object({
  version: optionalText,
  id: eventIdSchema,
  'detail-type': requiredText,
  source: requiredText,
  account: z.optional(accountId),
  time: optionalText,
  region: optionalText,
  detail: z.custom<Record<string, unknown>>(isJsonObject, { error: 'must be a JSON object' }),
});

/** `userIdentity`, as far as the fixer reads it (who made the call). */
export const userIdentitySchema = z.nullish(
  object({
    type: optionalText,
    arn: optionalText,
    invokedBy: optionalText,
    sessionContext: z.nullish(
      object({
        sessionIssuer: z.nullish(object({ arn: optionalText })),
      })
    ),
  })
);

/** The caller from `userIdentity`, every string bounded and one line. */
export function callerOf(identity: z.output<typeof userIdentitySchema>): DeployCall['caller'] {
  const arn = text(identity?.arn, MAX_LENGTH.arn);
  return {
    arn,
    type: text(identity?.type, MAX_LENGTH.identityType),
    principalArn: text(identity?.sessionContext?.sessionIssuer?.arn, MAX_LENGTH.arn) ?? arn,
    invokedBy: text(identity?.invokedBy, MAX_LENGTH.arn),
  };
}

/** Free text kept from an event: one line, well-formed, bounded; null when absent. */
export function boundedText(value: string | null | undefined, max: number): string | null {
  return text(value, max);
}

export const recordHeadSchema = z.object({ eventSource: requiredText, eventName: requiredText });

const deployRecordSchema = z.object({
  eventVersion: optionalText,
  eventID: eventIdSchema,
  eventTime: eventTimeSchema,
  awsRegion: regionSchema,
  recipientAccountId: z.optional(accountId),
  errorCode: optionalText,
  errorMessage: optionalText,
  userAgent: optionalText,
  sourceIPAddress: optionalText,
  userIdentity: userIdentitySchema,
  // `null` when CloudTrail omits the parameters; still a call we can reason about.
  requestParameters: z.nullish(
    object({
      functionName: optionalText,
      packageType: optionalText,
      runtime: optionalText,
      handler: optionalText,
      code: z.nullish(object({ imageUri: anything, s3Bucket: anything, zipFile: anything })),
      imageUri: anything,
      s3Bucket: anything,
      zipFile: anything,
      tags: anything,
    })
  ),
});

type DeployRecord = z.output<typeof deployRecordSchema>;

/** Parses an EventBridge CloudTrail event (or a bare CloudTrail record) of a Lambda deploy call; never throws. */
export function parseDeployEvent(input: unknown): ParseDeployEventResult {
  if (!isJsonObject(input)) {
    return invalid(`The event must be a JSON object, got ${render(input)}`);
  }
  if (Object.hasOwn(input, 'detail') || Object.hasOwn(input, 'detail-type')) {
    return parseEnvelope(input);
  }
  if (Object.hasOwn(input, 'eventSource') || Object.hasOwn(input, 'eventVersion')) {
    return parseRecord(input, '', null);
  }
  return invalid(
    'The input is neither an EventBridge event (it has no "detail-type") nor a CloudTrail record (it has no "eventSource")'
  );
}

function parseEnvelope(input: Record<string, unknown>): ParseDeployEventResult {
  const envelope = envelopeSchema.safeParse(input);
  if (!envelope.success) return invalid(describeIssue(envelope.error, input, ''));
  const { id, source, account, detail } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (!CLOUDTRAIL_DETAIL_TYPES.includes(detailType)) {
    return notADeploy(
      `The event is a "${clip(detailType)}" event, not an "AWS API Call via CloudTrail" event`
    );
  }
  if (source !== 'aws.lambda') {
    return notADeploy(`The event comes from "${clip(source)}", not from "aws.lambda"`);
  }
  return parseRecord(detail, 'detail.', { id, account: account ?? null });
}

function parseRecord(
  record: Record<string, unknown>,
  prefix: string,
  envelope: { id: string | null; account: string | null } | null
): ParseDeployEventResult {
  const head = recordHeadSchema.safeParse(record);
  if (!head.success) return invalid(describeIssue(head.error, record, prefix));
  const { eventSource, eventName } = head.data;
  if (eventSource !== 'lambda.amazonaws.com') {
    // EventBridge derives `source` from the record's service, so an aws.lambda envelope around another service's
    // record did not come from EventBridge as it is.
    if (envelope !== null) {
      return inconsistent(
        `The envelope says source "aws.lambda" but ${prefix}eventSource is "${clip(eventSource)}", not lambda.amazonaws.com`
      );
    }
    return notADeploy(`The call was made to "${clip(eventSource)}", not to lambda.amazonaws.com`);
  }
  const name = DEPLOY_EVENT_NAME.exec(eventName);
  if (name === null) {
    return notADeploy(
      `${clip(eventName)} is not a Lambda CreateFunction or UpdateFunctionCode call`
    );
  }
  const parsed = deployRecordSchema.safeParse(record);
  if (!parsed.success) return invalid(describeIssue(parsed.error, record, prefix));
  const recipient = parsed.data.recipientAccountId ?? null;
  const envelopeAccount = envelope?.account ?? null;
  if (recipient !== null && envelopeAccount !== null && recipient !== envelopeAccount) {
    return inconsistent(
      `The envelope account ${envelopeAccount} and ${prefix}recipientAccountId ${recipient} differ, so the event does not say whose function failed`
    );
  }
  const consumerAccount = recipient ?? envelopeAccount;
  if (consumerAccount === null) {
    return invalid(
      `${prefix}recipientAccountId is missing and there is no envelope account to fall back on`
    );
  }
  const functionProblem = functionArnProblem(
    parsed.data.requestParameters?.functionName,
    consumerAccount,
    parsed.data.awsRegion,
    prefix
  );
  if (functionProblem !== null) return inconsistent(functionProblem);
  // Group 1 of DEPLOY_EVENT_NAME is mandatory and is one of the two API names.
  const api = name[1] as DeployCall['api'];
  return {
    ok: true,
    call: toDeployCall(parsed.data, {
      api,
      eventName,
      consumerAccount,
      envelopeId: envelope?.id ?? parsed.data.eventID,
    }),
  };
}

/**
 * A function named by a (partial) ARN must be in the account the event comes from, and a full ARN in its Region and
 * partition: the fixer grants to the event's account, so an ARN naming another one means the fields were put together.
 */
function functionArnProblem(
  functionName: string | null | undefined,
  account: string,
  region: string,
  prefix: string
): string | null {
  const reference =
    functionName === null || functionName === undefined ? null : parseFunctionName(functionName);
  if (reference === null) return null;
  const field = `${prefix}requestParameters.functionName`;
  if (reference.account !== null && reference.account !== account) {
    return `${field} names a function of account ${reference.account}, but the event comes from account ${account}`;
  }
  if (reference.region !== null && reference.region !== region) {
    return `${field} names a function in ${clip(reference.region)}, but the call was made in ${region} (${prefix}awsRegion)`;
  }
  if (reference.partition !== null && reference.partition !== partitionOfRegion(region)) {
    return `${field} names a function in partition ${reference.partition}, but ${region} is in ${partitionOfRegion(region)}`;
  }
  return null;
}

/** A strict ISO-8601 timestamp naming a real day (no 30 February). */
function isEventTime(text: string): boolean {
  const match = EVENT_TIME.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

function toDeployCall(
  record: DeployRecord,
  known: Pick<DeployCall, 'api' | 'eventName' | 'consumerAccount' | 'envelopeId'>
): DeployCall {
  const request = record.requestParameters;
  const code = request?.code;
  const identity = record.userIdentity;
  const requestImageUri = text(
    stringOrNull(code?.imageUri) ?? stringOrNull(request?.imageUri),
    MAX_LENGTH.imageUri
  );
  const packageType = text(request?.packageType, MAX_LENGTH.packageType);
  return {
    envelopeId: known.envelopeId,
    eventId: record.eventID,
    eventName: known.eventName,
    api: known.api,
    eventTime: record.eventTime,
    region: record.awsRegion,
    consumerAccount: known.consumerAccount,
    errorCode: text(record.errorCode, MAX_LENGTH.errorCode),
    errorMessage: text(record.errorMessage, MAX_LENGTH.errorMessage) ?? '',
    functionName: text(request?.functionName, MAX_LENGTH.functionName),
    requestImageUri,
    packageType,
    looksLikeZip: looksLikeZip(known.api, request, requestImageUri),
    caller: callerOf(identity),
    userAgent: text(record.userAgent, MAX_LENGTH.userAgent),
    sourceIpAddress: text(record.sourceIPAddress, MAX_LENGTH.sourceIpAddress),
    requestTags: stringValuesOf(request?.tags),
  };
}

/** Free text kept from the event: one line, well-formed, bounded; null when absent. */
function text(value: string | null | undefined, max: number): string | null {
  return value === null || value === undefined ? null : cleanText(value, max);
}

/** Whether the request describes a zip package rather than an image. */
function looksLikeZip(
  api: DeployCall['api'],
  request: DeployRecord['requestParameters'],
  requestImageUri: string | null
): boolean {
  const code = request?.code;
  // CloudTrail drops `ZipFile` but keeps an S3 location
  // (https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html).
  const zipLocation = [code?.s3Bucket, code?.zipFile, request?.s3Bucket, request?.zipFile];
  // A zip CreateFunction often shows only `code: {}` plus a runtime and a handler, which image functions lack.
  const zipRuntime = isPresent(request?.runtime) || isPresent(request?.handler);
  return (
    zipLocation.some(isPresent) ||
    request?.packageType === 'Zip' ||
    (api === 'CreateFunction' && requestImageUri === null && zipRuntime)
  );
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * The string-valued entries of a tag map (at most Lambda's 50, keys and values bounded); `Object.fromEntries` defines
 * keys, so `__proto__` stays a plain key.
 */
function stringValuesOf(tags: unknown): Record<string, string> {
  if (!isJsonObject(tags)) return {};
  return Object.fromEntries(
    Object.entries(tags)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .slice(0, MAX_TAGS)
      .map(([key, value]) => [
        cleanText(key, MAX_LENGTH.tagKey),
        cleanText(value, MAX_LENGTH.tagValue),
      ])
  );
}

function invalid(explanation: string): ParseDeployEventResult {
  return { ok: false, reason: 'invalid-event', explanation: `${explanation}.` };
}

function inconsistent(explanation: string): ParseDeployEventResult {
  return { ok: false, reason: 'inconsistent-event', explanation: `${explanation}.` };
}

function notADeploy(explanation: string): ParseDeployEventResult {
  return { ok: false, reason: 'not-a-lambda-deploy', explanation: `${explanation}.` };
}

/** The first schema problem as "FIELD must be …, got VALUE" (or "FIELD is missing"). */
export function describeIssue(error: z.core.$ZodError, input: unknown, prefix: string): string {
  // A failed safeParse reports at least one issue.
  const issue = error.issues[0] as z.core.$ZodIssue;
  const field = `${prefix}${issue.path.map(String).join('.')}`;
  const value = valueAt(input, issue.path);
  if (value === undefined) return `${field} is missing`;
  return `${field} ${issue.message}, got ${render(value)}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    // Every step of an issue path below the root was validated as a JSON object.
    current = Object.hasOwn(current as object, key)
      ? (current as Record<PropertyKey, unknown>)[key]
      : undefined;
  }
  return current;
}

/** A short, safe rendering of any value for an explanation. */
function render(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(clip(value));
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : 'an object';
    case 'undefined':
      return 'nothing';
    default:
      // Not JSON at all (a symbol or a function), which a caller passing `unknown` may still hand in.
      return `a ${typeof value}`;
  }
}

/** A value quoted in an explanation: one line, at most 60 characters. */
export function clip(value: string): string {
  return cleanText(value, 60);
}
