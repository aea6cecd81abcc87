/**
 * The Lambda handler end to end, twice over: with in-memory stand-ins (batch behaviour), and with the real SDK
 * clients behind aws-sdk-client-mock (the composition the Lambda runs, with the SDK's real exception classes).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ECRClient,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  RepositoryPolicyNotFoundException,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import type { DecisionReport } from '../../lambda/application/fix-pipeline';
import { FixPipeline } from '../../lambda/application/fix-pipeline';
import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
} from '../../lambda/adapters/in-memory';
import { parseConfig } from '../../lambda/domain/config';
import { readEnvironment } from '../../lambda/handlers/environment';
import type { HandlerDependencies } from '../../lambda/handlers/sqs-fixer';
import { createHandler, defaultDependencies } from '../../lambda/handlers/sqs-fixer';
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

function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

const eventBody = (fixture: string): string => JSON.stringify(loadEvent(fixture));

/** Captures what Powertools writes (log lines and EMF metric blobs) instead of printing it. */
function captureStdout(): { lines: () => Record<string, unknown>[]; restore: () => void } {
  const written: string[] = [];
  const spy = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    written.push(String(line));
  });
  return {
    lines: () =>
      written
        .join('\n')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      spy.mockRestore();
      log.mockRestore();
    },
  };
}

describe('sqs-fixer handler with stand-ins', () => {
  function handlerWith(overrides: { notifier?: InMemoryNotifier } = {}) {
    const registry = new InMemoryRegistry({
      fixerAccountId: '333333333333',
      accountsWithRole: ['222222222222', '111111111111'],
    });
    registry.addRepository({
      registryAccount: '222222222222',
      region: 'us-east-1',
      repositoryName: 'orders-api',
    });
    const notifier = overrides.notifier ?? new InMemoryNotifier();
    const reports: DecisionReport[] = [];
    const environment = readEnvironment(ENV);
    const telemetry = {
      decided: (report: DecisionReport) => reports.push(report),
      failed: () => undefined,
    };
    const pipeline = new FixPipeline({
      config: environment.config,
      fixer: { roleArns: [environment.fixerRoleArn] },
      registry,

      notifier,
      audit: new InMemoryAuditLog(),
      locks: null,
      clock: new FixedClock(),
      telemetry,
    });
    const deps: HandlerDependencies = {
      pipeline,
      notifier,
      telemetry,
      environment,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({
        namespace: 'Test',
        logger: {
          info: () => undefined,
          warn: () => undefined,
          error: () => undefined,
          debug: () => undefined,
        },
      }),
    };
    return { handler: createHandler(() => deps), registry, notifier, reports };
  }

  it('acknowledges a body that is not JSON, and one that is not an event, without retrying them', async () => {
    const { handler, reports } = handlerWith();

    const response = await handler(
      sqsEvent(record('{"truncated": ', 'poison'), record('{"hello":"world"}', 'stranger'))
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(reports.map((r) => [r.messageId, r.outcome, r.reason])).toEqual([
      ['poison', 'ignored', 'invalid-event'],
      ['stranger', 'ignored', 'invalid-event'],
    ]);
  });

  it('reports exactly the failed messages of a partial batch failure', async () => {
    const { handler, registry } = handlerWith();
    registry.failNextGet = Object.assign(new Error('We encountered an internal error'), {
      name: 'ServerException',
    });

    const response = await handler(
      sqsEvent(
        record(eventBody('create-function-same-account-ecr-denied'), 'fails'),
        record(eventBody('create-function-zip-failure'), 'ignored'),
        record(eventBody('create-function-scp-explicit-deny'), 'needs-human')
      )
    );

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'fails' }] });
  });

  it('sends an error notification when a message fails on its last delivery', async () => {
    const { handler, registry, notifier } = handlerWith();
    registry.failNextGet = new Error('socket hang up');

    const response = await handler(
      sqsEvent(record(eventBody('create-function-same-account-ecr-denied'), 'last', 5))
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'last' }]);
    expect(notifier.messages.map((m) => [m.subject, m.attributes.outcome])).toEqual([
      [
        '[lambda-ecr-autofix] ERROR: could not process an event from 222222222222 (us-east-1)',
        'error',
      ],
    ]);
    expect(notifier.messages[0]?.message).toContain('dead-letter queue lambda-ecr-autofix-dlq');
  });

  it('sends no error notification before the last delivery, nor for an unparsable event', async () => {
    const { handler, registry, notifier } = handlerWith();
    registry.failNextGet = new Error('socket hang up');

    await handler(
      sqsEvent(record(eventBody('create-function-same-account-ecr-denied'), 'early', 2))
    );

    expect(notifier.messages).toHaveLength(0);
  });

  it('keeps the batch result when the error notification itself fails', async () => {
    const notifier = new InMemoryNotifier();
    const { handler, registry } = handlerWith({ notifier });
    registry.failNextGet = new Error('socket hang up');
    notifier.failNext(1);

    const response = await handler(
      sqsEvent(
        record(
          JSON.stringify({ ...loadEvent('create-function-same-account-ecr-denied') }),
          'last',
          7
        )
      )
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'last' }]);
  });
});

