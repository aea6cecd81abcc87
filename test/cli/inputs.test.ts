/**
 * The input files people actually have (issue 12): lookup-events output, bare CloudTrail records, dead-letter queue
 * messages, `--query policyText` output, a policy of another registry, and files that are not events at all.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chooseEvent } from '../../bin/commands/event-input';
import { renderErrorNotification } from '../../lambda/domain/notification';
import { runCli } from '../support/cli';
import { EVENTS_DIR, callFrom, detailOf, loadEvent } from '../support/events';

const CROSS_ACCOUNT = 'create-function-cross-account-ecr-denied.json';
const SAME_ACCOUNT = 'create-function-same-account-ecr-denied.json';
const SUCCESS = 'create-function-success-image.json';
const PACKAGE_JSON = join(__dirname, '..', '..', 'package.json');

function scratchFile(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-inputs-'));
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** One entry of `aws cloudtrail lookup-events` output, as the CLI prints it. */
function lookupEntry(record: Record<string, unknown>): Record<string, unknown> {
  return {
    EventId: record['eventID'],
    EventName: record['eventName'],
    ReadOnly: 'false',
    EventTime: '2026-03-03T14:02:51+00:00',
    EventSource: record['eventSource'],
    Username: 'jenkins-build-4812',
    Resources: [],
    CloudTrailEvent: JSON.stringify(record),
  };
}

const recordOf = (fixture: string): Record<string, unknown> => detailOf(loadEvent(fixture));

/** A non-Lambda record, as lookup-events returns plenty of. */
const otherRecord = {
  eventVersion: '1.09',
  eventTime: '2026-03-03T14:00:00Z',
  eventSource: 'ecr.amazonaws.com',
  eventName: 'GetAuthorizationToken',
  awsRegion: 'eu-west-1',
  eventID: '00000000-0000-0000-0000-000000000001',
  recipientAccountId: '222222222222',
};

/** The registry's owner shares the cross-account fixture's repository with its consumer. */
const SHARED = ['--tag', 'lambda-ecr-autofix:share=222222222222'];

async function planJson(...argv: string[]) {
  const result = await runCli('plan', ...argv, '--json');
  return {
    ...result,
    json:
      result.code === 0
        ? (JSON.parse(result.out) as { outcome: string; target: { repositoryName: string } })
        : null,
  };
}

describe('plan --event accepts', () => {
  it('a bare CloudTrail record, with the same decision as its EventBridge event', async () => {
    const bare = await planJson(
      '--event',
      scratchFile('record.json', recordOf(CROSS_ACCOUNT)),
      ...SHARED
    );
    const envelope = await planJson('--event', join(EVENTS_DIR, CROSS_ACCOUNT), ...SHARED);

    expect(bare.code).toBe(0);
    expect(bare.json).toEqual(envelope.json);
    expect(bare.json?.outcome).toBe('fix');
  });

  it('the output of aws cloudtrail lookup-events with one deploy call among other events', async () => {
    const file = scratchFile('lookup.json', {
      Events: [lookupEntry(otherRecord), lookupEntry(recordOf(CROSS_ACCOUNT))],
    });

    const { code, json, err } = await planJson('--event', file);

    expect(code).toBe(0);
    expect(json?.target.repositoryName).toBe('platform/payments-worker');
    expect(err).toBe(
      `lambda-ecr-autofix plan: using event 7a1739ad-24f1-497f-8724-4571e9b99590 (CreateFunction20150331 of payments-worker at 2026-03-03T14:02:51Z, AccessDeniedException), the only Lambda deploy call among the 2 events of --event ${file}`
    );
  });

  it('lookup-events output with exactly one failed deploy among successful ones', async () => {
    const file = scratchFile('lookup.json', {
      Events: [lookupEntry(recordOf(SUCCESS)), lookupEntry(recordOf(SAME_ACCOUNT))],
    });

    const { code, json, err } = await planJson('--event', file);

    expect(code).toBe(0);
    expect(json?.target.repositoryName).toBe('orders-api');
    expect(err).toContain('the only failed deploy among the 2 events');
  });

  it('lookup-events output with one entry, silently', async () => {
    const file = scratchFile('lookup.json', { Events: [lookupEntry(recordOf(SAME_ACCOUNT))] });

    const { code, err } = await planJson('--event', file);

    expect(code).toBe(0);
    expect(err).toBe('');
  });

  it('a single CloudTrailEvent string, as --query "Events[0].CloudTrailEvent" prints it', async () => {
    const file = scratchFile('one.json', JSON.stringify(JSON.stringify(recordOf(SAME_ACCOUNT))));

    const { code, json } = await planJson('--event', file);

    expect(code).toBe(0);
    expect(json?.outcome).toBe('fix');
  });

  it('the output of aws sqs receive-message on the dead-letter queue', async () => {
    const file = scratchFile('dlq.json', {
      Messages: [
        {
          MessageId: 'a2b9c1d0-0000-4000-8000-000000000000',
          ReceiptHandle: 'AQEB...',
          MD5OfBody: '0',
          Body: JSON.stringify(loadEvent(SAME_ACCOUNT)),
          Attributes: { ApproximateReceiveCount: '5' },
        },
      ],
    });

    const { code, json } = await planJson('--event', file);

    expect(code).toBe(0);
    expect(json?.target.repositoryName).toBe('orders-api');
  });

  it('a CloudTrail log file, choosing by --event-id', async () => {
    const file = scratchFile('log.json', {
      Records: [otherRecord, recordOf(SAME_ACCOUNT), recordOf(CROSS_ACCOUNT)],
    });

    const { code, json } = await planJson(
      '--event',
      file,
      '--event-id',
      '7a1739ad-24f1-497f-8724-4571e9b99590'
    );

    expect(code).toBe(0);
    expect(json?.target.repositoryName).toBe('platform/payments-worker');
  });
});

