/**
 * The sweeper Lambda: with stand-ins (what is acted on, what is acknowledged, what is retried), and with
 * the real composition over aws-sdk-client-mock (the registry role assumed in the swept account only, the digest and
 * the continuation published where they belong).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ECRClient,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { InMemoryNotifier, InMemoryRegistry, FixedClock } from '../../lambda/adapters/in-memory';
import { InMemoryFunctionInventory } from '../../lambda/adapters/in-memory-functions';
import { Sweeper } from '../../lambda/application/sweep';
import { parseConfig } from '../../lambda/domain/config';
import { createSweepHandler, defaultSweepDependencies } from '../../lambda/handlers/sweep-handler';
import { makeFunction } from '../support/scan';
import { assumedRole } from '../support/fake-sts';

const SWEEP_QUEUE = 'arn:aws:sqs:eu-west-1:333333333333:lambda-ecr-autofix-sweep';
const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const SCHEDULED = {
  version: '0',
  id: 'sweep-7',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: ACCOUNT,
  time: '2026-01-01T03:00:00Z',
  region: REGION,
  resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix-sweep`],
  detail: {},
};

function record(body: string, messageId: string, queue = SWEEP_QUEUE): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queue,
    awsRegion: REGION,
  };
}

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const plenty = { getRemainingTimeInMillis: () => 60_000 };

function silentMetrics(): Metrics {
  return new Metrics({
    namespace: 'Test',
    logger: {
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
      debug: () => undefined,
    },
  });
}

describe('createSweepHandler with stand-ins', () => {
  let inventory: InMemoryFunctionInventory;
  let notifier: InMemoryNotifier;
  let logger: Logger;
  let warnings: unknown[][];

  function handler() {
    const registry = new InMemoryRegistry({
      fixerAccountId: '333333333333',
      accountsWithRole: [ACCOUNT],
    });
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
    const sweeper = new Sweeper({
      config: parseConfig({}, 'test'),
      registry,
      inventoryFor: () => Promise.resolve(inventory),
      pipeline: null,
      notifier,
      continuations: { send: () => Promise.resolve() },
      clock: new FixedClock(),
    });
    return createSweepHandler(() => ({ sweeper, logger, metrics: silentMetrics() }));
  }

  beforeEach(() => {
    inventory = new InMemoryFunctionInventory(ACCOUNT, REGION);
    notifier = new InMemoryNotifier();
    logger = new Logger({ logLevel: 'SILENT' });
    warnings = [];
    jest.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
  });

  it('sweeps the account of a scheduled event', async () => {
    inventory.add(
      makeFunction({
        functionName: 'api',
        account: ACCOUNT,
        imageUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/app:1`,
      })
    );

    const response = await handler()(batch(record(JSON.stringify(SCHEDULED), 'm1')), plenty);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(notifier.messages.map((m) => m.subject)).toEqual([
      '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 1 at-risk',
    ]);
  });

  it('logs the request id, the function and cold_start with every line, as the fixer does', async () => {
    process.env['AWS_LAMBDA_INITIALIZATION_TYPE'] = 'on-demand';
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
      written.push(String(line));
    });
    logger = new Logger({ serviceName: 'lambda-ecr-autofix', logLevel: 'INFO' });
    const context = (awsRequestId: string): Context => ({
      callbackWaitsForEmptyEventLoop: true,
      functionName: 'LambdaEcrAutofix-Sweeper',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:333333333333:function:LambdaEcrAutofix-Sweeper',
      memoryLimitInMB: '512',
      awsRequestId,
      logGroupName: '/aws/lambda/LambdaEcrAutofix-Sweeper',
      logStreamName: '2026/01/01/[$LATEST]abc',
      getRemainingTimeInMillis: () => 60_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    });
    const sweep = handler();

    try {
      await sweep(batch(record(JSON.stringify(SCHEDULED), 'm1')), context('request-1'));
      await sweep(batch(record(JSON.stringify(SCHEDULED), 'm2')), context('request-2'));
    } finally {
      write.mockRestore();
      log.mockRestore();
      delete process.env['AWS_LAMBDA_INITIALIZATION_TYPE'];
    }

    const lines = written
      .join('\n')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => String(line['message']).startsWith('sweep '));
    expect(lines).toEqual([
      expect.objectContaining({
        messageId: 'm1',
        function_request_id: 'request-1',
        function_name: 'LambdaEcrAutofix-Sweeper',
        cold_start: true,
      }),
      expect.objectContaining({
        messageId: 'm2',
        function_request_id: 'request-2',
        cold_start: false,
      }),
    ]);
  });

  it('acknowledges what is not a sweep request, or an inconsistent one, without acting', async () => {
    const forged = {
      ...SCHEDULED,
      resources: ['arn:aws:events:eu-west-1:999999999999:rule/lambda-ecr-autofix-sweep'],
    };

    const response = await handler()(
      batch(
        record('not json', 'm1'),
        record('{"hello":1}', 'm2'),
        record(JSON.stringify(forged), 'm3')
      ),
      plenty
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(inventory.calls.listFunctions).toBe(0);
    expect(warnings.map((w) => (w[1] as { reason: string }).reason)).toEqual([
      'invalid-event',
      'invalid-event',
      'inconsistent-event',
    ]);
  });

  it('has a failed sweep retried', async () => {
    inventory.failNextList = new Error('socket hang up');

    const response = await handler()(batch(record(JSON.stringify(SCHEDULED), 'm1')), plenty);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
  });
});

describe('defaultSweepDependencies over the SDK (aws-sdk-client-mock)', () => {
  const sts = mockClient(STSClient);
  const lambda = mockClient(LambdaClient);
  const ecr = mockClient(ECRClient);
  const sns = mockClient(SNSClient);
  mockClient(DynamoDBClient);
  const ENV = {
    AWS_REGION: REGION,
    CONFIG: JSON.stringify({ organizationId: 'o-a1b2c3d4e5' }),
    TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix',
    AUDIT_TABLE_NAME: 'lambda-ecr-autofix-audit',
    FIXER_ROLE_ARN: 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer',
    SWEEP_CONTINUATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix-sweep',
  };
  let savedEnv: NodeJS.ProcessEnv;
  let write: jest.SpyInstance;

  beforeEach(() => {
    for (const mock of [sts, lambda, ecr, sns]) mock.reset();
    savedEnv = process.env;
    process.env = { ...savedEnv, ...ENV };
    write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    sts.on(AssumeRoleCommand).resolves(assumedRole());
    lambda
      .on(ListFunctionsCommand, { MaxItems: 50, Marker: undefined })
      .resolves({
        Functions: [
          {
            FunctionName: 'api',
            FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:api`,
            PackageType: 'Image',
          },
        ],
        NextMarker: 'next-page',
      })
      .on(ListFunctionsCommand, { MaxItems: 50, Marker: 'next-page' })
      .resolves({ Functions: [] })
      .on(GetFunctionCommand)
      .resolves({
        Configuration: {
          FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:api`,
          State: 'Active',
        },
        Code: { ImageUri: `111111111111.dkr.ecr.${REGION}.amazonaws.com/platform/app:1` },
      });
    ecr
      .on(GetRepositoryPolicyCommand)
      .resolves({ policyText: '{"Version":"2012-10-17","Statement":[]}' });
    // The owner of 111111111111's repository consents to share with 222222222222.
    ecr
      .on(ListTagsForResourceCommand)
      .resolves({ tags: [{ Key: 'lambda-ecr-autofix:share', Value: ACCOUNT }] });
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
  });

  afterEach(() => {
    write.mockRestore();
    process.env = savedEnv;
  });

  it('assumes the registry role in the swept account, continues through the topic, then sends the digest', async () => {
    const handler = createSweepHandler(defaultSweepDependencies);

    const first = await handler(batch(record(JSON.stringify(SCHEDULED), 'm1')), {
      getRemainingTimeInMillis: () => 5_000,
    });
    const continuation = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    const second = await handler(batch(record(continuation?.Message ?? '', 'm2')), plenty);

    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(continuation?.TopicArn).toBe(ENV.SWEEP_CONTINUATION_TOPIC_ARN);
    const assumed = sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input);
    expect(assumed).toEqual([
      {
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/LambdaEcrAutofixRegistryAccess`,
        RoleSessionName: 'lambda-ecr-autofix-sweep-sweep-7',
        DurationSeconds: 900,
      },
      {
        RoleArn: 'arn:aws:iam::111111111111:role/LambdaEcrAutofixRegistryAccess',
        RoleSessionName: 'lambda-ecr-autofix-sweep-sweep-7',
        DurationSeconds: 900,
      },
    ]);
    const digest = sns.commandCalls(PublishCommand)[1]?.args[0].input;
    expect(digest).toEqual(
      expect.objectContaining({
        TopicArn: ENV.TOPIC_ARN,
        Subject: '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 1 at-risk',
      })
    );
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });

  it('refuses to start without the continuation topic', () => {
    delete process.env['SWEEP_CONTINUATION_TOPIC_ARN'];

    expect(() => defaultSweepDependencies()).toThrow(
      'A sweep arrived but SWEEP_CONTINUATION_TOPIC_ARN is not set; redeploy the central stack.'
    );
  });
});
