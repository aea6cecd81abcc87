import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CancellationReason,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { AuditRecord, AuditWrite } from '../../lambda/application/ports';
import {
  DynamoDbAuditLog,
  TRANSACTION_ITEMS,
  auditEventKey,
  fromItem,
  toItem,
} from '../../lambda/adapters/dynamodb-audit-log';
import { BARE_RECORD, FIXED_RECORD } from '../support/audit-records';

const TABLE = 'lambda-ecr-autofix-audit';
const ddbMock = mockClient(DynamoDBClient);

let log: DynamoDbAuditLog;
beforeEach(() => {
  ddbMock.reset();
  log = new DynamoDbAuditLog(new DynamoDBClient({ region: 'eu-west-1' }), TABLE);
});

const decision = (record: AuditRecord): AuditWrite => ({ kind: 'decision', record });
const recorded = (eventId: string): AuditRecord => ({ ...BARE_RECORD, eventId });

function cancelled(...reasons: CancellationReason[]): TransactionCanceledException {
  return new TransactionCanceledException({
    $metadata: { httpStatusCode: 400 },
    message: `Transaction cancelled [${reasons.map((r) => r.Code).join(', ')}]`,
    CancellationReasons: reasons,
  });
}

function sentEventIds(): string[][] {
  return ddbMock
    .commandCalls(TransactWriteItemsCommand)
    .map((call) =>
      (call.args[0].input.TransactItems ?? []).map((item) => item.Put?.Item?.['eventId']?.S ?? '')
    );
}

