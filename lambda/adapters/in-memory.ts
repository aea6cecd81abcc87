/**
 * In-memory stand-ins for every port, for the demo (no AWS account needed) and for pipeline tests. They behave like
 * the real adapters where the pipeline can tell the difference: a missing repository is a `RepositoryNotFoundError`,
 * a repository without a policy reads as null, an account without the member role is a
 * `RegistryRoleUnavailableError`, text ECR would reject is an `InvalidPolicyError`. Test hooks simulate what AWS does
 * at the worst moment: a concurrent writer, a failed write, a failed publish.
 */
import type {
  AuditFilter,
  AuditKey,
  AuditLog,
  AuditRecord,
  AuditWrite,
  AuditWriteResult,
  Clock,
  FunctionLookup,
  NotificationMessage,
  Notifier,
  RegistryAccess,
  RepositoryLocks,
  RepositoryPolicyStore,
  RepositoryRef,
} from '../application/ports';
import { partitionOfRegion } from '../domain/partition';
import { roleArnOf } from './arns';
import {
  InvalidPolicyError,
  RegistryRoleUnavailableError,
  RepositoryNotFoundError,
} from '../application/errors';

/** ECR's limit on `policyText`. https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html */
const MAX_POLICY_LENGTH = 10_240;
const DEFAULT_ROLE_NAME = 'LambdaEcrAutofixRegistryAccess';

/** What identifies a repository in the stand-in (the partition follows from the region). */
export type RepositoryKey = Pick<RepositoryRef, 'registryAccount' | 'region' | 'repositoryName'>;

export interface InMemoryRepository {
  policyText: string | null;
  tags: Record<string, string>;
}

export type RegistryOperation = 'storeFor' | 'getPolicy' | 'setPolicy' | 'deletePolicy' | 'getTags';

export interface InMemoryRegistryOptions {
  /** The fixer's own account: reachable without the member role. */
  readonly fixerAccountId?: string;
  /** Other accounts where the member stack (and so the member role) is deployed. */
  readonly accountsWithRole?: Iterable<string>;
  /** @default 'LambdaEcrAutofixRegistryAccess' */
  readonly registryRoleName?: string;
  /**
   * How the registry stores a policy text it accepted; return it changed to test that the pipeline compares
   * policies by meaning, not by bytes.
   * @default the text unchanged (what moto_server does)
   */
  readonly storedForm?: (policyText: string) => string;
}

function keyOf(repository: RepositoryKey): string {
  return `${repository.registryAccount}/${repository.region}/${repository.repositoryName}`;
}

/** ECR repositories of several accounts and regions, behind a `RegistryAccess`. */
export class InMemoryRegistry implements RegistryAccess {
  /** Accounts other than the fixer's that have the member role; change it to simulate a missing role. */
  readonly accountsWithRole: Set<string>;
  /** How often each operation was called (failed calls included). */
  readonly calls: Record<RegistryOperation, number> = {
    storeFor: 0,
    getPolicy: 0,
    setPolicy: 0,
    deletePolicy: 0,
    getTags: 0,
  };
  /** The session names `storeFor` received, in order. */
  readonly sessionNames: string[] = [];
  /** Every accepted `setPolicy`, in order, with the text as sent. */
  readonly writes: { repository: RepositoryRef; policyText: string }[] = [];

  /**
   * Runs inside `getPolicy` after the policy was read, before it is returned: a test can replace the policy here
   * (with `putPolicy`) to play a concurrent writer between our read and our write.
   */
  afterGet?: (repository: RepositoryRef, policyText: string | null) => void | Promise<void>;
  /**
   * Runs inside `setPolicy`, after the call is counted and before the write: a test can replace the policy here
   * (with `putPolicy`) to play a concurrent writer between our read and our write.
   */
  beforeSet?: (repository: RepositoryRef, policyText: string) => void | Promise<void>;
  /**
   * Runs inside `setPolicy` right after the write: a test can replace the policy here to play a concurrent writer
   * that clobbers ours before the pipeline re-reads it (ECR is last-writer-wins).
   */
  afterSet?: (repository: RepositoryRef, storedText: string) => void | Promise<void>;
  /** Thrown by the next `getPolicy`, then cleared. */
  failNextGet?: Error;
  /** Thrown by the next `setPolicy` (nothing is written), then cleared. */
  failNextSet?: Error;
  /** Thrown by the next `getTags`, then cleared. */
  failNextTags?: Error;

