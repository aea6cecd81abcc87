/**
 * The audit table: one item per event and repository (`repositoryArn`, `eventKey` = `${eventTime}#${eventId}`),
 * expiring through DynamoDB TTL. Every write is conditional (see `AuditWrite` in ports.ts): a batch's writes go in
 * one `TransactWriteItems` call (100 items at most), because `BatchWriteItem` takes no conditions, and a condition
 * that fails returns the item that is there (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so the pipeline learns
 * about an earlier delivery's record without reading first.
 * Marshalled by hand over the low-level client (no `@aws-sdk/lib-dynamodb`): the bundle stays small.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html
 */
import { randomUUID } from 'node:crypto';

import {
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CancellationReason,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';

import { OUTCOMES, REASONS, type Outcome, type Reason } from '../domain/decision';
import { sdkErrorName } from '../application/errors';
import {
  AUDIT_KINDS,
  AUDIT_STATES,
  type AuditGrant,
  type AuditFilter,
  type AuditKey,
  type AuditLog,
  type AuditRecord,
  type AuditWrite,
  type AuditWriteResult,
} from '../application/ports';

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

/** TransactWriteItems takes at most 100 actions and 4 MB; a chunk stays well below the size limit. */
export const TRANSACTION_ITEMS = 100;
const TRANSACTION_BYTES = 3 * 1024 * 1024;
/** How many times the writes of a cancelled transaction that did not cause it are sent again. */
const CANCELLED_ROUNDS = 4;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `${eventTime}#${eventId}`: sorts a repository's records by time. */
export function auditEventKey(eventTime: string, eventId: string): string {
  return `${eventTime}#${eventId}`;
}

/** The conditions of the writes (ports.ts, `AuditWrite`), as DynamoDB condition expressions. */
const CONDITIONS = {
  intent:
    'attribute_not_exists(repositoryArn) OR #state IN (:recorded, :failed) OR ' +
    '(#state = :intent AND (#owner = :owner OR #updatedAt < :staleBefore))',
  decision: 'attribute_not_exists(repositoryArn) OR #state = :recorded',
  replace:
    '#state = :expectedState AND #owner = :expectedOwner AND #updatedAt = :expectedUpdatedAt',
  notified: '#state = :applied AND attribute_not_exists(notifiedAt)',
  announced: '#state = :applied AND #kind = :revoke AND attribute_not_exists(announcedAt)',
  unsettled:
    '(#state IN (:intent, :failed) OR (#state = :applied AND attribute_not_exists(notifiedAt)))',
} as const;

// `state` and `owner` are DynamoDB reserved words.
const NAMES = { '#state': 'state', '#owner': 'owner', '#updatedAt': 'updatedAt' };

export class DynamoDbAuditLog implements AuditLog {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string
  ) {}

  async write(writes: readonly AuditWrite[]): Promise<AuditWriteResult[]> {
    const results: AuditWriteResult[] = [];
    for (const chunk of chunks(writes.map((write) => ({ write, item: toItem(write.record) })))) {
      const settled = await this.writeChunk(chunk);
      results.push(...settled);
    }
    return results;
  }

  /**
   * One transaction; when DynamoDB cancels it, the writes whose condition failed get their conflict (with the item
   * that is there) and the others, cancelled only because of them (or by a concurrent transaction on the same item),
   * are sent again, a bounded number of times.
   */
  private async writeChunk(
    chunk: readonly { write: AuditWrite; item: Item }[]
  ): Promise<AuditWriteResult[]> {
    const results: (AuditWriteResult | undefined)[] = chunk.map(() => undefined);
    let pending = chunk.map((_, index) => index);
    let lastReason = 'the transaction was cancelled';
    for (let round = 0; pending.length > 0 && round < CANCELLED_ROUNDS; round++) {
      if (round > 0) await sleep(25 * 2 ** round * (0.5 + Math.random()));
      const sent = pending;
      try {
        await this.dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: sent.map((index) =>
              this.transactItem(chunk[index] as (typeof chunk)[number])
            ),
            // Makes the SDK's own retries of this call idempotent (a retry after a lost response is not a conflict).
            ClientRequestToken: randomUUID(),
          })
        );
        for (const index of sent) results[index] = { status: 'written' };
        pending = [];
      } catch (error) {
        if (sdkErrorName(error) !== 'TransactionCanceledException') throw error;
        const reasons =
          (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
        pending = [];
        sent.forEach((index, position) => {
          const reason = reasons[position];
          const code = reason?.Code ?? 'None';
          if (code === 'ConditionalCheckFailed') {
            results[index] = conflictOf(
              reason?.Item,
              (chunk[index] as (typeof chunk)[number]).write
            );
          } else if (code === 'None' || code === 'TransactionConflict') {
            pending.push(index);
            if (code === 'TransactionConflict')
              lastReason = 'TransactionConflict: a concurrent transaction wrote the item';
          } else {
            results[index] = {
              status: 'unwritten',
              reason: `${code}: ${reason?.Message ?? ''}`.trim(),
            };
          }
        });
      }
    }
    for (const index of pending) results[index] = { status: 'unwritten', reason: lastReason };
    return results as AuditWriteResult[];
  }

  private transactItem({ write, item }: { write: AuditWrite; item: Item }): TransactWriteItem {
    const values: Item = {};
    switch (write.kind) {
      case 'intent':
        Object.assign(values, {
          ':recorded': { S: 'recorded' },
          ':failed': { S: 'failed' },
          ':intent': { S: 'intent' },
          ':owner': { S: write.record.owner },
          ':staleBefore': { S: write.staleBefore },
        });
        break;
      case 'decision':
        values[':recorded'] = { S: 'recorded' };
        break;
      case 'replace':
        Object.assign(values, {
          ':expectedState': { S: write.expected.state },
          ':expectedOwner': { S: write.expected.owner },
          ':expectedUpdatedAt': { S: write.expected.updatedAt },
        });
        break;
    }
    const names: Record<string, string> = { '#state': 'state' };
    if (write.kind !== 'decision') Object.assign(names, NAMES);
    return {
      Put: {
        TableName: this.tableName,
        Item: item,
        ConditionExpression: CONDITIONS[write.kind],
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  async markNotified(key: AuditKey, notifiedAt: string, notificationId: string): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyItem(key),
          UpdateExpression: 'SET notifiedAt = :notifiedAt, notificationId = :notificationId',
          ConditionExpression: CONDITIONS.notified,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':applied': { S: 'applied' },
            ':notifiedAt': { S: notifiedAt },
            ':notificationId': { S: notificationId },
          },
        })
      );
      return true;
    } catch (error) {
      if (sdkErrorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async markAnnounced(key: AuditKey, announcedAt: string): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyItem(key),
          UpdateExpression: 'SET announcedAt = :announcedAt',
          ConditionExpression: CONDITIONS.announced,
          ExpressionAttributeNames: { '#state': 'state', '#kind': 'kind' },
          ExpressionAttributeValues: {
            ':applied': { S: 'applied' },
            ':revoke': { S: 'revoke' },
            ':announcedAt': { S: announcedAt },
          },
        })
      );
      return true;
    } catch (error) {
      if (sdkErrorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async find(key: AuditKey): Promise<AuditRecord | null> {
    const output = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: keyItem(key),
        // A retried message must see the write its earlier attempt made.
        ConsistentRead: true,
      })
    );
    return output.Item === undefined ? null : fromItem(output.Item);
  }

  /**
   * One repository: a Query on the partition key (strongly consistent: `revoke` and the drift guard must see the
   * record written a moment ago). The whole table: a Scan. Both follow `LastEvaluatedKey` to the end; the filters
   * run on DynamoDB's side (they cut what is sent, not what is read). The table holds one item per decision and the
   * TTL removes them after `auditRetentionDays`, so a Scan for `history` stays small; the fixer itself only queries.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html
   */
  async list(filter: AuditFilter): Promise<AuditRecord[]> {
    const names: Record<string, string> = { '#kind': 'kind' };
    const values: Item = {};
    // Leases (sort key `#lease`) have no `kind`.
    const conditions = ['attribute_exists(#kind)'];
    if (filter.consumerAccount !== undefined) {
      names['#consumerAccount'] = 'consumerAccount';
      values[':consumerAccount'] = { S: filter.consumerAccount };
      conditions.push('#consumerAccount = :consumerAccount');
    }
    if (filter.since !== undefined) {
      names['#decidedAt'] = 'decidedAt';
      values[':since'] = { S: filter.since };
      conditions.push('#decidedAt >= :since');
    }
    if (filter.unsettled === true) {
      names['#state'] = 'state';
      Object.assign(values, {
        ':intent': { S: 'intent' },
        ':failed': { S: 'failed' },
        ':applied': { S: 'applied' },
      });
      conditions.push(CONDITIONS.unsettled);
    }
    const records: AuditRecord[] = [];
    let startKey: Item | undefined;
    do {
      const common = {
        TableName: this.tableName,
        FilterExpression: conditions.join(' AND '),
        ExclusiveStartKey: startKey,
      };
      const output =
        filter.repositoryArn === undefined
          ? await this.dynamodb.send(
              new ScanCommand({
                ...common,
                ExpressionAttributeNames: names,
                ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
              })
            )
          : await this.dynamodb.send(
              new QueryCommand({
                ...common,
                KeyConditionExpression: '#repositoryArn = :repositoryArn',
                ExpressionAttributeNames: { ...names, '#repositoryArn': 'repositoryArn' },
                ExpressionAttributeValues: {
                  ...values,
                  ':repositoryArn': { S: filter.repositoryArn },
                },
                ConsistentRead: true,
              })
            );
      for (const item of output.Items ?? []) records.push(fromItem(item));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records;
  }
}

