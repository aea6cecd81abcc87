/**
 * `revoke`, the drift guard and decision events over the in-memory stand-ins: the same conditional audit semantics
 * as DynamoDB, faults injected at the worst moments (right after a write, a failed publish, a failed PutEvents).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DecisionEventPublisher } from '../../lambda/application/decision-events';
import type { EventResult, IncomingEvent } from '../../lambda/application/fix-pipeline';
import { FixPipeline } from '../../lambda/application/fix-pipeline';
import type { DecisionEvents } from '../../lambda/application/ports';
import { revokeConsumer, type RevokeRequest } from '../../lambda/application/revoke';
import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
  InMemoryRepositoryLocks,
} from '../../lambda/adapters/in-memory';
import type { ConfigInput } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import type { DecisionEventDetail } from '../../lambda/domain/decision-event';
import { ACCOUNTS_SID, SERVICE_SID } from '../../lambda/domain/planner';
import { variantOf } from '../support/events';

const REPO = {
  registryAccount: '111111111111',
  region: 'eu-west-1',
  repositoryName: 'platform/payments-worker',
};
const REPOSITORY = {
  partition: 'aws' as const,
  ...REPO,
  repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
};
const CI = {
  Sid: 'CiPublish',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::111111111111:role/ci-publisher' },
  Action: ['ecr:PutImage'],
};
const ECR_EVENTS = join(__dirname, '..', 'fixtures', 'ecr-events');
const ecrEvent = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(ECR_EVENTS, `${name}.json`), 'utf8')) as Record<string, unknown>;

class RecordingEvents implements DecisionEvents {
  readonly put: (details: readonly DecisionEventDetail[]) => Promise<void>;
  readonly details: DecisionEventDetail[] = [];
  failWith: Error | null = null;

  constructor() {
    this.put = (details) => {
      if (this.failWith !== null) return Promise.reject(this.failWith);
      this.details.push(...details);
      return Promise.resolve();
    };
  }
}

function world(configInput: ConfigInput = {}) {
  const config = parseConfig({ organizationId: 'o-a1b2c3d4e5', ...configInput }, 'test');
  const registry = new InMemoryRegistry({
    fixerAccountId: '333333333333',
    accountsWithRole: ['111111111111'],
  });
  registry.addRepository(REPO, {
    policyText: JSON.stringify({ Version: '2012-10-17', Statement: [CI] }),
    tags: { 'lambda-ecr-autofix:share': '222222222222 444444444444' },
  });
  const notifier = new InMemoryNotifier();
  const audit = new InMemoryAuditLog();
  const clock = new FixedClock('2026-03-03T16:30:00.000Z');
  const locks = new InMemoryRepositoryLocks(clock);
  const events = new RecordingEvents();
  const notPut: unknown[] = [];
  const pipeline = new FixPipeline({
    config,
    fixer: { roleArns: ['arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer'] },
    registry,
    notifier,
    audit,
    locks,
    clock,
    decisionEvents: events,
    telemetry: {
      decided: () => undefined,
      failed: () => undefined,
      decisionEventsNotPut: (report) => notPut.push(report),
    },
  });
  const revoke = (request: Partial<RevokeRequest> = {}, withEvents = true) =>
    revokeConsumer(
      {
        config,
        registry,
        audit,
        locks,
        notifier,
        decisionEvents: withEvents
          ? new DecisionEventPublisher(events, config, {
              decisionEventsNotPut: (r) => notPut.push(r),
            })
          : null,
        clock,
      },
      {
        repository: REPOSITORY,
        consumerAccount: '222222222222',
        functionName: null,
        requestedBy: 'arn:aws:sts::111111111111:assumed-role/platform-admin/jane',
        dryRun: false,
        ...request,
      }
    );
  const process = async (event: unknown, messageId = 'm1'): Promise<EventResult> => {
    const [result] = await pipeline.process([
      { messageId, event, attempt: 1 } satisfies IncomingEvent,
    ]);
    return result as EventResult;
  };
  const policy = () =>
    JSON.parse(registry.repository(REPO)?.policyText ?? '{"Statement":[]}') as {
      Statement: { Sid?: string; Principal?: { AWS?: string[] }; Condition?: unknown }[];
    };
  return { config, registry, notifier, audit, clock, events, notPut, revoke, process, policy };
}

type World = ReturnType<typeof world>;

/** Two consumers fixed with the owner's consent (the share tag). */
async function twoConsumers(w: World): Promise<void> {
  for (const [account, id] of [
    ['222222222222', 'e222'],
    ['444444444444', 'e444'],
  ] as const) {
    const result = await w.process(
      variantOf('create-function-cross-account-ecr-denied', { account, eventId: id })
    );
    expect(result).toEqual(expect.objectContaining({ status: 'done', applied: true }));
  }
  w.clock.advance(60_000);
}

