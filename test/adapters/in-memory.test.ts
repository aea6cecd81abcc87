import type { NotificationMessage, RepositoryRef } from '../../lambda/application/ports';
import {
  InvalidPolicyError,
  RegistryRoleUnavailableError,
  RepositoryNotFoundError,
} from '../../lambda/application/errors';
import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryFunctionLookup,
  InMemoryNotifier,
  InMemoryRegistry,
  auditConditionHolds,
  bareFunctionName,
} from '../../lambda/adapters/in-memory';
import { runAuditLogScript } from '../support/audit-log-contract';
import { BARE_RECORD, FIXED_RECORD } from '../support/audit-records';
import { SystemClock, systemClock } from '../../lambda/adapters/system-clock';

const FIXER = '999999999999';
const REGISTRY = '111111111111';
const repository: RepositoryRef = {
  partition: 'aws',
  region: 'eu-west-1',
  registryAccount: REGISTRY,
  repositoryName: 'platform/payments-worker',
};
const policy = (sid: string): string =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow' }] });

describe('InMemoryRegistry', () => {
  let registry: InMemoryRegistry;
  beforeEach(() => {
    registry = new InMemoryRegistry({ fixerAccountId: FIXER, accountsWithRole: [REGISTRY] });
    registry.addRepository(repository, { tags: { team: 'platform' } });
  });

  it('reads null for a repository without a policy, and the exact text after a write', async () => {
    const store = await registry.storeFor(repository, 'session-1');

    await expect(store.getPolicy(repository)).resolves.toBeNull();
    await expect(store.setPolicy(repository, policy('A'))).resolves.toBe(policy('A'));
    await expect(store.getPolicy(repository)).resolves.toBe(policy('A'));
    expect(registry.writes).toStrictEqual([{ repository, policyText: policy('A') }]);
    expect(registry.calls).toStrictEqual({
      storeFor: 1,
      getPolicy: 2,
      setPolicy: 1,
      deletePolicy: 0,
      getTags: 0,
    });
    expect(registry.sessionNames).toStrictEqual(['session-1']);
  });

  it('refuses to use a store for another account or region, as a real client could not', async () => {
    const store = await registry.storeFor(repository, 's');
    const other = { ...repository, region: 'us-east-1' };

    await expect(store.getPolicy(other)).rejects.toThrow(
      'Store opened for 111111111111/eu-west-1 used for 111111111111/us-east-1.'
    );
    await expect(store.setPolicy({ ...repository, registryAccount: FIXER }, '{}')).rejects.toThrow(
      'Store opened for'
    );
    await expect(store.getTags(other)).rejects.toThrow('Store opened for');
    expect(registry.calls).toMatchObject({ getPolicy: 0, setPolicy: 0, getTags: 0 });
  });

  it('returns tags as a copy', async () => {
    const store = await registry.storeFor(repository, 's');
    const tags = await store.getTags(repository);

    expect(tags).toStrictEqual({ team: 'platform' });
    expect(tags).not.toBe(registry.repository(repository)?.tags);
  });

  it('opens the fixer’s own account without the member role', async () => {
    const own = { ...repository, registryAccount: FIXER };
    registry.addRepository(own, { policyText: policy('Own') });

    const store = await registry.storeFor(own, 's');

    await expect(store.getPolicy(own)).resolves.toBe(policy('Own'));
  });

  it('refuses an account without the member role like STS would', async () => {
    const elsewhere = { ...repository, registryAccount: '333333333333', region: 'cn-north-1' };

    const error = await registry.storeFor(elsewhere, 's').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistryRoleUnavailableError);
    expect((error as Error).message).toContain(
      'arn:aws-cn:iam::333333333333:role/LambdaEcrAutofixRegistryAccess'
    );
    expect(registry.calls.storeFor).toBe(1);
  });

  it('uses the configured role name and reaches nobody by default', async () => {
    const bare = new InMemoryRegistry({ registryRoleName: 'Custom' });

    await expect(bare.storeFor(repository, 's')).rejects.toThrow(
      'arn:aws:iam::111111111111:role/Custom'
    );
  });

  it('throws RepositoryNotFoundError for a missing repository on every operation', async () => {
    const missing = { ...repository, repositoryName: 'nope' };
    const store = await registry.storeFor(missing, 's');

    await expect(store.getPolicy(missing)).rejects.toBeInstanceOf(RepositoryNotFoundError);
    await expect(store.setPolicy(missing, policy('A'))).rejects.toBeInstanceOf(
      RepositoryNotFoundError
    );
    await expect(store.getTags(missing)).rejects.toBeInstanceOf(RepositoryNotFoundError);
    expect(() => registry.putPolicy(missing, null)).toThrow(RepositoryNotFoundError);
  });

  it.each([
    ['text that is not JSON', 'not json', "'Invalid repository policy provided'"],
    ['JSON without statements', '{"Version":"2012-10-17"}', "'Invalid repository policy provided'"],
    ['JSON that is not an object', '[]', "'Invalid repository policy provided'"],
    [
      'a policy over 10,240 characters',
      JSON.stringify({ Statement: [], Pad: 'x'.repeat(10_240) }),
      'less than or equal to 10240',
    ],
  ])('rejects %s as ECR would, and writes nothing', async (_, text, detail) => {
    registry.putPolicy(repository, policy('Before'));
    const store = await registry.storeFor(repository, 's');

    const error = await store.setPolicy(repository, text).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidPolicyError);
    expect((error as Error).message).toContain(detail);
    expect(registry.repository(repository)?.policyText).toBe(policy('Before'));
    expect(registry.writes).toHaveLength(0);
  });

  it('plays a concurrent writer between our read and our write: last writer wins', async () => {
    registry.putPolicy(repository, policy('Original'));
    const seen: string[] = [];
    registry.beforeSet = (ref, text) => {
      seen.push(text);
      registry.putPolicy(ref, policy('Concurrent'));
    };
    const store = await registry.storeFor(repository, 's');

    const before = await store.getPolicy(repository);
    await store.setPolicy(repository, policy('Ours'));

    expect(before).toBe(policy('Original'));
    expect(seen).toStrictEqual([policy('Ours')]);
    await expect(store.getPolicy(repository)).resolves.toBe(policy('Ours'));
  });

  it('plays a concurrent writer right after our read', async () => {
    registry.putPolicy(repository, policy('Original'));
    registry.afterGet = (ref, read) => {
      registry.afterGet = undefined;
      expect(read).toBe(policy('Original'));
      registry.putPolicy(ref, policy('Theirs'));
    };
    const store = await registry.storeFor(repository, 's');

    await expect(store.getPolicy(repository)).resolves.toBe(policy('Original'));
    await expect(store.getPolicy(repository)).resolves.toBe(policy('Theirs'));
  });

  it('plays a concurrent writer that replaces our policy before we re-read it', async () => {
    registry.afterSet = async (ref, stored) => {
      await Promise.resolve();
      expect(stored).toBe(policy('Ours'));
      registry.putPolicy(ref, policy('Theirs'));
    };
    const store = await registry.storeFor(repository, 's');

    await expect(store.setPolicy(repository, policy('Ours'))).resolves.toBe(policy('Ours'));

    await expect(store.getPolicy(repository)).resolves.toBe(policy('Theirs'));
    expect(registry.writes.map((w) => w.policyText)).toStrictEqual([policy('Ours')]);
  });

  it('fails the next call of each operation once when told to', async () => {
    const store = await registry.storeFor(repository, 's');
    registry.failNextGet = new Error('get failed');
    registry.failNextSet = new Error('set failed');
    registry.failNextTags = new Error('tags failed');

    await expect(store.getPolicy(repository)).rejects.toThrow('get failed');
    await expect(store.setPolicy(repository, policy('A'))).rejects.toThrow('set failed');
    await expect(store.getTags(repository)).rejects.toThrow('tags failed');
    expect(registry.repository(repository)?.policyText).toBeNull();

    await expect(store.getPolicy(repository)).resolves.toBeNull();
    await expect(store.setPolicy(repository, policy('A'))).resolves.toBe(policy('A'));
    await expect(store.getTags(repository)).resolves.toStrictEqual({ team: 'platform' });
    expect(registry.calls).toMatchObject({ getPolicy: 2, setPolicy: 2, getTags: 2 });
  });

  it('can store policies reformatted, as a real registry may', async () => {
    const pretty = new InMemoryRegistry({
      accountsWithRole: [REGISTRY],
      storedForm: (text) => JSON.stringify(JSON.parse(text), null, 2),
    });
    pretty.addRepository(repository);
    const store = await pretty.storeFor(repository, 's');

    const stored = await store.setPolicy(repository, policy('A'));

    expect(stored).toBe(JSON.stringify(JSON.parse(policy('A')), null, 2));
    await expect(store.getPolicy(repository)).resolves.toBe(stored);
  });

  it('can change which accounts have the role', async () => {
    registry.accountsWithRole.delete(REGISTRY);

    await expect(registry.storeFor(repository, 's')).rejects.toBeInstanceOf(
      RegistryRoleUnavailableError
    );
  });
});

