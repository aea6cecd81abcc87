import { emptyDigest } from '../../lambda/domain/sweep-digest';
import type { SweepRequest } from '../../lambda/domain/sweep-request';
import {
  MAX_OWED_NOTICES,
  RESENT_AFTER_MS,
  continuationMessage,
  parseSweepMessage,
  resentLate,
} from '../../lambda/domain/sweep-request';

const scheduled = {
  version: '0',
  id: '89d1a02d-5ec7-412e-82f5-13505f849b41',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '222222222222',
  time: '2026-01-01T03:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:222222222222:rule/lambda-ecr-autofix-sweep'],
  detail: {},
};

describe('parseSweepMessage', () => {
  it('starts a sweep of the account and Region of the scheduled event', () => {
    expect(parseSweepMessage(scheduled)).toEqual({
      ok: true,
      request: {
        sweepId: '89d1a02d-5ec7-412e-82f5-13505f849b41',
        account: '222222222222',
        region: 'eu-west-1',
        partition: 'aws',
        startedAt: '2026-01-01T03:00:00Z',
        marker: null,
        chunk: 1,
        digest: emptyDigest(),
        owedNotices: [],
        sentAt: null,
      },
    });
  });

  it('accepts the other partitions', () => {
    const china = {
      ...scheduled,
      region: 'cn-north-1',
      resources: ['arn:aws-cn:events:cn-north-1:222222222222:rule/lambda-ecr-autofix-sweep'],
    };

    expect(parseSweepMessage(china)).toEqual(
      expect.objectContaining({
        ok: true,
        request: expect.objectContaining({ partition: 'aws-cn' }) as unknown,
      })
    );
  });

  it.each([
    ['another account', 'arn:aws:events:eu-west-1:333333333333:rule/lambda-ecr-autofix-sweep'],
    ['another Region', 'arn:aws:events:us-east-1:222222222222:rule/lambda-ecr-autofix-sweep'],
    ['another rule', 'arn:aws:events:eu-west-1:222222222222:rule/nightly-backup'],
    ['another partition', 'arn:aws-cn:events:eu-west-1:222222222222:rule/lambda-ecr-autofix-sweep'],
    ['not a rule', 'arn:aws:lambda:eu-west-1:222222222222:function:lambda-ecr-autofix-sweep'],
  ])('refuses a scheduled event whose rule is in %s', (_, rule) => {
    expect(parseSweepMessage({ ...scheduled, resources: [rule] })).toEqual({
      ok: false,
      reason: 'inconsistent-event',
      explanation: expect.stringMatching(
        /^The scheduled event of account 222222222222 in eu-west-1 names the rule .*, not lambda-ecr-autofix-sweep of that account and Region, so it is not acted on\.$/
      ) as string,
    });
  });

  it('clips a long rule ARN in the explanation', () => {
    const result = parseSweepMessage({ ...scheduled, resources: [`arn:${'x'.repeat(300)}`] });

    expect(result.ok).toBe(false);
    expect(JSON.stringify(result).length).toBeLessThan(400);
  });

  it.each([
    ['a string', 'hello'],
    ['null', null],
    ['an array', []],
    [
      'a deploy event',
      { ...scheduled, source: 'aws.lambda', 'detail-type': 'AWS API Call via CloudTrail' },
    ],
    ['no resources', { ...scheduled, resources: [] }],
    [
      'two resources',
      { ...scheduled, resources: [scheduled.resources[0], scheduled.resources[0]] },
    ],
    ['a bad account', { ...scheduled, account: '22' }],
    ['a bad Region', { ...scheduled, region: 'Europe' }],
  ])('refuses %s as not a sweep request', (_, input) => {
    expect(parseSweepMessage(input)).toEqual({
      ok: false,
      reason: 'invalid-event',
      explanation:
        'The message is neither the scheduled event of the lambda-ecr-autofix-sweep rule nor a sweep continuation.',
    });
  });
});