const roots = (w: World): string[] =>
  w.policy().Statement.find((statement) => statement.Sid === ACCOUNTS_SID)?.Principal?.AWS ?? [];
const patterns = (w: World): string =>
  JSON.stringify(w.policy().Statement.find((s) => s.Sid === SERVICE_SID));

describe('revoke', () => {
  it('takes one consumer out, keeps the other and the foreign statement, audits and notifies REVOKED', async () => {
    const w = world();
    await twoConsumers(w);

    const result = await w.revoke();

    expect(result).toEqual(
      expect.objectContaining({ applied: true, replayed: false, unverified: false })
    );
    expect(result.decision.reason).toBe('consumer-revoked');
    expect(roots(w)).toEqual(['arn:aws:iam::444444444444:root']);
    expect(patterns(w)).not.toContain('222222222222');
    expect(w.policy().Statement[0]).toEqual(CI);
    const record = w.audit.records.find((r) => r.kind === 'revoke');
    expect(record).toEqual(
      expect.objectContaining({
        state: 'applied',
        outcome: 'revoke',
        consumerAccount: '222222222222',
        callerArn: 'arn:aws:sts::111111111111:assumed-role/platform-admin/jane',
        notifiedAt: expect.any(String) as string,
        removed: [
          { sid: SERVICE_SID, values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'] },
          { sid: ACCOUNTS_SID, values: ['arn:aws:iam::222222222222:root'] },
        ],
      })
    );
    expect(w.notifier.messages.at(-1)?.subject).toBe(
      '[lambda-ecr-autofix] REVOKED: 222222222222 may no longer pull platform/payments-worker (eu-west-1)'
    );
    expect(w.notifier.messages.at(-1)?.attributes).toEqual({
      outcome: 'revoke',
      reason: 'consumer-revoked',
      consumerAccount: '222222222222',
      repository: 'platform/payments-worker',
    });
    expect(w.events.details.at(-1)).toEqual(
      expect.objectContaining({
        kind: 'revoke',
        outcome: 'revoke',
        applied: true,
        consumerAccount: '222222222222',
      })
    );
  });

  it('writes the intent before the policy: the drift guard sees the revoke when the write happens', async () => {
    const w = world();
    await twoConsumers(w);
    const statesAtWrite: string[] = [];
    w.registry.beforeSet = () => {
      statesAtWrite.push(...w.audit.records.filter((r) => r.kind === 'revoke').map((r) => r.state));
    };

    await w.revoke();

    expect(statesAtWrite).toEqual(['intent']);
  });

  it('is idempotent: a second revoke writes nothing and sends nothing', async () => {
    const w = world();
    await twoConsumers(w);
    await w.revoke();
    const writes = w.registry.writes.length;
    const notices = w.notifier.messages.length;

    const again = await w.revoke();

    expect(again.decision.reason).toBe('already-revoked');
    expect(w.registry.writes).toHaveLength(writes);
    expect(w.notifier.messages).toHaveLength(notices);
    expect(
      w.audit.records
        .filter((r) => r.kind === 'revoke')
        .map((r) => r.state)
        .sort()
    ).toEqual(['applied', 'recorded']);
  });

  it('completes on a rerun after a failure right after the write, with one REVOKED notice', async () => {
    const w = world();
    await twoConsumers(w);
    w.registry.afterSet = () => {
      w.registry.afterSet = undefined;
      throw new Error('socket hang up (after ECR stored the policy)');
    };

    await expect(w.revoke()).rejects.toThrow('socket hang up');
    const left = w.audit.records.find((r) => r.kind === 'revoke');
    w.clock.advance(5_000);
    const rerun = await w.revoke();

    expect(left?.state).toBe('failed');
    expect(rerun).toEqual(expect.objectContaining({ applied: true, replayed: true }));
    expect(w.audit.records.filter((r) => r.kind === 'revoke')).toEqual([
      expect.objectContaining({
        state: 'applied',
        eventId: left?.eventId,
        notifiedAt: expect.any(String) as string,
      }),
    ]);
    expect(w.notifier.messages.filter((m) => m.subject.includes('REVOKED'))).toHaveLength(1);
    expect(w.registry.writes).toHaveLength(3);
  });

  it('sends a notice that could not be sent on the rerun, writing nothing again', async () => {
    const w = world();
    await twoConsumers(w);
    w.notifier.failNext(1);

    const first = await w.revoke();
    const writes = w.registry.writes.length;
    const rerun = await w.revoke();

    expect(first.noticeError).toBeInstanceOf(Error);
    expect(first.applied).toBe(true);
    expect(rerun).toEqual(expect.objectContaining({ replayed: true, noticeError: null }));
    expect(rerun.notificationId).toEqual(expect.any(String));
    expect(w.registry.writes).toHaveLength(writes);
    expect(w.audit.records.find((r) => r.kind === 'revoke')?.notifiedAt).toEqual(
      expect.any(String)
    );
  });

  it('a REVOKED notice that failed and no rerun: the revoke\u2019s own ECR event sends it, once (the drift guard\u2019s outbox)', async () => {
    const w = world();
    await twoConsumers(w);
    w.notifier.failNext(1);

    const first = await w.revoke();
    const ownWrite = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'), 'm2');
    const later = await w.process(ecrEvent('ecr-set-repository-policy-by-fixer'), 'm3');

    expect(first).toEqual(expect.objectContaining({ applied: true }));
    expect(first.noticeError).toBeInstanceOf(Error);
    expect(ownWrite).toEqual(
      expect.objectContaining({
        status: 'checked',
        check: expect.objectContaining({
          kind: 'ignored',
          outbox: expect.objectContaining({
            sent: [expect.objectContaining({ kind: 'revoke', marked: true })],
          }) as unknown,
        }) as unknown,
      })
    );
    expect(later).toEqual(
      expect.objectContaining({
        check: expect.not.objectContaining({ outbox: expect.anything() as unknown }) as unknown,
      })
    );
    expect(w.notifier.messages.filter((m) => m.subject.includes('REVOKED'))).toHaveLength(1);
    expect(w.audit.records.find((r) => r.kind === 'revoke')?.notifiedAt).toEqual(
      expect.any(String)
    );
  });

  it('the drift guard fails its event while a notice owed on the repository cannot be sent (retried)', async () => {
    const w = world();
    await twoConsumers(w);
    w.notifier.failNext(2);
    await w.revoke();

    const failed = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'), 'm2');
    const retried = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'), 'm2');

    expect(failed).toEqual(
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ name: 'NoticesOwedError' }) as unknown,
      })
    );
    expect(retried.status).toBe('checked');
    expect(w.notifier.messages.filter((m) => m.subject.includes('REVOKED'))).toHaveLength(1);
  });

  it('closes an abandoned intent whose write never happened, then revokes anew', async () => {
    const w = world();
    await twoConsumers(w);
    w.registry.failNextSet = new Error('throttled');
    await expect(w.revoke()).rejects.toThrow('throttled');
    w.clock.advance(600_000);

    const rerun = await w.revoke();

    expect(rerun).toEqual(expect.objectContaining({ applied: true, replayed: false }));
    expect(
      w.audit.records
        .filter((r) => r.kind === 'revoke')
        .map((r) => r.state)
        .sort()
    ).toEqual(['applied', 'failed']);
  });

  it('refuses while another run holds a live intent for the same consumer', async () => {
    const w = world();
    await twoConsumers(w);
    w.registry.afterGet = () => undefined;
    w.audit.put({
      ...w.audit.records[0]!,
      kind: 'revoke',
      state: 'intent',
      eventId: 'revoke-other',
      owner: 'another-run',
      outcome: 'revoke',
      reason: 'consumer-revoked',
      decidedAt: w.clock.now().toISOString(),
      updatedAt: w.clock.now().toISOString(),
      functionArn: null,
      grants: [],
      removed: [{ sid: SERVICE_SID, values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'] }],
    });

    await expect(w.revoke()).rejects.toThrow(/being completed by another lambda-ecr-autofix run/);
  });

  it('writes, records and sends nothing with --dry-run', async () => {
    const w = world();
    await twoConsumers(w);
    const records = w.audit.records.length;

    const result = await w.revoke({ dryRun: true });

    expect(result.decision.reason).toBe('consumer-revoked');
    expect(result.applied).toBe(false);
    expect(roots(w)).toContain('arn:aws:iam::222222222222:root');
    expect(w.audit.records).toHaveLength(records);
  });

  it('records a needs-human revoke without notifying, and says which statement grants the consumer', async () => {
    const w = world();
    w.registry.putPolicy(
      REPO,
      JSON.stringify({
        Statement: [
          { Sid: 'Readers', Effect: 'Allow', Principal: { AWS: '222222222222' }, Action: 'ecr:*' },
        ],
      })
    );

    const result = await w.revoke();

    expect(result.decision).toEqual(
      expect.objectContaining({ outcome: 'needs-human', reason: 'not-granted-by-autofix' })
    );
    expect(result.decision.explanation).toContain('Readers');
    expect(w.notifier.messages).toHaveLength(0);
    expect(w.audit.records).toEqual([
      expect.objectContaining({ kind: 'revoke', state: 'recorded' }),
    ]);
  });

  it('reports verification-failed when another writer keeps putting the consumer back', async () => {
    const w = world();
    await twoConsumers(w);
    const before = w.registry.repository(REPO)?.policyText ?? null;
    w.registry.afterSet = () => w.registry.putPolicy(REPO, before);

    const result = await w.revoke();

    expect(result).toEqual(expect.objectContaining({ unverified: true, applied: false }));
    expect(result.decision.reason).toBe('verification-failed');
    expect(w.audit.records.find((r) => r.kind === 'revoke')?.state).toBe('failed');
  });

  it('revokes a consumer someone else removed meanwhile as already revoked', async () => {
    const w = world();
    await twoConsumers(w);
    let reads = 0;
    w.registry.afterGet = () => {
      reads += 1;
      // After the first read, before the lease: someone removes the consumer by hand.
      if (reads === 1) w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    };

    const result = await w.revoke();

    expect(result.decision.reason).toBe('already-revoked');
    expect(w.audit.records.find((r) => r.kind === 'revoke')?.state).toBe('recorded');
  });
});