describe('chooseEvent also unwraps one entry of a list, as --query prints it', () => {
  const event = loadEvent(SAME_ACCOUNT);
  const record = recordOf(SAME_ACCOUNT);

  it.each<[string, unknown, unknown]>([
    ["one lookup-events entry (--query 'Events[0]')", lookupEntry(record), record],
    [
      "one receive-message message (--query 'Messages[0]')",
      { MessageId: 'm-1', ReceiptHandle: 'AQEB...', MD5OfBody: '0', Body: JSON.stringify(event) },
      event,
    ],
    [
      'the SQS event a Lambda function receives (the fixer input, from a test event or a log)',
      {
        Records: [
          {
            messageId: 'm-1',
            receiptHandle: 'AQEB...',
            body: JSON.stringify(event),
            attributes: { ApproximateReceiveCount: '5' },
            messageAttributes: {},
            md5OfBody: '0',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:lambda-ecr-autofix-work',
            awsRegion: 'us-east-1',
          },
        ],
      },
      event,
    ],
  ])('%s', (_what, content, expected) => {
    // Act
    const chosen = chooseEvent(content, 'the file', undefined);

    // Assert
    expect(chosen.event).toEqual(expected);
  });

  it('says which SQS record it used, and refuses a broken body with its place', () => {
    const other = { ...event, id: 'other', detail: { ...record, eventName: 'GetFunction' } };
    const records = [other, event].map((e, i) => ({
      messageId: `m-${i}`,
      body: JSON.stringify(e),
      eventSource: 'aws:sqs',
    }));

    expect(chooseEvent({ Records: records }, 'the file', undefined).note).toContain(
      'the only Lambda deploy call among the 2 events of the file'
    );
    expect(() =>
      chooseEvent({ Records: [{ body: '{"version":', eventSource: 'aws:sqs' }] }, 'f', undefined)
    ).toThrow('f: Records[0].body is not valid JSON');
    expect(() => chooseEvent({ Body: '{' }, 'f', undefined)).toThrow('f: Body is not valid JSON');
  });
});