  private readonly repositories = new Map<string, InMemoryRepository>();
  private readonly fixerAccountId: string | undefined;
  private readonly registryRoleName: string;
  private readonly storedForm: (policyText: string) => string;

  constructor(options: InMemoryRegistryOptions = {}) {
    this.fixerAccountId = options.fixerAccountId;
    this.accountsWithRole = new Set(options.accountsWithRole ?? []);
    this.registryRoleName = options.registryRoleName ?? DEFAULT_ROLE_NAME;
    this.storedForm = options.storedForm ?? ((policyText) => policyText);
  }

  /** Creates (or replaces) a repository. */
  addRepository(
    repository: RepositoryKey,
    contents: { policyText?: string | null; tags?: Record<string, string> } = {}
  ): void {
    this.repositories.set(keyOf(repository), {
      policyText: contents.policyText ?? null,
      tags: { ...contents.tags },
    });
  }

  /** The repository's current state, or undefined when it does not exist. */
  repository(repository: RepositoryKey): InMemoryRepository | undefined {
    return this.repositories.get(keyOf(repository));
  }

  /** Writes a policy (null deletes it) as another writer would: no hooks, no counting, no validation. */
  putPolicy(repository: RepositoryKey, policyText: string | null): void {
    this.existing(repository).policyText = policyText;
  }

  /** Throws `RegistryRoleUnavailableError` unless the fixer may act in the account. */
  assertAccess(account: string, region: string): void {
    if (account === this.fixerAccountId || this.accountsWithRole.has(account)) return;
    const roleArn = roleArnOf(partitionOfRegion(region), account, this.registryRoleName);
    throw new RegistryRoleUnavailableError(account, roleArn, {
      awsMessage: 'AccessDenied (simulated by the in-memory registry).',
    });
  }

  storeFor(repository: RepositoryRef, sessionName: string): Promise<RepositoryPolicyStore> {
    this.calls.storeFor += 1;
    this.sessionNames.push(sessionName);
    return attempt(() => {
      this.assertAccess(repository.registryAccount, repository.region);
      // A real store holds a client for one account and region: using it for another is a bug worth failing on.
      const opened = (ref: RepositoryRef): RepositoryRef => {
        if (
          ref.registryAccount !== repository.registryAccount ||
          ref.region !== repository.region
        ) {
          throw new Error(
            `Store opened for ${repository.registryAccount}/${repository.region} used for ` +
              `${ref.registryAccount}/${ref.region}.`
          );
        }
        return ref;
      };
      return {
        getPolicy: (ref) => attempt(() => opened(ref)).then((r) => this.getPolicy(r)),
        setPolicy: (ref, policyText) =>
          attempt(() => opened(ref)).then((r) => this.setPolicy(r, policyText)),
        deletePolicy: (ref) => attempt(() => opened(ref)).then((r) => this.deletePolicy(r)),
        getTags: (ref) => attempt(() => opened(ref)).then((r) => this.getTags(r)),
      };
    });
  }

  private async getPolicy(repository: RepositoryRef): Promise<string | null> {
    this.calls.getPolicy += 1;
    this.throwPending('failNextGet');
    const policyText = this.existing(repository).policyText;
    await this.afterGet?.(repository, policyText);
    return policyText;
  }

  private async setPolicy(repository: RepositoryRef, policyText: string): Promise<string> {
    this.calls.setPolicy += 1;
    this.throwPending('failNextSet');
    await this.beforeSet?.(repository, policyText);
    const target = this.existing(repository);
    const problem = policyProblem(policyText);
    if (problem !== null) throw new InvalidPolicyError(repository, problem);
    const stored = this.storedForm(policyText);
    target.policyText = stored;
    this.writes.push({ repository, policyText });
    await this.afterSet?.(repository, stored);
    return stored;
  }

  private async deletePolicy(repository: RepositoryRef): Promise<void> {
    this.calls.deletePolicy += 1;
    this.throwPending('failNextSet');
    await this.beforeSet?.(repository, '');
    this.existing(repository).policyText = null;
    this.writes.push({ repository, policyText: '' });
    await this.afterSet?.(repository, '');
  }

