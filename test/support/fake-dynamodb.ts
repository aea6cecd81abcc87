/**
 * One DynamoDB table behind aws-sdk-client-mock, for handler tests that run the real adapters: items are kept, and
 * condition expressions are evaluated (the subset DynamoDB condition syntax the adapters use: comparisons, IN,
 * attribute_exists/attribute_not_exists, AND/OR/NOT, parentheses). It answers as DynamoDB does, with the SDK's real
 * exception classes: ConditionalCheckFailedException, TransactionCanceledException with CancellationReasons (and the
 * old item for ReturnValuesOnConditionCheckFailure ALL_OLD), ValidationException for a key named twice in one call.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type BatchWriteItemCommandInput,
  type CancellationReason,
  type DeleteItemCommandInput,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type TransactWriteItemsCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

type Item = Record<string, AttributeValue>;
type Names = Record<string, string> | undefined;
type Values = Item | undefined;

const KEY = ['repositoryArn', 'eventKey'] as const;

export class FakeDynamoDbTable {
  readonly items = new Map<string, Item>();
  /** Calls per command name, failed ones included. */
  readonly calls: Record<string, number> = {};
  /** The next call of the named command throws this error, then it is cleared. */
  readonly failNext = new Map<string, Error>();

  /** Routes the mocked client's commands to this table. */
  attach(stub: AwsClientStub<DynamoDBClient>): void {
    stub
      .on(PutItemCommand)
      .callsFake((input: PutItemCommandInput) => this.run('PutItem', () => this.put(input)));
    stub
      .on(DeleteItemCommand)
      .callsFake((input: DeleteItemCommandInput) =>
        this.run('DeleteItem', () => this.delete(input))
      );
    stub
      .on(GetItemCommand)
      .callsFake((input: GetItemCommandInput) => this.run('GetItem', () => this.get(input)));
    stub
      .on(UpdateItemCommand)
      .callsFake((input: UpdateItemCommandInput) =>
        this.run('UpdateItem', () => this.update(input))
      );
    stub
      .on(BatchWriteItemCommand)
      .callsFake((input: BatchWriteItemCommandInput) =>
        this.run('BatchWriteItem', () => this.batchWrite(input))
      );
    stub
      .on(QueryCommand)
      .callsFake((input: QueryCommandInput) => this.run('Query', () => this.query(input)));
    stub
      .on(TransactWriteItemsCommand)
      .callsFake((input: TransactWriteItemsCommandInput) =>
        this.run('TransactWriteItems', () => this.transact(input))
      );
  }

  /** The item with this key, if any. */
  item(repositoryArn: string, eventKey: string): Item | undefined {
    return this.items.get(`${repositoryArn}\n${eventKey}`);
  }

  private run<T>(command: string, work: () => T): T {
    this.calls[command] = (this.calls[command] ?? 0) + 1;
    const failure = this.failNext.get(command);
    if (failure !== undefined) {
      this.failNext.delete(command);
      throw failure;
    }
    return work();
  }

  private put(input: {
    Item?: Item;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Names;
    ExpressionAttributeValues?: Values;
  }): object {
    const item = input.Item as Item;
    const existing = this.items.get(keyOf(item));
    this.check(input, existing);
    this.items.set(keyOf(item), item);
    return {};
  }

  private delete(input: {
    Key?: Item;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Names;
    ExpressionAttributeValues?: Values;
  }): object {
    const key = keyOf(input.Key as Item);
    this.check(input, this.items.get(key));
    this.items.delete(key);
    return {};
  }

  private get(input: { Key?: Item }): object {
    const found = this.items.get(keyOf(input.Key as Item));
    return found === undefined ? {} : { Item: found };
  }

  /**
   * Query with `#pk = :pk` as the key condition (the only one the adapters use) and a filter expression evaluated
   * like a condition; one page, items in sort-key order.
   */
  private query(input: {
    KeyConditionExpression?: string;
    FilterExpression?: string;
    ExpressionAttributeNames?: Names;
    ExpressionAttributeValues?: Values;
  }): object {
    const match = /^\s*(#\w+)\s*=\s*(:\w+)\s*$/.exec(input.KeyConditionExpression ?? '');
    if (match === null) throw validation('this fake supports "#pk = :pk" key conditions only');
    const name = resolveName(match[1] as string, input.ExpressionAttributeNames);
    const value = resolveValue(match[2] as string, input.ExpressionAttributeValues);
    const items = [...this.items.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => item)
      .filter((item) => compare(item[name], value) === 0)
      .filter(
        (item) => input.FilterExpression === undefined || holds(input.FilterExpression, item, input)
      );
    return { Items: items, Count: items.length };
  }

  /** UpdateItem with a `SET a = :v, b = :w` expression. */
  private update(input: {
    Key?: Item;
    UpdateExpression?: string;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Names;
    ExpressionAttributeValues?: Values;
  }): object {
    const key = keyOf(input.Key as Item);
    const existing = this.items.get(key);
    this.check(input, existing);
    const updated: Item = { ...(existing ?? input.Key) };
    const assignments = (input.UpdateExpression ?? '').replace(/^SET\s+/i, '').split(',');
    for (const assignment of assignments) {
      const [name, value] = assignment.split('=').map((part) => part.trim()) as [string, string];
      updated[resolveName(name, input.ExpressionAttributeNames)] = resolveValue(
        value,
        input.ExpressionAttributeValues
      );
    }
    this.items.set(key, updated);
    return {};
  }

  private batchWrite(input: {
    RequestItems?: Record<string, { PutRequest?: { Item?: Item } }[]>;
  }): object {
    const requests = Object.values(input.RequestItems ?? {}).flat();
    const keys = requests.map((request) => keyOf(request.PutRequest?.Item as Item));
    if (new Set(keys).size !== keys.length) {
      throw validation('Provided list of item keys contains duplicates');
    }
    for (const request of requests) {
      const item = request.PutRequest?.Item as Item;
      this.items.set(keyOf(item), item);
    }
    return {};
  }

  private transact(input: {
    TransactItems?: {
      Put?: {
        Item?: Item;
        ConditionExpression?: string;
        ExpressionAttributeNames?: Names;
        ExpressionAttributeValues?: Values;
        ReturnValuesOnConditionCheckFailure?: string;
      };
    }[];
  }): object {
    const puts = (input.TransactItems ?? []).map((entry) => entry.Put);
    if (puts.some((put) => put === undefined))
      throw validation('this fake supports Put actions only');
    const keys = puts.map((put) => keyOf(put?.Item as Item));
    if (new Set(keys).size !== keys.length) {
      throw validation('Transaction request cannot include multiple operations on one item');
    }
    const reasons: CancellationReason[] = puts.map((put, index) => {
      const existing = this.items.get(keys[index] as string);
      if (put?.ConditionExpression === undefined || holds(put.ConditionExpression, existing, put)) {
        return { Code: 'None' };
      }
      return {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(put.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && existing !== undefined
          ? { Item: existing }
          : {}),
      };
    });
    if (reasons.some((reason) => reason.Code !== 'None')) {
      throw new TransactionCanceledException({
        $metadata: { httpStatusCode: 400 },
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        CancellationReasons: reasons,
      });
    }
    puts.forEach((put, index) => this.items.set(keys[index] as string, put?.Item as Item));
    return {};
  }

  private check(
    input: {
      ConditionExpression?: string;
      ExpressionAttributeNames?: Names;
      ExpressionAttributeValues?: Values;
    },
    existing: Item | undefined
  ): void {
    if (input.ConditionExpression === undefined) return;
    if (!holds(input.ConditionExpression, existing, input)) {
      throw new ConditionalCheckFailedException({
        $metadata: { httpStatusCode: 400 },
        message: 'The conditional request failed',
      });
    }
  }
}