describe('the drift guard', () => {
  it('is never triggered by the fixer\u2019s own write, nor by a revoke\u2019s', async () => {
    const w = world();
    await twoConsumers(w);
    const own = await w.process(ecrEvent('ecr-set-repository-policy-by-fixer'));
    await w.revoke();
    const afterRevoke = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'), 'm2');

    expect(own).toEqual(
      expect.objectContaining({
        status: 'checked',
        check: expect.objectContaining({ kind: 'ignored', reason: 'no-drift' }) as unknown,
      })
    );
    expect(afterRevoke).toEqual(
      expect.objectContaining({
        status: 'checked',
        check: expect.objectContaining({ kind: 'ignored', reason: 'no-drift' }) as unknown,
      })
    );
  });

  it('reports a foreign removal once per consumer (notify), and stays quiet on the next call', async () => {
    const w = world();
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    const notices = w.notifier.messages.length;

    const first = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));
    const second = await w.process(ecrEvent('ecr-delete-repository-policy'), 'm2');

    const check = first.status === 'checked' ? first.check : null;
    expect(check?.kind).toBe('decided');
    const outcomes = check?.kind === 'decided' ? check.outcomes : [];
    expect(
      outcomes.map((o) => [o.decision.consumerAccount, o.decision.outcome, o.decision.reason])
    ).toEqual([
      ['222222222222', 'needs-human', 'grant-removed'],
      ['444444444444', 'needs-human', 'grant-removed'],
    ]);
    expect(w.notifier.messages.slice(notices).map((m) => m.attributes.consumerAccount)).toEqual([
      '222222222222',
      '444444444444',
    ]);
    expect(second).toEqual(
      expect.objectContaining({
        check: expect.objectContaining({ reason: 'drift-already-reported' }) as unknown,
      })
    );
    expect(w.policy().Statement).toEqual([CI]);
    expect(w.events.details.filter((d) => d.kind === 'drift')).toHaveLength(2);
  });

  it('restores exactly the audited grants (restore), consent applying again', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    const fixed = w.registry.repository(REPO)?.policyText;
    w.registry.putPolicy(REPO, JSON.stringify({ Version: '2012-10-17', Statement: [CI] }));

    const result = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(result.status).toBe('checked');
    expect(JSON.parse(w.registry.repository(REPO)?.policyText ?? '')).toEqual(
      JSON.parse(fixed ?? '')
    );
    const drift = w.audit.records.filter((r) => r.kind === 'drift');
    expect(drift.map((r) => [r.state, r.outcome, r.reason, r.consumerAccount])).toEqual([
      ['applied', 'fix', 'grant-removed', '222222222222'],
      ['applied', 'fix', 'grant-removed', '444444444444'],
    ]);
    expect(w.notifier.messages.slice(-2).map((m) => m.subject)).toEqual([
      '[lambda-ecr-autofix] RESTORED: 222222222222 regains access to platform/payments-worker (eu-west-1)',
      '[lambda-ecr-autofix] RESTORED: 444444444444 regains access to platform/payments-worker (eu-west-1)',
    ]);
    // The restore's own write, redelivered: nothing is missing and nothing is written twice.
    const writes = w.registry.writes.length;
    const again = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'), 'm2');
    expect(again).toEqual(expect.objectContaining({ status: 'checked' }));
    expect(w.registry.writes).toHaveLength(writes);
  });

  it('replays a restore completed by an earlier delivery, writing nothing, even if the grant went again since', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    const writes = w.registry.writes.length;
    const notices = w.notifier.messages.length;

    const again = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'), 'm2');

    expect(
      again.status === 'checked' &&
        again.check.kind === 'decided' &&
        again.check.outcomes.map((o) => [o.replayed, o.applied])
    ).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(w.registry.writes).toHaveLength(writes);
    expect(w.notifier.messages).toHaveLength(notices);
  });

  it('only reports for an opted-out repository, even with restore', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    w.registry.addRepository(REPO, {
      policyText: JSON.stringify({ Statement: [CI] }),
      tags: {
        'lambda-ecr-autofix:share': '222222222222 444444444444',
        'lambda-ecr-autofix': 'off',
      },
    });

    const result = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(
      result.status === 'checked' &&
        result.check.kind === 'decided' &&
        result.check.outcomes.map((o) => o.decision.outcome)
    ).toEqual(['needs-human', 'needs-human']);
    expect(w.policy().Statement).toEqual([CI]);
  });

  it('completes a restore an earlier delivery wrote but could not finish, with its notice', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    w.registry.afterSet = () => {
      w.registry.afterSet = undefined;
      throw new Error('connection reset after the write');
    };

    const failed = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));
    w.clock.advance(400_000);
    const retried = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'), 'm1');

    expect(failed.status).toBe('failed');
    expect(retried.status).toBe('checked');
    expect(w.audit.records.filter((r) => r.kind === 'drift').map((r) => r.state)).toEqual([
      'applied',
      'applied',
    ]);
    expect(w.notifier.messages.filter((m) => m.subject.includes('RESTORED'))).toHaveLength(2);
  });

  it('reports a deleted repository once and ends its grants', async () => {
    const w = world();
    await twoConsumers(w);

    const first = await w.process(ecrEvent('ecr-delete-repository'));
    const next = await w.process({ ...ecrEvent('ecr-delete-repository'), id: 'other' }, 'm2');
    const again = await w.process(
      (() => {
        const event = ecrEvent('ecr-delete-repository');
        (event['detail'] as Record<string, unknown>)['eventID'] = 'a-later-delete';
        return event;
      })(),
      'm3'
    );

    expect(
      first.status === 'checked' &&
        first.check.kind === 'decided' &&
        first.check.outcomes.map((o) => o.decision.reason)
    ).toEqual(['repository-deleted', 'repository-deleted']);
    expect(next.status).toBe('checked');
    expect(again).toEqual(
      expect.objectContaining({ check: expect.objectContaining({ reason: 'no-drift' }) as unknown })
    );
  });

  it('ignores calls with driftAction off, failed calls, and other ECR calls', async () => {
    const off = world({ driftAction: 'off' });
    const w = world();
    const putImage = ecrEvent('ecr-set-repository-policy-removes-grants');
    (putImage['detail'] as Record<string, unknown>)['eventName'] = 'PutImage';

    expect(await off.process(ecrEvent('ecr-set-repository-policy-removes-grants'))).toEqual(
      expect.objectContaining({
        check: expect.objectContaining({ reason: 'drift-guard-off' }) as unknown,
      })
    );
    expect(await w.process(ecrEvent('ecr-set-repository-policy-failed'))).toEqual(
      expect.objectContaining({
        status: 'done',
        decision: expect.objectContaining({ outcome: 'ignored', reason: 'call-failed' }) as unknown,
      })
    );
    expect(await w.process(putImage)).toEqual(
      expect.objectContaining({
        decision: expect.objectContaining({ reason: 'not-a-policy-change' }) as unknown,
      })
    );
  });

  it('retries a report whose notice failed (at least once)', async () => {
    const w = world();
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    w.notifier.failNext(1);

    const first = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));
    const retried = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(first.status).toBe('failed');
    expect(retried.status).toBe('checked');
    expect(
      w.notifier.messages
        .filter((m) => m.attributes.reason === 'grant-removed')
        .map((m) => m.attributes.consumerAccount)
    ).toEqual(expect.arrayContaining(['222222222222', '444444444444']));
  });

  it('checks a call delivered twice in one batch once', async () => {
    const w = world();
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    const event = ecrEvent('ecr-set-repository-policy-removes-grants');
    const before = w.notifier.messages.length;

    const results = await new FixPipeline({
      config: w.config,
      fixer: { roleArns: [] },
      registry: w.registry,
      notifier: w.notifier,
      audit: w.audit,
      locks: null,
      clock: w.clock,
      telemetry: { decided: () => undefined, failed: () => undefined },
    }).process([
      { messageId: 'a', event, attempt: 1 },
      { messageId: 'b', event, attempt: 1 },
    ]);

    expect(results.map((r) => [r.messageId, r.status])).toEqual([
      ['a', 'checked'],
      ['b', 'checked'],
    ]);
    expect(w.notifier.messages.length - before).toBe(2);
  });
});

