import { InMemoryFunctionInventory } from '../../lambda/adapters/in-memory-functions';
import { InMemoryRegistry } from '../../lambda/adapters/in-memory';
import { createLimiter } from '../../lambda/application/concurrency';
import type { ScanProgress } from '../../lambda/application/scanner';
import { Scanner } from '../../lambda/application/scanner';
import type { FunctionInventory } from '../../lambda/application/scan-ports';
import { parseConfig } from '../../lambda/domain/config';
import type { ScannedFunction } from '../../lambda/domain/scan-call';
import {
  CONFIG,
  DENY_LAMBDA_POLICY,
  SCAN_CONTEXT,
  grantedPolicy,
  makeFunction,
} from '../support/scan';

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';

function fnOn(
  name: string,
  registry: string,
  repository: string,
  extra: Partial<ScannedFunction> = {}
) {
  return makeFunction({
    functionName: name,
    imageUri: `${registry}.dkr.ecr.${REGION}.amazonaws.com/${repository}:1`,
    resolvedImageUri: null,
    ...extra,
  });
}

let registry: InMemoryRegistry;
let inventory: InMemoryFunctionInventory;

function scanner(concurrency = 4, progress?: (p: ScanProgress) => void, config = CONFIG): Scanner {
  return new Scanner({
    config,
    registry,
    limiter: createLimiter(concurrency),
    context: SCAN_CONTEXT,
    sessionName: 'lambda-ecr-autofix-scan-test',
    ...(progress === undefined ? {} : { progress }),
  });
}

function statusesOf(
  entries: readonly { finding: { functionName: string; status: string; reason: string } }[]
) {
  return Object.fromEntries(
    entries.map(({ finding }) => [finding.functionName, `${finding.status} ${finding.reason}`])
  );
}

beforeEach(() => {
  registry = new InMemoryRegistry({ fixerAccountId: ACCOUNT, accountsWithRole: ['111111111111'] });
  inventory = new InMemoryFunctionInventory(ACCOUNT, REGION, 2);
});