function keyItem(key: AuditKey): Item {
  return {
    repositoryArn: { S: key.repositoryArn },
    eventKey: { S: auditEventKey(key.eventTime, key.eventId) },
  };
}

/** Splits writes into transactions of at most 100 items and about 3 MB. */
function chunks<T extends { item: Item }>(entries: readonly T[]): T[][] {
  const result: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = JSON.stringify(entry.item).length;
    if (
      current.length > 0 &&
      (current.length >= TRANSACTION_ITEMS || bytes + size > TRANSACTION_BYTES)
    ) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** The conflict a failed condition means, with the record that is there. */
function conflictOf(item: Item | undefined, write: AuditWrite): AuditWriteResult {
  if (item === undefined) {
    // No item: only a `replace` can fail that way (its record is gone).
    return write.kind === 'replace'
      ? { status: 'conflict', existing: null }
      : { status: 'unwritten', reason: 'the condition failed but DynamoDB returned no item' };
  }
  try {
    return { status: 'conflict', existing: fromItem(item) };
  } catch (error) {
    return { status: 'unwritten', reason: (error as Error).message };
  }
}

/** The item for a record. Null fields are left out (never stored as NULL), so a read gives back exactly the record. */
export function toItem(record: AuditRecord): Item {
  const item: Item = {
    repositoryArn: { S: record.repositoryArn },
    eventKey: { S: auditEventKey(record.eventTime, record.eventId) },
    eventId: { S: record.eventId },
    eventTime: { S: record.eventTime },
    kind: { S: record.kind },
    state: { S: record.state },
    decidedAt: { S: record.decidedAt },
    updatedAt: { S: record.updatedAt },
    owner: { S: record.owner },
    outcome: { S: record.outcome },
    reason: { S: record.reason },
    explanation: { S: record.explanation },
    mode: { S: record.mode },
    grants: {
      L: record.grants.map((grant) => ({
        M: {
          sid: { S: grant.sid },
          change: { S: grant.change },
          added: { L: grant.added.map((value) => ({ S: value })) },
        },
      })),
    },
    expiresAt: { N: String(record.expiresAt) },
  };
  if (record.removed.length > 0) {
    // Only revoke and drift records have it; fix records stay as they were before it existed.
    item['removed'] = {
      L: record.removed.map((entry) => ({
        M: { sid: { S: entry.sid }, values: { L: entry.values.map((value) => ({ S: value })) } },
      })),
    };
  }
  const optional = {
    consumerAccount: record.consumerAccount,
    callerArn: record.callerArn,
    functionArn: record.functionArn,
    policyBefore: record.policyBefore,
    policyPlanned: record.policyPlanned,
    policyAfter: record.policyAfter,
    error: record.error,
    notifiedAt: record.notifiedAt,
    notificationId: record.notificationId,
    announcedAt: record.announcedAt ?? null,
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== null) item[name] = { S: value };
  }
  if (record.notice !== null) {
    item['notice'] = {
      M: { subject: { S: record.notice.subject }, message: { S: record.notice.message } },
    };
  }
  return item;
}

