/**
 * Fault tests of the sweeper as it runs (createSweepHandler(defaultSweepDependencies): the real adapters over the real
 * SDK clients), with aws-sdk-client-mock and the SDK's real exception classes: a sweep with `sweepAction: "fix"` whose
 * FIXED notice cannot be sent must not lose it. Once the fix is in the policy the function is `ok`, so the retried
 * message makes no event again: the notice outbox sends the notice from the audit table, exactly once.
 *
 * ECR keeps its policies in a map; DynamoDB is a fake table that evaluates the adapters' condition expressions
 * (test/support/fake-dynamodb.ts); SNS records what it would deliver.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  InternalErrorException,
  KMSDisabledException,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { createSweepHandler, defaultSweepDependencies } from '../../lambda/handlers/sweep-handler';
import { FakeDynamoDbTable } from '../support/fake-dynamodb';
import { fakeEcrRepositories } from '../support/fake-ecr';
import { assumedRole } from '../support/fake-sts';

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const SWEEP_QUEUE = 'arn:aws:sqs:eu-west-1:333333333333:lambda-ecr-autofix-sweep';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix';
const ENV = {
  AWS_REGION: REGION,
  CONFIG: JSON.stringify({ organizationId: 'o-a1b2c3d4e5', sweepAction: 'fix' }),
  TOPIC_ARN,
  AUDIT_TABLE_NAME: 'lambda-ecr-autofix-audit',
  FIXER_ROLE_ARN: 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer',
  SWEEP_CONTINUATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix-sweep',
};
const FIXED = '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/app (eu-west-1)';

function scheduled(id: string): string {
  return JSON.stringify({
    version: '0',
    id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix-sweep`],
    detail: {},
  });
}

function record(
  body: string,
  messageId: string,
  receiveCount = 1,
  sentTimestamp = Date.now()
): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(sentTimestamp),
      SenderId: 'events.amazonaws.com',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: SWEEP_QUEUE,
    awsRegion: REGION,
  };
}

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const plenty = { getRemainingTimeInMillis: () => 100_000 };

const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
const ecr = mockClient(ECRClient);
const sns = mockClient(SNSClient);
const dynamodb = mockClient(DynamoDBClient);

let table: FakeDynamoDbTable;
let policies: Map<string, string>;
/** Subjects SNS accepted, in order. */
let delivered: string[];
/** Errors the next publishes whose subject matches throw, in order. */
let failures: { pattern: RegExp; error: Error }[];
let savedEnv: NodeJS.ProcessEnv;

const snsFault = () =>
  new InternalErrorException({ $metadata: { httpStatusCode: 500 }, message: 'Internal error' });