describe('InMemoryNotifier', () => {
  const message: NotificationMessage = {
    subject: 'subject',
    message: 'body',
    attributes: {
      outcome: 'fix',
      reason: 'repository-policy-missing-grant',
      consumerAccount: '2',
      repository: 'r',
    },
  };

  it('records messages and returns distinct ids', async () => {
    const notifier = new InMemoryNotifier();

    const ids = [await notifier.publish(message), await notifier.publish(message)];

    expect(new Set(ids).size).toBe(2);
    expect(notifier.messages).toStrictEqual([message, message]);
  });

  it('fails the next N publishes, then works again', async () => {
    const notifier = new InMemoryNotifier();
    notifier.failNext(2);

    await expect(notifier.publish(message)).rejects.toThrow('SNS Publish failed (simulated).');
    await expect(notifier.publish(message)).rejects.toThrow('SNS Publish failed (simulated).');
    await expect(notifier.publish(message)).resolves.toBe('in-memory-message-1');
    expect(notifier.calls).toBe(3);
    expect(notifier.messages).toHaveLength(1);
  });

  it('fails with the given error', async () => {
    const notifier = new InMemoryNotifier();
    const failure = new Error('KMS key disabled');
    notifier.failNext(1, failure);

    await expect(notifier.publish(message)).rejects.toBe(failure);
  });
});