describe('plan --event refuses, with exit 2 and one line', () => {
  it.each<[string, unknown, RegExp]>([
    [
      'package.json',
      null,
      /--event .*package\.json is not a CloudTrail event \(it is an object of another kind\); expected an EventBridge event \("detail-type"\), a CloudTrail record \("eventSource"\), the output of aws cloudtrail lookup-events \("Events"\) or aws sqs receive-message \("Messages"\) \(see --help\)$/,
    ],
    ['an array', [1, 2], /is not a CloudTrail event \(it is a JSON array\)/],
    ['null', null, /is not a CloudTrail event \(it is null\)/],
    ['a number', 42, /is not a CloudTrail event \(it is a JSON number\)/],
    ['a string that is not JSON', JSON.stringify('hello'), /the string is not valid JSON/],
    [
      'lookup-events without deploy calls',
      { Events: [lookupEntry(otherRecord), { EventId: 'x' }] },
      /holds 2 events, none of them a Lambda CreateFunction or UpdateFunctionCode call/,
    ],
    [
      'lookup-events with a broken CloudTrailEvent',
      { Events: [{ CloudTrailEvent: '{"eventVersion":' }] },
      /Events\[0\]\.CloudTrailEvent is not valid JSON/,
    ],
    [
      'receive-message with a broken body',
      { Messages: [{ Body: '{"version":"0"' }] },
      /Messages\[0\]\.Body is not valid JSON/,
    ],
    [
      'lookup-events with two failed deploys',
      { Events: [lookupEntry(recordOf(SAME_ACCOUNT)), lookupEntry(recordOf(CROSS_ACCOUNT))] },
      /holds 2 failed Lambda deploy calls; choose one with --event-id: .* \(CreateFunction20150331 of orders-api at .*\), 7a1739ad-24f1-497f-8724-4571e9b99590 \(CreateFunction20150331 of payments-worker at 2026-03-03T14:02:51Z, AccessDeniedException\) \(see --help\)$/,
    ],
    [
      'two successful deploys',
      { Records: [recordOf(SUCCESS), recordOf(SUCCESS)] },
      /holds 2 Lambda deploy calls; choose one with --event-id: .*succeeded/,
    ],
  ])('%s', async (what, content, message) => {
    const file = what === 'package.json' ? PACKAGE_JSON : scratchFile('event.json', content);

    const { code, out, err } = await runCli('plan', '--event', file);

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
    expect(err).not.toContain('\n');
  });

  it('names an --event-id that the file does not hold', async () => {
    const list = scratchFile('log.json', { Records: [recordOf(SAME_ACCOUNT)] });
    const single = join(EVENTS_DIR, SAME_ACCOUNT);

    const fromList = await runCli('plan', '--event', list, '--event-id', 'nope');
    const fromSingle = await runCli('plan', '--event', single, '--event-id', 'nope');

    expect(fromList.code).toBe(2);
    expect(fromList.err).toContain('has no event with id nope among its 1 event');
    expect(fromSingle.code).toBe(2);
    expect(fromSingle.err).toMatch(/--event-id nope is not the id of the event in .* \(.* or .*\)/);
  });

  it('lists five candidates and counts the rest', () => {
    const records = Array.from({ length: 7 }, (_, index) => ({
      ...recordOf(SAME_ACCOUNT),
      eventID: `id-${index}`,
    }));

    expect(() => chooseEvent({ Records: records }, 'the file', undefined)).toThrow(
      /choose one with --event-id: id-0 .*id-4 \([^)]*\), and 2 more$/
    );
  });

  it('says when a single event has no id to match', () => {
    expect(() => chooseEvent({ eventSource: 'lambda.amazonaws.com' }, 'the file', 'x')).toThrow(
      '--event-id x is not the id of the event in the file (it has none)'
    );
  });

  it('names an unnamed function in the list of candidates', () => {
    const unnamed = (id: string) => {
      const record = recordOf(SAME_ACCOUNT);
      delete (record['requestParameters'] as Record<string, unknown>)['functionName'];
      return { ...record, eventID: id };
    };

    expect(() => chooseEvent({ Records: [unnamed('a'), unnamed('b')] }, 'f', undefined)).toThrow(
      /a \(CreateFunction20150331 of an unnamed function at /
    );
  });
});