describe('DynamoDbAuditLog.write', () => {
  it('sends every write as a conditional Put of one transaction that returns the old item on a failed condition', async () => {
    // Arrange
    ddbMock.on(TransactWriteItemsCommand).resolves({});
    const writes: AuditWrite[] = [
      {
        kind: 'intent',
        record: { ...FIXED_RECORD, state: 'intent' },
        staleBefore: '2026-03-01T11:57:02.456Z',
      },
      decision(recorded('d1')),
      {
        kind: 'replace',
        record: { ...FIXED_RECORD, eventId: 'r1' },
        expected: { state: 'intent', owner: 'run-1', updatedAt: '2026-03-01T12:00:01.000Z' },
      },
    ];

    // Act
    const results = await log.write(writes);

    // Assert
    expect(results).toStrictEqual([
      { status: 'written' },
      { status: 'written' },
      { status: 'written' },
    ]);
    expect(ddbMock).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
    const input = ddbMock.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input;
    expect(input?.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(input?.TransactItems?.map((item) => item.Put)).toStrictEqual([
      {
        TableName: TABLE,
        Item: toItem(writes[0]?.record as AuditRecord),
        ConditionExpression:
          'attribute_not_exists(repositoryArn) OR #state IN (:recorded, :failed) OR ' +
          '(#state = :intent AND (#owner = :owner OR #updatedAt < :staleBefore))',
        ExpressionAttributeNames: {
          '#state': 'state',
          '#owner': 'owner',
          '#updatedAt': 'updatedAt',
        },
        ExpressionAttributeValues: {
          ':recorded': { S: 'recorded' },
          ':failed': { S: 'failed' },
          ':intent': { S: 'intent' },
          ':owner': { S: FIXED_RECORD.owner },
          ':staleBefore': { S: '2026-03-01T11:57:02.456Z' },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      {
        TableName: TABLE,
        Item: toItem(recorded('d1')),
        ConditionExpression: 'attribute_not_exists(repositoryArn) OR #state = :recorded',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':recorded': { S: 'recorded' } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      {
        TableName: TABLE,
        Item: toItem(writes[2]?.record as AuditRecord),
        ConditionExpression:
          '#state = :expectedState AND #owner = :expectedOwner AND #updatedAt = :expectedUpdatedAt',
        ExpressionAttributeNames: {
          '#state': 'state',
          '#owner': 'owner',
          '#updatedAt': 'updatedAt',
        },
        ExpressionAttributeValues: {
          ':expectedState': { S: 'intent' },
          ':expectedOwner': { S: 'run-1' },
          ':expectedUpdatedAt': { S: '2026-03-01T12:00:01.000Z' },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
  });

  it(`splits writes into transactions of ${TRANSACTION_ITEMS}`, async () => {
    ddbMock.on(TransactWriteItemsCommand).resolves({});

    const results = await log.write(
      Array.from({ length: 230 }, (_, i) => decision(recorded(`e${i}`)))
    );

    expect(results).toHaveLength(230);
    expect(sentEventIds().map((ids) => ids.length)).toEqual([100, 100, 30]);
  });

  it('keeps a transaction under DynamoDB’s 4 MB limit however large the records', async () => {
    ddbMock.on(TransactWriteItemsCommand).resolves({});
    const large = (i: number): AuditRecord => ({
      ...recorded(`big${i}`),
      explanation: 'x'.repeat(300_000),
    });

    await log.write(Array.from({ length: 25 }, (_, i) => decision(large(i))));

    expect(sentEventIds().map((ids) => ids.length)).toEqual([10, 10, 5]);
  });

  it('returns the record that is there for a failed condition, and sends the innocent writes again', async () => {
    // Arrange: the middle write meets an applied record; DynamoDB cancels the whole transaction.
    ddbMock
      .on(TransactWriteItemsCommand)
      .rejectsOnce(
        cancelled(
          { Code: 'None' },
          {
            Code: 'ConditionalCheckFailed',
            Message: 'The conditional request failed',
            Item: toItem(FIXED_RECORD),
          },
          { Code: 'None' }
        )
      )
      .resolves({});

    // Act
    const results = await log.write([
      decision(recorded('a')),
      decision(recorded('b')),
      decision(recorded('c')),
    ]);

    // Assert
    expect(results).toStrictEqual([
      { status: 'written' },
      { status: 'conflict', existing: FIXED_RECORD },
      { status: 'written' },
    ]);
    expect(sentEventIds()).toEqual([
      ['a', 'b', 'c'],
      ['a', 'c'],
    ]);
  });

  it('gives up on a write that keeps meeting concurrent transactions, as unwritten', async () => {
    ddbMock
      .on(TransactWriteItemsCommand)
      .rejects(cancelled({ Code: 'TransactionConflict', Message: 'conflict' }));

    const results = await log.write([decision(recorded('a'))]);

    expect(results).toStrictEqual([
      {
        status: 'unwritten',
        reason: 'TransactionConflict: a concurrent transaction wrote the item',
      },
    ]);
    expect(ddbMock).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 4);
  });

  it('reports other cancellation reasons, an unreadable old item and a vanished record', async () => {
    ddbMock.on(TransactWriteItemsCommand).rejects(
      cancelled(
        { Code: 'ValidationError', Message: 'Item size has exceeded the maximum allowed size' },
        {
          Code: 'ConditionalCheckFailed',
          Item: { repositoryArn: { S: 'x' }, applied: { BOOL: true } },
        },
        { Code: 'ConditionalCheckFailed' },
        { Code: 'ConditionalCheckFailed' }
      )
    );
    const replace: AuditWrite = {
      kind: 'replace',
      record: recorded('d'),
      expected: { state: 'intent', owner: 'o', updatedAt: 't' },
    };

    const results = await log.write([
      decision(recorded('a')),
      decision(recorded('b')),
      decision(recorded('c')),
      replace,
    ]);

    expect(results[0]).toStrictEqual({
      status: 'unwritten',
      reason: 'ValidationError: Item size has exceeded the maximum allowed size',
    });
    expect(results[1]).toStrictEqual({
      status: 'unwritten',
      reason: expect.stringContaining('before the write-ahead audit') as string,
    });
    expect(results[2]).toStrictEqual({
      status: 'unwritten',
      reason: 'the condition failed but DynamoDB returned no item',
    });
    expect(results[3]).toStrictEqual({ status: 'conflict', existing: null });
  });

  it('lets a failure of the call itself through, so the events are retried', async () => {
    const throttled = new ProvisionedThroughputExceededException({
      $metadata: {},
      message: 'slow down',
    });
    ddbMock.on(TransactWriteItemsCommand).rejects(throttled);

    await expect(log.write([decision(recorded('a'))])).rejects.toBe(throttled);
  });
});

describe('DynamoDbAuditLog.markNotified', () => {
  it('sets notifiedAt only on an applied record that has none', async () => {
    ddbMock.on(UpdateItemCommand).resolves({});

    await expect(log.markNotified(FIXED_RECORD, '2026-03-01T12:00:03Z', 'message-1')).resolves.toBe(
      true
    );

    expect(ddbMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: TABLE,
      Key: {
        repositoryArn: { S: FIXED_RECORD.repositoryArn },
        eventKey: { S: auditEventKey(FIXED_RECORD.eventTime, FIXED_RECORD.eventId) },
      },
      UpdateExpression: 'SET notifiedAt = :notifiedAt, notificationId = :notificationId',
      ConditionExpression: '#state = :applied AND attribute_not_exists(notifiedAt)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':applied': { S: 'applied' },
        ':notifiedAt': { S: '2026-03-01T12:00:03Z' },
        ':notificationId': { S: 'message-1' },
      },
    });
  });

  it('answers false when the record is not such a record, and lets other errors through', async () => {
    ddbMock
      .on(UpdateItemCommand)
      .rejectsOnce(
        new ConditionalCheckFailedException({
          $metadata: {},
          message: 'The conditional request failed',
        })
      )
      .rejects(new ProvisionedThroughputExceededException({ $metadata: {}, message: 'slow down' }));

    await expect(log.markNotified(FIXED_RECORD, 't', 'm')).resolves.toBe(false);
    await expect(log.markNotified(FIXED_RECORD, 't', 'm')).rejects.toThrow('slow down');
  });
});

describe('DynamoDbAuditLog.find', () => {
  it('reads with a consistent read on the full key', async () => {
    ddbMock
      .on(GetItemCommand)
      .resolvesOnce({})
      .resolves({ Item: toItem(FIXED_RECORD) });

    await expect(log.find(FIXED_RECORD)).resolves.toBeNull();
    await expect(log.find(FIXED_RECORD)).resolves.toStrictEqual(FIXED_RECORD);

    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: TABLE,
      Key: {
        repositoryArn: { S: FIXED_RECORD.repositoryArn },
        eventKey: { S: auditEventKey(FIXED_RECORD.eventTime, FIXED_RECORD.eventId) },
      },
      ConsistentRead: true,
    });
  });
});

describe('toItem and fromItem', () => {
  it.each([
    ['a full record', FIXED_RECORD],
    ['a record with every nullable field null and no grants', BARE_RECORD],
  ])('round-trip %s exactly', (_, record) => {
    expect(fromItem(toItem(record))).toStrictEqual(record);
  });

  it('leaves null fields out of the item rather than storing NULL (so attribute_not_exists(notifiedAt) works)', () => {
    const item = toItem(BARE_RECORD);

    expect(Object.keys(item).sort()).toStrictEqual(
      [
        'decidedAt',
        'eventId',
        'eventKey',
        'eventTime',
        'expiresAt',
        'explanation',
        'grants',
        'kind',
        'mode',
        'outcome',
        'owner',
        'reason',
        'repositoryArn',
        'state',
        'updatedAt',
      ].sort()
    );
    expect(item['grants']).toStrictEqual({ L: [] });
    expect(Object.values(item).some((value) => 'NULL' in value)).toBe(false);
  });

  it('stores the grants as a list of maps, readable by other tools', () => {
    expect(toItem(FIXED_RECORD)['grants']).toStrictEqual({
      L: [
        {
          M: {
            sid: { S: 'LambdaEcrAutofixService' },
            change: { S: 'created' },
            added: { L: [{ S: 'arn:aws:lambda:eu-west-1:222222222222:function:*' }] },
          },
        },
      ],
    });
  });

  it('reads NULL attributes as null (items written by hand or by other tools)', () => {
    const item = { ...toItem(BARE_RECORD), callerArn: { NULL: true }, notice: { NULL: true } };

    expect(fromItem(item)).toStrictEqual(BARE_RECORD);
  });

  it('refuses an item of the version before the write-ahead audit, saying what to do', () => {
    const legacy = { repositoryArn: { S: 'arn' }, eventKey: { S: 'k' }, applied: { BOOL: true } };

    expect(() => fromItem(legacy)).toThrow(/before the write-ahead audit .*Delete the item/);
  });

  it.each<[string, string, AttributeValue | undefined]>([
    ['a missing string', 'explanation', undefined],
    ['a string of the wrong type', 'eventId', { N: '1' }],
    ['an optional attribute of the wrong type', 'policyBefore', { BOOL: true }],
    ['an unknown kind', 'kind', { S: 'sweep' }],
    ['an unknown state', 'state', { S: 'maybe' }],
    ['an unknown outcome', 'outcome', { S: 'maybe' }],
    ['an unknown reason', 'reason', { S: 'because' }],
    ['an unknown mode', 'mode', { S: 'yolo' }],
    ['a non-numeric expiresAt', 'expiresAt', { S: 'soon' }],
    ['an update time that is not an ISO 8601 UTC time', 'updatedAt', { S: 'yesterday' }],
    ['a decision time in another form', 'decidedAt', { S: '2026-03-01T12:00:01Z' }],
    ['grants that are not a list', 'grants', { S: '[]' }],
    [
      'a grant without a sid',
      'grants',
      { L: [{ M: { change: { S: 'created' }, added: { L: [] } } }] },
    ],
    [
      'a grant with an unknown change',
      'grants',
      { L: [{ M: { sid: { S: 's' }, change: { S: 'x' }, added: { L: [] } } }] },
    ],
    [
      'a grant with a non-string value',
      'grants',
      { L: [{ M: { sid: { S: 's' }, change: { S: 'created' }, added: { L: [{ N: '1' }] } } }] },
    ],
    ['a notice without a message', 'notice', { M: { subject: { S: 's' } } }],
  ])('rejects %s, naming the attribute', (_, name, value) => {
    const item: Record<string, AttributeValue> = { ...toItem(FIXED_RECORD) };
    if (value === undefined) delete item[name];
    else item[name] = value;

    expect(() => fromItem(item)).toThrow(`Audit item attribute "${name}" is missing or malformed`);
  });
});