function keyOf(item: Item): string {
  return KEY.map((name) => item[name]?.S ?? '').join('\n');
}

function validation(message: string): Error {
  return new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}

function resolveName(token: string, names: Names): string {
  if (!token.startsWith('#')) return token;
  const name = names?.[token];
  if (name === undefined)
    throw validation(
      `An expression attribute name used in the document path is not defined; attribute name: ${token}`
    );
  return name;
}

function resolveValue(token: string, values: Values): AttributeValue {
  const value = values?.[token];
  if (value === undefined)
    throw validation(
      `An expression attribute value used in expression is not defined; attribute value: ${token}`
    );
  return value;
}

/** Evaluates a condition expression against the existing item (undefined: no item). */
export function holds(
  expression: string,
  item: Item | undefined,
  context: { ExpressionAttributeNames?: Names; ExpressionAttributeValues?: Values }
): boolean {
  const tokens = expression.match(/\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  let position = 0;
  const peek = (): string | undefined => tokens[position];
  const take = (expected?: string): string => {
    const token = tokens[position++];
    if (token === undefined || (expected !== undefined && token.toUpperCase() !== expected)) {
      throw validation(`Invalid ConditionExpression near "${token ?? 'end'}": ${expression}`);
    }
    return token;
  };
  const attribute = (token: string): AttributeValue | undefined =>
    token.startsWith(':')
      ? resolveValue(token, context.ExpressionAttributeValues)
      : item?.[resolveName(token, context.ExpressionAttributeNames)];

  const orExpression = (): boolean => {
    let value = andExpression();
    while (peek()?.toUpperCase() === 'OR') {
      take();
      const right = andExpression();
      value = value || right;
    }
    return value;
  };
  const andExpression = (): boolean => {
    let value = notExpression();
    while (peek()?.toUpperCase() === 'AND') {
      take();
      const right = notExpression();
      value = value && right;
    }
    return value;
  };
  const notExpression = (): boolean => {
    if (peek()?.toUpperCase() === 'NOT') {
      take();
      return !notExpression();
    }
    return primary();
  };
  const primary = (): boolean => {
    const token = take();
    if (token === '(') {
      const value = orExpression();
      take(')');
      return value;
    }
    if (token === 'attribute_exists' || token === 'attribute_not_exists') {
      take('(');
      const name = take();
      take(')');
      const exists = item?.[resolveName(name, context.ExpressionAttributeNames)] !== undefined;
      return token === 'attribute_exists' ? exists : !exists;
    }
    const left = attribute(token);
    const operator = take();
    if (operator.toUpperCase() === 'IN') {
      take('(');
      const candidates = [attribute(take())];
      while (peek() === ',') {
        take();
        candidates.push(attribute(take()));
      }
      take(')');
      return left !== undefined && candidates.some((candidate) => compare(left, candidate) === 0);
    }
    const right = attribute(take());
    // A comparison with a missing attribute is false.
    if (left === undefined || right === undefined) return false;
    const order = compare(left, right);
    if (order === null) return false;
    switch (operator) {
      case '=':
        return order === 0;
      case '<>':
        return order !== 0;
      case '<':
        return order < 0;
      case '<=':
        return order <= 0;
      case '>':
        return order > 0;
      case '>=':
        return order >= 0;
      default:
        throw validation(`Unsupported operator ${operator}`);
    }
  };
  const result = orExpression();
  if (position !== tokens.length) throw validation(`Invalid ConditionExpression: ${expression}`);
  return result;
}

function compare(
  left: AttributeValue | undefined,
  right: AttributeValue | undefined
): number | null {
  if (left?.S !== undefined && right?.S !== undefined)
    return left.S < right.S ? -1 : left.S > right.S ? 1 : 0;
  if (left?.N !== undefined && right?.N !== undefined) return Number(left.N) - Number(right.N);
  if (left?.BOOL !== undefined && right?.BOOL !== undefined)
    return left.BOOL === right.BOOL ? 0 : null;
  return null;
}