describe('Scanner.scanRegion', () => {
  it('decides every image function, reading each repository once and tags only where a fix is in question', async () => {
    const shared = {
      registryAccount: '111111111111',
      region: REGION,
      repositoryName: 'platform/shared',
    };
    const own = { registryAccount: ACCOUNT, region: REGION, repositoryName: 'orders-api' };
    const guarded = { registryAccount: ACCOUNT, region: REGION, repositoryName: 'guarded' };
    const a = fnOn('a', '111111111111', 'platform/shared');
    registry.addRepository(shared, { policyText: grantedPolicy(a) });
    registry.addRepository(own, { policyText: null, tags: { team: 'orders' } });
    registry.addRepository(guarded, { policyText: DENY_LAMBDA_POLICY });
    inventory.add(
      a,
      fnOn('b', '111111111111', 'platform/shared'),
      fnOn('c', ACCOUNT, 'orders-api'),
      fnOn('d', ACCOUNT, 'orders-api'),
      fnOn('e', ACCOUNT, 'guarded'),
      { ...fnOn('zip', ACCOUNT, 'orders-api'), packageType: 'Zip' }
    );

    const result = await scanner().scanRegion(inventory);

    expect(statusesOf(result.entries)).toEqual({
      a: 'ok grant-already-present',
      b: 'ok grant-already-present',
      c: 'at-risk repository-policy-missing-grant',
      d: 'at-risk repository-policy-missing-grant',
      e: 'needs-human explicit-deny',
    });
    expect(result).toEqual(
      expect.objectContaining({
        account: ACCOUNT,
        region: REGION,
        pages: 3,
        deleted: 0,
        nextMarker: null,
      })
    );
    expect(registry.calls).toEqual(
      expect.objectContaining({ storeFor: 3, getPolicy: 3, getTags: 1, setPolicy: 0 })
    );
    expect(inventory.calls).toEqual({ listFunctions: 3, describe: 5 });
    expect(registry.sessionNames).toEqual(Array(3).fill('lambda-ecr-autofix-scan-test'));
  });

  it('never runs more calls at once than its concurrency', async () => {
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
    for (let index = 0; index < 30; index++) inventory.add(fnOn(`f${index}`, ACCOUNT, 'app'));
    const slow: FunctionInventory = {
      account: ACCOUNT,
      region: REGION,
      listFunctions: (marker) => inventory.listFunctions(marker),
      describe: async (summary) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return inventory.describe(summary);
      },
    };
    const limiter = createLimiter(3);
    const bounded = new Scanner({
      config: CONFIG,
      registry,
      limiter,
      context: SCAN_CONTEXT,
      sessionName: 's',
    });

    const result = await bounded.scanRegion(slow);

    expect(result.entries).toHaveLength(30);
    expect(limiter.peak).toBe(3);
  });

  it('skips a function deleted between the listing and GetFunction, and counts it', async () => {
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
    inventory.add(fnOn('stays', ACCOUNT, 'app'), fnOn('goes', ACCOUNT, 'app'));
    const deleting: FunctionInventory = {
      account: ACCOUNT,
      region: REGION,
      listFunctions: async (marker) => {
        const page = await inventory.listFunctions(marker);
        inventory.remove('goes');
        return page;
      },
      describe: (summary) => inventory.describe(summary),
    };

    const result = await scanner().scanRegion(deleting);

    expect(result.deleted).toBe(1);
    expect(result.entries.map((entry) => entry.finding.functionName)).toEqual(['stays']);
  });

  it('reports a function GetFunction could not describe as unknown', async () => {
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
    inventory.add(fnOn('throttled', ACCOUNT, 'app'));
    const throttling = new Error('Rate exceeded');
    throttling.name = 'TooManyRequestsException';
    inventory.failDescribe.set('throttled', throttling);

    const result = await scanner().scanRegion(inventory);

    expect(result.entries).toEqual([
      {
        fn: null,
        finding: expect.objectContaining({
          functionName: 'throttled',
          status: 'unknown',
          reason: 'function-lookup-failed',
          explanation:
            'GetFunction failed, so the scan cannot tell: TooManyRequestsException: Rate exceeded',
        }) as unknown,
      },
    ]);
  });

  it('reports the functions of a repository it may not read as unknown, trying once', async () => {
    registry.addRepository({
      registryAccount: '333333333333',
      region: REGION,
      repositoryName: 'xy',
    });
    inventory.add(fnOn('p', '333333333333', 'xy'), fnOn('q', '333333333333', 'xy'));

    const result = await scanner().scanRegion(inventory);

    expect(statusesOf(result.entries)).toEqual({
      p: 'unknown registry-role-unavailable',
      q: 'unknown registry-role-unavailable',
    });
    expect(result.entries[0]?.finding.explanation).toMatch(
      /^Cannot assume arn:aws:iam::333333333333:role\/LambdaEcrAutofixRegistryAccess/
    );
    expect(registry.calls.storeFor).toBe(1);
  });

  it('needs a human for a missing repository, and reports other read failures as unknown', async () => {
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'flaky' });
    inventory.add(fnOn('gone', ACCOUNT, 'missing'));
    const missing = await scanner().scanRegion(inventory);
    inventory.remove('gone');
    inventory.add(fnOn('flaky', ACCOUNT, 'flaky'));
    registry.failNextGet = new Error('socket hang up');

    const flaky = await scanner().scanRegion(inventory);

    expect(statusesOf(missing.entries)).toEqual({ gone: 'needs-human repository-not-found' });
    expect(statusesOf(flaky.entries)).toEqual({ flaky: 'unknown repository-unreadable' });
    expect(flaky.entries[0]?.finding.explanation).toBe(
      'The repository could not be read: Error: socket hang up'
    );
  });

  it('reports the functions that needed tags it could not read as unknown', async () => {
    const app = { registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' };
    const fine = fnOn('fine', ACCOUNT, 'other');
    registry.addRepository(app);
    registry.addRepository(
      { ...app, repositoryName: 'other' },
      { policyText: grantedPolicy(fine) }
    );
    registry.failNextTags = new Error('ListTagsForResource throttled');
    inventory.add(fnOn('needs-tags', ACCOUNT, 'app'), fine);

    const result = await scanner().scanRegion(inventory);

    expect(statusesOf(result.entries)).toEqual({
      'needs-tags': 'unknown repository-unreadable',
      fine: 'ok grant-already-present',
    });
  });

  it('uses the tags it reads: an opted-out repository needs a human', async () => {
    registry.addRepository(
      { registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' },
      { tags: { 'lambda-ecr-autofix': 'off' } }
    );
    inventory.add(fnOn('f', ACCOUNT, 'app'));

    const result = await scanner(2, undefined, parseConfig({}, 'test')).scanRegion(inventory);

    expect(statusesOf(result.entries)).toEqual({ f: 'needs-human repository-opted-out' });
  });

  it('stops after a page when told, and continues from the marker', async () => {
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
    for (const name of ['a', 'b', 'c', 'd', 'e']) inventory.add(fnOn(name, ACCOUNT, 'app'));

    const first = await scanner().scanRegion(inventory, { continueAfterPage: () => false });
    const rest = await scanner().scanRegion(inventory, { startMarker: first.nextMarker });

    expect(first.entries.map((entry) => entry.finding.functionName)).toEqual(['a', 'b']);
    expect(first).toEqual(expect.objectContaining({ pages: 1, nextMarker: 'page-2' }));
    expect(rest.entries.map((entry) => entry.finding.functionName)).toEqual(['c', 'd', 'e']);
    expect(rest).toEqual(expect.objectContaining({ pages: 2, nextMarker: null }));
  });

  it('reports its progress', async () => {
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
    inventory.add(fnOn('a', ACCOUNT, 'app'), fnOn('b', ACCOUNT, 'app'), fnOn('c', ACCOUNT, 'app'));
    const seen: ScanProgress[] = [];

    await scanner(4, (progress) => seen.push(progress)).scanRegion(inventory);

    expect(seen.at(-1)).toEqual({ region: REGION, pages: 2, imageFunctions: 3, described: 3 });
  });

  it('fails when ListFunctions fails', async () => {
    inventory.failNextList = new Error('AccessDeniedException: lambda:ListFunctions');

    await expect(scanner().scanRegion(inventory)).rejects.toThrow('lambda:ListFunctions');
  });
});

describe('createLimiter', () => {
  it('refuses a concurrency below 1', () => {
    expect(() => createLimiter(0)).toThrow(
      'concurrency must be a whole number of at least 1, got 0.'
    );
    expect(() => createLimiter(1.5)).toThrow(RangeError);
  });

  it('starts urgent tasks before the others waiting', async () => {
    const limiter = createLimiter(1);
    const order: string[] = [];
    let release = (): void => undefined;
    const blocker = limiter.run(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        })
    );
    const normal = limiter.run(() => Promise.resolve(order.push('normal')));
    const urgent = limiter.run(() => Promise.resolve(order.push('urgent')), { urgent: true });
    release();
    await Promise.all([blocker, normal, urgent]);

    expect(order).toEqual(['urgent', 'normal']);
  });

  it('frees the slot of a failed task', async () => {
    const limiter = createLimiter(1);

    await expect(limiter.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(limiter.run(() => Promise.resolve(1))).resolves.toBe(1);
  });
});
