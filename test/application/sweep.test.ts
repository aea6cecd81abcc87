import { LambdaServiceException } from '@aws-sdk/client-lambda';

import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
} from '../../lambda/adapters/in-memory';
import { InMemoryFunctionInventory } from '../../lambda/adapters/in-memory-functions';
import { RegistryRoleUnavailableError } from '../../lambda/application/errors';
import { NoticesOwedError, RepositoryNotFoundError } from '../../lambda/application/errors';
import { FixPipeline } from '../../lambda/application/fix-pipeline';
import { NoticeOutbox } from '../../lambda/application/notice-outbox';
import type { SweepDependencies } from '../../lambda/application/sweep';
import { Sweeper } from '../../lambda/application/sweep';
import type { Config } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import type { ScannedFunction } from '../../lambda/domain/scan-call';
import type { SweepRequest } from '../../lambda/domain/sweep-request';
import { MAX_OWED_NOTICES, parseSweepMessage } from '../../lambda/domain/sweep-request';
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
let audit: InMemoryAuditLog;
let clock: FixedClock;
let sent: Record<string, unknown>[];
let inventoryRequests: { account: string; region: string; session: string }[];

/** A sweeper as aws-sweeper.ts builds it: with `sweepAction: "fix"`, the pipeline and the notice outbox. */
function sweeper(config: Config = parseConfig({}, 'test'), extra: Partial<SweepDependencies> = {}) {
  const fixing = config.sweepAction === 'fix';
  const pipeline = new FixPipeline({
    config,
    fixer: { roleArns: [] },
    registry,
    notifier,
    audit,
    locks: null,
    clock,
    telemetry: { decided: () => undefined, failed: () => undefined },
  });
  return new Sweeper({
    config,
    registry,
    inventoryFor: (sweep, session) => {
      inventoryRequests.push({ account: sweep.account, region: sweep.region, session });
      return Promise.resolve(inventory);
    },
    pipeline: fixing ? pipeline : null,
    outbox: fixing
      ? new NoticeOutbox({ audit, notifier, config, clock, runId: 'sweep-outbox' })
      : null,
    notifier,
    continuations: {
      send: (message) => {
        sent.push(message);
        return Promise.resolve();
      },
    },
    clock,
    ...extra,
  });
}

