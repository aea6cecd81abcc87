/**
 * The adapters revoke, history, the drift guard and decision events add: the audit table's Query and Scan (all
 * pages, filters on DynamoDB's side), ECR's DeleteRepositoryPolicy, EventBridge PutEvents. SDK failures use the SDK's
 * real exception classes.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteRepositoryPolicyCommand,
  ECRClient,
  ECRServiceException,
  RepositoryPolicyNotFoundException,
  ServerException,
} from '@aws-sdk/client-ecr';
import {
  EventBridgeClient,
  InternalException,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';

import { RegistryAccessDeniedError } from '../../lambda/application/errors';
import { DynamoDbAuditLog, fromItem, toItem } from '../../lambda/adapters/dynamodb-audit-log';
import { EcrPolicyStore } from '../../lambda/adapters/ecr-policy-store';
import {
  DecisionEventsNotPutError,
  EventBridgeDecisionEvents,
  PUT_EVENTS_ENTRIES,
} from '../../lambda/adapters/eventbridge-decision-events';
import { InMemoryAuditLog } from '../../lambda/adapters/in-memory';
import type { DecisionEventDetail } from '../../lambda/domain/decision-event';
import { BARE_RECORD, FIXED_RECORD } from '../support/audit-records';

const REPOSITORY_ARN = FIXED_RECORD.repositoryArn;
const REVOKE_RECORD = {
  ...FIXED_RECORD,
  eventId: 'revoke-1',
  kind: 'revoke' as const,
  outcome: 'revoke' as const,
  reason: 'consumer-revoked' as const,
  grants: [],
  removed: [
    {
      sid: 'LambdaEcrAutofixService',
      values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
    },
  ],
};

describe('DynamoDbAuditLog.list', () => {
  const ddb = mockClient(DynamoDBClient);
  const log = new DynamoDbAuditLog(new DynamoDBClient({ region: 'eu-west-1' }), 'audit');
  beforeEach(() => ddb.reset());

  it('queries one repository with a consistent read, following every page', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [toItem(FIXED_RECORD)],
        LastEvaluatedKey: { repositoryArn: { S: 'x' } },
      })
      .resolvesOnce({ Items: [toItem(REVOKE_RECORD)] });

    const records = await log.list({
      repositoryArn: REPOSITORY_ARN,
      consumerAccount: '222222222222',
    });

    expect(records.map((r) => r.eventId)).toEqual([FIXED_RECORD.eventId, 'revoke-1']);
    const calls = ddb.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input).toEqual(
      expect.objectContaining({
        TableName: 'audit',
        ConsistentRead: true,
        KeyConditionExpression: '#repositoryArn = :repositoryArn',
        FilterExpression: 'attribute_exists(#kind) AND #consumerAccount = :consumerAccount',
      })
    );
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual({ repositoryArn: { S: 'x' } });
  });

  it('scans the whole table when no repository is given, with the time filter, following every page', async () => {
    ddb
      .on(ScanCommand)
      .resolvesOnce({
        Items: [toItem(BARE_RECORD)],
        LastEvaluatedKey: { repositoryArn: { S: 'a' } },
      })
      .resolvesOnce({ Items: [], LastEvaluatedKey: { repositoryArn: { S: 'b' } } })
      .resolvesOnce({});

    const records = await log.list({ since: '2026-03-01T00:00:00.000Z' });

    expect(records).toEqual([BARE_RECORD]);
    const calls = ddb.commandCalls(ScanCommand);
    expect(calls).toHaveLength(3);
    expect(calls[0]?.args[0].input).toEqual(
      expect.objectContaining({
        FilterExpression: 'attribute_exists(#kind) AND #decidedAt >= :since',
        ExpressionAttributeValues: { ':since': { S: '2026-03-01T00:00:00.000Z' } },
      })
    );
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('sends no attribute values for an unfiltered scan (DynamoDB refuses an empty map)', async () => {
    ddb.on(ScanCommand).resolves({ Items: [] });

    await log.list({});

    expect(
      ddb.commandCalls(ScanCommand)[0]?.args[0].input.ExpressionAttributeValues
    ).toBeUndefined();
  });

  it('lets a throttling error through, so the caller fails and retries', async () => {
    ddb
      .on(QueryCommand)
      .rejects(new ProvisionedThroughputExceededException({ $metadata: {}, message: 'slow down' }));

    await expect(log.list({ repositoryArn: REPOSITORY_ARN })).rejects.toThrow('slow down');
  });

  it('marks a revoke announced once, conditionally, and reads the mark back', async () => {
    ddb
      .on(UpdateItemCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ $metadata: {}, message: 'no' }))
      .rejectsOnce(new ProvisionedThroughputExceededException({ $metadata: {}, message: 'slow' }));

    const first = await log.markAnnounced(REVOKE_RECORD, '2026-03-02T00:00:00.000Z');
    const again = await log.markAnnounced(REVOKE_RECORD, '2026-03-02T00:00:00.000Z');
    const throttled = log.markAnnounced(REVOKE_RECORD, '2026-03-02T00:00:00.000Z');

    expect([first, again]).toEqual([true, false]);
    await expect(throttled).rejects.toThrow('slow');
    expect(ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input).toEqual(
      expect.objectContaining({
        ConditionExpression:
          '#state = :applied AND #kind = :revoke AND attribute_not_exists(announcedAt)',
      })
    );
    const announced = { ...REVOKE_RECORD, announcedAt: '2026-03-02T00:00:00.000Z' };
    expect(fromItem(toItem(announced))).toEqual(announced);
  });

  it('stores removed values only for revoke and drift records, and reads them back', () => {
    expect(toItem(FIXED_RECORD)['removed']).toBeUndefined();
    expect(fromItem(toItem(REVOKE_RECORD))).toEqual(REVOKE_RECORD);
    expect(() => fromItem({ ...toItem(REVOKE_RECORD), removed: { S: 'x' } })).toThrow(/"removed"/);
    expect(() =>
      fromItem({ ...toItem(REVOKE_RECORD), removed: { L: [{ M: { sid: { S: 'x' } } }] } })
    ).toThrow(/"removed"/);
  });
});

describe('InMemoryAuditLog.list', () => {
  it('marks only an applied, unannounced revoke announced', async () => {
    const log = new InMemoryAuditLog();
    log.put({ ...REVOKE_RECORD, state: 'applied' });
    log.put({ ...FIXED_RECORD });

    expect(await log.markAnnounced(REVOKE_RECORD, 't')).toBe(true);
    expect(await log.markAnnounced(REVOKE_RECORD, 't')).toBe(false);
    expect(await log.markAnnounced(FIXED_RECORD, 't')).toBe(false);
    expect(await log.markAnnounced({ ...REVOKE_RECORD, eventId: 'none' }, 't')).toBe(false);
  });

  it('filters like the table does', async () => {
    const log = new InMemoryAuditLog();
    log.put(FIXED_RECORD);
    log.put({
      ...REVOKE_RECORD,
      consumerAccount: '444444444444',
      decidedAt: '2020-01-01T00:00:00.000Z',
    });

    expect(await log.list({ repositoryArn: 'other' })).toEqual([]);
    expect((await log.list({ consumerAccount: '444444444444' })).map((r) => r.eventId)).toEqual([
      'revoke-1',
    ]);
    expect((await log.list({ since: '2021-01-01T00:00:00.000Z' })).map((r) => r.eventId)).toEqual([
      FIXED_RECORD.eventId,
    ]);
  });
});

describe('EcrPolicyStore.deletePolicy', () => {
  const ecr = mockClient(ECRClient);
  const store = new EcrPolicyStore(new ECRClient({ region: 'eu-west-1' }), { principal: 'jane' });
  const ref = {
    partition: 'aws' as const,
    region: 'eu-west-1',
    registryAccount: '111111111111',
    repositoryName: 'platform/payments-worker',
  };
  beforeEach(() => ecr.reset());

  it('deletes the policy of the repository, naming its registry', async () => {
    ecr.on(DeleteRepositoryPolicyCommand).resolves({});

    await store.deletePolicy(ref);

    expect(ecr.commandCalls(DeleteRepositoryPolicyCommand)[0]?.args[0].input).toEqual({
      registryId: '111111111111',
      repositoryName: 'platform/payments-worker',
    });
  });

  it('counts a policy that is already gone as deleted', async () => {
    ecr
      .on(DeleteRepositoryPolicyCommand)
      .rejects(new RepositoryPolicyNotFoundException({ $metadata: {}, message: 'no policy' }));

    await expect(store.deletePolicy(ref)).resolves.toBeUndefined();
  });

  it('names the action when access is denied, and lets a server error through', async () => {
    ecr.on(DeleteRepositoryPolicyCommand).rejectsOnce(
      new ECRServiceException({
        // ECR has no modeled AccessDeniedException class; IAM's denial arrives as this service exception.
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'denied',
      })
    );
    const denied = store.deletePolicy(ref);
    await expect(denied).rejects.toBeInstanceOf(RegistryAccessDeniedError);
    await expect(denied).rejects.toThrow('jane may not call ecr:DeleteRepositoryPolicy');

    ecr
      .on(DeleteRepositoryPolicyCommand)
      .rejects(new ServerException({ $metadata: {}, message: 'boom' }));
    await expect(store.deletePolicy(ref)).rejects.toBeInstanceOf(ServerException);
  });
});

describe('EventBridgeDecisionEvents', () => {
  const events = mockClient(EventBridgeClient);
  const adapter = new EventBridgeDecisionEvents(
    new EventBridgeClient({ region: 'eu-west-1' }),
    'arn:aws:events:eu-west-1:333333333333:event-bus/lambda-ecr-autofix'
  );
  const detail = (eventId: string): DecisionEventDetail => ({
    version: '1',
    kind: 'fix',
    outcome: 'fix',
    reason: 'repository-policy-missing-grant',
    explanation: 'Fixed.',
    mode: 'enforce',
    applied: true,
    eventId,
    eventTime: '2026-03-03T16:20:05Z',
    repository: {
      arn: REPOSITORY_ARN,
      name: 'platform/payments-worker',
      registryAccount: '111111111111',
      region: 'eu-west-1',
      partition: 'aws',
    },
    consumerAccount: '222222222222',
    functionArn: null,
    callerArn: null,
    changes: [],
    notificationId: null,
  });
  beforeEach(() => events.reset());

  it('puts each decision on the central bus with the product source and detail-type, ten a call', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const details = Array.from({ length: PUT_EVENTS_ENTRIES + 1 }, (_, i) => detail(`e${i}`));

    await adapter.put([...details, { ...detail('no-repository'), repository: null }]);

    const calls = events.commandCalls(PutEventsCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
    expect(calls[0]?.args[0].input.Entries?.[0]).toEqual({
      EventBusName: 'arn:aws:events:eu-west-1:333333333333:event-bus/lambda-ecr-autofix',
      Source: 'lambda-ecr-autofix',
      DetailType: 'Lambda ECR Autofix Decision',
      Detail: JSON.stringify(details[0]),
      Resources: [REPOSITORY_ARN],
    });
    expect(calls[1]?.args[0].input.Entries?.[1]?.Resources).toEqual([]);
  });

  it('fails naming the count and codes when PutEvents reports failed entries', async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'ok' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow' }],
    });

    const put = adapter.put([detail('a'), detail('b')]);

    await expect(put).rejects.toBeInstanceOf(DecisionEventsNotPutError);
    await expect(put).rejects.toThrow(
      '1 of 2 decision events were not put on the central bus (ThrottlingException)'
    );
  });

  it('lets a failed call through', async () => {
    events
      .on(PutEventsCommand)
      .rejects(new InternalException({ $metadata: {}, message: 'internal' }));

    await expect(adapter.put([detail('a')])).rejects.toBeInstanceOf(InternalException);
  });

  it('says "no error code" when failed entries carry none', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1 });

    await expect(adapter.put([detail('a')])).rejects.toThrow('(no error code)');
  });
});
