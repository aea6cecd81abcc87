import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  InternalServerError,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import {
  DynamoDbRepositoryLocks,
  LEASE_SORT_KEY,
} from '../../lambda/adapters/dynamodb-repository-locks';
import { FixedClock } from '../../lambda/adapters/in-memory';

const TABLE = 'lambda-ecr-autofix-audit';
const REPOSITORY = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker';
const ddb = mockClient(DynamoDBClient);
const conditionFailed = () =>
  new ConditionalCheckFailedException({ $metadata: {}, message: 'The conditional request failed' });

describe('DynamoDbRepositoryLocks', () => {
  const clock = new FixedClock('2026-03-01T12:00:00.000Z');
  let locks: DynamoDbRepositoryLocks;

  beforeEach(() => {
    ddb.reset();
    locks = new DynamoDbRepositoryLocks(new DynamoDBClient({ region: 'eu-west-1' }), TABLE, clock);
  });

  it('takes a lease with a conditional put that admits no other unexpired owner', async () => {
    ddb.on(PutItemCommand).resolves({});

    await expect(locks.tryAcquire(REPOSITORY, 'owner-a', 60_000)).resolves.toBe(true);

    const now = Date.parse('2026-03-01T12:00:00.000Z');
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: TABLE,
      Item: {
        repositoryArn: { S: REPOSITORY },
        eventKey: { S: LEASE_SORT_KEY },
        owner: { S: 'owner-a' },
        leaseUntil: { N: String(now + 60_000) },
        expiresAt: { N: String((now + 60_000) / 1000 + 3600) },
      },
      ConditionExpression:
        'attribute_not_exists(repositoryArn) OR leaseUntil < :now OR #owner = :owner',
      ExpressionAttributeValues: { ':now': { N: String(now) }, ':owner': { S: 'owner-a' } },
    });
  });

  it('answers false while another owner holds the lease', async () => {
    ddb.on(PutItemCommand).rejects(conditionFailed());

    await expect(locks.tryAcquire(REPOSITORY, 'owner-b', 60_000)).resolves.toBe(false);
  });

  it('lets other errors through, so the events are retried', async () => {
    const error = new InternalServerError({ $metadata: {}, message: 'boom' });
    ddb.on(PutItemCommand).rejects(error);

    await expect(locks.tryAcquire(REPOSITORY, 'owner-a', 60_000)).rejects.toBe(error);
  });

  it('returns only its own lease', async () => {
    ddb.on(DeleteItemCommand).resolves({});

    await locks.release(REPOSITORY, 'owner-a');

    expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, {
      Key: { repositoryArn: { S: REPOSITORY }, eventKey: { S: LEASE_SORT_KEY } },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeValues: { ':owner': { S: 'owner-a' } },
    });
  });

  it('ignores a lease that has passed to another owner, but not other errors', async () => {
    ddb.on(DeleteItemCommand).rejectsOnce(conditionFailed()).rejects(new Error('socket hang up'));

    await expect(locks.release(REPOSITORY, 'owner-a')).resolves.toBeUndefined();
    await expect(locks.release(REPOSITORY, 'owner-a')).rejects.toThrow('socket hang up');
  });
});
