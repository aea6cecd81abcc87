/**
 * The write-ahead audit (DESIGN.md, "Audit") through the whole pipeline, with the in-memory stand-ins (whose audit log
 * has DynamoDB's conditional semantics; see the parity test in test/integration). Each test plays one of the faults
 * that used to lose a record or a notice: a failure right after the write, a duplicate delivery, the same event twice
 * in one batch, a failed publish, a failed intent, two runs holding the same event.
 */
import type {
  EventResult,
  IncomingEvent,
  PipelineDependencies,
} from '../../lambda/application/fix-pipeline';
import { FixPipeline } from '../../lambda/application/fix-pipeline';
import {
  AuditNotWrittenError,
  AuditRecordBusyError,
  NoticeNotSentError,
  RegistryAccessDeniedError,
  RepositoryNotFoundError,
} from '../../lambda/application/errors';
import type { AuditLog, AuditRecord } from '../../lambda/application/ports';
import { LIVE_INTENT_MS } from '../../lambda/application/write-ahead-audit';
import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
  InMemoryRepositoryLocks,
} from '../../lambda/adapters/in-memory';
import { SystemClock } from '../../lambda/adapters/system-clock';
import type { Config } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import { SERVICE_SID } from '../../lambda/domain/planner';
import { loadEvent, variantOf } from '../support/events';

const FIXER_ACCOUNT = '333333333333';
const REPO = { registryAccount: '222222222222', region: 'us-east-1', repositoryName: 'orders-api' };
const REPO_ARN = 'arn:aws:ecr:us-east-1:222222222222:repository/orders-api';
const OTHER_REPO = {
  registryAccount: '111111111111',
  region: 'eu-west-1',
  repositoryName: 'platform/payments-worker',
};
const FIXED_SUBJECT =
  '[lambda-ecr-autofix] FIXED: 222222222222 can now pull orders-api (us-east-1)';
const SAME_ACCOUNT = 'create-function-same-account-ecr-denied';
const EVENT_ID = '70462beb-c031-4e1c-a32f-3c83e8d047ee';

/** What a SetRepositoryPolicy that times out after ECR stored the policy looks like to the SDK. */
function timeout(): Error {
  return Object.assign(new Error('Socket timed out without establishing a connection'), {
    name: 'TimeoutError',
  });
}

interface World {
  registry: InMemoryRegistry;
  notifier: InMemoryNotifier;
  audit: InMemoryAuditLog;
  clock: FixedClock;
  /** A new pipeline run (a new Lambda invocation or CLI run) over the same AWS. */
  run(events: IncomingEvent[], overrides?: Partial<PipelineDependencies>): Promise<EventResult[]>;
}

function world(config: Partial<Config> = {}): World {
  const registry = new InMemoryRegistry({
    fixerAccountId: FIXER_ACCOUNT,
    accountsWithRole: ['111111111111', '222222222222'],
  });
  registry.addRepository(REPO);
  // The registry's owner shares platform/payments-worker with the workload account (DESIGN.md, "Sharing and consent").
  registry.addRepository(OTHER_REPO, { tags: { 'lambda-ecr-autofix:share': '222222222222' } });
  const notifier = new InMemoryNotifier();
  const audit = new InMemoryAuditLog();
  const clock = new FixedClock('2026-03-03T14:03:21.000Z');
  const locks = new InMemoryRepositoryLocks(clock);
  let runs = 0;
  return {
    registry,
    notifier,
    audit,
    clock,
    run: (events, overrides = {}) =>
      new FixPipeline({
        config: parseConfig(config, 'test'),
        fixer: { roleArns: [] },
        registry,
        notifier,
        audit,
        locks,
        clock,
        telemetry: { decided: () => undefined, failed: () => undefined },
        newRunId: () => `run-${++runs}`,
        ...overrides,
      }).process(events),
  };
}

function incoming(event: unknown, messageId = 'm1', attempt = 1): IncomingEvent {
  return { messageId, event, attempt };
}

function done(result: EventResult | undefined): Extract<EventResult, { status: 'done' }> {
  expect(result?.status).toBe('done');
  return result as Extract<EventResult, { status: 'done' }>;
}

function failure(result: EventResult | undefined): unknown {
  expect(result?.status).toBe('failed');
  return (result as Extract<EventResult, { status: 'failed' }>).error;
}

