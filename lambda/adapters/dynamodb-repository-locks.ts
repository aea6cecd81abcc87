/**
 * Repository leases as items of the audit table (`repositoryArn`, sort key `#lease`): a conditional put takes a lease
 * that is absent or expired, a conditional delete gives it back. The sort key cannot collide with audit records,
 * whose sort keys start with a timestamp. Expired leases are also removed by the table's TTL.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
 */
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

import type { Clock, RepositoryLocks } from '../application/ports';
import { sdkErrorName } from '../application/errors';

export const LEASE_SORT_KEY = '#lease';
/** How long after expiry DynamoDB's TTL may delete a forgotten lease item. */
const TTL_GRACE_SECONDS = 3600;

export class DynamoDbRepositoryLocks implements RepositoryLocks {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Pick<Clock, 'now'>
  ) {}

  async tryAcquire(repositoryArn: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    const until = now + leaseMs;
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            repositoryArn: { S: repositoryArn },
            eventKey: { S: LEASE_SORT_KEY },
            owner: { S: owner },
            leaseUntil: { N: String(until) },
            expiresAt: { N: String(Math.ceil(until / 1000) + TTL_GRACE_SECONDS) },
          },
          ConditionExpression:
            'attribute_not_exists(repositoryArn) OR leaseUntil < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': { N: String(now) }, ':owner': { S: owner } },
        })
      );
      return true;
    } catch (error) {
      if (sdkErrorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async release(repositoryArn: string, owner: string): Promise<void> {
    try {
      await this.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { repositoryArn: { S: repositoryArn }, eventKey: { S: LEASE_SORT_KEY } },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: owner } },
        })
      );
    } catch (error) {
      // Someone else holds it now (ours expired): theirs to release.
      if (sdkErrorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