const ALL_REASONS: readonly Reason[] = Object.values(REASONS).flat();

/** The record in an item; an item of another shape is an error naming the attribute. */
export function fromItem(item: Item): AuditRecord {
  if (item['state'] === undefined && item['applied'] !== undefined) {
    throw new Error(
      `Audit item ${item['repositoryArn']?.S ?? '?'} ${item['eventKey']?.S ?? '?'} was written by a version of ` +
        'lambda-ecr-autofix before the write-ahead audit (it has "applied" but no "state"); this version cannot ' +
        'complete or overwrite it. Delete the item (its TTL removes it anyway) if the event has to be processed again.'
    );
  }
  const mode = string(item, 'mode');
  if (mode !== 'enforce' && mode !== 'dry-run') throw invalid('mode', mode);
  return {
    repositoryArn: string(item, 'repositoryArn'),
    eventId: string(item, 'eventId'),
    eventTime: string(item, 'eventTime'),
    kind: oneOf(item, 'kind', AUDIT_KINDS),
    state: oneOf(item, 'state', AUDIT_STATES),
    decidedAt: timestamp(item, 'decidedAt'),
    updatedAt: timestamp(item, 'updatedAt'),
    owner: string(item, 'owner'),
    consumerAccount: optionalString(item, 'consumerAccount'),
    callerArn: optionalString(item, 'callerArn'),
    functionArn: optionalString(item, 'functionArn'),
    outcome: oneOf<Outcome>(item, 'outcome', OUTCOMES),
    reason: oneOf<Reason>(item, 'reason', ALL_REASONS),
    explanation: string(item, 'explanation'),
    mode,
    policyBefore: optionalString(item, 'policyBefore'),
    policyPlanned: optionalString(item, 'policyPlanned'),
    policyAfter: optionalString(item, 'policyAfter'),
    grants: grants(item),
    removed: removed(item),
    error: optionalString(item, 'error'),
    notice: notice(item),
    notifiedAt: optionalString(item, 'notifiedAt'),
    notificationId: optionalString(item, 'notificationId'),
    expiresAt: number(item, 'expiresAt'),
    // Only on revoke records the fixer announced: absent, the record reads back exactly as it was written.
    ...(item['announcedAt'] === undefined
      ? {}
      : { announcedAt: optionalString(item, 'announcedAt') }),
  };
}