function subjects(w: World): string[] {
  return w.notifier.messages.map((message) => message.subject);
}

function onlyRecord(w: World): AuditRecord {
  expect(w.audit.records).toHaveLength(1);
  return w.audit.records[0] as AuditRecord;
}

describe('write-ahead audit', () => {
  describe('the intent', () => {
    it('is written before SetRepositoryPolicy, with everything needed to finish or undo the write', async () => {
      // Arrange: look at the audit log at the moment ECR receives the write.
      const w = world();
      let atWrite: readonly AuditRecord[] = [];
      w.registry.beforeSet = () => {
        atWrite = w.audit.records;
      };

      // Act
      await w.run([incoming(loadEvent(SAME_ACCOUNT))]);

      // Assert
      expect(atWrite).toEqual([
        expect.objectContaining({
          repositoryArn: REPO_ARN,
          eventId: EVENT_ID,
          kind: 'fix',
          state: 'intent',
          owner: 'run-1',
          consumerAccount: '222222222222',
          functionArn: 'arn:aws:lambda:us-east-1:222222222222:function:orders-api',
          policyBefore: null,
          policyPlanned: expect.stringContaining(SERVICE_SID) as string,
          policyAfter: null,
          grants: [
            {
              sid: SERVICE_SID,
              change: 'created',
              added: ['arn:aws:lambda:us-east-1:222222222222:function:*'],
            },
          ],
          notice: expect.objectContaining({ subject: FIXED_SUBJECT }) as unknown,
          notifiedAt: null,
        }),
      ]);
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({
          state: 'applied',
          policyAfter: w.registry.repository(REPO)?.policyText,
          notifiedAt: '2026-03-03T14:03:21.000Z',
          notificationId: 'in-memory-message-1',
        })
      );
    });

    it('that cannot be written stops the write: nothing reaches ECR and the event is retried', async () => {
      const w = world();
      w.audit.failNextWrite = Object.assign(new Error('Throughput exceeds the current capacity'), {
        name: 'ProvisionedThroughputExceededException',
      });

      const [result] = await w.run([incoming(loadEvent(SAME_ACCOUNT))]);

      expect(failure(result)).toBeInstanceOf(Error);
      expect(w.registry.calls.setPolicy).toBe(0);
      expect(w.registry.repository(REPO)?.policyText).toBeNull();
      expect(w.notifier.messages).toHaveLength(0);
    });

    it('is not written over another run’s live intent for the same event: that event waits, nothing is written', async () => {
      // Arrange: another run announced the same write seconds ago and is still at work.
      const w = world();
      await w.run([incoming(loadEvent(SAME_ACCOUNT))]);
      const applied = onlyRecord(w);
      w.registry.putPolicy(REPO, null);
      w.audit.put({
        ...applied,
        state: 'intent',
        owner: 'other-run',
        updatedAt: '2026-03-03T14:03:20.000Z',
      });
      const writesBefore = w.registry.calls.setPolicy;

      const [result] = await w.run([incoming(loadEvent(SAME_ACCOUNT), 'm2')]);

      expect(failure(result)).toBeInstanceOf(AuditRecordBusyError);
      expect(w.registry.calls.setPolicy).toBe(writesBefore);
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({ state: 'intent', owner: 'other-run' })
      );
    });
  });

  describe('finding (a): a failure right after SetRepositoryPolicy', () => {
    it('closes the intent as failed, and the retry completes it as applied and sends exactly one notice', async () => {
      // Arrange: ECR stores the policy, then the connection drops before the answer arrives.
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.registry.afterSet = () => {
        w.registry.afterSet = undefined;
        throw timeout();
      };

      // Act
      const [first] = await w.run([incoming(event, 'm1', 1)]);
      const afterFirst = onlyRecord(w);
      const [second] = await w.run([incoming(event, 'm1', 2)]);

      // Assert
      expect(failure(first)).toMatchObject({ name: 'TimeoutError' });
      expect(afterFirst).toEqual(
        expect.objectContaining({
          state: 'failed',
          error: 'Socket timed out without establishing a connection',
        })
      );
      const retried = done(second);
      expect([retried.decision.outcome, retried.applied, retried.replayed]).toEqual([
        'fix',
        true,
        true,
      ]);
      expect(retried.notificationId).toBe('in-memory-message-1');
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
      expect(w.registry.calls.setPolicy).toBe(1);
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({
          state: 'applied',
          owner: 'run-2',
          error: null,
          policyAfter: w.registry.repository(REPO)?.policyText,
          notifiedAt: '2026-03-03T14:03:21.000Z',
        })
      );
    });

    it('completes an intent the crashed run could not even close, once that run is known to be dead', async () => {
      // Arrange: the write happens, then the run dies (here: every audit write after the intent fails).
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.registry.afterSet = () => {
        w.registry.afterSet = undefined;
        w.audit.failNextWrite = new Error('connect ECONNREFUSED');
        throw timeout();
      };
      await w.run([incoming(event, 'm1', 1)]);
      expect(onlyRecord(w).state).toBe('intent');

      // Act: a redelivery while the intent is fresh waits; one after LIVE_INTENT_MS completes it.
      const [tooEarly] = await w.run([incoming(event, 'm1', 2)]);
      w.clock.advance(LIVE_INTENT_MS + 1);
      const [later] = await w.run([incoming(event, 'm1', 3)]);

      // Assert
      expect(failure(tooEarly)).toBeInstanceOf(AuditRecordBusyError);
      expect(done(later).applied).toBe(true);
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
      expect(w.registry.calls.setPolicy).toBe(1);
      expect(onlyRecord(w)).toEqual(expect.objectContaining({ state: 'applied', owner: 'run-3' }));
    });

    it('writes again when the interrupted write never reached the policy', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.registry.failNextSet = timeout();

      await w.run([incoming(event, 'm1', 1)]);
      const [retry] = await w.run([incoming(event, 'm1', 2)]);

      expect(done(retry)).toMatchObject({ applied: true, replayed: false });
      expect(w.registry.calls.setPolicy).toBe(2);
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
      expect(onlyRecord(w)).toEqual(expect.objectContaining({ state: 'applied', owner: 'run-2' }));
    });
  });

  describe('finding (b): a duplicate delivery in a later batch', () => {
    it('leaves the applied record intact and sends no second notice', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      await w.run([incoming(event, 'first-delivery')]);
      const applied = onlyRecord(w);

      const [duplicate] = await w.run([incoming(event, 'second-delivery')]);

      expect(done(duplicate)).toMatchObject({ applied: false, notificationId: null });
      expect(done(duplicate).decision.outcome).toBe('already-allowed');
      expect(onlyRecord(w)).toStrictEqual(applied);
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
    });

    it('sends the notice of an applied record that has none, exactly once', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.notifier.failNext(1);
      await w.run([incoming(event, 'first-delivery')]);

      const [duplicate] = await w.run([incoming(event, 'second-delivery')]);
      const [third] = await w.run([incoming(event, 'third-delivery')]);

      expect(done(duplicate)).toMatchObject({ applied: true, replayed: true });
      expect(done(duplicate).decision.outcome).toBe('fix');
      expect(done(third).notificationId).toBeNull();
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
      expect(w.registry.calls.setPolicy).toBe(1);
    });
  });

  describe('finding (c): the same event twice in one batch', () => {
    it('processes it once, gives both messages its result, and fails no unrelated repository', async () => {
      // Arrange: the audit log rejects a call that names one item twice, as DynamoDB does (next test).
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);

      // Act
      const results = await w.run([
        incoming(event, 'a'),
        incoming(loadEvent('create-function-cross-account-ecr-denied'), 'unrelated'),
        incoming(structuredClone(event), 'a-again'),
      ]);

      // Assert
      expect(results.map((r) => [r.messageId, done(r).decision.outcome])).toEqual([
        ['a', 'fix'],
        ['unrelated', 'fix'],
        ['a-again', 'fix'],
      ]);
      expect(w.registry.calls.setPolicy).toBe(2);
      expect(w.notifier.messages).toHaveLength(2);
      expect(w.audit.records.map((r) => r.state)).toEqual(['applied', 'applied']);
    });

    it('is what the audit log itself refuses, like DynamoDB', async () => {
      const w = world();
      await w.run([incoming(loadEvent(SAME_ACCOUNT))]);
      const record = onlyRecord(w);

      await expect(
        w.audit.write([
          { kind: 'decision', record },
          { kind: 'decision', record },
        ])
      ).rejects.toThrow('Transaction request cannot include multiple operations on one item');
    });
  });

  describe('the FIXED notice', () => {
    it('after a failed publish: the event fails with "policy written and verified; notice not sent", the retry sends it once', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.notifier.failNext(1, new Error('Internal error (SNS)'));

      const [first] = await w.run([incoming(event, 'm1', 1)]);
      const afterFirst = onlyRecord(w);
      const [second] = await w.run([incoming(event, 'm1', 2)]);
      const [third] = await w.run([incoming(event, 'm1', 3)]);

      const error = failure(first);
      expect(error).toBeInstanceOf(NoticeNotSentError);
      expect((error as Error).message).toBe(
        'policy written and verified; notice not sent: Internal error (SNS)'
      );
      expect(afterFirst).toEqual(expect.objectContaining({ state: 'applied', notifiedAt: null }));
      expect(done(second)).toMatchObject({ applied: true, replayed: true });
      expect(done(third).notificationId).toBeNull();
      expect(w.notifier.calls).toBe(2);
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
      expect(w.registry.calls.setPolicy).toBe(1);
      expect(onlyRecord(w).notificationId).toBe('in-memory-message-1');
    });

    it('is sent at least once when the run dies between publishing and completing the record', async () => {
      // The one duplicate the design accepts (docs/operations.md): never an applied write without a notice.
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      let calls = 0;
      w.audit.beforeWrite = () => {
        calls += 1;
        // The first call writes the intent; the second, which would complete the record, fails.
        if (calls === 2) w.audit.failNextWrite = new Error('connection reset');
      };

      const [first] = await w.run([incoming(event, 'm1', 1)]);
      w.clock.advance(LIVE_INTENT_MS + 1);
      const [second] = await w.run([incoming(event, 'm1', 2)]);

      expect(failure(first)).toBeInstanceOf(AuditNotWrittenError);
      expect(done(second).applied).toBe(true);
      expect(subjects(w)).toEqual([FIXED_SUBJECT, FIXED_SUBJECT]);
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({ state: 'applied', notificationId: 'in-memory-message-2' })
      );
    });

    it('is not sent when notifyOn leaves out fix, and the record says so', async () => {
      const w = world({ notifyOn: ['needs-human'] });

      const [result] = await w.run([incoming(loadEvent(SAME_ACCOUNT))]);

      expect(done(result).applied).toBe(true);
      expect(w.notifier.messages).toHaveLength(0);
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({ state: 'applied', notifiedAt: null })
      );
    });
  });

  describe('records of writes that did not happen', () => {
    it('closes the intent as failed when ECR refuses the write, keeping the planned grants', async () => {
      const w = world();
      w.registry.beforeSet = () => {
        throw new RepositoryNotFoundError({ partition: 'aws', ...REPO });
      };

      const [result] = await w.run([incoming(loadEvent(SAME_ACCOUNT))]);

      expect(done(result).decision.reason).toBe('repository-not-found');
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({
          state: 'failed',
          outcome: 'needs-human',
          reason: 'repository-not-found',
          grants: [expect.objectContaining({ sid: SERVICE_SID })],
          error: expect.stringContaining('does not exist') as string,
        })
      );
    });

    it('closes the intent as failed when the write cannot be verified', async () => {
      const w = world();
      w.registry.afterSet = (repository) => w.registry.putPolicy(repository, null);

      await w.run([incoming(loadEvent(SAME_ACCOUNT))]);

      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({ state: 'failed', reason: 'verification-failed' })
      );
    });

    it('records a dry-run fix as a proposal, without an intent', async () => {
      const w = world({ mode: 'dry-run' });
      const states: string[] = [];
      w.audit.beforeWrite = (writes) => {
        states.push(...writes.map((write) => write.record.state));
      };

      await w.run([incoming(loadEvent(SAME_ACCOUNT))]);

      expect(states).toEqual(['recorded']);
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({
          state: 'recorded',
          outcome: 'fix',
          mode: 'dry-run',
          policyPlanned: expect.any(String) as string,
        })
      );
    });

    it('replaces a failed record whose grant is not in the policy with the decision made now', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.registry.failNextSet = timeout();
      await w.run([incoming(event, 'm1', 1)]);
      w.registry.addRepository(REPO, { tags: { 'lambda-ecr-autofix': 'off' } });

      const [retry] = await w.run([incoming(event, 'm1', 2)]);

      expect(done(retry).decision.reason).toBe('repository-opted-out');
      expect(onlyRecord(w)).toEqual(
        expect.objectContaining({ state: 'recorded', reason: 'repository-opted-out' })
      );
    });
  });

  describe('finding (g): the lease owner is the run, not the event', () => {
    it('never lets two runs holding the same event write at the same time', async () => {
      // Arrange: two invocations got the same event (SQS delivers at least once); every write is slow.
      const w = world();
      const clock = new SystemClock();
      const locks = new InMemoryRepositoryLocks(clock);
      let writing = 0;
      let mostAtOnce = 0;
      w.registry.beforeSet = async () => {
        writing += 1;
        mostAtOnce = Math.max(mostAtOnce, writing);
        await new Promise((resolve) => setTimeout(resolve, 30));
        writing -= 1;
      };
      const event = loadEvent(SAME_ACCOUNT);

      // Act
      const [first, second] = await Promise.all([
        w.run([incoming(event, 'a')], { clock, locks }),
        w.run([incoming(structuredClone(event), 'b')], { clock, locks }),
      ]);

      // Assert
      expect(mostAtOnce).toBe(1);
      expect(w.registry.calls.setPolicy).toBe(1);
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
      const statuses = [first?.[0]?.status, second?.[0]?.status];
      expect(statuses).toContain('done');
    });
  });

  it('records every other decision of the batch in the same call as the completed writes', async () => {
    const w = world();
    const calls: string[][] = [];
    w.audit.beforeWrite = (writes) => {
      calls.push(writes.map((write) => write.kind));
    };

    await w.run([
      incoming(loadEvent(SAME_ACCOUNT), 'fix'),
      incoming(loadEvent('create-function-scp-explicit-deny'), 'needs-human'),
      incoming(
        variantOf(SAME_ACCOUNT, { eventId: '00000000-0000-0000-0000-000000000002' }),
        'already-allowed-by-the-fix'
      ),
    ]);

    expect(calls).toEqual([['intent'], ['decision', 'replace', 'decision']]);
  });

  describe('when the audit log itself misbehaves', () => {
    it('writes nothing to ECR when an intent stays unwritten (a transaction conflict, again and again)', async () => {
      const w = world();
      const audit: AuditLog = {
        write: (writes) =>
          writes.some((write) => write.kind === 'intent')
            ? Promise.resolve(
                writes.map(() => ({ status: 'unwritten' as const, reason: 'TransactionConflict' }))
              )
            : w.audit.write(writes),
        markNotified: (key, at, id) => w.audit.markNotified(key, at, id),
        markAnnounced: (key, at) => w.audit.markAnnounced(key, at),
        find: (key) => w.audit.find(key),
        list: (filter) => w.audit.list(filter),
      };

      const [result] = await w.run([incoming(loadEvent(SAME_ACCOUNT))], { audit });

      expect((failure(result) as Error).message).toContain(
        `the intent of event ${EVENT_ID} was not written (TransactionConflict)`
      );
      expect(w.registry.calls.setPolicy).toBe(0);
    });

    it('fails the event when the record changes between reading and completing it', async () => {
      // Arrange: the write happened but timed out; the redelivery finds the failed record and completes it,
      // but a concurrent run changes the record first.
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.registry.afterSet = () => {
        w.registry.afterSet = undefined;
        throw timeout();
      };
      await w.run([incoming(event, 'm1', 1)]);
      w.audit.beforeWrite = (writes) => {
        const replace = writes.find((write) => write.kind === 'replace');
        if (replace !== undefined)
          w.audit.put({
            ...replace.record,
            state: 'failed',
            updatedAt: '2026-03-03T14:03:22.000Z',
          });
      };

      const [result] = await w.run([incoming(event, 'm1', 2)]);

      expect((failure(result) as Error).message).toContain('the record changed meanwhile');
    });

    it('fails the event when the late notice goes out but cannot be marked sent (the retry sends it again)', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.notifier.failNext(1);
      await w.run([incoming(event, 'm1', 1)]);
      w.audit.markNotified = () => Promise.reject(new Error('ProvisionedThroughputExceeded'));

      const [result] = await w.run([incoming(event, 'm1', 2)]);

      expect(failure(result)).toBeInstanceOf(AuditNotWrittenError);
      expect(subjects(w)).toEqual([FIXED_SUBJECT]);
    });

    it('fails the event again when the late notice cannot be sent either', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.notifier.failNext(2);

      await w.run([incoming(event, 'm1', 1)]);
      const [second] = await w.run([incoming(event, 'm1', 2)]);

      expect(failure(second)).toBeInstanceOf(NoticeNotSentError);
      expect(onlyRecord(w).notifiedAt).toBeNull();
    });
  });

  describe('records an earlier delivery left', () => {
    it('leaves an applied record alone when its grant was removed since, and writes nothing', async () => {
      // The drift guard (not this pipeline) decides about grants removed after a fix.
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      await w.run([incoming(event, 'first')]);
      const applied = onlyRecord(w);
      w.registry.putPolicy(REPO, null);

      const [duplicate] = await w.run([incoming(event, 'late-duplicate')]);

      expect(done(duplicate)).toMatchObject({
        applied: false,
        replayed: true,
        notificationId: null,
      });
      expect(done(duplicate).decision.outcome).toBe('fix');
      expect(w.registry.calls.setPolicy).toBe(1);
      expect(onlyRecord(w)).toStrictEqual(applied);
    });

    it('fixes the other events of the repository when one of them was applied earlier', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      await w.run([incoming(event, 'first')]);
      // Someone removed the grant; the owner shares the repository with a second account.
      w.registry.addRepository(REPO, { tags: { 'lambda-ecr-autofix:share': '444444444444' } });
      const other = variantOf(SAME_ACCOUNT, {
        account: '444444444444',
        eventId: '00000000-0000-0000-0000-000000000004',
      });
      (other.detail['requestParameters'] as Record<string, unknown>)['functionName'] = 'orders-api';

      const results = await w.run([incoming(event, 'late-duplicate'), incoming(other, 'other')]);

      expect(results.map((r) => done(r).replayed)).toEqual([true, false]);
      expect(done(results[1]).applied).toBe(true);
      expect(w.registry.calls.setPolicy).toBe(2);
    });

    it('fails the event when another run’s intent it waited on goes stale before the record is completed', async () => {
      // Arrange: a live intent of another run, which runs out while this run works.
      const w = world();
      await w.run([incoming(loadEvent(SAME_ACCOUNT))]);
      const applied = onlyRecord(w);
      w.registry.putPolicy(REPO, null);
      w.audit.put({
        ...applied,
        state: 'intent',
        owner: 'other-run',
        updatedAt: '2026-03-03T14:03:20.000Z',
      });
      // The intent write meets the live intent; by the time the batch completes its records, it is stale.
      w.audit.beforeWrite = (writes) => {
        if (writes.some((write) => write.kind === 'intent')) w.clock.advance(LIVE_INTENT_MS);
      };

      const [result] = await w.run([incoming(loadEvent(SAME_ACCOUNT), 'm2')]);

      expect((failure(result) as Error).message).toContain(
        'an earlier intent record is in the way'
      );
    });

    it('leaves a failed record alone when the event is now decided without reading the policy', async () => {
      const w = world();
      const event = loadEvent(SAME_ACCOUNT);
      w.registry.failNextSet = timeout();
      await w.run([incoming(event, 'm1', 1)]);

      const [result] = await w.run([incoming(event, 'm1', 2)], {
        config: parseConfig({ excludeRepositories: ['orders-api'] }, 'test'),
      });

      expect(done(result).decision.reason).toBe('repository-excluded');
      expect(onlyRecord(w).state).toBe('failed');
    });

    it('records needs-human when reading the tags is refused, with no intent', async () => {
      const w = world();
      w.registry.failNextTags = new RegistryAccessDeniedError(
        'ecr:ListTagsForResource',
        'the fixer role',
        {
          partition: 'aws',
          ...REPO,
        }
      );

      const [result] = await w.run([incoming(loadEvent(SAME_ACCOUNT))]);

      expect(done(result).decision.reason).toBe('access-denied-to-fixer');
      expect(onlyRecord(w)).toEqual(expect.objectContaining({ state: 'recorded', grants: [] }));
    });
  });
});
