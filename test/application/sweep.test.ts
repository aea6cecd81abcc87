import { LambdaServiceException } from '@aws-sdk/client-lambda';

import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
} from '../../lambda/adapters/in-memory';
import { InMemoryFunctionInventory } from '../../lambda/adapters/in-memory-functions';
import { RegistryRoleUnavailableError } from '../../lambda/application/errors';
import { FixPipeline } from '../../lambda/application/fix-pipeline';
import type { SweepDependencies } from '../../lambda/application/sweep';
import { Sweeper } from '../../lambda/application/sweep';
import type { Config } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import type { ScannedFunction } from '../../lambda/domain/scan-call';
import type { SweepRequest } from '../../lambda/domain/sweep-request';
import { parseSweepMessage } from '../../lambda/domain/sweep-request';
import { DENY_LAMBDA_POLICY, grantedPolicy, makeFunction } from '../support/scan';

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const SCHEDULED = {
  version: '0',
  id: 'sweep-1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: ACCOUNT,
  time: '2026-01-01T03:00:00Z',
  region: REGION,
  resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix-sweep`],
  detail: {},
};

function request(message: unknown = SCHEDULED): SweepRequest {
  const parsed = parseSweepMessage(message);
  if (!parsed.ok) throw new Error(parsed.explanation);
  return parsed.request;
}

function fnOn(name: string, repository: string, extra: Partial<ScannedFunction> = {}) {
  return makeFunction({
    functionName: name,
    imageUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}:1`,
    resolvedImageUri: null,
    ...extra,
  });
}

let registry: InMemoryRegistry;
let inventory: InMemoryFunctionInventory;
let notifier: InMemoryNotifier;
let sent: Record<string, unknown>[];
let inventoryRequests: { account: string; region: string; session: string }[];

function sweeper(config: Config = parseConfig({}, 'test'), extra: Partial<SweepDependencies> = {}) {
  const pipeline = new FixPipeline({
    config,
    fixer: { roleArns: [] },
    registry,
    notifier,
    audit: new InMemoryAuditLog(),
    locks: null,
    clock: new FixedClock(),
    telemetry: { decided: () => undefined, failed: () => undefined },
  });
  return new Sweeper({
    config,
    registry,
    inventoryFor: (sweep, session) => {
      inventoryRequests.push({ account: sweep.account, region: sweep.region, session });
      return Promise.resolve(inventory);
    },
    pipeline: config.sweepAction === 'fix' ? pipeline : null,
    notifier,
    continuations: {
      send: (message) => {
        sent.push(message);
        return Promise.resolve();
      },
    },
    clock: new FixedClock('2026-01-01T03:00:05Z'),
    ...extra,
  });
}

beforeEach(() => {
  registry = new InMemoryRegistry({ fixerAccountId: '333333333333', accountsWithRole: [ACCOUNT] });
  registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
  registry.addRepository(
    { registryAccount: ACCOUNT, region: REGION, repositoryName: 'guarded' },
    { policyText: DENY_LAMBDA_POLICY }
  );
  inventory = new InMemoryFunctionInventory(ACCOUNT, REGION, 2);
  notifier = new InMemoryNotifier();
  sent = [];
  inventoryRequests = [];
});