  private getTags(repository: RepositoryRef): Promise<Readonly<Record<string, string>>> {
    this.calls.getTags += 1;
    return attempt(() => {
      this.throwPending('failNextTags');
      return { ...this.existing(repository).tags };
    });
  }

  private throwPending(hook: 'failNextGet' | 'failNextSet' | 'failNextTags'): void {
    const error = this[hook];
    if (error === undefined) return;
    this[hook] = undefined;
    throw error;
  }

  private existing(repository: RepositoryKey): InMemoryRepository {
    const found = this.repositories.get(keyOf(repository));
    if (found === undefined) {
      throw new RepositoryNotFoundError({
        partition: partitionOfRegion(repository.region),
        ...repository,
      });
    }
    return found;
  }
}

/** Runs `fn` as an async operation: a throw becomes a rejection, as it would over the network. */
function attempt<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

/** What ECR would reject about a policy text (roughly: moto validates the IAM grammar further), or null. */
function policyProblem(policyText: string): string | null {
  const invalid = "Invalid parameter at 'PolicyText' failed to satisfy constraint:";
  if (policyText.length > MAX_POLICY_LENGTH) {
    return `${invalid} 'Member must have length less than or equal to ${MAX_POLICY_LENGTH}'`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(policyText);
  } catch {
    return `${invalid} 'Invalid repository policy provided'`;
  }
  if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed)) {
    return `${invalid} 'Invalid repository policy provided'`;
  }
  return null;
}

/** Records every published message; `failNext` makes the next publishes fail like an SNS outage. */
export class InMemoryNotifier implements Notifier {
  readonly messages: NotificationMessage[] = [];
  /** Publish calls, failed ones included. */
  calls = 0;
  private failuresLeft = 0;
  private failure: Error | undefined;

  /** The next `times` publishes throw `error` (default: a plain Error naming SNS). */
  failNext(times = 1, error?: Error): void {
    this.failuresLeft = times;
    this.failure = error;
  }

  publish(message: NotificationMessage): Promise<string> {
    this.calls += 1;
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      return Promise.reject(this.failure ?? new Error('SNS Publish failed (simulated).'));
    }
    this.messages.push(message);
    return Promise.resolve(`in-memory-message-${this.messages.length}`);
  }
}

/** TransactWriteItems' limit on actions per call, which the stand-in applies the same way. */
const TRANSACTION_ITEMS = 100;

/**
 * The audit table as a map, keyed like the DynamoDB table (repository ARN, event time and id), with the same
 * conditional semantics as `DynamoDbAuditLog` (each call of 100 writes is all-or-nothing; the writes that did not cause
 * a cancellation are sent again; a duplicate key in one call is rejected). The integration tests check the two against
 * each other on moto_server.
 */
export class InMemoryAuditLog implements AuditLog {
  /** Calls of each operation (a `write` counts once per 100-write transaction), for tests and benchmarks. */
  readonly calls = { transactions: 0, markNotified: 0, markAnnounced: 0, find: 0, list: 0 };
  /** Thrown by the next `write` call (nothing is written), then cleared. */
  failNextWrite?: Error;
  /** Runs at the start of each `write` call: a test can change the table here, as a concurrent writer would. */
  beforeWrite?: (writes: readonly AuditWrite[]) => void | Promise<void>;
  private readonly entries = new Map<string, AuditRecord>();

  /** Every record, in the order first written. */
  get records(): readonly AuditRecord[] {
    return [...this.entries.values()].map((record) => ({ ...record }));
  }

  /** Writes a record unconditionally, as another tool (or an older version) would. */
  put(record: AuditRecord): void {
    this.entries.set(auditKey(record), { ...record });
  }

  async write(writes: readonly AuditWrite[]): Promise<AuditWriteResult[]> {
    await this.beforeWrite?.(writes);
    const failure = this.failNextWrite;
    if (failure !== undefined) {
      this.failNextWrite = undefined;
      throw failure;
    }
    const results: AuditWriteResult[] = [];
    for (let start = 0; start < writes.length; start += TRANSACTION_ITEMS) {
      results.push(...this.transaction(writes.slice(start, start + TRANSACTION_ITEMS)));
    }
    return results;
  }

