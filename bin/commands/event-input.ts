/**
 * The `--event` file in the forms people actually have: the EventBridge event (the fixer's input, also the body of a
 * message in the dead-letter queue), a bare CloudTrail record, the output of `aws cloudtrail lookup-events`, a
 * CloudTrail log file, the output of `aws sqs receive-message` (or the SQS event a Lambda function receives), one entry of those lists (what
 * `--query 'Events[0]'` or `--query 'Messages[0]'` prints), or any of these as a JSON string (what
 * `--query 'Events[0].CloudTrailEvent'` prints). Anything else is refused as "not a CloudTrail event".
 */
import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import { parsePolicyCallEvent } from '../../lambda/domain/policy-call-event';
import type { DeployCall } from '../../lambda/domain/decision';
import { isJsonObject } from '../../lambda/domain/policy-document';
import { readJson } from './inputs';
import { UsageError } from './usage-error';

/** The event to process, and a note for stderr when it was picked from several. */
export interface ChosenEvent {
  readonly event: unknown;
  readonly note: string | null;
}

/** How many candidate events an error message lists before "and N more". */
const LISTED = 5;

/** Reads `--event FILE` and picks the event to process (see `chooseEvent`). */
export function readEvent(path: string, eventId: string | undefined): ChosenEvent {
  return chooseEvent(readJson('--event', path), `--event ${path}`, eventId);
}

/**
 * Picks the event to process from the JSON of an `--event` file.
 *
 * A single event is used as it is. From a list (lookup-events, a log file, receive-message) only Lambda
 * CreateFunction/UpdateFunctionCode calls count: with `eventId` the one with that CloudTrail event id (or
 * EventBridge id); without it the only deploy call, else the only failed one; when several failed, the user must
 * choose with `--event-id` (they are listed): processing the wrong one could change the wrong repository.
 */
export function chooseEvent(
  value: unknown,
  source: string,
  eventId: string | undefined
): ChosenEvent {
  const parsed = typeof value === 'string' ? parseEmbedded(value, source, 'the string') : value;
  if (!isJsonObject(parsed)) throw notAnEvent(source, describeJson(parsed));
  const unwrapped = unwrapEntry(parsed, source, '');
  if (!isJsonObject(unwrapped)) throw notAnEvent(source, describeJson(unwrapped));
  const list = embeddedEvents(unwrapped, source);
  if (list === null) {
    if (!looksLikeEvent(unwrapped)) throw notAnEvent(source, 'an object of another kind');
    if (eventId !== undefined && !idsOf(unwrapped).includes(eventId)) {
      throw new UsageError(
        `--event-id ${eventId} is not the id of the event in ${source} (${idsOf(unwrapped).join(' or ') || 'it has none'})`
      );
    }
    return { event: unwrapped, note: null };
  }
  return pick(list, source, eventId);
}

/** The events of a list-shaped file, or null when the object is not one. */
function embeddedEvents(value: Record<string, unknown>, source: string): unknown[] | null {
  if (Array.isArray(value['Events'])) {
    // aws cloudtrail lookup-events: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
    return value['Events'].map((entry: unknown, index) =>
      isJsonObject(entry) && typeof entry['CloudTrailEvent'] === 'string'
        ? unwrapEntry(entry, source, `Events[${index}].`)
        : null
    );
  }
  if (Array.isArray(value['Messages'])) {
    // aws sqs receive-message: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    return value['Messages'].map((entry: unknown, index) =>
      isJsonObject(entry) && typeof entry['Body'] === 'string'
        ? unwrapEntry(entry, source, `Messages[${index}].`)
        : null
    );
  }
  if (Array.isArray(value['Records']) && !looksLikeEvent(value)) {
    // A CloudTrail log file: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html
    // or the SQS event a Lambda function receives, whose records carry the message as `body`:
    // https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    return value['Records'].map((entry: unknown, index) =>
      isJsonObject(entry) ? unwrapEntry(entry, source, `Records[${index}].`) : entry
    );
  }
  return null;
}

/**
 * The event inside one entry of a list: a lookup-events entry's `CloudTrailEvent`, a receive-message message's
 * `Body`, a Lambda SQS record's `body`; anything else is the entry itself. `path` prefixes the field in errors.
 */
function unwrapEntry(entry: Record<string, unknown>, source: string, path: string): unknown {
  // No CloudTrail record or EventBridge event has one of these fields at its top level.
  for (const field of ['CloudTrailEvent', 'Body', 'body']) {
    const text = entry[field];
    if (typeof text === 'string') return parseEmbedded(text, source, `${path}${field}`);
  }
  return entry;
}

