import type {
  DecisionReport,
  EventResult,
  IncomingEvent,
  PipelineDependencies,
} from '../../lambda/application/fix-pipeline';
import { FixPipeline, MAX_WRITE_ATTEMPTS } from '../../lambda/application/fix-pipeline';
import { RepositoryBusyError, RepositoryNotFoundError } from '../../lambda/application/errors';
import { SystemClock } from '../../lambda/adapters/system-clock';
import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
  InMemoryRepositoryLocks,
} from '../../lambda/adapters/in-memory';
import type { Config } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import { ACCOUNTS_SID, SERVICE_SID } from '../../lambda/domain/planner';
import { loadEvent, variantOf } from '../support/events';

const FIXER_ACCOUNT = '333333333333';
const FIXER_ROLE = 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer';
const SAME_ACCOUNT_REPO = {
  registryAccount: '222222222222',
  region: 'us-east-1',
  repositoryName: 'orders-api',
};
const CROSS_ACCOUNT_REPO = {
  registryAccount: '111111111111',
  region: 'eu-west-1',
  repositoryName: 'platform/payments-worker',
};

interface World {
  registry: InMemoryRegistry;
  notifier: InMemoryNotifier;
  audit: InMemoryAuditLog;
  clock: FixedClock;
  reports: DecisionReport[];
  failures: unknown[];
  pipeline: FixPipeline;
}

function world(config: Partial<Config> = {}, overrides: Partial<PipelineDependencies> = {}): World {
  const registry = new InMemoryRegistry({
    fixerAccountId: FIXER_ACCOUNT,
    accountsWithRole: ['111111111111', '222222222222'],
  });
  registry.addRepository(SAME_ACCOUNT_REPO);
  // The registry's owner shares platform/payments-worker with the workload account (DESIGN.md, "Sharing and consent").
  registry.addRepository(CROSS_ACCOUNT_REPO, {
    tags: { 'lambda-ecr-autofix:share': '222222222222 444444444444 555555555555' },
  });
  const notifier = new InMemoryNotifier();
  const audit = new InMemoryAuditLog();
  const clock = new FixedClock('2026-03-03T14:03:21.000Z');
  const reports: DecisionReport[] = [];
  const failures: unknown[] = [];
  const locks = new InMemoryRepositoryLocks(clock);
  const pipeline = new FixPipeline({
    config: parseConfig(config, 'test'),
    fixer: { roleArns: [FIXER_ROLE] },
    registry,
    notifier,
    audit,
    locks,
    clock,
    telemetry: {
      decided: (report) => reports.push(report),
      failed: (report) => failures.push(report.error),
    },
    ...overrides,
  });
  return { registry, notifier, audit, clock, reports, failures, pipeline };
}

function incoming(event: unknown, messageId = 'm1', attempt = 1): IncomingEvent {
  return { messageId, event, attempt };
}

function done(result: EventResult | undefined): Extract<EventResult, { status: 'done' }> {
  expect(result?.status).toBe('done');
  return result as Extract<EventResult, { status: 'done' }>;
}

function policyOf(
  w: World,
  repo: typeof SAME_ACCOUNT_REPO
): { Statement: Record<string, unknown>[] } {
  const text = w.registry.repository(repo)?.policyText;
  if (text === null || text === undefined) throw new Error('no policy');
  return JSON.parse(text) as { Statement: Record<string, unknown>[] };
}

function sids(w: World, repo: typeof SAME_ACCOUNT_REPO): unknown[] {
  return policyOf(w, repo).Statement.map((s) => s['Sid']);
}