describe('Sweeper', () => {
  it('sweeps a small account in one go and sends one digest', async () => {
    inventory.add(
      fnOn('api', 'app'),
      fnOn('nightly', 'app', { state: 'Inactive', stateReasonCode: 'ImageAccessDenied' }),
      fnOn('guarded', 'guarded')
    );

    const outcome = await sweeper().sweep(request(), () => 60_000);

    expect(outcome).toEqual(expect.objectContaining({ kind: 'finished', notified: true }));
    expect(inventoryRequests).toEqual([
      { account: ACCOUNT, region: REGION, session: 'lambda-ecr-autofix-sweep-sweep-1' },
    ]);
    expect(notifier.messages).toHaveLength(1);
    expect(notifier.messages[0]).toEqual(
      expect.objectContaining({
        subject:
          '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 1 broken, 1 at-risk, 1 need a human',
        attributes: {
          outcome: 'sweep',
          reason: 'sweep-digest',
          consumerAccount: ACCOUNT,
          repository: 'various',
        },
      })
    );
    expect(registry.calls.setPolicy).toBe(0);
    expect(sent).toEqual([]);
  });

  it('sends nothing when every function is ok', async () => {
    const api = fnOn('api', 'app');
    registry.putPolicy(
      { registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' },
      grantedPolicy(api)
    );
    inventory.add(api);

    const outcome = await sweeper().sweep(request(), () => 60_000);

    expect(outcome).toEqual(expect.objectContaining({ kind: 'finished', notified: false }));
    expect(notifier.messages).toEqual([]);
  });

  it('continues where it stopped when time runs short, and sends one digest at the end', async () => {
    for (let i = 0; i < 5; i++) inventory.add(fnOn(`f${i}`, 'app'));
    let remaining = 15_000;

    const first = await sweeper().sweep(request(), () => remaining);
    // The continuation travels through SNS and SQS as JSON.
    const continuation = JSON.parse(JSON.stringify(sent[0])) as unknown;
    remaining = 60_000;
    const second = await sweeper().sweep(request(continuation), () => remaining);

    expect(first).toEqual(
      expect.objectContaining({ kind: 'continued', marker: 'page-2', chunk: 2 })
    );
    expect(notifier.messages.filter((m) => m.subject.includes('SWEEP'))).toHaveLength(1);
    expect(second).toEqual(
      expect.objectContaining({
        kind: 'finished',
        notified: true,
        digest: expect.objectContaining({
          counts: { ok: 0, broken: 0, 'at-risk': 5, 'needs-human': 0, unknown: 0 },
        }) as unknown,
      })
    );
    expect(inventory.calls.listFunctions).toBe(3);
    expect(inventory.calls.describe).toBe(5);
    expect(sent).toHaveLength(1);
  });

  it('fixes what consent and the guards allow with sweepAction "fix", and says so in the digest', async () => {
    inventory.add(fnOn('api', 'app'), fnOn('worker', 'app'), fnOn('guarded', 'guarded'));

    const outcome = await sweeper(parseConfig({ sweepAction: 'fix' }, 'test')).sweep(
      request(),
      () => 60_000
    );

    expect(registry.writes).toHaveLength(1);
    expect(outcome.digest.fixed).toEqual([
      { repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/app`, functions: ['api'] },
    ]);
    const subjects = notifier.messages.map((m) => m.subject);
    expect(subjects).toEqual([
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull app (eu-west-1)',
      '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 2 at-risk, 1 need a human, 1 fixed',
    ]);
  });

  it('counts the fixes that failed', async () => {
    inventory.add(fnOn('api', 'app'));
    registry.failNextSet = new Error('ECR SetRepositoryPolicy failed (simulated).');

    const outcome = await sweeper(parseConfig({ sweepAction: 'fix' }, 'test')).sweep(
      request(),
      () => 60_000
    );

    expect(outcome.digest.failedFixes).toBe(1);
    expect(outcome.digest.fixed).toEqual([]);
  });

  it('lists a fix whose own notice failed as fixed, and the digest says so', async () => {
    inventory.add(fnOn('api', 'app'));
    notifier.failNext(1);

    const outcome = await sweeper(parseConfig({ sweepAction: 'fix' }, 'test')).sweep(
      request(),
      () => 60_000
    );

    expect(outcome.digest.failedFixes).toBe(0);
    expect(outcome.digest.unnotifiedFixes).toBe(1);
    expect(outcome.digest.fixed).toEqual([
      { repositoryArn: expect.stringMatching(/:repository\/app$/) as unknown, functions: ['api'] },
    ]);
    expect(notifier.messages.map((m) => m.subject)).toEqual([
      expect.stringContaining('SWEEP 222222222222 (eu-west-1)') as unknown,
    ]);
    expect(notifier.messages[0]?.message).toContain('this digest is their notice');
  });

  it('ends with the problem in the digest when the account cannot be swept', async () => {
    const unavailable = new RegistryRoleUnavailableError(
      ACCOUNT,
      `arn:aws:iam::${ACCOUNT}:role/LambdaEcrAutofixRegistryAccess`
    );

    const outcome = await sweeper(undefined, {
      inventoryFor: () => Promise.reject(unavailable),
    }).sweep(request(), () => 60_000);

    expect(outcome).toEqual(
      expect.objectContaining({
        kind: 'finished',
        notified: true,
        digest: expect.objectContaining({ problems: [unavailable.message] }) as unknown,
      })
    );
    expect(notifier.messages[0]?.subject).toBe(
      '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): could not sweep'
    );
  });

  it('asks for the member stack update when the role may not list functions', async () => {
    inventory.failNextList = new LambdaServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: {},
      message: 'not authorized to perform: lambda:ListFunctions',
    });

    const outcome = await sweeper().sweep(request(), () => 60_000);

    expect(outcome.digest.problems[0]).toMatch(
      /^The role lambda-ecr-autofix uses in account 222222222222 may not list or read its functions in eu-west-1 \(lambda:ListFunctions, lambda:GetFunction\): update the member stack there\. AWS said: not authorized/
    );
  });

  it('lets a transient failure through, so the message is retried from where it started', async () => {
    inventory.failNextList = new LambdaServiceException({
      name: 'ServiceException',
      $fault: 'server',
      $metadata: {},
      message: 'Internal error',
    });

    await expect(sweeper().sweep(request(), () => 60_000)).rejects.toThrow('Internal error');
    expect(notifier.messages).toEqual([]);
  });

  it('fails when the continuation cannot be sent', async () => {
    for (let i = 0; i < 3; i++) inventory.add(fnOn(`f${i}`, 'app'));

    await expect(
      sweeper(undefined, {
        continuations: { send: () => Promise.reject(new Error('SNS Publish failed')) },
      }).sweep(request(), () => 1_000)
    ).rejects.toThrow('SNS Publish failed');
  });

  it('reports without a notifier', async () => {
    inventory.add(fnOn('api', 'app'));

    const outcome = await sweeper(undefined, { notifier: null }).sweep(request(), () => 60_000);

    expect(outcome).toEqual(expect.objectContaining({ kind: 'finished', notified: false }));
  });
});
