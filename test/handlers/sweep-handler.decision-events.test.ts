/**
 * Decision events of the sweep (issue 9, point 4): a fix made by a sweep with `sweepAction: "fix"` is put on the
 * central bus exactly as a deploy event's fix is (one event per decision, the pipeline's detail), through the sweeper
 * as it runs (createSweepHandler(defaultSweepDependencies): the real adapters over aws-sdk-client-mock, the SDK's real
 * exception classes). A report-only sweep, or `decisionEvents: false`, puts none; a failed PutEvents is logged and
 * counted and never fails the sweep.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import {
  EventBridgeClient,
  InternalException,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import {
  DECISION_EVENT_DETAIL_TYPE,
  DECISION_EVENT_SOURCE,
  type DecisionEventDetail,
} from '../../lambda/domain/decision-event';
import { createSweepHandler, defaultSweepDependencies } from '../../lambda/handlers/sweep-handler';
import { FakeDynamoDbTable } from '../support/fake-dynamodb';
import { fakeEcrRepositories } from '../support/fake-ecr';
import { assumedRole } from '../support/fake-sts';

const ACCOUNT = '222222222222';
const REGISTRY = '111111111111';
const REGION = 'eu-west-1';
const BUS = 'arn:aws:events:eu-west-1:333333333333:event-bus/lambda-ecr-autofix';
const SWEEP_QUEUE = 'arn:aws:sqs:eu-west-1:333333333333:lambda-ecr-autofix-sweep';
const BASE_CONFIG = { organizationId: 'o-a1b2c3d4e5', sweepAction: 'fix' };
const ENV = {
  AWS_REGION: REGION,
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix',
  AUDIT_TABLE_NAME: 'lambda-ecr-autofix-audit',
  FIXER_ROLE_ARN: 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer',
  SWEEP_CONTINUATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix-sweep',
};
/** Two functions of the swept account, each in its own shared repository of the registry account. */
const FUNCTIONS = [
  { name: 'api', repository: 'platform/app' },
  { name: 'worker', repository: 'platform/worker' },
];
const functionArn = (name: string): string =>
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const repositoryArn = (name: string): string =>
  `arn:aws:ecr:${REGION}:${REGISTRY}:repository/${name}`;