describe('continuationMessage', () => {
  const started = (parseSweepMessage(scheduled) as { ok: true; request: SweepRequest }).request;
  const digest = {
    ...emptyDigest(),
    counts: { ok: 40, broken: 1, 'at-risk': 2, 'needs-human': 0, unknown: 0 },
    listed: [
      {
        functionName: 'nightly',
        status: 'broken' as const,
        reason: 'image-access-denied',
        repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/reports',
        explanation: 'Inactive, ImageAccessDenied.',
      },
    ],
    fixed: [
      { repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/app', functions: ['a'] },
    ],
  };

  const handOver = {
    owedNotices: ['arn:aws:ecr:eu-west-1:111111111111:repository/platform/app'],
    sentAt: '2026-01-01T03:02:00.000Z',
  };

  it('comes back, through JSON, as the same sweep one part further', () => {
    const message = JSON.parse(
      JSON.stringify(continuationMessage(started, 'marker-2', digest, handOver))
    ) as unknown;

    expect(parseSweepMessage(message)).toEqual({
      ok: true,
      request: { ...started, marker: 'marker-2', chunk: 2, digest, ...handOver },
    });
  });

  it('reads the continuation of a version before the notice outbox', () => {
    const message = continuationMessage(started, 'marker-2', digest, handOver) as {
      detail: Record<string, unknown> & { digest: Record<string, unknown> };
    };
    // What a version before the notice outbox sent: no owedNotices and sentAt, no lateNotices and completedWrites.
    const older: Record<string, unknown> = { ...message.detail };
    delete older['owedNotices'];
    delete older['sentAt'];
    const olderDigest: Record<string, unknown> = { ...message.detail.digest };
    delete olderDigest['lateNotices'];
    delete olderDigest['completedWrites'];

    expect(parseSweepMessage({ ...message, detail: { ...older, digest: olderDigest } })).toEqual({
      ok: true,
      request: {
        ...started,
        marker: 'marker-2',
        chunk: 2,
        digest: { ...digest, lateNotices: 0, completedWrites: 0 },
        owedNotices: [],
        sentAt: null,
      },
    });
  });

  it.each([
    ['no marker', { marker: '' }],
    ['the first part', { chunk: 1 }],
    ['a bad account', { account: 'x' }],
    ['a digest with a bad count', { digest: { ...digest, deleted: -1 } }],
    [
      'a digest listing too much',
      { digest: { ...digest, listed: Array(51).fill(digest.listed[0]) } },
    ],
    ['an owed notice of something else', { owedNotices: ['arn:aws:s3:::bucket'] }],
    [
      'too many owed notices',
      {
        owedNotices: Array.from(
          { length: MAX_OWED_NOTICES + 1 },
          (_, i) => `arn:aws:ecr:eu-west-1:111111111111:repository/r${i}`
        ),
      },
    ],
    ['an empty sentAt', { sentAt: '' }],
  ])('refuses a continuation with %s', (_, change) => {
    const message = continuationMessage(started, 'marker-2', digest, handOver) as {
      detail: Record<string, unknown>;
    };

    expect(parseSweepMessage({ ...message, detail: { ...message.detail, ...change } })).toEqual({
      ok: false,
      reason: 'invalid-event',
      explanation: expect.stringMatching(
        /^The sweep continuation is malformed \(at "detail\./
      ) as string,
    });
  });
});

describe('resentLate', () => {
  const started = (parseSweepMessage(scheduled) as { ok: true; request: SweepRequest }).request;
  const madeAt = Date.parse(started.startedAt);

  it('tells a message enqueued long after it was made (a dead-letter redrive) from a prompt one', () => {
    expect(resentLate(started, madeAt + 5_000)).toBe(false);
    expect(resentLate(started, madeAt + RESENT_AFTER_MS)).toBe(false);
    expect(resentLate(started, madeAt + RESENT_AFTER_MS + 1)).toBe(true);
  });

  it('measures a continuation from when it was sent, not from the start of the sweep', () => {
    const continued = { ...started, chunk: 3, sentAt: '2026-01-01T05:00:00.000Z' };

    expect(resentLate(continued, Date.parse('2026-01-01T05:00:03.000Z'))).toBe(false);
    expect(resentLate(continued, Date.parse('2026-01-01T06:00:00.000Z'))).toBe(true);
  });

  it('says no when either time is unknown', () => {
    expect(resentLate(started, Number.NaN)).toBe(false);
    expect(resentLate({ ...started, startedAt: 'not a time' }, madeAt + 3_600_000)).toBe(false);
  });
});
