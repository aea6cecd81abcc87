/**
 * Parsing the drift guard's input: an EventBridge "AWS API Call via CloudTrail" event (or a bare CloudTrail record, for
 * the CLI) of a successful ECR `SetRepositoryPolicy`, `DeleteRepositoryPolicy` or `DeleteRepository` call.
 *
 * Provenance (DESIGN.md, "Provenance"), as for deploy events: the envelope's `source` is `aws.ecr` and the record's
 * `eventSource` `ecr.amazonaws.com`; the envelope `account` and `recipientAccountId` are the same account, and that
 * account is the repository's registry (`registryId` in the request, if given, and the repository ARN in `resources`,
 * if any, must say so too). A cross-account call is recorded in the caller's account as well; only the registry
 * account's copy is acted on, so the caller's copy is `inconsistent-event`. Every kept string is bounded. Never throws.
 *
 * Request parameters: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html,
 * API_DeleteRepositoryPolicy.html, API_DeleteRepository.html (`repositoryName`, optional `registryId`).
 */
import * as z from 'zod/mini';

import {
  CLOUDTRAIL_DETAIL_TYPES,
  boundedText,
  callerOf,
  clip,
  describeIssue,
  envelopeSchema,
  eventIdSchema,
  eventTimeSchema,
  isJsonObject,
  recordHeadSchema,
  regionSchema,
  userIdentitySchema,
} from './cloudtrail-event';
import type { IgnoredReason } from './decision';
import type { PolicyCall, PolicyCallName } from './grant-decision';
import { POLICY_CALL_NAMES } from './grant-decision';
import { REPOSITORY_NAME_SOURCE } from './image-uri';
import { partitionOfRegion } from './partition';
import { repositoryArnOf } from './repository-arn';

export type ParsePolicyCallResult =
  | { readonly ok: true; readonly call: PolicyCall }
  | {
      readonly ok: false;
      readonly reason: Extract<
        IgnoredReason,
        'invalid-event' | 'inconsistent-event' | 'not-a-policy-change' | 'call-failed'
      >;
      readonly explanation: string;
    };

const REPOSITORY_NAME = new RegExp(`^${REPOSITORY_NAME_SOURCE}$`);
const ACCOUNT_ID = /^\d{12}$/;
const MAX_ARN = 1_024;
const MAX_USER_AGENT = 1_024;

const optionalText = z.nullish(z.string({ error: 'must be a string' }));

const recordSchema = z.object({
  eventID: eventIdSchema,
  eventTime: eventTimeSchema,
  awsRegion: regionSchema,
  recipientAccountId: z.optional(
    z
      .string({ error: 'must be a 12-digit account id' })
      .check(z.regex(ACCOUNT_ID, { error: 'must be a 12-digit account id' }))
  ),
  errorCode: optionalText,
  userAgent: optionalText,
  userIdentity: userIdentitySchema,
  requestParameters: z.object(
    {
      repositoryName: z
        .string({ error: 'must be a string' })
        .check(
          z.maxLength(256, { error: 'must be an ECR repository name' }),
          z.regex(REPOSITORY_NAME, { error: 'must be an ECR repository name' })
        ),
      registryId: optionalText,
    },
    { error: 'must be a JSON object' }
  ),
  resources: z.optional(z.unknown()),
});

/** Whether an input claims to be an ECR call at all (the pipeline routes it here rather than to the deploy parser). */
export function isEcrEvent(input: unknown): boolean {
  if (!isJsonObject(input)) return false;
  if (Object.hasOwn(input, 'detail') || Object.hasOwn(input, 'detail-type')) {
    return input['source'] === 'aws.ecr';
  }
  return input['eventSource'] === 'ecr.amazonaws.com';
}