  /** One call: all-or-nothing, then again without the writes whose condition failed (as the DynamoDB adapter does). */
  private transaction(writes: readonly AuditWrite[]): AuditWriteResult[] {
    const keys = writes.map((write) => auditKey(write.record));
    if (new Set(keys).size !== keys.length) {
      // DynamoDB's ValidationException for the same item twice in one transaction.
      throw new Error('Transaction request cannot include multiple operations on one item');
    }
    const results: (AuditWriteResult | undefined)[] = writes.map(() => undefined);
    let pending = writes.map((_, index) => index);
    while (pending.length > 0) {
      this.calls.transactions += 1;
      const failing = pending.filter((index) => {
        const write = writes[index] as AuditWrite;
        return !auditConditionHolds(write, this.entries.get(keys[index] as string));
      });
      if (failing.length === 0) {
        for (const index of pending) {
          this.entries.set(keys[index] as string, { ...(writes[index] as AuditWrite).record });
          results[index] = { status: 'written' };
        }
        return results as AuditWriteResult[];
      }
      for (const index of failing) {
        const existing = this.entries.get(keys[index] as string);
        results[index] = {
          status: 'conflict',
          existing: existing === undefined ? null : { ...existing },
        };
      }
      pending = pending.filter((index) => !failing.includes(index));
    }
    return results as AuditWriteResult[];
  }

  markNotified(key: AuditKey, notifiedAt: string, notificationId: string): Promise<boolean> {
    this.calls.markNotified += 1;
    const found = this.entries.get(auditKey(key));
    if (found === undefined || found.state !== 'applied' || found.notifiedAt !== null) {
      return Promise.resolve(false);
    }
    this.entries.set(auditKey(key), { ...found, notifiedAt, notificationId });
    return Promise.resolve(true);
  }

  markAnnounced(key: AuditKey, announcedAt: string): Promise<boolean> {
    this.calls.markAnnounced += 1;
    const found = this.entries.get(auditKey(key));
    if (
      found === undefined ||
      found.state !== 'applied' ||
      found.kind !== 'revoke' ||
      (found.announcedAt ?? null) !== null
    ) {
      return Promise.resolve(false);
    }
    this.entries.set(auditKey(key), { ...found, announcedAt });
    return Promise.resolve(true);
  }

  find(key: AuditKey): Promise<AuditRecord | null> {
    this.calls.find += 1;
    const found = this.entries.get(auditKey(key));
    return Promise.resolve(found === undefined ? null : { ...found });
  }

  list(filter: AuditFilter): Promise<AuditRecord[]> {
    this.calls.list += 1;
    return Promise.resolve(
      [...this.entries.values()]
        .filter(
          (record) =>
            (filter.repositoryArn === undefined || record.repositoryArn === filter.repositoryArn) &&
            (filter.consumerAccount === undefined ||
              record.consumerAccount === filter.consumerAccount) &&
            (filter.since === undefined || record.decidedAt >= filter.since) &&
            (filter.unsettled !== true || unsettled(record))
        )
        .map((record) => ({ ...record }))
    );
  }
}

/** The `unsettled` filter of `AuditLog.list`: what the DynamoDB adapter's filter expression keeps. */
function unsettled(record: AuditRecord): boolean {
  return (
    record.state === 'intent' ||
    record.state === 'failed' ||
    (record.state === 'applied' && record.notifiedAt === null)
  );
}

/** Whether a conditional write may be made over `existing` (the rules of `AuditWrite`, ports.ts). */
export function auditConditionHolds(write: AuditWrite, existing: AuditRecord | undefined): boolean {
  switch (write.kind) {
    case 'intent':
      return (
        existing === undefined ||
        existing.state === 'recorded' ||
        existing.state === 'failed' ||
        (existing.state === 'intent' &&
          (existing.owner === write.record.owner || existing.updatedAt < write.staleBefore))
      );
    case 'decision':
      return existing === undefined || existing.state === 'recorded';
    case 'replace':
      return (
        existing !== undefined &&
        existing.state === write.expected.state &&
        existing.owner === write.expected.owner &&
        existing.updatedAt === write.expected.updatedAt
      );
  }
}