describe('decision events', () => {
  it("announces a person's revoke on the bus once, when the fixer sees a change of the repository", async () => {
    const w = world();
    await twoConsumers(w);
    await w.revoke({}, false);
    const before = w.events.details.length;

    await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));
    await w.process(ecrEvent('ecr-delete-repository-policy'), 'm2');

    const announced = w.events.details.slice(before).filter((d) => d.kind === 'revoke');
    expect(announced).toEqual([
      expect.objectContaining({
        outcome: 'revoke',
        reason: 'consumer-revoked',
        applied: true,
        consumerAccount: '222222222222',
        callerArn: 'arn:aws:sts::111111111111:assumed-role/platform-admin/jane',
        eventId: expect.stringMatching(/^revoke-/) as unknown,
      }),
    ]);
    expect(w.audit.records.find((r) => r.kind === 'revoke')?.announcedAt).toEqual(
      expect.any(String)
    );
  });

  it('announces no revoke with decisionEvents false', async () => {
    const w = world({ decisionEvents: false });
    await twoConsumers(w);
    await w.revoke({}, false);

    await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(w.events.details).toEqual([]);
    expect(w.audit.records.find((r) => r.kind === 'revoke')?.announcedAt).toBeUndefined();
  });

  it('puts each notified fix decision on the bus, and a failed PutEvents loses neither decision nor notice', async () => {
    const w = world();
    w.events.failWith = new Error('PutEvents: ServiceUnavailable');

    const result = await w.process(
      variantOf('create-function-cross-account-ecr-denied', { account: '222222222222' })
    );

    expect(result).toEqual(expect.objectContaining({ status: 'done', applied: true }));
    expect(w.notifier.messages).toHaveLength(1);
    expect(w.audit.records[0]?.notifiedAt).toEqual(expect.any(String));
    expect(w.notPut).toEqual([expect.objectContaining({ count: 1 })]);
  });

  it('puts nothing with decisionEvents false, and only outcomes in notifyOn', async () => {
    const off = world({ decisionEvents: false });
    const narrow = world({ notifyOn: ['needs-human'] });

    await off.process(
      variantOf('create-function-cross-account-ecr-denied', { account: '222222222222' })
    );
    await narrow.process(
      variantOf('create-function-cross-account-ecr-denied', { account: '222222222222' })
    );

    expect(off.events.details).toEqual([]);
    expect(narrow.events.details).toEqual([]);
  });
});