/** Parses an ECR repository-policy call event (or bare CloudTrail record); never throws. */
export function parsePolicyCallEvent(input: unknown): ParsePolicyCallResult {
  if (!isJsonObject(input)) return fail('invalid-event', 'The event must be a JSON object');
  let record: Record<string, unknown> = input;
  let prefix = '';
  let envelope: { id: string; account: string | null } | null = null;
  if (Object.hasOwn(input, 'detail') || Object.hasOwn(input, 'detail-type')) {
    const parsed = envelopeSchema.safeParse(input);
    if (!parsed.success) return fail('invalid-event', describeIssue(parsed.error, input, ''));
    const detailType = parsed.data['detail-type'];
    if (!CLOUDTRAIL_DETAIL_TYPES.includes(detailType) || parsed.data.source !== 'aws.ecr') {
      return fail(
        'not-a-policy-change',
        `The event is a "${clip(detailType)}" event from "${clip(parsed.data.source)}", not an ECR API call via CloudTrail`
      );
    }
    record = parsed.data.detail;
    prefix = 'detail.';
    envelope = { id: parsed.data.id, account: parsed.data.account ?? null };
  }
  const head = recordHeadSchema.safeParse(record);
  if (!head.success) return fail('invalid-event', describeIssue(head.error, record, prefix));
  const { eventSource, eventName } = head.data;
  if (eventSource !== 'ecr.amazonaws.com') {
    return fail(
      envelope === null ? 'not-a-policy-change' : 'inconsistent-event',
      `${prefix}eventSource is "${clip(eventSource)}", not ecr.amazonaws.com`
    );
  }
  const name = POLICY_CALL_NAMES.find((known) => known === eventName);
  if (name === undefined) {
    return fail(
      'not-a-policy-change',
      `${clip(eventName)} is not one of the calls the drift guard watches (${POLICY_CALL_NAMES.join(', ')})`
    );
  }
  const parsed = recordSchema.safeParse(record);
  if (!parsed.success) return fail('invalid-event', describeIssue(parsed.error, record, prefix));
  const data = parsed.data;
  if (data.errorCode !== null && data.errorCode !== undefined) {
    return fail(
      'call-failed',
      `The ${name} call failed (${clip(data.errorCode)}), so it changed nothing`
    );
  }
  const recipient = data.recipientAccountId ?? null;
  const envelopeAccount = envelope?.account ?? null;
  if (recipient !== null && envelopeAccount !== null && recipient !== envelopeAccount) {
    return fail(
      'inconsistent-event',
      `The envelope account ${envelopeAccount} and ${prefix}recipientAccountId ${recipient} differ`
    );
  }
  const account = recipient ?? envelopeAccount;
  if (account === null) {
    return fail(
      'invalid-event',
      `${prefix}recipientAccountId is missing and there is no envelope account to fall back on`
    );
  }
  const registryId = data.requestParameters.registryId;
  if (registryId !== null && registryId !== undefined && registryId !== account) {
    return fail(
      'inconsistent-event',
      `The call names registry ${clip(registryId)}, but the event was recorded in account ${account}; only the registry account's own copy of a cross-account call is acted on`
    );
  }
  const region = data.awsRegion;
  const partition = partitionOfRegion(region);
  const repositoryName = data.requestParameters.repositoryName;
  const repositoryArn = repositoryArnOf(partition, region, account, repositoryName);
  const named = resourceArns(data.resources).filter((arn) => arn.includes(':ecr:'));
  if (named.some((arn) => arn !== repositoryArn)) {
    return fail(
      'inconsistent-event',
      `${prefix}resources names ${clip(named.find((arn) => arn !== repositoryArn) as string)}, not ${clip(repositoryArn)}`
    );
  }
  return {
    ok: true,
    call: {
      envelopeId: envelope?.id ?? data.eventID,
      eventId: data.eventID,
      eventName: name satisfies PolicyCallName,
      eventTime: data.eventTime,
      repository: { partition, region, registryAccount: account, repositoryName, repositoryArn },
      caller: callerOf(data.userIdentity),
      userAgent: boundedText(data.userAgent, MAX_USER_AGENT),
    },
  };
}

/** The `ARN` (CloudTrail's spelling) or `arn` of each entry of `resources`, when it is a list of objects. */
function resourceArns(resources: unknown): string[] {
  if (!Array.isArray(resources)) return [];
  return resources.flatMap((entry: unknown) => {
    if (!isJsonObject(entry)) return [];
    const arn = entry['ARN'] ?? entry['arn'];
    return typeof arn === 'string' ? [boundedText(arn, MAX_ARN) as string] : [];
  });
}

function fail(
  reason: Extract<ParsePolicyCallResult, { ok: false }>['reason'],
  explanation: string
): ParsePolicyCallResult {
  return { ok: false, reason, explanation: `${explanation}.` };
}