describe('plan --policy accepts', () => {
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'ecr:*' },
    ],
  };

  it('the output of aws ecr get-repository-policy --query policyText (a JSON string)', async () => {
    const file = scratchFile('policy.json', JSON.stringify(JSON.stringify(policy)));

    const { code, json } = await planJson(
      '--event',
      join(EVENTS_DIR, SAME_ACCOUNT),
      '--policy',
      file
    );

    expect(code).toBe(0);
    expect(json?.outcome).toBe('already-allowed');
  });

  it('refuses a JSON string that holds no policy document', async () => {
    const file = scratchFile('policy.json', JSON.stringify('not a policy'));

    const { code, err } = await runCli(
      'plan',
      '--event',
      join(EVENTS_DIR, SAME_ACCOUNT),
      '--policy',
      file
    );

    expect(code).toBe(2);
    expect(err).toMatch(/--policy .* holds a JSON string that is not a policy document/);
  });

  it('warns on stderr when get-repository-policy output names another registry or repository', async () => {
    const file = scratchFile('policy.json', {
      registryId: '999999999999',
      repositoryName: 'other/repository',
      policyText: JSON.stringify(policy),
    });

    const { code, json, err } = await planJson(
      '--event',
      join(EVENTS_DIR, CROSS_ACCOUNT),
      '--policy',
      file,
      ...SHARED
    );

    expect(code).toBe(0);
    expect(json?.outcome).toBe('fix');
    expect(err.split('\n')).toEqual([
      `lambda-ecr-autofix plan: warning: --policy ${file} is the policy of a repository in registry 999999999999, but the event's image is in registry 111111111111; the plan uses it anyway`,
      `lambda-ecr-autofix plan: warning: --policy ${file} is the policy of repository other/repository, but the event's image is in platform/payments-worker; the plan uses it anyway`,
    ]);
  });

  it('says nothing when the policy belongs to the event’s repository, or there is no target', async () => {
    const file = scratchFile('policy.json', {
      registryId: '111111111111',
      repositoryName: 'platform/payments-worker',
      policyText: JSON.stringify(policy),
    });

    const matching = await runCli(
      'plan',
      '--event',
      join(EVENTS_DIR, CROSS_ACCOUNT),
      '--policy',
      file
    );
    const ignored = await runCli('plan', '--event', join(EVENTS_DIR, SUCCESS), '--policy', file);

    expect(matching.err).toBe('');
    expect(ignored.err).toBe('');
  });
});

describe('plan refuses a --policy or --config file that is not one, with exit 2 and one line', () => {
  it.each<[string, string, unknown, RegExp]>([
    [
      '--policy',
      'package.json',
      null,
      /--policy .*package\.json is not a repository policy \(an object without "Statement", "Version" or "policyText"\); expected the policy document or the output of aws ecr get-repository-policy \(see --help\)$/,
    ],
    [
      '--policy',
      'an array',
      [{ Effect: 'Allow' }],
      /--policy .* is not a repository policy \(a JSON array\)/,
    ],
    ['--policy', 'a number', 7, /--policy .* is not a repository policy \(a JSON number\)/],
    ['--config', 'null', null, /Invalid configuration in .*: expected a JSON object, got null/],
  ])('%s %s', async (option, what, content, message) => {
    const file =
      what === 'package.json' ? PACKAGE_JSON : scratchFile('file.json', JSON.stringify(content));

    const { code, out, err } = await runCli(
      'plan',
      '--event',
      join(EVENTS_DIR, SAME_ACCOUNT),
      option,
      file
    );

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
    expect(err).not.toContain('\n');
  });
});

describe('docs/operations.md', () => {
  const operations = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');

  it('has the section the error e-mail sends people to, with the commands it names', () => {
    const { message } = renderErrorNotification({
      messageId: 'm1',
      attempts: 5,
      error: 'boom',
      call: callFrom(CROSS_ACCOUNT),
      deadLetterQueue: null,
    });
    const section = /docs\/operations\.md, "([^"]+)"/.exec(message)?.[1];

    expect(section).toBeDefined();
    expect(operations).toContain(`\n## ${section}\n`);
    expect(operations).toContain('--lookup-attributes AttributeKey=EventId,AttributeValue=');
    expect(operations).toContain("--query 'Messages[0].Body' --output text > event.json");
  });
});
