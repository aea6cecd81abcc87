import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { AuditRecord } from '../../lambda/application/ports';
import { FIXED_RECORD, IGNORED_RECORD } from '../support/audit-records';
import {
  DynamoDbAuditLog,
  auditEventKey,
  fromItem,
  toItem,
} from '../../lambda/adapters/dynamodb-audit-log';

const TABLE = 'lambda-ecr-autofix-audit';
const ddbMock = mockClient(DynamoDBClient);

const fixed = FIXED_RECORD;
const ignored = IGNORED_RECORD;

let log: DynamoDbAuditLog;
beforeEach(() => {
  ddbMock.reset();
  log = new DynamoDbAuditLog(new DynamoDBClient({ region: 'eu-west-1' }), TABLE);
});

/** What PutItem stored, served back by GetItem like the table would. */
function storeLikeDynamoDb(): void {
  let stored: Record<string, AttributeValue> | undefined;
  ddbMock.on(PutItemCommand).callsFake((input: { Item: Record<string, AttributeValue> }) => {
    stored = input.Item;
    return {};
  });
  ddbMock.on(GetItemCommand).callsFake(() => (stored === undefined ? {} : { Item: stored }));
}

describe('DynamoDbAuditLog', () => {
  it.each([
    ['a full record', fixed],
    ['a record with every nullable field null', ignored],
  ])('round-trips %s exactly', async (_, record) => {
    storeLikeDynamoDb();

    await log.record(record);
    const found = await log.find(record.repositoryArn, record.eventTime, record.eventId);

    expect(found).toStrictEqual(record);
  });

  it('writes the key, the TTL attribute and typed attributes', async () => {
    ddbMock.on(PutItemCommand).resolves({});

    await log.record(fixed);

    expect(ddbMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: TABLE,
      Item: expect.objectContaining({
        repositoryArn: { S: fixed.repositoryArn },
        eventKey: { S: '2026-03-01T11:59:58Z#4b1c2d3e-aaaa-bbbb-cccc-0123456789ab' },
        expiresAt: { N: '1804075201' },
        applied: { BOOL: true },
      }) as unknown,
    });
  });

  it('leaves null fields out of the item rather than storing NULL', () => {
    const item = toItem(ignored);

    expect(Object.keys(item).sort()).toStrictEqual(
      [
        'applied',
        'decidedAt',
        'eventId',
        'eventKey',
        'eventTime',
        'expiresAt',
        'explanation',
        'mode',
        'outcome',
        'reason',
        'repositoryArn',
      ].sort()
    );
    expect(Object.values(item).some((value) => 'NULL' in value)).toBe(false);
  });

  it('finds with a consistent read on the full key', async () => {
    ddbMock.on(GetItemCommand).resolves({});

    await expect(log.find(fixed.repositoryArn, fixed.eventTime, fixed.eventId)).resolves.toBeNull();

    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: TABLE,
      Key: {
        repositoryArn: { S: fixed.repositoryArn },
        eventKey: { S: auditEventKey(fixed.eventTime, fixed.eventId) },
      },
      ConsistentRead: true,
    });
  });

  it('lets throttling through unchanged so the queue retries', async () => {
    const throttled = new ProvisionedThroughputExceededException({
      $metadata: {},
      message: 'slow',
    });
    ddbMock.on(PutItemCommand).rejects(throttled);

    await expect(log.record(fixed)).rejects.toBe(throttled);
  });
});

describe('fromItem', () => {
  it('reads NULL attributes as null (items written by hand or by other tools)', () => {
    const item = { ...toItem(ignored), callerArn: { NULL: true } };

    expect(fromItem(item).callerArn).toBeNull();
  });

  it.each([
    ['a missing string', 'explanation', undefined],
    ['a string of the wrong type', 'eventId', { N: '1' }],
    ['an optional attribute of the wrong type', 'policyBefore', { BOOL: true }],
    ['an unknown outcome', 'outcome', { S: 'maybe' }],
    ['an unknown reason', 'reason', { S: 'because' }],
    ['an unknown mode', 'mode', { S: 'yolo' }],
    ['a non-boolean applied', 'applied', { S: 'true' }],
    ['a non-numeric expiresAt', 'expiresAt', { S: 'soon' }],
  ])('rejects %s, naming the attribute', (_, name, value) => {
    const item: Record<string, AttributeValue> = { ...toItem(fixed) };
    if (value === undefined) delete item[name];
    else item[name] = value;

    expect(() => fromItem(item)).toThrow(`Audit item attribute "${name}" is missing or malformed`);
  });
});

describe('DynamoDbAuditLog.recordAll', () => {
  function batchCalls() {
    return ddbMock.commandCalls(BatchWriteItemCommand).map((call) => {
      const requests = call.args[0].input.RequestItems?.[TABLE] ?? [];
      return requests.map((request) => request.PutRequest?.Item?.['eventKey']?.S);
    });
  }

  it('writes 25 records per BatchWriteItem', async () => {
    // Arrange
    ddbMock.on(BatchWriteItemCommand).resolves({});
    const entries = Array.from({ length: 60 }, (_, index) => ({ ...fixed, eventId: `e${index}` }));

    // Act
    const unwritten = await log.recordAll(entries);

    // Assert
    expect(unwritten).toEqual([]);
    expect(batchCalls().map((keys) => keys.length)).toEqual([25, 25, 10]);
  });

  it('sends unprocessed items again, and returns those that never get through', async () => {
    const stuck = { ...fixed, eventId: 'stuck' };
    const late = { ...fixed, eventId: 'late' };
    const unprocessed = (records: AuditRecord[]) => ({
      UnprocessedItems: { [TABLE]: records.map((r) => ({ PutRequest: { Item: toItem(r) } })) },
    });
    ddbMock
      .on(BatchWriteItemCommand)
      .resolvesOnce(unprocessed([stuck, late]))
      .resolvesOnce(unprocessed([stuck]))
      .resolves(unprocessed([stuck]));

    const unwritten = await log.recordAll([fixed, stuck, late]);

    expect(unwritten).toEqual([stuck]);
    expect(batchCalls()).toEqual([
      [auditEventKey(fixed.eventTime, fixed.eventId), expect.any(String), expect.any(String)],
      [auditEventKey(stuck.eventTime, 'stuck'), auditEventKey(late.eventTime, 'late')],
      [auditEventKey(stuck.eventTime, 'stuck')],
      [auditEventKey(stuck.eventTime, 'stuck')],
    ]);
  });

  it('lets an error of the call itself through', async () => {
    const throttled = new ProvisionedThroughputExceededException({
      $metadata: {},
      message: 'slow down',
    });
    ddbMock.on(BatchWriteItemCommand).rejects(throttled);

    await expect(log.recordAll([fixed])).rejects.toBe(throttled);
  });
});