function sweepMessage(id: string): SQSEvent {
  const body = JSON.stringify({
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
  return {
    Records: [
      {
        messageId: 'm1',
        receiptHandle: 'handle-m1',
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'events.amazonaws.com',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: SWEEP_QUEUE,
        awsRegion: REGION,
      },
    ],
  };
}

const plenty = { getRemainingTimeInMillis: () => 100_000 };

const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
const ecr = mockClient(ECRClient);
const sns = mockClient(SNSClient);
const dynamodb = mockClient(DynamoDBClient);
const events = mockClient(EventBridgeClient);

let policies: Map<string, string>;
let delivered: string[];
let written: string[];
let savedEnv: NodeJS.ProcessEnv;

/** The sweeper's environment: the central stack's, with this configuration and (or without) the bus. */
function environment(config: Record<string, unknown>, bus: string | null = BUS): void {
  process.env = {
    ...savedEnv,
    ...ENV,
    CONFIG: JSON.stringify({ ...BASE_CONFIG, ...config }),
    ...(bus === null ? {} : { DECISION_EVENT_BUS: bus }),
  };
}

/** Every entry of every PutEvents call, in order. */
function putEntries(): PutEventsRequestEntry[] {
  return events.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}

/** What Powertools wrote (log lines and EMF metric blobs), parsed. */
function lines(): Record<string, unknown>[] {
  return written
    .join('\n')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

beforeEach(() => {
  for (const mock of [sts, lambda, ecr, sns, dynamodb, events]) mock.reset();
  savedEnv = process.env;
  written = [];
  const capture = (chunk: unknown): true => {
    written.push(String(chunk));
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  jest.spyOn(console, 'log').mockImplementation(capture);
  jest.spyOn(console, 'error').mockImplementation(capture);
  new FakeDynamoDbTable().attach(dynamodb);
  policies = new Map();
  delivered = [];
  sts.on(AssumeRoleCommand).resolves(assumedRole());
  lambda
    .on(ListFunctionsCommand)
    .resolves({
      Functions: FUNCTIONS.map(({ name }) => ({
        FunctionName: name,
        FunctionArn: functionArn(name),
        PackageType: 'Image',
      })),
    })
    .on(GetFunctionCommand)
    .callsFake((input: { FunctionName?: string }) => {
      const fn = FUNCTIONS.find(
        ({ name }) => input.FunctionName === name || input.FunctionName === functionArn(name)
      ) as (typeof FUNCTIONS)[number];
      return {
        Configuration: { FunctionArn: functionArn(fn.name), State: 'Active' },
        Code: { ImageUri: `${REGISTRY}.dkr.ecr.${REGION}.amazonaws.com/${fn.repository}:1` },
      };
    });
  // The registry's owner shares both repositories with the swept account.
  fakeEcrRepositories(ecr, {
    policies,
    tags: [{ Key: 'lambda-ecr-autofix:share', Value: ACCOUNT }],
  });
  sns.on(PublishCommand).callsFake((input: { Subject?: string }) => {
    delivered.push(input.Subject ?? '');
    return { MessageId: `sns-${delivered.length}` };
  });
});

afterEach(() => {
  process.env = savedEnv;
  jest.restoreAllMocks();
});

describe('decision events of the sweep (aws-sdk-client-mock, real SDK exception classes)', () => {
  it('puts exactly one decision event per fix of a sweep with sweepAction "fix", with the pipeline\'s detail', async () => {
    // Arrange
    environment({});
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const handler = createSweepHandler(defaultSweepDependencies);

    // Act
    const response = await handler(sweepMessage('sweep-1'), plenty);

    // Assert: both fixes were written, notified and announced, once each, on the central bus.
    expect(response.batchItemFailures).toEqual([]);
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(2);
    const entries = putEntries();
    expect(entries).toHaveLength(2);
    const details = entries.map((entry) => JSON.parse(entry.Detail ?? '') as DecisionEventDetail);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        EventBusName: BUS,
        Source: DECISION_EVENT_SOURCE,
        DetailType: DECISION_EVENT_DETAIL_TYPE,
      });
    }
    expect(details.map((detail) => detail.functionArn).sort()).toEqual(
      FUNCTIONS.map(({ name }) => functionArn(name)).sort()
    );
    for (const detail of details) {
      const fn = FUNCTIONS.find(({ name }) => functionArn(name) === detail.functionArn);
      const arn = repositoryArn(fn?.repository ?? '');
      expect(detail).toEqual({
        version: '1',
        kind: 'fix',
        outcome: 'fix',
        reason: 'repository-policy-missing-grant',
        explanation: expect.any(String) as string,
        mode: 'enforce',
        applied: true,
        // A sweep's decision: the event it stood for carries the sweep's id, and nobody called.
        eventId: expect.stringMatching(/^scan-sweep-1-/) as string,
        eventTime: expect.any(String) as string,
        repository: {
          arn,
          name: fn?.repository,
          registryAccount: REGISTRY,
          region: REGION,
          partition: 'aws',
        },
        consumerAccount: ACCOUNT,
        functionArn: detail.functionArn,
        callerArn: null,
        changes: expect.arrayContaining([
          expect.objectContaining({ sid: 'LambdaEcrAutofixService', change: 'created' }),
        ]) as unknown,
        notificationId: expect.stringMatching(/^sns-/) as string,
      });
      expect(entries.find((entry) => entry.Detail?.includes(arn))?.Resources).toEqual([arn]);
    }
    // No policy text in the detail.
    expect(entries.map((entry) => entry.Detail).join('')).not.toContain('"Statement"');
  });

  it('puts none for a report-only sweep (the default): its digest is its report', async () => {
    environment({ sweepAction: 'report' });
    const handler = createSweepHandler(defaultSweepDependencies);

    const response = await handler(sweepMessage('sweep-1'), plenty);

    expect(response.batchItemFailures).toEqual([]);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(0);
    expect(delivered).toEqual([expect.stringMatching(/^\[lambda-ecr-autofix\] SWEEP /) as string]);
  });

  it('puts none with decisionEvents false, even if a bus were named', async () => {
    environment({ decisionEvents: false });
    const handler = createSweepHandler(defaultSweepDependencies);

    const response = await handler(sweepMessage('sweep-1'), plenty);

    expect(response.batchItemFailures).toEqual([]);
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(2);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('puts none without DECISION_EVENT_BUS (a stack that did not grant it)', async () => {
    environment({}, null);
    const handler = createSweepHandler(defaultSweepDependencies);

    const response = await handler(sweepMessage('sweep-1'), plenty);

    expect(response.batchItemFailures).toEqual([]);
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(2);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it.each([
    [
      'a PutEvents call that fails',
      () =>
        events
          .on(PutEventsCommand)
          .rejects(new InternalException({ $metadata: {}, message: 'internal' })),
      'InternalException',
    ],
    [
      'entries the bus refuses',
      () =>
        events.on(PutEventsCommand).resolves({
          FailedEntryCount: 2,
          Entries: [
            { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
            { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
          ],
        }),
      'DecisionEventsNotPutError',
    ],
  ])(
    '%s: logged and counted as for the fixer, and the sweep still succeeds with its fixes notified',
    async (_, fault, errorName) => {
      // Arrange
      environment({});
      fault();
      const handler = createSweepHandler(defaultSweepDependencies);

      // Act
      const response = await handler(sweepMessage('sweep-1'), plenty);

      // Assert: the sweep is not retried (that would repeat nothing useful), the fixes and their notices stand.
      expect(response.batchItemFailures).toEqual([]);
      expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(2);
      expect(delivered.filter((subject) => subject.includes('FIXED'))).toHaveLength(2);
      expect(events.commandCalls(PutEventsCommand)).toHaveLength(1);
      const logged = lines().find(
        (line) => line['message'] === 'decision events not put on the central bus'
      );
      expect(logged).toMatchObject({
        level: 'ERROR',
        count: 2,
        eventIds: [
          expect.stringMatching(/^scan-sweep-1-/) as string,
          expect.stringMatching(/^scan-sweep-1-/) as string,
        ],
        error: expect.objectContaining({ name: errorName }) as unknown,
      });
      const metrics = lines().filter((line) => '_aws' in line);
      expect(metrics).toContainEqual(
        expect.objectContaining({ DecisionEventsNotPut: 2, service: 'lambda-ecr-autofix' })
      );
    }
  );
});
