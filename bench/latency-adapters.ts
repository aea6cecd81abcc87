/**
 * The in-memory stand-ins of the AWS ports, made to behave like AWS for the burst benchmark: every call is counted by
 * its AWS operation and takes a realistic 20–40 ms. Credentials are cached per account as StsRegistryAccess caches them.
 */
import type {
  AuditFilter,
  AuditKey,
  AuditLog,
  AuditRecord,
  AuditWrite,
  AuditWriteResult,
  NotificationMessage,
  Notifier,
  RegistryAccess,
  RepositoryLocks,
  RepositoryPolicyStore,
  RepositoryRef,
} from '../lambda/application/ports';
import type {
  InMemoryAuditLog,
  InMemoryRegistry,
  InMemoryRepositoryLocks,
} from '../lambda/adapters/in-memory';

export type Operation =
  | 'lambda:ListFunctions'
  | 'lambda:GetFunction'
  | 'sts:AssumeRole'
  | 'ecr:GetRepositoryPolicy'
  | 'ecr:SetRepositoryPolicy'
  | 'ecr:DeleteRepositoryPolicy'
  | 'ecr:ListTagsForResource'
  | 'sns:Publish'
  | 'dynamodb:TransactWriteItems'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:GetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:DeleteItem';

/** Counts AWS calls and adds latency; one per benchmark run, shared by every simulated container. */
export class SimulatedAws {
  readonly calls = new Map<Operation, number>();
  /** SetRepositoryPolicy calls per repository ARN. */
  readonly writes = new Map<string, number>();
  /** The simulated latency of every call, summed per operation (ms). */
  readonly latencyMs = new Map<Operation, number>();
  private seed: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    seed = 42
  ) {
    this.seed = seed;
  }

  /** One AWS call: counted, then a uniform 20–40 ms (seeded) wait. */
  async call(operation: Operation): Promise<void> {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    const latency = this.minMs + this.random() * (this.maxMs - this.minMs);
    this.latencyMs.set(operation, (this.latencyMs.get(operation) ?? 0) + latency);
    await new Promise((resolve) => setTimeout(resolve, latency));
  }

  total(): number {
    return [...this.calls.values()].reduce((sum, n) => sum + n, 0);
  }

  private random(): number {
    // mulberry32: a tiny deterministic generator, so runs are comparable.
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A container's registry access: AssumeRole once per account (cached), then ECR calls with latency. */
export class SimulatedRegistry implements RegistryAccess {
  /** SetRepositoryPolicy calls of this container per repository ARN, since the last `resetBatch`. */
  readonly batchWrites = new Map<string, number>();
  private readonly assumed = new Set<string>();

  /** Starts counting the writes of a new batch (invocation). */
  resetBatch(): void {
    this.batchWrites.clear();
  }

  constructor(
    private readonly aws: SimulatedAws,
    private readonly registry: InMemoryRegistry,
    private readonly fixerAccount: string
  ) {}

  async storeFor(repository: RepositoryRef, sessionName: string): Promise<RepositoryPolicyStore> {
    if (
      repository.registryAccount !== this.fixerAccount &&
      !this.assumed.has(repository.registryAccount)
    ) {
      await this.aws.call('sts:AssumeRole');
      this.assumed.add(repository.registryAccount);
    }
    const store = await this.registry.storeFor(repository, sessionName);
    const aws = this.aws;
    const batchWrites = this.batchWrites;
    return {
      async getPolicy(ref) {
        await aws.call('ecr:GetRepositoryPolicy');
        return store.getPolicy(ref);
      },
      async setPolicy(ref, text) {
        await aws.call('ecr:SetRepositoryPolicy');
        const arn = `arn:${ref.partition}:ecr:${ref.region}:${ref.registryAccount}:repository/${ref.repositoryName}`;
        aws.writes.set(arn, (aws.writes.get(arn) ?? 0) + 1);
        batchWrites.set(arn, (batchWrites.get(arn) ?? 0) + 1);
        return store.setPolicy(ref, text);
      },
      async deletePolicy(ref) {
        await aws.call('ecr:DeleteRepositoryPolicy');
        return store.deletePolicy(ref);
      },
      async getTags(ref) {
        await aws.call('ecr:ListTagsForResource');
        return store.getTags(ref);
      },
    };
  }
}

export class SimulatedNotifier implements Notifier {
  /** FIXED notices published (outcome `fix`). */
  fixedNotices = 0;
  private sent = 0;

  constructor(private readonly aws: SimulatedAws) {}

  async publish(message: NotificationMessage): Promise<string> {
    await this.aws.call('sns:Publish');
    this.sent += 1;
    if (message.attributes.outcome === 'fix') this.fixedNotices += 1;
    return `message-${this.sent}`;
  }
}

/** The audit table: one TransactWriteItems per transaction the stand-in runs, UpdateItem and GetItem. */
export class SimulatedAuditLog implements AuditLog {
  constructor(
    private readonly aws: SimulatedAws,
    private readonly log: InMemoryAuditLog
  ) {}

  async write(writes: readonly AuditWrite[]): Promise<AuditWriteResult[]> {
    if (writes.length === 0) return [];
    // The first call's latency comes before the write takes effect; a resubmission after a cancellation costs another.
    await this.aws.call('dynamodb:TransactWriteItems');
    const before = this.log.calls.transactions;
    const results = await this.log.write(writes);
    for (let call = before + 1; call < this.log.calls.transactions; call++) {
      await this.aws.call('dynamodb:TransactWriteItems');
    }
    return results;
  }

  async markNotified(key: AuditKey, notifiedAt: string, notificationId: string): Promise<boolean> {
    await this.aws.call('dynamodb:UpdateItem');
    return this.log.markNotified(key, notifiedAt, notificationId);
  }

  async markAnnounced(key: AuditKey, announcedAt: string): Promise<boolean> {
    await this.aws.call('dynamodb:UpdateItem');
    return this.log.markAnnounced(key, announcedAt);
  }

  async find(key: AuditKey): Promise<AuditRecord | null> {
    await this.aws.call('dynamodb:GetItem');
    return this.log.find(key);
  }

  async list(filter: AuditFilter): Promise<AuditRecord[]> {
    await this.aws.call('dynamodb:Query');
    return this.log.list(filter);
  }
}

export class SimulatedLocks implements RepositoryLocks {
  constructor(
    private readonly aws: SimulatedAws,
    private readonly locks: InMemoryRepositoryLocks
  ) {}

  async tryAcquire(repositoryArn: string, owner: string, leaseMs: number): Promise<boolean> {
    await this.aws.call('dynamodb:PutItem');
    return this.locks.tryAcquire(repositoryArn, owner, leaseMs);
  }

  async release(repositoryArn: string, owner: string): Promise<void> {
    await this.aws.call('dynamodb:DeleteItem');
    return this.locks.release(repositoryArn, owner);
  }
}
