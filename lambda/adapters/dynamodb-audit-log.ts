/**
 * The audit table: one item per decision, keyed by repository and event, expiring through DynamoDB TTL.
 * Marshalled by hand over the low-level client (no `@aws-sdk/lib-dynamodb`): the record is flat and the bundle small.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html
 */
import {
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

import { OUTCOMES, REASONS, type Outcome, type Reason } from '../domain/decision';
import type { AuditLog, AuditRecord } from '../application/ports';

/** The table's key and TTL attribute names, for the CDK table and for tests. */
export const AUDIT_TABLE_SCHEMA = {
  partitionKey: 'repositoryArn',
  sortKey: 'eventKey',
  timeToLiveAttribute: 'expiresAt',
} as const;

type Item = Record<string, AttributeValue>;

/**
 * The CreateTable request for an audit table (on-demand), for local tables in the demo and the integration tests; the
 * deployed table is the CDK `AuditTable` construct with the same key schema.
 */
export function auditTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: AUDIT_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
      { AttributeName: AUDIT_TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: AUDIT_TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
      { AttributeName: AUDIT_TABLE_SCHEMA.sortKey, AttributeType: 'S' },
    ],
  };
}

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
/** How many times unprocessed items are sent again before their events are failed (and retried by SQS). */
const UNPROCESSED_ATTEMPTS = 4;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `${eventTime}#${eventId}`: sorts a repository's records by time. */
export function auditEventKey(eventTime: string, eventId: string): string {
  return `${eventTime}#${eventId}`;
}

export class DynamoDbAuditLog implements AuditLog {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string
  ) {}

  async record(entry: AuditRecord): Promise<void> {
    await this.dynamodb.send(
      new PutItemCommand({ TableName: this.tableName, Item: toItem(entry) })
    );
  }

  async recordAll(entries: readonly AuditRecord[]): Promise<readonly AuditRecord[]> {
    const failed: AuditRecord[] = [];
    for (let start = 0; start < entries.length; start += BATCH_WRITE_LIMIT) {
      const chunk = entries.slice(start, start + BATCH_WRITE_LIMIT);
      failed.push(...(await this.writeChunk(chunk)));
    }
    return failed;
  }

  /**
   * One BatchWriteItem, then the unprocessed items again with backoff (DynamoDB returns them under throttling).
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
   */
  private async writeChunk(chunk: readonly AuditRecord[]): Promise<AuditRecord[]> {
    let pending = [...chunk];
    for (let attempt = 0; attempt < UNPROCESSED_ATTEMPTS && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(50 * 2 ** attempt);
      const output = await this.dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [this.tableName]: pending.map((entry) => ({ PutRequest: { Item: toItem(entry) } })),
          },
        })
      );
      const unprocessed = output.UnprocessedItems?.[this.tableName] ?? [];
      const left = new Set(
        unprocessed.map((request) => {
          const item = request.PutRequest?.Item;
          return `${item?.['repositoryArn']?.S ?? ''}\n${item?.['eventKey']?.S ?? ''}`;
        })
      );
      pending = pending.filter((entry) =>
        left.has(`${entry.repositoryArn}\n${auditEventKey(entry.eventTime, entry.eventId)}`)
      );
    }
    return pending;
  }

  async find(
    repositoryArn: string,
    eventTime: string,
    eventId: string
  ): Promise<AuditRecord | null> {
    const output = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: {
          repositoryArn: { S: repositoryArn },
          eventKey: { S: auditEventKey(eventTime, eventId) },
        },
        // The retried message must see the write its earlier attempt made.
        ConsistentRead: true,
      })
    );
    return output.Item === undefined ? null : fromItem(output.Item);
  }
}

/** The item for a record. Null fields are left out (never stored as NULL), so a read gives back exactly the record. */
export function toItem(entry: AuditRecord): Item {
  const item: Item = {
    repositoryArn: { S: entry.repositoryArn },
    eventKey: { S: auditEventKey(entry.eventTime, entry.eventId) },
    eventId: { S: entry.eventId },
    eventTime: { S: entry.eventTime },
    decidedAt: { S: entry.decidedAt },
    outcome: { S: entry.outcome },
    reason: { S: entry.reason },
    explanation: { S: entry.explanation },
    mode: { S: entry.mode },
    applied: { BOOL: entry.applied },
    expiresAt: { N: String(entry.expiresAt) },
  };
  const optional = {
    consumerAccount: entry.consumerAccount,
    callerArn: entry.callerArn,
    functionArn: entry.functionArn,
    policyBefore: entry.policyBefore,
    policyAfter: entry.policyAfter,
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== null) item[name] = { S: value };
  }
  return item;
}

const ALL_REASONS: readonly Reason[] = Object.values(REASONS).flat();

/** The record in an item; an item of another shape is an error naming the attribute. */
export function fromItem(item: Item): AuditRecord {
  const mode = string(item, 'mode');
  if (mode !== 'enforce' && mode !== 'dry-run') throw invalid('mode', mode);
  return {
    repositoryArn: string(item, 'repositoryArn'),
    eventId: string(item, 'eventId'),
    eventTime: string(item, 'eventTime'),
    decidedAt: string(item, 'decidedAt'),
    consumerAccount: optionalString(item, 'consumerAccount'),
    callerArn: optionalString(item, 'callerArn'),
    functionArn: optionalString(item, 'functionArn'),
    outcome: outcome(item),
    reason: reason(item),
    explanation: string(item, 'explanation'),
    mode,
    applied: boolean(item, 'applied'),
    policyBefore: optionalString(item, 'policyBefore'),
    policyAfter: optionalString(item, 'policyAfter'),
    expiresAt: number(item, 'expiresAt'),
  };
}

function string(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw invalid(name, item[name]);
  return value;
}

function optionalString(item: Item, name: string): string | null {
  const attribute = item[name];
  if (attribute === undefined || attribute.NULL === true) return null;
  if (attribute.S === undefined) throw invalid(name, attribute);
  return attribute.S;
}

function boolean(item: Item, name: string): boolean {
  const value = item[name]?.BOOL;
  if (value === undefined) throw invalid(name, item[name]);
  return value;
}

function number(item: Item, name: string): number {
  const value = Number(item[name]?.N);
  if (!Number.isFinite(value)) throw invalid(name, item[name]);
  return value;
}

function outcome(item: Item): Outcome {
  const value = string(item, 'outcome');
  const known = OUTCOMES.find((candidate) => candidate === value);
  if (known === undefined) throw invalid('outcome', value);
  return known;
}

function reason(item: Item): Reason {
  const value = string(item, 'reason');
  const known = ALL_REASONS.find((candidate) => candidate === value);
  if (known === undefined) throw invalid('reason', value);
  return known;
}

function invalid(name: string, received: unknown): Error {
  return new Error(
    `Audit item attribute "${name}" is missing or malformed (received ${JSON.stringify(received)}); ` +
      'the item was not written by this version of lambda-ecr-autofix.'
  );
}