describe('InMemoryAuditLog', () => {
  it('follows the conditional rules of the audit log (the same script runs against DynamoDB on moto_server)', async () => {
    const log = new InMemoryAuditLog();

    const transcript = await runAuditLogScript(log, () => Promise.resolve(log.records));

    expect(transcript.slice(0, -1)).toStrictEqual([
      { step: 'first writes', result: ['written', 'written', 'written'] },
      { step: 'a decision never replaces an intent', result: [{ conflict: 'intent/A' }] },
      { step: "another run's live intent stays", result: [{ conflict: 'intent/A' }] },
      { step: 'the owner may write its intent again', result: ['written'] },
      { step: 'a stale expectation does not replace', result: [{ conflict: 'intent/A' }] },
      { step: 'the owner completes its intent', result: ['written'] },
      { step: 'an intent never replaces an applied record', result: [{ conflict: 'applied/A' }] },
      { step: 'a decision never replaces an applied record', result: [{ conflict: 'applied/A' }] },
      { step: 'marks the notice sent once', result: [true, false, false, false] },
      { step: 'decisions and intents replace recorded decisions', result: ['written', 'written'] },
      { step: 'the intent fails', result: ['written'] },
      { step: 'a decision never replaces a failed write', result: [{ conflict: 'failed/B' }] },
      { step: 'an intent replaces a failed write', result: ['written'] },
      { step: 'a replace of a missing record', result: [{ conflict: null }] },
      { step: 'a dead run’s intent', result: ['written'] },
      { step: 'is taken over once stale', result: ['written'] },
      {
        step: 'one conflict in a call does not stop the others',
        result: ['written', { conflict: 'applied/A' }, 'written'],
      },
      { step: 'a key twice in one call is refused', result: { rejected: 'duplicate key' } },
      { step: 'more than one transaction’s worth', result: ['written'] },
      {
        step: 'an applied write whose notice is still owed, and a write failed in flight',
        result: ['written', 'written', 'written', 'written'],
      },
      {
        step: 'lists the unsettled records (intents, failed writes, notices owed)',
        result: ['k10/applied', 'k11/failed', 'k3/intent', 'k6/intent'],
      },
      { step: 'finds', result: ['message-1', null] },
    ]);
    expect(log.calls.transactions).toBeGreaterThan(0);
  });

  it('counts one transaction per 100 writes, plus one per resubmission after a cancellation', async () => {
    const log = new InMemoryAuditLog();
    const base = { ...FIXED_RECORD, state: 'recorded' as const };

    await log.write(
      Array.from({ length: 130 }, (_, i) => ({
        kind: 'decision',
        record: { ...base, eventId: `e${i}` },
      }))
    );
    const afterBulk = log.calls.transactions;
    await log.write([
      { kind: 'decision', record: { ...base, eventId: 'new' } },
      {
        kind: 'intent',
        record: { ...base, eventId: 'e1', state: 'intent' },
        staleBefore: base.updatedAt,
      },
    ]);

    expect(afterBulk).toBe(2);
    expect(log.calls.transactions).toBe(3);
  });

  it('keeps what it was given: changing a returned record changes nothing stored', async () => {
    const log = new InMemoryAuditLog();
    log.put({ ...FIXED_RECORD });

    const found = (await log.find(FIXED_RECORD)) as { state: string };
    found.state = 'failed';

    expect(log.records[0]?.state).toBe('applied');
    expect(log.calls.find).toBe(1);
  });

  it('fails the next write on request, writing nothing', async () => {
    const log = new InMemoryAuditLog();
    log.failNextWrite = new Error('throttled');

    await expect(log.write([{ kind: 'decision', record: BARE_RECORD }])).rejects.toThrow(
      'throttled'
    );
    await expect(log.write([{ kind: 'decision', record: BARE_RECORD }])).resolves.toStrictEqual([
      { status: 'written' },
    ]);
  });
});

