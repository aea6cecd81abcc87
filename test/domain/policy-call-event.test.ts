import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { isEcrEvent, parsePolicyCallEvent } from '../../lambda/domain/policy-call-event';

const DIR = join(__dirname, '..', 'fixtures', 'ecr-events');
type Json = Record<string, unknown> & { detail: Record<string, unknown> };
const load = (name: string): Json =>
  JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Json;

describe('parsePolicyCallEvent', () => {
  it('parses a successful SetRepositoryPolicy into the call and its repository', () => {
    const parsed = parsePolicyCallEvent(load('ecr-set-repository-policy-removes-grants'));

    expect(parsed).toEqual({
      ok: true,
      call: {
        envelopeId: '7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
        eventId: '9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d',
        eventName: 'SetRepositoryPolicy',
        eventTime: '2026-03-10T09:15:42Z',
        repository: {
          partition: 'aws',
          region: 'eu-west-1',
          registryAccount: '111111111111',
          repositoryName: 'platform/payments-worker',
          repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
        },
        caller: {
          arn: 'arn:aws:sts::111111111111:assumed-role/platform-admin/jane.doe',
          type: 'AssumedRole',
          principalArn: 'arn:aws:iam::111111111111:role/platform-admin',
          invokedBy: null,
        },
        userAgent: expect.stringContaining('Terraform') as string,
      },
    });
  });

  it.each([
    ['ecr-delete-repository-policy', 'DeleteRepositoryPolicy'],
    ['ecr-delete-repository', 'DeleteRepository'],
    ['ecr-set-repository-policy-by-fixer', 'SetRepositoryPolicy'],
  ])('parses %s', (name, eventName) => {
    const parsed = parsePolicyCallEvent(load(name));

    expect(parsed.ok && parsed.call.eventName).toBe(eventName);
  });

  it('takes a bare CloudTrail record (lookup-events), with the account from recipientAccountId', () => {
    const parsed = parsePolicyCallEvent(load('ecr-set-repository-policy-removes-grants').detail);

    expect(parsed.ok && parsed.call.envelopeId).toBe('9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d');
  });

  it('ignores a failed call: it changed nothing', () => {
    expect(parsePolicyCallEvent(load('ecr-set-repository-policy-failed'))).toEqual({
      ok: false,
      reason: 'call-failed',
      explanation:
        'The SetRepositoryPolicy call failed (AccessDeniedException), so it changed nothing.',
    });
  });

  it("refuses the caller's copy of a cross-account call: only the registry's copy is acted on", () => {
    const parsed = parsePolicyCallEvent(load('ecr-set-repository-policy-caller-copy'));

    expect(parsed).toEqual(expect.objectContaining({ ok: false, reason: 'inconsistent-event' }));
    expect(!parsed.ok && parsed.explanation).toContain(
      'names registry 111111111111, but the event was recorded in account 333333333333'
    );
  });

  it.each<[string, (event: Json) => void, string, string]>([
    [
      'another account in the envelope',
      (e) => (e['account'] = '999999999999'),
      'inconsistent-event',
      'differ',
    ],
    [
      'a repository ARN of another repository in resources',
      (e) =>
        (e.detail['resources'] = [{ ARN: 'arn:aws:ecr:eu-west-1:111111111111:repository/other' }]),
      'inconsistent-event',
      'resources names arn:aws:ecr:eu-west-1:111111111111:repository/other',
    ],
    [
      'another service inside an aws.ecr envelope',
      (e) => (e.detail['eventSource'] = 's3.amazonaws.com'),
      'inconsistent-event',
      'not ecr.amazonaws.com',
    ],
    [
      'another ECR call',
      (e) => (e.detail['eventName'] = 'PutImage'),
      'not-a-policy-change',
      'PutImage is not one of the calls',
    ],
    [
      'another source',
      (e) => (e['source'] = 'aws.lambda'),
      'not-a-policy-change',
      'from "aws.lambda"',
    ],
    [
      'another detail-type',
      (e) => (e['detail-type'] = 'ECR Image Action'),
      'not-a-policy-change',
      '"ECR Image Action"',
    ],
    ['no envelope id', (e) => delete e['id'], 'invalid-event', 'id is missing'],
    [
      'no eventSource',
      (e) => delete e.detail['eventSource'],
      'invalid-event',
      'detail.eventSource is missing',
    ],
    [
      'a bad repository name',
      (e) => ((e.detail['requestParameters'] as Json)['repositoryName'] = 'Not Valid'),
      'invalid-event',
      'repositoryName must be an ECR repository name',
    ],
    [
      'a bad event time',
      (e) => (e.detail['eventTime'] = 'yesterday'),
      'invalid-event',
      'eventTime must be an ISO-8601',
    ],
  ])('refuses an event with %s', (_, change, reason, words) => {
    const event = load('ecr-set-repository-policy-removes-grants');
    change(event);

    const parsed = parsePolicyCallEvent(event);

    expect(parsed).toEqual(expect.objectContaining({ ok: false, reason }));
    expect(!parsed.ok && parsed.explanation).toContain(words);
  });

  it('needs an account: the recipient or the envelope', () => {
    const event = load('ecr-set-repository-policy-removes-grants');
    delete event.detail['recipientAccountId'];
    const bare = { ...event.detail };

    expect(parsePolicyCallEvent(event).ok).toBe(true);
    const withoutAccount = { ...event };
    delete withoutAccount['account'];
    expect(parsePolicyCallEvent(withoutAccount)).toEqual(
      expect.objectContaining({ ok: false, reason: 'invalid-event' })
    );
    expect(parsePolicyCallEvent(bare)).toEqual(
      expect.objectContaining({ ok: false, reason: 'invalid-event' })
    );
  });

  it('accepts resources in lower case and skips entries that are not ECR repositories', () => {
    const event = load('ecr-set-repository-policy-removes-grants');
    event.detail['resources'] = [
      { arn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker' },
      { ARN: 'arn:aws:kms:eu-west-1:111111111111:key/abc' },
      'not an object',
      { ARN: 42 },
    ];

    expect(parsePolicyCallEvent(event).ok).toBe(true);
    event.detail['resources'] = 'not a list';
    expect(parsePolicyCallEvent(event).ok).toBe(true);
  });

  it('refuses input that is no JSON object, or a record of another service', () => {
    expect(parsePolicyCallEvent('text')).toEqual(
      expect.objectContaining({ reason: 'invalid-event' })
    );
    expect(
      parsePolicyCallEvent({ eventSource: 's3.amazonaws.com', eventName: 'PutObject' })
    ).toEqual(expect.objectContaining({ reason: 'not-a-policy-change' }));
  });
});

describe('isEcrEvent', () => {
  it('recognises ECR envelopes and records only', () => {
    const event = load('ecr-delete-repository');

    expect(isEcrEvent(event)).toBe(true);
    expect(isEcrEvent(event.detail)).toBe(true);
    expect(isEcrEvent({ ...event, source: 'aws.lambda' })).toBe(false);
    expect(isEcrEvent({ eventSource: 'lambda.amazonaws.com' })).toBe(false);
    expect(isEcrEvent(null)).toBe(false);
  });
});
