/**
 * Fault tests of the Lambda as it runs (createHandler(defaultDependencies): the real adapters over the real SDK
 * clients), with aws-sdk-client-mock and the SDK's real exception classes. One test per way the write-ahead audit
 * used to lose a record or a notice (issue 8, "A write can lose its audit record and its e-mail").
 *
 * ECR keeps its policies in a map; DynamoDB is a fake table that evaluates the adapters' condition expressions
 * (test/support/fake-dynamodb.ts); SNS records what it would deliver, after the checks its query serializer makes.
 */
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { ECRClient, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { InternalErrorException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { createHandler, defaultDependencies } from '../../lambda/handlers/sqs-fixer';
import { FakeDynamoDbTable } from '../support/fake-dynamodb';
import { fakeEcrRepositories } from '../support/fake-ecr';
import { loadEvent } from '../support/events';
import { assumedRole } from '../support/fake-sts';

const ENV = {
  AWS_REGION: 'eu-west-1',
  CONFIG: JSON.stringify({ organizationId: 'o-a1b2c3d4e5' }),
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix',
  AUDIT_TABLE_NAME: 'lambda-ecr-autofix-audit',
  FIXER_ROLE_ARN: 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer',
  MAX_RECEIVE_COUNT: '5',
  DEAD_LETTER_QUEUE: 'lambda-ecr-autofix-dlq',
};
const SAME_ACCOUNT = 'create-function-same-account-ecr-denied';
const CROSS_ACCOUNT = 'create-function-cross-account-ecr-denied';
const ORDERS_API = 'arn:aws:ecr:us-east-1:222222222222:repository/orders-api';
const ORDERS_API_KEY = '2026-03-02T09:14:07Z#70462beb-c031-4e1c-a32f-3c83e8d047ee';
const FIXED_ORDERS_API =
  '[lambda-ecr-autofix] FIXED: 222222222222 can now pull orders-api (us-east-1)';

const ecr = mockClient(ECRClient);
const sts = mockClient(STSClient);
const sns = mockClient(SNSClient);
const dynamodb = mockClient(DynamoDBClient);

let table: FakeDynamoDbTable;
let policies: Map<string, string>;
/** Subjects SNS accepted, in order. */
let delivered: string[];
/** Errors the next publishes throw, in order. */
let publishFailures: Error[];
let savedEnv: NodeJS.ProcessEnv;

function record(body: string, messageId: string, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:333333333333:lambda-ecr-autofix',
    awsRegion: 'eu-west-1',
  };
}

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const body = (fixture: string): string => JSON.stringify(loadEvent(fixture));

/** A new container: configuration and clients are created on its first invocation. */
const container = () => createHandler(defaultDependencies);

function timeout(): Error {
  return Object.assign(
    new Error('Socket timed out without establishing a connection within 1000 ms'),
    {
      name: 'TimeoutError',
    }
  );
}

beforeEach(() => {
  for (const mock of [ecr, sts, sns, dynamodb]) mock.reset();
  savedEnv = process.env;
  process.env = { ...savedEnv, ...ENV };
  // Powertools writes log lines and metrics to the process's streams.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  table = new FakeDynamoDbTable();
  table.attach(dynamodb);
  policies = new Map();
  delivered = [];
  publishFailures = [];
  sts.on(AssumeRoleCommand).resolves(assumedRole());
  // The owner of platform/payments-worker shares it with the workload account (DESIGN.md, "Sharing and consent").
  fakeEcrRepositories(ecr, {
    policies,
    tags: [{ Key: 'lambda-ecr-autofix:share', Value: '222222222222' }],
  });
  sns.on(PublishCommand).callsFake((input: { Subject?: string; Message?: string }) => {
    const failure = publishFailures.shift();
    if (failure !== undefined) throw failure;
    // What the SDK's query serializer does to every parameter: a lone surrogate makes it throw URIError.
    encodeURIComponent(input.Subject ?? '');
    encodeURIComponent(input.Message ?? '');
    delivered.push(input.Subject ?? '');
    return { MessageId: `sns-${delivered.length}` };
  });
});

afterEach(() => {
  process.env = savedEnv;
  jest.restoreAllMocks();
});

describe('the fixer Lambda under faults (aws-sdk-client-mock, real SDK exception classes)', () => {
  it('(a) a timeout right after SetRepositoryPolicy: the retry completes the record and sends exactly one notice', async () => {
    // Arrange: ECR stores the policy, then the connection drops.
    ecr
      .on(SetRepositoryPolicyCommand)
      .callsFakeOnce(
        (input: { registryId?: string; repositoryName?: string; policyText?: string }) => {
          policies.set(`${input.registryId}/${input.repositoryName}`, input.policyText ?? '');
          throw timeout();
        }
      );
    const handler = container();

    // Act
    const first = await handler(batch(record(body(SAME_ACCOUNT), 'm1', 1)));
    const second = await handler(batch(record(body(SAME_ACCOUNT), 'm1', 2)));

    // Assert
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(second.batchItemFailures).toEqual([]);
    expect(ecr).toHaveReceivedCommandTimes(SetRepositoryPolicyCommand, 1);
    expect(delivered).toEqual([FIXED_ORDERS_API]);
    expect(table.item(ORDERS_API, ORDERS_API_KEY)).toMatchObject({
      state: { S: 'applied' },
      notificationId: { S: 'sns-1' },
    });
  });

  it('(b) a duplicate delivery in a later batch leaves the applied record intact and sends nothing', async () => {
    const handler = container();
    await handler(batch(record(body(SAME_ACCOUNT), 'first-delivery')));
    const applied = table.item(ORDERS_API, ORDERS_API_KEY);

    const response = await handler(batch(record(body(SAME_ACCOUNT), 'duplicate-delivery')));

    expect(response.batchItemFailures).toEqual([]);
    expect(applied).toMatchObject({ outcome: { S: 'fix' } });
    expect(table.item(ORDERS_API, ORDERS_API_KEY)).toStrictEqual(applied);
    expect(delivered).toEqual([FIXED_ORDERS_API]);
  });

  it('(c) the same event twice in one batch fails nothing, and unrelated repositories succeed', async () => {
    const handler = container();

    const response = await handler(
      batch(
        record(body(SAME_ACCOUNT), 'a'),
        record(body(CROSS_ACCOUNT), 'unrelated'),
        record(body(SAME_ACCOUNT), 'a-again')
      )
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(ecr).toHaveReceivedCommandTimes(SetRepositoryPolicyCommand, 2);
    expect([...delivered].sort()).toEqual(
      [
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)',
        FIXED_ORDERS_API,
      ].sort()
    );
  });

  it('(e) a lone surrogate in the event’s text still lets the notice go out, well-formed', async () => {
    const event = loadEvent(SAME_ACCOUNT);
    // Half an emoji, as a truncation that cuts a surrogate pair leaves it.
    event.detail['userAgent'] = 'deploy-bot/1.0 \ud83d';
    const handler = container();

    const response = await handler(batch(record(JSON.stringify(event), 'm1')));

    expect(response.batchItemFailures).toEqual([]);
    expect(delivered).toEqual([FIXED_ORDERS_API]);
    const published = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(() => encodeURIComponent(published?.Message ?? '')).not.toThrow();
    expect(published?.Message).toContain('deploy-bot/1.0');
  });

  it('a failed publish: the retry sends the notice exactly once and writes nothing again', async () => {
    publishFailures.push(
      new InternalErrorException({ $metadata: { httpStatusCode: 500 }, message: 'Internal error' })
    );
    const handler = container();

    const first = await handler(batch(record(body(SAME_ACCOUNT), 'm1', 1)));
    const second = await handler(batch(record(body(SAME_ACCOUNT), 'm1', 2)));
    const third = await handler(batch(record(body(SAME_ACCOUNT), 'm1', 3)));

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect([second.batchItemFailures, third.batchItemFailures]).toEqual([[], []]);
    expect(ecr).toHaveReceivedCommandTimes(SetRepositoryPolicyCommand, 1);
    expect(delivered).toEqual([FIXED_ORDERS_API]);
    expect(table.item(ORDERS_API, ORDERS_API_KEY)).toMatchObject({
      state: { S: 'applied' },
      notifiedAt: { S: expect.any(String) as string },
    });
  });

  it('retries exhausted (to the DLQ): the error notice and the owed record stay; the next ECR event of the repository sends the notice once, a redrive nothing more', async () => {
    // SNS refuses the FIXED notice on every delivery; the error notice on the last one goes through.
    for (let attempt = 1; attempt <= 5; attempt++) {
      publishFailures.push(
        new InternalErrorException({
          $metadata: { httpStatusCode: 500 },
          message: 'Internal error',
        })
      );
    }
    const handler = container();
    const repository = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker';
    const fixed =
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)';

    const responses = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      responses.push(await handler(batch(record(body(CROSS_ACCOUNT), 'm1', attempt))));
    }
    const afterDeadLetter = [...delivered];
    const owed = [...table.items.values()].find((item) => item['repositoryArn']?.S === repository);
    // The fix's own SetRepositoryPolicy reaches the drift guard (as any later policy change would).
    const ecrEvent = readFileSync(
      join(__dirname, '..', 'fixtures', 'ecr-events', 'ecr-set-repository-policy-by-fixer.json'),
      'utf8'
    );
    const drift = await handler(batch(record(ecrEvent, 'ecr-1')));
    // An operator redrives the dead letter later: a new message, the same event.
    const redrive = await handler(batch(record(body(CROSS_ACCOUNT), 'm1-redriven', 1)));

    expect(responses.map((response) => response.batchItemFailures)).toEqual(
      Array(5).fill([{ itemIdentifier: 'm1' }])
    );
    expect(afterDeadLetter).toEqual([
      expect.stringMatching(/^\[lambda-ecr-autofix\] ERROR: /) as unknown,
    ]);
    expect(owed).toMatchObject({ state: { S: 'applied' }, outcome: { S: 'fix' } });
    expect(owed?.['notifiedAt']).toBeUndefined();
    expect(ecr).toHaveReceivedCommandTimes(SetRepositoryPolicyCommand, 1);
    expect([drift.batchItemFailures, redrive.batchItemFailures]).toEqual([[], []]);
    expect(delivered.slice(afterDeadLetter.length)).toEqual([fixed]);
    expect(
      [...table.items.values()].find((item) => item['repositoryArn']?.S === repository)
    ).toMatchObject({ notifiedAt: { S: expect.any(String) as string } });
  });

  it('an audit table that refuses the intent: nothing is written to ECR, and the event is retried', async () => {
    const throttled = () =>
      new ProvisionedThroughputExceededException({
        $metadata: { httpStatusCode: 400 },
        message: 'Throughput exceeded',
      });
    table.failNext.set('TransactWriteItems', throttled());
    table.failNext.set('BatchWriteItem', throttled());
    const handler = container();

    const response = await handler(batch(record(body(SAME_ACCOUNT), 'm1')));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(ecr).toHaveReceivedCommandTimes(SetRepositoryPolicyCommand, 0);
    expect(delivered).toEqual([]);
  });

  it('costs one TransactWriteItems more per write than the records alone (the intent), and no read', async () => {
    const handler = container();

    await handler(
      batch(
        record(body(SAME_ACCOUNT), 'fix'),
        record(body('create-function-scp-explicit-deny'), 'needs-human'),
        record(body('create-function-zip-failure'), 'ignored')
      )
    );

    expect(table.calls).toEqual({ PutItem: 1, DeleteItem: 1, TransactWriteItems: 2 });
  });
});