describe('auditConditionHolds', () => {
  it('never lets a write replace an applied record except an exact replace', () => {
    const applied = { ...FIXED_RECORD };
    const staleBefore = '2099-01-01T00:00:00.000Z';

    expect(
      auditConditionHolds(
        { kind: 'intent', record: { ...applied, owner: 'x' }, staleBefore },
        applied
      )
    ).toBe(false);
    expect(auditConditionHolds({ kind: 'intent', record: applied, staleBefore }, applied)).toBe(
      false
    );
    expect(auditConditionHolds({ kind: 'decision', record: applied }, applied)).toBe(false);
    expect(
      auditConditionHolds(
        {
          kind: 'replace',
          record: applied,
          expected: { state: 'applied', owner: applied.owner, updatedAt: applied.updatedAt },
        },
        applied
      )
    ).toBe(true);
  });
});

describe('InMemoryFunctionLookup', () => {
  const fn = {
    account: '222222222222',
    region: 'eu-west-1',
    functionName: 'payments-worker',
    imageUri: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:1',
  };

  it.each([
    'payments-worker',
    'payments-worker:live',
    '222222222222:function:payments-worker',
    'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
    'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker:7',
  ])('finds the function named %s', async (functionName) => {
    const lookup = new InMemoryFunctionLookup();
    lookup.addFunction(fn);

    await expect(
      lookup.getFunction({ functionName, region: 'eu-west-1', account: '222222222222' }, 's')
    ).resolves.toStrictEqual({
      functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
      imageUri: fn.imageUri,
    });
    expect(lookup.sessionNames).toStrictEqual(['s']);
  });

  it('returns null for an unknown function, region or account', async () => {
    const lookup = new InMemoryFunctionLookup();
    lookup.addFunction(fn);

    for (const input of [
      { functionName: 'other', region: 'eu-west-1', account: '222222222222' },
      { functionName: 'payments-worker', region: 'us-east-1', account: '222222222222' },
      { functionName: 'payments-worker', region: 'eu-west-1', account: '333333333333' },
    ]) {
      await expect(lookup.getFunction(input, 's')).resolves.toBeNull();
    }
  });

  it('needs the member role in the function’s account when given a registry', async () => {
    const registry = new InMemoryRegistry({ fixerAccountId: FIXER });
    const lookup = new InMemoryFunctionLookup(registry);
    lookup.addFunction(fn);

    await expect(
      lookup.getFunction(
        { functionName: 'payments-worker', region: 'eu-west-1', account: '222222222222' },
        's'
      )
    ).rejects.toBeInstanceOf(RegistryRoleUnavailableError);

    registry.accountsWithRole.add('222222222222');
    await expect(
      lookup.getFunction(
        { functionName: 'payments-worker', region: 'eu-west-1', account: '222222222222' },
        's'
      )
    ).resolves.not.toBeNull();
  });

  it('reads bare names out of every form', () => {
    expect(bareFunctionName('arn:aws-cn:lambda:cn-north-1:1:function:f:$LATEST')).toBe('f');
    expect(bareFunctionName('f')).toBe('f');
  });
});

describe('FixedClock', () => {
  it('stands still until advanced, set or slept', async () => {
    const clock = new FixedClock('2026-03-01T12:00:00.000Z');

    expect(clock.now().toISOString()).toBe('2026-03-01T12:00:00.000Z');
    clock.advance(1_500);
    expect(clock.now().toISOString()).toBe('2026-03-01T12:00:01.500Z');
    await clock.sleep(250);
    expect(clock.now().toISOString()).toBe('2026-03-01T12:00:01.750Z');
    clock.set(new Date('2027-01-01T00:00:00.000Z'));
    expect(clock.now().toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(clock.sleeps).toStrictEqual([250]);
  });

  it('returns a copy of the current time', () => {
    const clock = new FixedClock();
    const now = clock.now();
    now.setFullYear(1999);

    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('cycles through the given random values', () => {
    const clock = new FixedClock(undefined, [0.1, 0.9]);

    expect([clock.random(), clock.random(), clock.random()]).toStrictEqual([0.1, 0.9, 0.1]);
    expect(new FixedClock().random()).toBe(0.5);
  });

  it.each([[[]], [[1]], [[-0.1]], [[Number.NaN]]])('rejects random values %j', (values) => {
    expect(() => new FixedClock(undefined, values)).toThrow('randomValues must be');
  });

  it('rejects an invalid start', () => {
    expect(() => new FixedClock('yesterday')).toThrow('FixedClock: invalid start time yesterday.');
  });
});

describe('systemClock', () => {
  it('tells the real time, really sleeps and draws from [0, 1)', async () => {
    expect(systemClock).toBeInstanceOf(SystemClock);
    const before = Date.now();

    await systemClock.sleep(20);

    const now = systemClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before + 15);
    const value = systemClock.random();
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThan(1);
  });
});