describe('the drift guard at the edges', () => {
  it('knows no grant without an audit table', async () => {
    const w = world();
    const pipeline = new FixPipeline({
      config: w.config,
      fixer: { roleArns: [] },
      registry: w.registry,
      notifier: w.notifier,
      audit: null,
      locks: null,
      clock: w.clock,
      telemetry: { decided: () => undefined, failed: () => undefined },
    });

    const [result] = await pipeline.process([
      { messageId: 'm', event: ecrEvent('ecr-set-repository-policy-removes-grants'), attempt: 1 },
    ]);

    expect(result).toEqual(
      expect.objectContaining({
        check: expect.objectContaining({
          reason: 'no-drift',
          explanation: expect.stringContaining('no audit table') as unknown,
        }) as unknown,
      })
    );
  });

  it('leaves a repository that is gone to its DeleteRepository event', async () => {
    const w = world();
    await twoConsumers(w);
    const gone = ecrEvent('ecr-set-repository-policy-removes-grants');
    const detail = gone['detail'] as Record<string, unknown>;
    (detail['requestParameters'] as Record<string, unknown>)['repositoryName'] = 'platform/gone';
    detail['resources'] = [];

    const result = await w.process(gone);

    expect(result).toEqual(
      expect.objectContaining({
        check: expect.objectContaining({
          reason: 'no-drift',
          explanation: expect.stringContaining('does not exist any more') as unknown,
        }) as unknown,
      })
    );
  });

  it('only reports in dry-run mode, even with restore', async () => {
    const w = world();
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    const writes = w.registry.writes.length;
    const dryRun = new FixPipeline({
      config: parseConfig(
        { organizationId: 'o-a1b2c3d4e5', driftAction: 'restore', mode: 'dry-run' },
        'test'
      ),
      fixer: { roleArns: [] },
      registry: w.registry,
      notifier: w.notifier,
      audit: w.audit,
      locks: null,
      clock: w.clock,
      telemetry: { decided: () => undefined, failed: () => undefined },
    });

    const [result] = await dryRun.process([
      { messageId: 'm', event: ecrEvent('ecr-set-repository-policy-removes-grants'), attempt: 1 },
    ]);

    expect(
      result?.status === 'checked' &&
        result.check.kind === 'decided' &&
        result.check.outcomes.map((o) => o.decision.outcome)
    ).toEqual(['needs-human', 'needs-human']);
    expect(w.registry.writes).toHaveLength(writes);
  });

  it('fails the event, writing nothing, when the intent of a restore cannot be written', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    const writes = w.registry.writes.length;
    w.audit.beforeWrite = (batch) => {
      if (batch.some((write) => write.kind === 'intent')) {
        w.audit.beforeWrite = undefined;
        w.audit.failNextWrite = new Error('ProvisionedThroughputExceededException');
      }
    };

    const result = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(result.status).toBe('failed');
    expect(w.registry.writes).toHaveLength(writes);
  });

  it('reports verification-failed when another writer keeps removing the restored grant', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    const removed = JSON.stringify({ Statement: [CI] });
    w.registry.putPolicy(REPO, removed);
    w.registry.afterSet = () => w.registry.putPolicy(REPO, removed);

    const result = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(
      result.status === 'checked' && result.check.kind === 'decided' && result.check.unverified
    ).toBe(true);
    expect(w.audit.records.filter((r) => r.kind === 'drift').map((r) => r.state)).toEqual([
      'failed',
      'failed',
    ]);
  });

  it('writes nothing when someone puts the grants back between the check and the lease', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    const fixed = w.registry.repository(REPO)?.policyText ?? null;
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    let reads = 0;
    w.registry.afterGet = () => {
      reads += 1;
      if (reads === 1) w.registry.putPolicy(REPO, fixed);
    };
    const writes = w.registry.writes.length;

    const result = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(
      result.status === 'checked' && result.check.kind === 'decided' && result.check.outcomes
    ).toEqual([]);
    expect(w.registry.writes).toHaveLength(writes);
  });

  it('refuses while another run holds a live intent of the same restore', async () => {
    const w = world({ driftAction: 'restore' });
    await twoConsumers(w);
    w.registry.putPolicy(REPO, JSON.stringify({ Statement: [CI] }));
    w.audit.put({
      ...w.audit.records[0]!,
      kind: 'drift',
      state: 'intent',
      eventId: '9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d/222222222222',
      eventTime: '2026-03-10T09:15:42Z',
      owner: 'another-run',
      updatedAt: w.clock.now().toISOString(),
    });

    const result = await w.process(ecrEvent('ecr-set-repository-policy-removes-grants'));

    expect(result.status).toBe('failed');
    expect(String((result as { error: unknown }).error)).toContain(
      'being completed by another lambda-ecr-autofix run'
    );
  });
});