beforeEach(() => {
  for (const mock of [sts, lambda, ecr, sns, dynamodb]) mock.reset();
  savedEnv = process.env;
  process.env = { ...savedEnv, ...ENV };
  // Powertools writes log lines and metrics to the process's streams.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  table = new FakeDynamoDbTable();
  table.attach(dynamodb);
  policies = new Map();
  delivered = [];
  failures = [];
  sts.on(AssumeRoleCommand).resolves(assumedRole());
  lambda
    .on(ListFunctionsCommand)
    .resolves({
      Functions: [
        {
          FunctionName: 'api',
          FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:api`,
          PackageType: 'Image',
        },
      ],
    })
    .on(GetFunctionCommand)
    .resolves({
      Configuration: {
        FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:api`,
        State: 'Active',
      },
      Code: { ImageUri: `111111111111.dkr.ecr.${REGION}.amazonaws.com/platform/app:1` },
    });
  // The owner of 111111111111's repository shares it with 222222222222.
  fakeEcrRepositories(ecr, {
    policies,
    tags: [{ Key: 'lambda-ecr-autofix:share', Value: ACCOUNT }],
  });
  sns.on(PublishCommand).callsFake((input: { Subject?: string; TopicArn?: string }) => {
    const subject = input.Subject ?? '';
    const at = failures.findIndex((failure) => failure.pattern.test(subject));
    if (at !== -1) {
      const [failure] = failures.splice(at, 1);
      throw (failure as { error: Error }).error;
    }
    delivered.push(subject);
    return { MessageId: `sns-${delivered.length}` };
  });
});

afterEach(() => {
  process.env = savedEnv;
  jest.restoreAllMocks();
});

/** The audit record of the fix, as DynamoDB holds it. */
function fixRecord() {
  const items = [...table.items.values()].filter((item) => item['kind']?.S === 'fix');
  expect(items).toHaveLength(1);
  return items[0];
}

describe('the sweeper Lambda under faults (aws-sdk-client-mock, real SDK exception classes)', () => {
  it('a FIXED notice that fails (and so the digest is held back): the retried message sends it exactly once', async () => {
    // The pipeline's publish and the outbox's immediate second try.
    failures.push({ pattern: /FIXED/, error: snsFault() }, { pattern: /FIXED/, error: snsFault() });
    const handler = createSweepHandler(defaultSweepDependencies);

    const first = await handler(batch(record(scheduled('sweep-1'), 'm1', 1)), plenty);
    const owed = fixRecord();
    const second = await handler(batch(record(scheduled('sweep-1'), 'm1', 2)), plenty);
    const nextDay = await handler(batch(record(scheduled('sweep-2'), 'm2', 1)), plenty);

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(owed).toMatchObject({ state: { S: 'applied' } });
    expect(owed?.['notifiedAt']).toBeUndefined();
    expect([second.batchItemFailures, nextDay.batchItemFailures]).toEqual([[], []]);
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(1);
    expect(delivered).toEqual([
      FIXED,
      '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 1 late notice(s)',
    ]);
    expect(fixRecord()).toMatchObject({ notifiedAt: { S: expect.any(String) as string } });
  });

  it('a digest that fails after the FIXED notice went out: the retry never sends the notice again', async () => {
    failures.push({ pattern: /SWEEP/, error: snsFault() });
    const handler = createSweepHandler(defaultSweepDependencies);

    const first = await handler(batch(record(scheduled('sweep-1'), 'm1', 1)), plenty);
    const second = await handler(batch(record(scheduled('sweep-1'), 'm1', 2)), plenty);

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(second.batchItemFailures).toEqual([]);
    expect(delivered).toEqual([FIXED]);
    expect(fixRecord()).toMatchObject({
      state: { S: 'applied' },
      notificationId: { S: 'sns-1' },
    });
    // The retry looked for owed notices (one Query), found none.
    expect(table.calls['Query']).toBe(1);
  });

  it('a topic whose key is disabled through every delivery: the message ends in the DLQ, the record stays owed, the redrive sends it', async () => {
    const disabled = () =>
      new KMSDisabledException({ $metadata: { httpStatusCode: 400 }, message: 'Key disabled' });
    for (let i = 0; i < 6; i++) failures.push({ pattern: /FIXED/, error: disabled() });
    const handler = createSweepHandler(defaultSweepDependencies);

    const responses = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      responses.push(await handler(batch(record(scheduled('sweep-1'), 'm1', attempt)), plenty));
    }
    const owed = fixRecord();
    // A dead-letter redrive makes a new message (receive count 1), enqueued long after the scheduled event.
    const redriven = record(scheduled('sweep-1'), 'm3', 1, Date.now() + 2 * 3_600_000);
    const afterRedrive = await handler(batch(redriven), plenty);

    expect(responses.map((response) => response.batchItemFailures)).toEqual(
      Array(5).fill([{ itemIdentifier: 'm1' }])
    );
    expect(owed?.['notifiedAt']).toBeUndefined();
    expect(afterRedrive.batchItemFailures).toEqual([]);
    expect(delivered.filter((subject) => subject === FIXED)).toEqual([FIXED]);
    expect(fixRecord()).toMatchObject({ notifiedAt: { S: expect.any(String) as string } });
  });
});