beforeEach(() => {
  audit = new InMemoryAuditLog();
  clock = new FixedClock('2026-01-01T03:00:05Z');
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

  it('without an audit table, lists a fix whose own notice failed as fixed, and the digest is its only notice', async () => {
    inventory.add(fnOn('api', 'app'));
    notifier.failNext(1);

    const outcome = await sweeper(parseConfig({ sweepAction: 'fix' }, 'test'), {
      outbox: null,
    }).sweep(request(), () => 60_000);

    expect(outcome.digest.failedFixes).toBe(0);
    expect(outcome.digest.unnotifiedFixes).toBe(1);
    expect(outcome.digest.fixed).toEqual([
      { repositoryArn: expect.stringMatching(/:repository\/app$/) as unknown, functions: ['api'] },
    ]);
    expect(notifier.messages.map((m) => m.subject)).toEqual([
      expect.stringContaining('SWEEP 222222222222 (eu-west-1)') as unknown,
    ]);
    expect(notifier.messages[0]?.message).toContain('this digest is their only notice');
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

describe('Sweeper: notices owed by applied writes (the notice outbox)', () => {
  const FIX = parseConfig({ sweepAction: 'fix' }, 'test');
  const APP = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/app`;
  const FIXED_APP = '[lambda-ecr-autofix] FIXED: 222222222222 can now pull app (eu-west-1)';
  const retry = { attempt: 2, enqueuedAt: Number.NaN };
  const subjects = () => notifier.messages.map((m) => m.subject);
  const fixedNotices = () => subjects().filter((subject) => subject === FIXED_APP);

  /** The notifier fails every publish whose subject matches, `times` times. */
  function failSubjects(pattern: RegExp, times: number): void {
    const publish = notifier.publish.bind(notifier);
    let left = times;
    jest.spyOn(notifier, 'publish').mockImplementation((message) => {
      if (left > 0 && pattern.test(message.subject)) {
        left -= 1;
        notifier.calls += 1;
        return Promise.reject(new Error('SNS Publish failed (simulated).'));
      }
      return publish(message);
    });
  }

  beforeEach(() => {
    inventory.add(fnOn('api', 'app'));
  });

  it('a FIXED notice that fails (and so no digest goes out): the retry sends it exactly once', async () => {
    // The pipeline's publish and the outbox's immediate second try both fail.
    failSubjects(/FIXED/, 2);

    const first = sweeper(FIX).sweep(request(), () => 60_000);
    await expect(first).rejects.toThrow(NoticesOwedError);
    const owedBefore = audit.records.map((r) => [r.state, r.notifiedAt]);
    // SQS delivers the message again after its visibility timeout: the function is ok by now.
    clock.advance(12 * 60_000);
    const second = await sweeper(FIX).sweep(request(), () => 60_000, retry);
    const later = await sweeper(FIX).sweep(request(), () => 60_000);

    expect(owedBefore).toEqual([['applied', null]]);
    expect(registry.writes).toHaveLength(1);
    expect(fixedNotices()).toEqual([FIXED_APP]);
    expect(second.digest).toEqual(
      expect.objectContaining({ fixed: [], lateNotices: 1, unnotifiedFixes: 0 })
    );
    expect(subjects()).toEqual([
      FIXED_APP,
      '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 1 late notice(s)',
    ]);
    expect(audit.records[0]).toMatchObject({
      state: 'applied',
      notifiedAt: expect.any(String) as string,
    });
    expect(later).toEqual(expect.objectContaining({ kind: 'finished', notified: false }));
  });

  it('a FIXED notice that fails once is sent again at once, and the digest says so', async () => {
    failSubjects(/FIXED/, 1);

    const outcome = await sweeper(FIX).sweep(request(), () => 60_000);

    expect(fixedNotices()).toEqual([FIXED_APP]);
    expect(outcome.digest).toEqual(
      expect.objectContaining({
        lateNotices: 1,
        unnotifiedFixes: 0,
        fixed: [{ repositoryArn: APP, functions: ['api'] }],
      })
    );
    expect(notifier.messages.at(-1)?.message).toContain('NOTICES SENT LATE');
  });

  it('a digest that fails after the FIXED notice went out: the retry sends that notice no second time', async () => {
    failSubjects(/SWEEP/, 1);

    await expect(sweeper(FIX).sweep(request(), () => 60_000)).rejects.toThrow('SNS Publish failed');
    clock.advance(12 * 60_000);
    const retried = await sweeper(FIX).sweep(request(), () => 60_000, retry);

    expect(retried).toEqual(expect.objectContaining({ kind: 'finished', notified: false }));
    expect(fixedNotices()).toEqual([FIXED_APP]);
    expect(audit.calls.list).toBe(1);
  });

  it('a timeout right after SetRepositoryPolicy: the write is found in the policy at once, completed and notified', async () => {
    registry.afterSet = () => {
      registry.afterSet = undefined;
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };

    const outcome = await sweeper(FIX).sweep(request(), () => 60_000);

    expect(fixedNotices()).toEqual([FIXED_APP]);
    expect(outcome.digest).toEqual(
      expect.objectContaining({ failedFixes: 1, completedWrites: 1, lateNotices: 1 })
    );
    expect(audit.records[0]).toMatchObject({
      state: 'applied',
      owner: 'sweep-outbox',
      notifiedAt: expect.any(String) as string,
    });
  });

  it('a fix that failed in flight on a repository deleted meanwhile: its record is left as it is', async () => {
    const ref = {
      partition: 'aws' as const,
      region: REGION,
      registryAccount: ACCOUNT,
      repositoryName: 'app',
    };
    registry.afterSet = () => {
      registry.afterSet = undefined;
      // The outbox reads the policy again: the repository is gone by then.
      registry.failNextGet = new RepositoryNotFoundError(ref);
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };

    const outcome = await sweeper(FIX).sweep(request(), () => 60_000);

    expect(outcome.digest).toEqual(
      expect.objectContaining({ failedFixes: 1, completedWrites: 0, lateNotices: 0 })
    );
    expect(audit.records.map((r) => r.state)).toEqual(['failed']);
    expect(fixedNotices()).toEqual([]);
  });

  it('a failed read of the policy again fails the part, so that it is retried', async () => {
    registry.afterSet = () => {
      registry.afterSet = undefined;
      registry.failNextGet = new Error('ECR GetRepositoryPolicy throttled (simulated).');
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };

    await expect(sweeper(FIX).sweep(request(), () => 60_000)).rejects.toThrow('throttled');
  });

  it('a run that left its intent behind: retried until the intent is stale, then completed and notified once', async () => {
    // The FIXED notice fails, then the audit write that would complete the record fails too: the intent stays.
    failSubjects(/FIXED/, 1);
    let writes = 0;
    audit.beforeWrite = () => {
      writes += 1;
      if (writes === 2) throw new Error('ProvisionedThroughputExceededException');
    };

    const first = sweeper(FIX).sweep(request(), () => 60_000);
    await expect(first).rejects.toThrow('its write may still be in progress');
    const left = audit.records.map((r) => r.state);
    clock.advance(12 * 60_000);
    const retried = await sweeper(FIX).sweep(request(), () => 60_000, retry);

    expect(left).toEqual(['intent']);
    expect(fixedNotices()).toEqual([FIXED_APP]);
    expect(retried.digest).toEqual(expect.objectContaining({ completedWrites: 1, lateNotices: 1 }));
    expect(audit.records[0]).toMatchObject({
      state: 'applied',
      notifiedAt: expect.any(String) as string,
    });
  });

  it('a dead-letter redrive (receive count 1 again, enqueued long after): the outbox runs as on a retry', async () => {
    failSubjects(/FIXED/, 2);
    await expect(sweeper(FIX).sweep(request(), () => 60_000)).rejects.toThrow(NoticesOwedError);
    audit.calls.list = 0;

    const prompt = await sweeper(FIX).sweep(request(), () => 60_000, {
      attempt: 1,
      enqueuedAt: Date.parse(SCHEDULED.time) + 3_000,
    });
    const listedWhenPrompt = audit.calls.list;
    const redriven = await sweeper(FIX).sweep(request(), () => 60_000, {
      attempt: 1,
      enqueuedAt: Date.parse(SCHEDULED.time) + 2 * 3_600_000,
    });

    expect(listedWhenPrompt).toBe(0);
    expect(prompt.digest.lateNotices).toBe(0);
    expect(redriven.digest.lateNotices).toBe(1);
    expect(fixedNotices()).toEqual([FIXED_APP]);
  });

  it('a healthy sweep reads nothing from the audit table for notices', async () => {
    await sweeper(FIX).sweep(request(), () => 60_000);
    await sweeper(FIX).sweep(request(), () => 60_000);

    expect(fixedNotices()).toEqual([FIXED_APP]);
    expect(audit.calls.list).toBe(0);
  });

  it('hands owed notices on with the continuation, and the part that ends the sweep sends them', async () => {
    for (let i = 0; i < 3; i++) inventory.add(fnOn(`later${i}`, 'guarded'));
    failSubjects(/FIXED/, 2);
    let remaining = 15_000;

    const first = await sweeper(FIX).sweep(request(), () => remaining);
    const continuation = JSON.parse(JSON.stringify(sent[0])) as {
      detail: { owedNotices: string[] };
    };
    remaining = 60_000;
    const last = await sweeper(FIX).sweep(request(continuation), () => remaining);

    expect(first.kind).toBe('continued');
    expect(continuation.detail.owedNotices).toEqual([APP]);
    expect(last).toEqual(expect.objectContaining({ kind: 'finished', notified: true }));
    expect(last.digest).toEqual(
      expect.objectContaining({
        lateNotices: 1,
        fixed: [{ repositoryArn: APP, functions: ['api'] }],
      })
    );
    expect(fixedNotices()).toEqual([FIXED_APP]);
  });

  it('the part that ends the sweep fails while a handed-over notice is still owed, even when it cannot look', async () => {
    inventory.add(fnOn('later0', 'guarded'), fnOn('later1', 'guarded'));
    // The pipeline's publish, the outbox's second try, and the last part's first try.
    failSubjects(/FIXED/, 3);
    await sweeper(FIX).sweep(request(), () => 15_000);
    const continuation = JSON.parse(JSON.stringify(sent[0])) as unknown;
    const unavailable = new RegistryRoleUnavailableError(
      ACCOUNT,
      `arn:aws:iam::${ACCOUNT}:role/LambdaEcrAutofixRegistryAccess`
    );
    const cannotLook = { inventoryFor: () => Promise.reject(unavailable) };

    const failing = sweeper(FIX, cannotLook).sweep(request(continuation), () => 60_000);
    await expect(failing).rejects.toThrow(NoticesOwedError);
    const ended = await sweeper(FIX, cannotLook).sweep(request(continuation), () => 60_000, retry);

    expect(ended.digest).toEqual(
      expect.objectContaining({ lateNotices: 1, problems: [unavailable.message] })
    );
    expect(fixedNotices()).toEqual([FIXED_APP]);
    const digest = notifier.messages.at(-1)?.message ?? '';
    expect(digest).toContain('WHAT KEPT THE SWEEP FROM LOOKING');
    expect(digest).toContain('NOTICES SENT LATE');
  });

  it('more owed repositories than a continuation carries: the part is retried instead', async () => {
    inventory = new InMemoryFunctionInventory(ACCOUNT, REGION, MAX_OWED_NOTICES + 1);
    inventory.add(fnOn('api', 'app'));
    for (let i = 0; i < MAX_OWED_NOTICES + 1; i++) {
      registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: `r${i}` });
      inventory.add(fnOn(`f${i}`, `r${i}`));
    }
    notifier.failNext(1_000);

    const part = sweeper(FIX, { concurrency: 4 }).sweep(request(), () => 15_000);

    await expect(part).rejects.toThrow(`${MAX_OWED_NOTICES + 1} notice(s)`);
    expect(sent).toEqual([]);
  });
});