/** Repository leases in memory, with the same rules as the DynamoDB ones. */
export class InMemoryRepositoryLocks implements RepositoryLocks {
  /** Calls of each operation, for tests and benchmarks. */
  readonly calls = { tryAcquire: 0, release: 0 };
  private readonly leases = new Map<string, { owner: string; until: number }>();

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  tryAcquire(repositoryArn: string, owner: string, leaseMs: number): Promise<boolean> {
    this.calls.tryAcquire += 1;
    const now = this.clock.now().getTime();
    const held = this.leases.get(repositoryArn);
    if (held !== undefined && held.owner !== owner && held.until > now)
      return Promise.resolve(false);
    this.leases.set(repositoryArn, { owner, until: now + leaseMs });
    return Promise.resolve(true);
  }

  release(repositoryArn: string, owner: string): Promise<void> {
    this.calls.release += 1;
    if (this.leases.get(repositoryArn)?.owner === owner) this.leases.delete(repositoryArn);
    return Promise.resolve();
  }
}

function auditKey(key: AuditKey): string {
  return `${key.repositoryArn}\n${key.eventTime}#${key.eventId}`;
}

export interface InMemoryFunction {
  readonly account: string;
  readonly region: string;
  readonly functionName: string;
  readonly imageUri: string | null;
}

/** Functions of several accounts; reaching another account needs access like the real lookup's member role. */
export class InMemoryFunctionLookup implements FunctionLookup {
  /** The session names `getFunction` received, in order. */
  readonly sessionNames: string[] = [];
  private readonly functions = new Map<string, InMemoryFunction>();

  constructor(private readonly access?: { assertAccess(account: string, region: string): void }) {}

  addFunction(fn: InMemoryFunction): void {
    this.functions.set(`${fn.account}/${fn.region}/${fn.functionName}`, fn);
  }

  getFunction(
    input: { readonly functionName: string; readonly region: string; readonly account: string },
    sessionName: string
  ): Promise<{ functionArn: string; imageUri: string | null } | null> {
    this.sessionNames.push(sessionName);
    return attempt(() => {
      this.access?.assertAccess(input.account, input.region);
      const name = bareFunctionName(input.functionName);
      const fn = this.functions.get(`${input.account}/${input.region}/${name}`);
      if (fn === undefined) return null;
      const partition = partitionOfRegion(fn.region);
      return {
        functionArn: `arn:${partition}:lambda:${fn.region}:${fn.account}:function:${fn.functionName}`,
        imageUri: fn.imageUri,
      };
    });
  }
}

/**
 * The function name in any form GetFunction accepts: `name`, `name:qualifier`, `ACCOUNT:function:name`,
 * `arn:…:function:name[:qualifier]`.
 */
export function bareFunctionName(functionName: string): string {
  const parts = functionName.split(':');
  const at = parts.indexOf('function');
  return (at >= 0 ? parts[at + 1] : parts[0]) ?? functionName;
}

/** A clock for tests and the demo: time moves only when told (or by `sleep`, which returns at once). */
export class FixedClock implements Clock {
  /** Every `sleep` duration, in order. */
  readonly sleeps: number[] = [];
  private current: number;
  private randomIndex = 0;
  private readonly randomValues: readonly number[];

  /** `randomValues` are returned by `random()` in turn, cycling; each must be in [0, 1). */
  constructor(
    start: Date | string = '2026-01-01T00:00:00.000Z',
    randomValues: readonly number[] = [0.5]
  ) {
    this.current = new Date(start).getTime();
    if (Number.isNaN(this.current))
      throw new Error(`FixedClock: invalid start time ${String(start)}.`);
    if (randomValues.length === 0 || randomValues.some((value) => !(value >= 0 && value < 1))) {
      throw new Error('FixedClock: randomValues must be a non-empty list of numbers in [0, 1).');
    }
    this.randomValues = randomValues;
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves time forward. */
  advance(ms: number): void {
    this.current += ms;
  }

  set(time: Date | string): void {
    this.current = new Date(time).getTime();
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
    return Promise.resolve();
  }

  random(): number {
    const value = this.randomValues[this.randomIndex % this.randomValues.length] ?? 0;
    this.randomIndex += 1;
    return value;
  }
}