describe('sqs-fixer handler with the real SDK clients (aws-sdk-client-mock)', () => {
  const ecr = mockClient(ECRClient);
  const sts = mockClient(STSClient);
  const sns = mockClient(SNSClient);
  const dynamodb = mockClient(DynamoDBClient);
  let stdout: ReturnType<typeof captureStdout>;
  let savedEnv: NodeJS.ProcessEnv;

  beforeEach(() => {
    ecr.reset();
    sts.reset();
    sns.reset();
    dynamodb.reset();
    savedEnv = process.env;
    process.env = { ...savedEnv, ...ENV };
    stdout = captureStdout();
    sts.on(AssumeRoleCommand).resolves(assumedRole());
    dynamodb.on(PutItemCommand).resolves({});
    dynamodb.on(DeleteItemCommand).resolves({});
    dynamodb.on(TransactWriteItemsCommand).resolves({});
    dynamodb.on(UpdateItemCommand).resolves({});
    dynamodb.on(GetItemCommand).resolves({});
  });

  afterEach(() => {
    stdout.restore();
    process.env = savedEnv;
  });

  // A new handler per test: configuration is read once per handler (per container in Lambda).
  function freshHandler() {
    return Promise.resolve(createHandler(defaultDependencies));
  }

  it('fixes a cross-account repository: assume role, read, write, verify, audit, publish, log and metrics', async () => {
    // Arrange
    let stored: string | undefined;
    ecr
      .on(GetRepositoryPolicyCommand)
      .callsFake(() => {
        if (stored === undefined) {
          throw new RepositoryPolicyNotFoundException({
            $metadata: {},
            message: 'Repository policy does not exist',
          });
        }
        return { policyText: stored };
      })
      .on(SetRepositoryPolicyCommand)
      .callsFake((input: { policyText: string }) => {
        stored = input.policyText;
        return { policyText: stored };
      })
      .on(ListTagsForResourceCommand)
      .resolves({
        tags: [
          { Key: 'team', Value: 'platform' },
          // The owner shares the repository with the workload account.
          { Key: 'lambda-ecr-autofix:share', Value: '222222222222' },
        ],
      });
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    const handler = await freshHandler();

    // Act
    const response = await handler(
      sqsEvent(record(eventBody('create-function-cross-account-ecr-denied'), 'm1'))
    );

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: 'arn:aws:iam::111111111111:role/LambdaEcrAutofixRegistryAccess',
      RoleSessionName: 'lambda-ecr-autofix-7a1739ad-24f1-497f-8724-4571e9b99590',
    });
    expect(ecr).toHaveReceivedCommandTimes(SetRepositoryPolicyCommand, 1);
    const set = ecr.commandCalls(SetRepositoryPolicyCommand)[0]?.args[0].input;
    expect(set).toEqual({
      registryId: '111111111111',
      repositoryName: 'platform/payments-worker',
      policyText: expect.stringContaining('LambdaEcrAutofixAccounts') as string,
    });
    expect(set).not.toHaveProperty('force');
    // The lease, then the intent before the write and the applied record after it.
    expect(dynamodb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'lambda-ecr-autofix-audit',
    });
    expect(dynamodb).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 2);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: ENV.TOPIC_ARN,
      Subject:
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)',
      MessageAttributes: expect.objectContaining({
        outcome: { DataType: 'String', StringValue: 'fix' },
      }) as Record<string, unknown>,
    });
    const lines = stdout.lines();
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'decision fix',
        eventId: '7a1739ad-24f1-497f-8724-4571e9b99590',
        outcome: 'fix',
        reason: 'repository-policy-missing-grant',
        repository: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
        consumerAccount: '222222222222',
      })
    );
    const emf = lines.find((line) => '_aws' in line);
    expect(emf).toEqual(expect.objectContaining({ Outcome_fix: 1, service: 'lambda-ecr-autofix' }));
    expect(emf).toHaveProperty('SecondsToFix');
  });

  it('needs a human when AssumeRole is denied, and does not retry', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    sts.on(AssumeRoleCommand).rejects(denied);
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    const handler = await freshHandler();

    const response = await handler(
      sqsEvent(record(eventBody('create-function-cross-account-ecr-denied'), 'm1'))
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecr).toHaveReceivedCommandTimes(GetRepositoryPolicyCommand, 0);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      Message: expect.stringContaining(
        'deploy the lambda-ecr-autofix member stack in account 111111111111'
      ) as string,
    });
  });

  it('fails the whole batch at start-up when the configuration is invalid, naming the variable', async () => {
    process.env = { ...process.env, CONFIG: '{"mode":"sometimes"}' };
    const handler = await freshHandler();

    await expect(handler(sqsEvent(record('{}', 'm1')))).rejects.toThrow(
      'Invalid configuration in the CONFIG environment variable: "mode" must be "enforce" or "dry-run" (got "sometimes")'
    );
  });

  it('uses the parsed configuration: no publish for outcomes outside notifyOn', async () => {
    process.env = {
      ...process.env,
      CONFIG: JSON.stringify(parseConfig({ notifyOn: ['fix'] }, 'x')),
    };
    const handler = await freshHandler();

    await handler(sqsEvent(record(eventBody('create-function-scp-explicit-deny'), 'm1')));

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  it('logs the request id, the function and cold_start with every decision', async () => {
    // Lambda sets this; Powertools reports a cold start only for on-demand environments.
    process.env['AWS_LAMBDA_INITIALIZATION_TYPE'] = 'on-demand';
    const handler = await freshHandler();
    const context = (requestId: string): Context => ({
      callbackWaitsForEmptyEventLoop: true,
      functionName: 'LambdaEcrAutofix-Fixer',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:333333333333:function:LambdaEcrAutofix-Fixer',
      memoryLimitInMB: '256',
      awsRequestId: requestId,
      logGroupName: '/aws/lambda/LambdaEcrAutofix-Fixer',
      logStreamName: '2026/03/03/[$LATEST]abc',
      getRemainingTimeInMillis: () => 60_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    });
    // Decided without any AWS call: a zip function's failure is ignored.
    const body = eventBody('create-function-zip-failure');

    await handler(sqsEvent(record(body, 'm1')), context('request-1'));
    await handler(sqsEvent(record(body, 'm2')), context('request-2'));

    const decisions = stdout.lines().filter((line) => line['message'] === 'decision ignored');
    expect(decisions).toEqual([
      expect.objectContaining({
        messageId: 'm1',
        function_request_id: 'request-1',
        cold_start: true,
        function_name: 'LambdaEcrAutofix-Fixer',
      }),
      expect.objectContaining({
        messageId: 'm2',
        function_request_id: 'request-2',
        cold_start: false,
      }),
    ]);
  });
});