function parseEmbedded(text: string, source: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(
      `${source}: ${where} is not valid JSON (${(error as Error).message}); expected a CloudTrail event`
    );
  }
}

function looksLikeEvent(value: Record<string, unknown>): boolean {
  return ['detail-type', 'detail', 'eventSource', 'eventVersion'].some((key) =>
    Object.hasOwn(value, key)
  );
}

function pick(list: readonly unknown[], source: string, eventId: string | undefined): ChosenEvent {
  const deploys = list.flatMap((event) => {
    const parsed = parseDeployEvent(event);
    return parsed.ok ? [{ event, call: parsed.call }] : [];
  });
  const of = `${list.length} event${list.length === 1 ? '' : 's'}`;
  if (eventId !== undefined) {
    const found = list.find((event) => isJsonObject(event) && idsOf(event).includes(eventId));
    if (found === undefined) {
      throw new UsageError(`${source} has no event with id ${eventId} among its ${of}`);
    }
    return { event: found, note: null };
  }
  if (deploys.length === 0) {
    // The drift guard's input: successful ECR SetRepositoryPolicy / DeleteRepositoryPolicy / DeleteRepository calls.
    const policyCalls = list.flatMap((event) => {
      const parsed = parsePolicyCallEvent(event);
      return parsed.ok ? [{ event, call: parsed.call }] : [];
    });
    const [only] = policyCalls;
    if (policyCalls.length === 1 && only !== undefined) {
      return {
        event: only.event,
        note:
          list.length === 1
            ? null
            : `using event ${only.call.eventId} (${only.call.eventName} of ${only.call.repository.repositoryName} at ${only.call.eventTime}), the only ECR repository-policy call among the ${of} of ${source}`,
      };
    }
    if (policyCalls.length > 1) {
      const listed = policyCalls
        .slice(0, LISTED)
        .map(
          ({ call }) =>
            `${call.eventId} (${call.eventName} of ${call.repository.repositoryName} at ${call.eventTime})`
        )
        .join(', ');
      const more = policyCalls.length > LISTED ? `, and ${policyCalls.length - LISTED} more` : '';
      throw new UsageError(
        `${source} holds ${policyCalls.length} ECR repository-policy calls; choose one with --event-id: ${listed}${more}`
      );
    }
    throw new UsageError(
      `${source} holds ${of}, none of them a Lambda CreateFunction or UpdateFunctionCode call or an ECR repository-policy call`
    );
  }
  const failed = deploys.filter((deploy) => deploy.call.errorCode !== null);
  const only = deploys.length === 1 ? deploys[0] : failed.length === 1 ? failed[0] : undefined;
  if (only !== undefined) {
    const which = deploys.length === 1 ? 'the only Lambda deploy call' : 'the only failed deploy';
    return {
      event: only.event,
      note:
        list.length === 1
          ? null
          : `using event ${only.call.eventId} (${summary(only.call)}), ${which} among the ${of} of ${source}`,
    };
  }
  const choices = failed.length > 0 ? failed : deploys;
  const listed = choices
    .slice(0, LISTED)
    .map(({ call }) => `${call.eventId} (${summary(call)})`)
    .join(', ');
  const more = choices.length > LISTED ? `, and ${choices.length - LISTED} more` : '';
  throw new UsageError(
    `${source} holds ${choices.length} ${failed.length > 0 ? 'failed ' : ''}Lambda deploy calls; choose one with --event-id: ${listed}${more}`
  );
}

function summary(call: DeployCall): string {
  return `${call.eventName} of ${call.functionName ?? 'an unnamed function'} at ${call.eventTime}${call.errorCode === null ? ', succeeded' : `, ${call.errorCode}`}`;
}

/** The ids a person may name an event by: CloudTrail's `eventID` and the EventBridge envelope's `id`. */
function idsOf(event: Record<string, unknown>): string[] {
  const detail = isJsonObject(event['detail']) ? event['detail'] : {};
  return [event['eventID'], detail['eventID'], event['id']].filter(
    (id): id is string => typeof id === 'string'
  );
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a JSON array';
  return `a JSON ${typeof value}`;
}

function notAnEvent(source: string, what: string): UsageError {
  return new UsageError(
    `${source} is not a CloudTrail event (it is ${what}); expected an EventBridge event ("detail-type"), a CloudTrail record ("eventSource"), the output of aws cloudtrail lookup-events ("Events") or aws sqs receive-message ("Messages")`
  );
}
