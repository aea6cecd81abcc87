/**
 * Loading the shared fixture events (test/fixtures/events, copied from ../shared/fixtures/events) and building
 * DeployCall values for tests. Every loader returns a fresh copy, so tests may change what they get.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import type { DeployCall } from '../../lambda/domain/decision';

export const EVENTS_DIR = join(__dirname, '..', 'fixtures', 'events');

type JsonRecord = Record<string, unknown>;
export type FixtureEvent = JsonRecord & { detail: JsonRecord };

/** Every fixture file name (`*.json`), sorted; includes the deliberately invalid truncated one. */
export function eventFixtureNames(): string[] {
  return readdirSync(EVENTS_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort();
}

function fileOf(name: string): string {
  return join(EVENTS_DIR, name.endsWith('.json') ? name : `${name}.json`);
}

/** The raw text of a fixture. */
export function readEventText(name: string): string {
  return readFileSync(fileOf(name), 'utf8');
}

/** A fresh copy of a fixture event. */
export function loadEvent(name: string): FixtureEvent {
  return JSON.parse(readEventText(name)) as FixtureEvent;
}

/** The CloudTrail record of an event (mutable: it is the same object). */
export function detailOf(event: JsonRecord): JsonRecord {
  return event['detail'] as JsonRecord;
}

/** The request parameters of an event's record (mutable: the same object). */
export function requestOf(event: JsonRecord): JsonRecord {
  return detailOf(event)['requestParameters'] as JsonRecord;
}

/** The DeployCall parsed from a fixture; throws when the fixture does not parse. */
export function callFrom(name: string): DeployCall {
  const parsed = parseDeployEvent(loadEvent(name));
  if (!parsed.ok) throw new Error(`${name} does not parse: ${parsed.explanation}`);
  return parsed.call;
}

/** A DeployCall with plausible defaults (a failed same-account CreateFunction), changed by `fields`. */
export function makeCall(fields: Partial<DeployCall> = {}): DeployCall {
  return {
    envelopeId: '11111111-2222-3333-4444-555555555555',
    eventId: '66666666-7777-8888-9999-000000000000',
    eventName: 'CreateFunction20150331',
    api: 'CreateFunction',
    eventTime: '2026-03-01T12:00:00Z',
    region: 'us-east-1',
    consumerAccount: '222222222222',
    errorCode: 'AccessDeniedException',
    errorMessage:
      'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
    functionName: 'orders-api',
    requestImageUri: '222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:1.4.2',
    packageType: 'Image',
    looksLikeZip: false,
    caller: {
      arn: 'arn:aws:sts::222222222222:assumed-role/platform-deployer/jenkins-build-4812',
      type: 'AssumedRole',
      principalArn: 'arn:aws:iam::222222222222:role/platform-deployer',
      invokedBy: null,
    },
    userAgent: 'aws-cli/2.17.60',
    sourceIpAddress: '203.0.113.24',
    requestTags: {},
    ...fields,
  };
}

/**
 * A fixture event with another consumer account, event id or function name: one more failed deploy against the
 * same repository.
 */
export function variantOf(
  name: string,
  changes: { account?: string; eventId?: string; functionName?: string }
): FixtureEvent {
  const event = loadEvent(name);
  const detail = detailOf(event);
  if (changes.account !== undefined) {
    event['account'] = changes.account;
    detail['recipientAccountId'] = changes.account;
  }
  if (changes.eventId !== undefined) detail['eventID'] = changes.eventId;
  if (changes.functionName !== undefined) requestOf(event)['functionName'] = changes.functionName;
  return event;
}