function string(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw invalid(name, item[name]);
  return value;
}

/** An ISO 8601 UTC time as `Date.toISOString` writes it: the conditions compare these as strings. */
function timestamp(item: Item, name: string): string {
  const value = string(item, name);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) throw invalid(name, value);
  return value;
}

function optionalString(item: Item, name: string): string | null {
  const attribute = item[name];
  if (attribute === undefined || attribute.NULL === true) return null;
  if (attribute.S === undefined) throw invalid(name, attribute);
  return attribute.S;
}

function number(item: Item, name: string): number {
  const value = Number(item[name]?.N);
  if (!Number.isFinite(value)) throw invalid(name, item[name]);
  return value;
}

function oneOf<T extends string>(item: Item, name: string, allowed: readonly T[]): T {
  const value = string(item, name);
  const known = allowed.find((candidate) => candidate === value);
  if (known === undefined) throw invalid(name, value);
  return known;
}

function grants(item: Item): AuditGrant[] {
  const list = item['grants']?.L;
  if (list === undefined) throw invalid('grants', item['grants']);
  return list.map((entry) => {
    const grant = entry.M;
    const added = grant?.['added']?.L;
    const change = grant?.['change']?.S;
    const sid = grant?.['sid']?.S;
    if (
      sid === undefined ||
      (change !== 'created' && change !== 'extended') ||
      added === undefined ||
      added.some((value) => value.S === undefined)
    ) {
      throw invalid('grants', entry);
    }
    return { sid, change, added: added.map((value) => value.S as string) };
  });
}

function removed(item: Item): AuditRecord['removed'] {
  const attribute = item['removed'];
  if (attribute === undefined) return [];
  const list = attribute.L;
  if (list === undefined) throw invalid('removed', attribute);
  return list.map((entry) => {
    const sid = entry.M?.['sid']?.S;
    const values = entry.M?.['values']?.L;
    if (
      sid === undefined ||
      values === undefined ||
      values.some((value) => value.S === undefined)
    ) {
      throw invalid('removed', entry);
    }
    return { sid, values: values.map((value) => value.S as string) };
  });
}

function notice(item: Item): AuditRecord['notice'] {
  const attribute = item['notice'];
  if (attribute === undefined || attribute.NULL === true) return null;
  const subject = attribute.M?.['subject']?.S;
  const message = attribute.M?.['message']?.S;
  if (subject === undefined || message === undefined) throw invalid('notice', attribute);
  return { subject, message };
}

function invalid(name: string, received: unknown): Error {
  return new Error(
    `Audit item attribute "${name}" is missing or malformed (received ${JSON.stringify(received)}); ` +
      'the item was not written by this version of lambda-ecr-autofix.'
  );
}