describe('FixPipeline', () => {
  describe('fixing', () => {
    it('writes, verifies, audits, notifies and reports a same-account fix', async () => {
      // Arrange
      const w = world();

      // Act
      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      // Assert
      const outcome = done(result);
      expect(outcome.decision.outcome).toBe('fix');
      expect(outcome.applied).toBe(true);
      expect(outcome.notificationId).toBe('in-memory-message-1');
      expect(sids(w, SAME_ACCOUNT_REPO)).toEqual([SERVICE_SID]);
      expect(w.registry.calls).toEqual({
        storeFor: 1,
        getPolicy: 3,
        setPolicy: 1,
        deletePolicy: 0,
        getTags: 1,
      });
      expect(w.audit.records).toEqual([
        expect.objectContaining({
          repositoryArn: 'arn:aws:ecr:us-east-1:222222222222:repository/orders-api',
          kind: 'fix',
          state: 'applied',
          outcome: 'fix',
          policyBefore: null,
          notifiedAt: '2026-03-03T14:03:21.000Z',
          notificationId: 'in-memory-message-1',
          mode: 'enforce',
          consumerAccount: '222222222222',
          callerArn: 'arn:aws:iam::222222222222:user/dev.alice',
        }),
      ]);
      expect(w.notifier.messages[0]?.subject).toBe(
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull orders-api (us-east-1)'
      );
      expect(w.notifier.messages[0]?.attributes).toEqual({
        outcome: 'fix',
        reason: 'repository-policy-missing-grant',
        consumerAccount: '222222222222',
        repository: 'orders-api',
      });
      expect(w.reports).toEqual([
        expect.objectContaining({ outcome: 'fix', applied: true, notified: true }),
      ]);
    });

    it('reports the seconds from the failed call to the verified fix', async () => {
      const w = world();

      await w.pipeline.process([incoming(loadEvent('create-function-cross-account-ecr-denied'))]);

      // eventTime 14:02:51, the clock says 14:03:21
      expect(w.reports[0]?.secondsToFix).toBe(30);
    });

    it('assumes the member role of the registry account with a session naming the event', async () => {
      const w = world();

      await w.pipeline.process([incoming(loadEvent('create-function-cross-account-ecr-denied'))]);

      expect(w.registry.sessionNames).toEqual([
        'lambda-ecr-autofix-7a1739ad-24f1-497f-8724-4571e9b99590',
      ]);
      expect(sids(w, CROSS_ACCOUNT_REPO)).toEqual([SERVICE_SID, ACCOUNTS_SID]);
    });

    it("reads the tags to find the owner's consent, and writes nothing without it", async () => {
      // Arrange: the owner's share tag names other accounts only.
      const w = world();
      w.registry.addRepository(CROSS_ACCOUNT_REPO, {
        tags: { 'lambda-ecr-autofix:share': '444444444444' },
      });

      // Act
      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-cross-account-ecr-denied')),
      ]);

      // Assert
      const outcome = done(result);
      expect([outcome.decision.outcome, outcome.decision.reason]).toEqual([
        'needs-human',
        'sharing-not-consented',
      ]);
      expect(outcome.applied).toBe(false);
      expect(w.registry.calls.getTags).toBe(1);
      expect(w.registry.calls.setPolicy).toBe(0);
      expect(w.registry.repository(CROSS_ACCOUNT_REPO)?.policyText).toBeNull();
      expect(outcome.decision.nextSteps[0]).toContain(
        "--tags 'Key=lambda-ecr-autofix:share,Value=444444444444 222222222222'"
      );
    });

    it('gives a replayed event already-allowed without writing again', async () => {
      const w = world();
      const event = loadEvent('create-function-same-account-ecr-denied');
      await w.pipeline.process([incoming(event)]);

      const [second] = await w.pipeline.process([incoming(event, 'm2')]);

      expect(done(second).decision.outcome).toBe('already-allowed');
      expect(done(second).applied).toBe(false);
      expect(w.registry.calls.setPolicy).toBe(1);
      // already-allowed is not worth an e-mail by default
      expect(w.notifier.messages).toHaveLength(1);
    });

    it('turns a burst against one repository into one read-plan-write', async () => {
      const w = world();
      const events = ['222222222222', '444444444444', '555555555555'].flatMap((account, a) =>
        [0, 1, 2].map((n) =>
          incoming(
            variantOf('create-function-cross-account-ecr-denied', {
              account,
              eventId: `00000000-0000-0000-0000-00000000${a}${n}00`,
              functionName: `fn-${n}`,
            }),
            `m-${a}-${n}`
          )
        )
      );

      const results = await w.pipeline.process(events);

      expect(w.registry.calls.setPolicy).toBe(1);
      expect(w.registry.calls.storeFor).toBe(1);
      const outcomes = results.map((r) => done(r).decision.outcome);
      expect(outcomes.filter((o) => o === 'fix')).toHaveLength(3);
      expect(outcomes.filter((o) => o === 'already-allowed')).toHaveLength(6);
      const accounts = policyOf(w, CROSS_ACCOUNT_REPO).Statement[1]?.['Principal'];
      expect(accounts).toEqual({
        AWS: [
          'arn:aws:iam::222222222222:root',
          'arn:aws:iam::444444444444:root',
          'arn:aws:iam::555555555555:root',
        ],
      });
      const deduplicated = results
        .map((r) => done(r).decision)
        .find((d) => d.outcome === 'already-allowed');
      expect(deduplicated?.explanation).toContain('moments ago for event');
      expect(w.notifier.messages).toHaveLength(3);
    });

    it('keeps both grants when another writer changed the policy after our read', async () => {
      const w = world();
      const theirs = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'TheirPull',
            Effect: 'Allow',
            Principal: { AWS: '999999999999' },
            Action: 'ecr:BatchGetImage',
          },
        ],
      });
      w.registry.afterGet = (repository) => {
        w.registry.afterGet = undefined;
        w.registry.putPolicy(repository, theirs);
      };

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).applied).toBe(true);
      expect(sids(w, SAME_ACCOUNT_REPO)).toEqual(['TheirPull', SERVICE_SID]);
      expect(done(result).decision.policyBefore).toBe(theirs);
    });

    it('re-applies its grant when another writer replaced the policy right after our write', async () => {
      const w = world();
      const theirs = JSON.stringify({
        Statement: [
          {
            Sid: 'TheirPull',
            Effect: 'Allow',
            Principal: { AWS: '999999999999' },
            Action: 'ecr:BatchGetImage',
          },
        ],
      });
      w.registry.afterSet = (repository) => {
        w.registry.afterSet = undefined;
        w.registry.putPolicy(repository, theirs);
      };

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).applied).toBe(true);
      expect(w.registry.calls.setPolicy).toBe(2);
      expect(sids(w, SAME_ACCOUNT_REPO)).toEqual(['TheirPull', SERVICE_SID]);
      expect(w.clock.sleeps).toHaveLength(1);
    });

    it('waits for the lease another invocation holds on the repository, then writes', async () => {
      const w = world();
      const locks = new InMemoryRepositoryLocks(w.clock);
      await locks.tryAcquire(
        'arn:aws:ecr:us-east-1:222222222222:repository/orders-api',
        'another-invocation',
        1_000
      );
      const pipeline = new FixPipeline({ ...dependenciesOf(w), locks });

      const [result] = await pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).applied).toBe(true);
      expect(w.clock.sleeps.length).toBeGreaterThan(0);
      expect(locks.calls.release).toBe(1);
    });

    it('fails the events, for a later retry, when the repository stays busy', async () => {
      const w = world();
      const locks = new InMemoryRepositoryLocks(w.clock);
      await locks.tryAcquire(
        'arn:aws:ecr:us-east-1:222222222222:repository/orders-api',
        'a-stuck-invocation',
        10 * 60_000
      );
      const pipeline = new FixPipeline({ ...dependenciesOf(w), locks });

      const [result] = await pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(result?.status).toBe('failed');
      expect(result?.status === 'failed' && result.error).toBeInstanceOf(RepositoryBusyError);
      expect(w.registry.calls.setPolicy).toBe(0);
    });

    it('keeps every grant when two invocations fix the same repository at the same time', async () => {
      // Arrange: two pipelines (two Lambda invocations) share the registry and the leases; every write is slow.
      const w = world();
      const clock = new SystemClock();
      const locks = new InMemoryRepositoryLocks(clock);
      w.registry.beforeSet = () => new Promise((resolve) => setTimeout(resolve, 20));
      const invocation = () => new FixPipeline({ ...dependenciesOf(w), clock, locks });
      const eventFor = (account: string) =>
        variantOf('create-function-cross-account-ecr-denied', {
          account,
          eventId: `00000000-0000-0000-0000-${account}`,
        });

      // Act
      const [first, second] = await Promise.all([
        invocation().process([incoming(eventFor('444444444444'), 'a')]),
        invocation().process([incoming(eventFor('555555555555'), 'b')]),
      ]);

      // Assert
      expect([done(first?.[0]).applied, done(second?.[0]).applied]).toEqual([true, true]);
      expect(policyOf(w, CROSS_ACCOUNT_REPO).Statement[1]?.['Principal']).toEqual({
        AWS: ['arn:aws:iam::444444444444:root', 'arn:aws:iam::555555555555:root'],
      });
      expect(w.registry.calls.setPolicy).toBe(2);
    });

    it('gives up with verification-failed when the policy keeps being replaced', async () => {
      const w = world();
      w.registry.afterSet = (repository) => w.registry.putPolicy(repository, null);

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).decision.reason).toBe('verification-failed');
      expect(w.registry.calls.setPolicy).toBe(MAX_WRITE_ATTEMPTS);
      expect(w.clock.sleeps).toHaveLength(MAX_WRITE_ATTEMPTS - 1);
      expect(w.notifier.messages[0]?.subject).toContain('ACTION NEEDED');
    });

    it('compares policies by meaning, so a registry that re-formats the text is not a concurrent writer', async () => {
      const w = world();
      const registry = new InMemoryRegistry({
        fixerAccountId: FIXER_ACCOUNT,
        accountsWithRole: ['222222222222'],
        storedForm: (text) => JSON.stringify(JSON.parse(text)),
      });
      registry.addRepository(SAME_ACCOUNT_REPO, {
        policyText: '{ "Version": "2012-10-17", "Statement": [] }',
      });
      const pipeline = new FixPipeline({ ...dependenciesOf(w), registry });

      const [result] = await pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).applied).toBe(true);
      expect(registry.calls.setPolicy).toBe(1);
    });

    it("never checks the function's previous image when an UpdateFunctionCode event lacks the URI (finding f)", async () => {
      // The function's current image (what GetFunction returns) names another repository than the failed update.
      const w = world();
      const event = loadEvent('update-function-code-ecr-denied');
      delete (event.detail['requestParameters'] as Record<string, unknown>)['imageUri'];

      const [result] = await w.pipeline.process([incoming(event)]);

      expect(done(result).decision.reason).toBe('image-uri-unknown');
      expect(w.registry.calls.storeFor).toBe(0);
    });
  });

  describe('deciding not to write', () => {
    it('writes nothing in dry-run mode and notifies the proposal', async () => {
      const w = world({ mode: 'dry-run' });

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).decision.outcome).toBe('fix');
      expect(done(result).applied).toBe(false);
      expect(w.registry.calls.setPolicy).toBe(0);
      expect(w.registry.repository(SAME_ACCOUNT_REPO)?.policyText).toBeNull();
      expect(w.notifier.messages[0]?.subject).toContain('PROPOSED FIX');
      expect(w.notifier.messages[0]?.message).toContain('dry-run: nothing was written');
      expect(w.audit.records[0]).toEqual(
        expect.objectContaining({ mode: 'dry-run', state: 'recorded', outcome: 'fix' })
      );
    });

    it('respects the opt-out tag', async () => {
      const w = world();
      w.registry.addRepository(SAME_ACCOUNT_REPO, { tags: { 'lambda-ecr-autofix': 'OFF' } });

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).decision.reason).toBe('repository-opted-out');
      expect(w.registry.calls.setPolicy).toBe(0);
    });

    it('reports a policy that would grow past 10,240 characters with the statements to add', async () => {
      const w = world();
      const filler = Array.from({ length: 80 }, (_, index) => ({
        Sid: `Reader${index}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${String(100000000000 + index)}:root` },
        Action: ['ecr:BatchGetImage', 'ecr:DescribeImages'],
      }));
      w.registry.addRepository(SAME_ACCOUNT_REPO, {
        policyText: JSON.stringify({ Version: '2012-10-17', Statement: filler }),
      });

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).decision.reason).toBe('policy-too-large');
      expect(w.registry.calls.setPolicy).toBe(0);
      expect(w.notifier.messages[0]?.message).toContain('STATEMENTS TO ADD BY HAND');
      expect(w.notifier.messages[0]?.message).toContain(SERVICE_SID);
    });

    it('needs a human when the member role is missing in the registry account', async () => {
      const w = world();
      w.registry.accountsWithRole.delete('111111111111');

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-cross-account-ecr-denied')),
      ]);

      const decision = done(result).decision;
      expect(decision.reason).toBe('registry-role-unavailable');
      expect(decision.explanation).toContain(
        'deploy the lambda-ecr-autofix member stack in account 111111111111'
      );
      expect(w.notifier.messages[0]?.attributes.reason).toBe('registry-role-unavailable');
    });

    it('needs a human when the repository does not exist', async () => {
      const w = world();
      const event = variantOf('create-function-same-account-ecr-denied', {});
      (event.detail['requestParameters'] as { code: { imageUri: string } }).code.imageUri =
        '222222222222.dkr.ecr.us-east-1.amazonaws.com/gone:1';

      const [result] = await w.pipeline.process([incoming(event)]);

      expect(done(result).decision.reason).toBe('repository-not-found');
    });

    it('needs a human when the repository is deleted between our read and our write', async () => {
      const w = world();
      w.registry.beforeSet = () => {
        throw new RepositoryNotFoundError({ partition: 'aws', ...SAME_ACCOUNT_REPO });
      };

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(done(result).decision.reason).toBe('repository-not-found');
    });

    it('ignores events caused by its own role', async () => {
      const w = world();
      const event = loadEvent('create-function-same-account-ecr-denied');
      (event.detail['userIdentity'] as Record<string, unknown>)['arn'] =
        'arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/session';

      const [result] = await w.pipeline.process([incoming(event)]);

      expect(done(result).decision.reason).toBe('own-change');
      expect(w.registry.calls.storeFor).toBe(0);
      expect(w.audit.records).toHaveLength(0);
    });

    it('notifies only the outcomes listed in notifyOn', async () => {
      const w = world({ notifyOn: ['needs-human'] });

      await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied'), 'a'),
        incoming(loadEvent('create-function-scp-explicit-deny'), 'b'),
        incoming(loadEvent('create-function-zip-failure'), 'c'),
      ]);

      expect(w.notifier.messages.map((m) => m.attributes.outcome)).toEqual(['needs-human']);
    });
  });

  describe('failing so that the queue retries', () => {
    it('fails only the events of a repository whose read failed for an unexpected reason', async () => {
      const w = world();
      w.registry.failNextGet = Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
      });

      const results = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied'), 'same'),
        incoming(loadEvent('create-function-cross-account-ecr-denied'), 'cross'),
      ]);

      expect(results.map((r) => [r.messageId, r.status])).toEqual([
        ['same', 'failed'],
        ['cross', 'done'],
      ]);
      expect(w.failures).toHaveLength(1);
    });

    it('fails the event when the write fails with a server error, and closes its intent as failed', async () => {
      const w = world();
      w.registry.failNextSet = Object.assign(new Error('Internal error'), {
        name: 'ServerException',
      });

      const [result] = await w.pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(result?.status).toBe('failed');
      expect(w.audit.records).toEqual([
        expect.objectContaining({ state: 'failed', error: 'Internal error', outcome: 'fix' }),
      ]);
      expect(w.notifier.messages).toHaveLength(0);
    });

    it('after SNS failed, the retry does not write again and still sends the FIXED notice', async () => {
      const w = world();
      const event = loadEvent('create-function-same-account-ecr-denied');
      w.notifier.failNext(1);

      const [first] = await w.pipeline.process([incoming(event, 'm1', 1)]);
      const [second] = await w.pipeline.process([incoming(event, 'm1', 2)]);

      expect(first?.status).toBe('failed');
      expect(done(second).decision.outcome).toBe('fix');
      expect(done(second).applied).toBe(true);
      expect(w.registry.calls.setPolicy).toBe(1);
      expect(w.notifier.messages.map((m) => m.subject)).toEqual([
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull orders-api (us-east-1)',
      ]);
    });

    it('after SNS failed, the retry of a consented cross-account fix still sends the FIXED notice', async () => {
      // The replayed decision needs the repository's share tag again: without it, the retry would say
      // sharing-not-consented about a grant the first attempt made.
      const w = world();
      const event = loadEvent('create-function-cross-account-ecr-denied');
      w.notifier.failNext(1);

      const [first] = await w.pipeline.process([incoming(event, 'm1', 1)]);
      const [second] = await w.pipeline.process([incoming(event, 'm1', 2)]);

      expect(first?.status).toBe('failed');
      expect([done(second).decision.outcome, done(second).applied]).toEqual(['fix', true]);
      expect(w.registry.calls.setPolicy).toBe(1);
      expect(w.notifier.messages.map((m) => m.subject)).toEqual([
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)',
      ]);
    });

    it('fails the events whose audit record could not be written', async () => {
      const w = world();
      const audit = new InMemoryAuditLog();
      audit.failNextWrite = new Error('ProvisionedThroughputExceeded');
      const pipeline = new FixPipeline({ ...dependenciesOf(w), audit });

      const [result] = await pipeline.process([
        incoming(loadEvent('create-function-same-account-ecr-denied')),
      ]);

      expect(result?.status).toBe('failed');
    });
  });

  it('works without notifier and audit log (the apply command without a topic)', async () => {
    const w = world();
    const pipeline = new FixPipeline({
      ...dependenciesOf(w),
      notifier: null,
      audit: null,
    });

    const [result] = await pipeline.process([
      incoming(loadEvent('create-function-same-account-ecr-denied')),
    ]);

    expect(done(result).applied).toBe(true);
    expect(done(result).notificationId).toBeNull();
  });
});

function dependenciesOf(w: World): PipelineDependencies {
  return {
    config: parseConfig({}, 'test'),
    fixer: { roleArns: [FIXER_ROLE] },
    registry: w.registry,
    notifier: w.notifier,
    audit: w.audit,
    locks: null,
    clock: w.clock,
    telemetry: { decided: () => undefined, failed: () => undefined },
  };
}
