/**
 * Parsing the fixer's input: an EventBridge "AWS API Call via CloudTrail" event (or, for the CLI, a bare CloudTrail
 * record as stored in CloudTrail log files) for a Lambda `CreateFunction*` / `UpdateFunctionCode*` call.
 *
 * Lenient about fields we do not use (unknown keys are accepted and dropped, never copied, so keys like `__proto__`
 * are inert); strict about the types of the fields we do use. Never throws: whatever the JSON, the answer is a
 * `DeployCall` or a reason with a one-sentence explanation naming the field and what was wrong.
 *
 * Envelope: https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-lambda.html
 * Record: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 */
// zod/mini: the same validation as classic zod, tree-shakable, so the Lambda bundle stays small.
import * as z from 'zod/mini';

import type { DeployCall, IgnoredReason } from './decision';
import { isRegionName } from './partition';

/** A parsed deploy call, or why the input is not one. */
export type ParseDeployEventResult =
  | { readonly ok: true; readonly call: DeployCall }
  | {
      readonly ok: false;
      readonly reason: Extract<IgnoredReason, 'invalid-event' | 'not-a-lambda-deploy'>;
      readonly explanation: string;
    };

/**
 * The detail-types a CloudTrail API call arrives with. The China-partition copy of the EventBridge reference prints
 * "Amazon API Call via CloudTrail" (https://docs.amazonaws.cn/en_us/eventbridge/latest/ref/events-ref-lambda.md);
 * whether that is the wire value there is unconfirmed, so both are accepted.
 */
const CLOUDTRAIL_DETAIL_TYPES: readonly string[] = [
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

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
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

const envelopeSchema = z.object({
  version: optionalText,
  id: requiredText,
  'detail-type': requiredText,
  source: requiredText,
  account: z.optional(accountId),
  time: optionalText,
  region: optionalText,
  detail: z.custom<Record<string, unknown>>(isJsonObject, { error: 'must be a JSON object' }),
});

const recordHeadSchema = z.object({ eventSource: requiredText, eventName: requiredText });

const deployRecordSchema = z.object({
  eventVersion: optionalText,
  eventID: requiredText,
  eventTime: requiredText,
  awsRegion: z
    .string({ error: 'must be a string' })
    .check(z.refine(isRegionName, { error: 'must be an AWS Region name such as "eu-west-1"' })),
  recipientAccountId: z.optional(accountId),
  errorCode: optionalText,
  errorMessage: optionalText,
  userAgent: optionalText,
  sourceIPAddress: optionalText,
  userIdentity: z.nullish(
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
  ),
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
    return parseRecord(input, '', { id: null, account: null });
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
  envelope: { id: string | null; account: string | null }
): ParseDeployEventResult {
  const head = recordHeadSchema.safeParse(record);
  if (!head.success) return invalid(describeIssue(head.error, record, prefix));
  const { eventSource, eventName } = head.data;
  if (eventSource !== 'lambda.amazonaws.com') {
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
  const consumerAccount = parsed.data.recipientAccountId ?? envelope.account;
  if (consumerAccount === null) {
    return invalid(
      `${prefix}recipientAccountId is missing and there is no envelope account to fall back on`
    );
  }
  // Group 1 of DEPLOY_EVENT_NAME is mandatory and is one of the two API names.
  const api = name[1] as DeployCall['api'];
  return {
    ok: true,
    call: toDeployCall(parsed.data, {
      api,
      eventName,
      consumerAccount,
      envelopeId: envelope.id ?? parsed.data.eventID,
    }),
  };
}

function toDeployCall(
  record: DeployRecord,
  known: Pick<DeployCall, 'api' | 'eventName' | 'consumerAccount' | 'envelopeId'>
): DeployCall {
  const request = record.requestParameters;
  const code = request?.code;
  const identity = record.userIdentity;
  const requestImageUri = stringOrNull(code?.imageUri) ?? stringOrNull(request?.imageUri);
  const packageType = request?.packageType ?? null;
  const arn = identity?.arn ?? null;
  return {
    envelopeId: known.envelopeId,
    eventId: record.eventID,
    eventName: known.eventName,
    api: known.api,
    eventTime: record.eventTime,
    region: record.awsRegion,
    consumerAccount: known.consumerAccount,
    errorCode: record.errorCode ?? null,
    errorMessage: record.errorMessage ?? '',
    functionName: request?.functionName ?? null,
    requestImageUri,
    packageType,
    looksLikeZip: looksLikeZip(known.api, request, requestImageUri),
    caller: {
      arn,
      type: identity?.type ?? null,
      principalArn: identity?.sessionContext?.sessionIssuer?.arn ?? arn,
      invokedBy: identity?.invokedBy ?? null,
    },
    userAgent: record.userAgent ?? null,
    sourceIpAddress: record.sourceIPAddress ?? null,
    requestTags: stringValuesOf(request?.tags),
  };
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

/** The string-valued entries of a tag map; `Object.fromEntries` defines keys, so `__proto__` stays a plain key. */
function stringValuesOf(tags: unknown): Record<string, string> {
  if (!isJsonObject(tags)) return {};
  return Object.fromEntries(
    Object.entries(tags).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
  );
}

function invalid(explanation: string): ParseDeployEventResult {
  return { ok: false, reason: 'invalid-event', explanation: `${explanation}.` };
}

function notADeploy(explanation: string): ParseDeployEventResult {
  return { ok: false, reason: 'not-a-lambda-deploy', explanation: `${explanation}.` };
}

/** The first schema problem as "FIELD must be …, got VALUE" (or "FIELD is missing"). */
function describeIssue(error: z.core.$ZodError, input: unknown, prefix: string): string {
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

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
