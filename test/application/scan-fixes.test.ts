import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
} from '../../lambda/adapters/in-memory';
import { InMemoryFunctionInventory } from '../../lambda/adapters/in-memory-functions';
import { createLimiter } from '../../lambda/application/concurrency';
import { FixPipeline } from '../../lambda/application/fix-pipeline';
import { applyScanFixes } from '../../lambda/application/scan-fixes';
import { Scanner } from '../../lambda/application/scanner';
import type { ScannedFunction } from '../../lambda/domain/scan-call';
import { CONFIG, DENY_LAMBDA_POLICY, SCAN_CONTEXT, makeFunction } from '../support/scan';

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
let notifier: InMemoryNotifier;
let audit: InMemoryAuditLog;
let inventory: InMemoryFunctionInventory;
let pipeline: FixPipeline;

const scan = () =>
  new Scanner({
    config: CONFIG,
    registry,
    limiter: createLimiter(4),
    context: SCAN_CONTEXT,
    sessionName: 's',
  }).scanRegion(inventory);

beforeEach(() => {
  registry = new InMemoryRegistry({ fixerAccountId: ACCOUNT, accountsWithRole: ['111111111111'] });
  notifier = new InMemoryNotifier();
  audit = new InMemoryAuditLog();
  inventory = new InMemoryFunctionInventory(ACCOUNT, REGION);
  pipeline = new FixPipeline({
    config: CONFIG,
    fixer: { roleArns: ['arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer'] },
    registry,
    notifier,
    audit,
    locks: null,
    clock: new FixedClock(),
    telemetry: { decided: () => undefined, failed: () => undefined },
  });
  registry.addRepository({
    registryAccount: ACCOUNT,
    region: REGION,
    repositoryName: 'orders-api',
  });
  registry.addRepository(
    { registryAccount: '111111111111', region: REGION, repositoryName: 'platform/shared' },
    { tags: { 'lambda-ecr-autofix:share': ACCOUNT } }
  );
  registry.addRepository(
    { registryAccount: ACCOUNT, region: REGION, repositoryName: 'guarded' },
    { policyText: DENY_LAMBDA_POLICY }
  );
  registry.addRepository(
    { registryAccount: ACCOUNT, region: REGION, repositoryName: 'opted-out' },
    { tags: { 'lambda-ecr-autofix': 'off' } }
  );
  inventory.add(
    fnOn('orders-1', ACCOUNT, 'orders-api'),
    fnOn('orders-2', ACCOUNT, 'orders-api'),
    fnOn('shared', '111111111111', 'platform/shared', {
      state: 'Inactive',
      stateReasonCode: 'ImageAccessDenied',
    }),
    fnOn('guarded', ACCOUNT, 'guarded'),
    fnOn('opted-out', ACCOUNT, 'opted-out')
  );
});

describe('applyScanFixes', () => {
  it('fixes what the fixer may fix through the pipeline, and nothing else', async () => {
    const before = await scan();

    const results = await applyScanFixes(pipeline, before.entries, SCAN_CONTEXT);
    const after = await scan();

    expect(
      results.map((r) => [r.functionArn.split(':').at(-1), r.status === 'done' && r.applied])
    ).toEqual([
      ['orders-1', true],
      ['orders-2', false],
      ['shared', true],
    ]);
    expect(
      Object.fromEntries(after.entries.map(({ finding }) => [finding.functionName, finding.status]))
    ).toEqual({
      'orders-1': 'ok',
      'orders-2': 'ok',
      // The grant is back, but the function stays Inactive until it is invoked or deployed again.
      shared: 'broken',
      guarded: 'needs-human',
      'opted-out': 'needs-human',
    });
    expect(
      after.entries.find((e) => e.finding.functionName === 'shared')?.finding.explanation
    ).toMatch(/lets Lambda pull the image now: invoke the function/);
    // One write per repository, one FIXED notice per repository and consumer, an audit record per event.
    expect(registry.writes.map((w) => w.repository.repositoryName)).toEqual([
      'orders-api',
      'platform/shared',
    ]);
    expect(notifier.messages.map((m) => m.subject)).toEqual([
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull orders-api (eu-west-1)',
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/shared (eu-west-1)',
    ]);
    expect(
      audit.records
        .map((r) => [
          r.functionArn?.split(':').pop(),
          r.outcome,
          r.state,
          r.eventId.startsWith('scan-'),
        ])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])))
    ).toEqual([
      ['orders-1', 'fix', 'applied', true],
      ['orders-2', 'already-allowed', 'recorded', true],
      ['shared', 'fix', 'applied', true],
    ]);
  });

  it('does nothing when nothing is fixable', async () => {
    inventory.remove('orders-1');
    inventory.remove('orders-2');
    inventory.remove('shared');
    const before = await scan();

    await expect(applyScanFixes(pipeline, before.entries, SCAN_CONTEXT)).resolves.toEqual([]);
    expect(registry.calls.setPolicy).toBe(0);
  });

  it('reports a fix whose notice could not be sent as failed (the policy was written)', async () => {
    inventory.remove('shared');
    const before = await scan();
    notifier.failNext(1);

    const results = await applyScanFixes(pipeline, before.entries, SCAN_CONTEXT);

    expect(results[0]).toMatchObject({
      functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:orders-1',
      status: 'failed',
    });
    expect(results[0]?.status === 'failed' && String(results[0].error)).toMatch(
      /policy written and verified; notice not sent: SNS Publish failed \(simulated\)\./
    );
    expect(results[1]).toEqual(
      expect.objectContaining({ status: 'done', applied: false, notified: false })
    );
    expect(registry.writes).toHaveLength(1);
  });
});
