/**
 * What the notice outbox costs the scheduled sweep (lambda/application/sweep.ts): the sweep of the scan benchmark's
 * account (2,000 functions on 100 repositories, 10 of them without the grant) with `sweepAction: "fix"`, through the
 * real Sweeper, fix pipeline and outbox over the counting stand-ins. The outbox reads the audit table (a Query per
 * repository) only where a notice can be owed; this measures that a sweep owing none reads nothing, and what a
 * redelivered message and failed notices cost. Latency is not simulated: only the calls are counted.
 */
import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryRepositoryLocks,
} from '../lambda/adapters/in-memory';
import { createLimiter } from '../lambda/application/concurrency';
import { FixPipeline } from '../lambda/application/fix-pipeline';
import { NoticeOutbox } from '../lambda/application/notice-outbox';
import type { NotificationMessage, Notifier } from '../lambda/application/ports';
import type { SweepDelivery } from '../lambda/application/sweep';
import { Sweeper } from '../lambda/application/sweep';
import { parseConfig } from '../lambda/domain/config';
import { parseSweepMessage } from '../lambda/domain/sweep-request';
import type { Operation } from './latency-adapters';
import {
  SimulatedAuditLog,
  SimulatedAws,
  SimulatedLocks,
  SimulatedNotifier,
  SimulatedRegistry,
} from './latency-adapters';
import { ACCOUNT, SimulatedInventory, buildWorld } from './scan';

export interface SweepRun {
  readonly name: string;
  readonly calls: number;
  /** Audit-table Queries: the outbox's reads for owed notices. */
  readonly queries: number;
  readonly writes: number;
  readonly fixedNotices: number;
  readonly lateNotices: number;
  readonly outcome: string;
}

export interface SweepBenchResult {
  readonly functions: number;
  readonly repositories: number;
  readonly runs: readonly SweepRun[];
}

const REGION = 'eu-west-1';
const SCHEDULED = {
  version: '0',
  id: 'bench-sweep',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: ACCOUNT,
  time: '2026-01-01T03:00:00Z',
  region: REGION,
  resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix-sweep`],
  detail: {},
};

/** Fails the first `failures` FIXED notices, as SNS would while its topic is unreachable. */
class FailingFirstNotifier implements Notifier {
  constructor(
    private readonly inner: SimulatedNotifier,
    private failures: number
  ) {}

  async publish(message: NotificationMessage): Promise<string> {
    if (this.failures > 0 && message.attributes.outcome === 'fix') {
      this.failures -= 1;
      throw new Error('SNS Publish failed (simulated).');
    }
    return this.inner.publish(message);
  }
}

export async function runSweepBench(options: {
  readonly functions: number;
  readonly repositories: number;
}): Promise<SweepBenchResult> {
  const config = parseConfig({ organizationId: 'o-a1b2c3d4e5', sweepAction: 'fix' }, 'bench');
  const parsed = parseSweepMessage(SCHEDULED);
  if (!parsed.ok) throw new Error(parsed.explanation);
  const request = parsed.request;

  /** One account, one audit table, one topic; `sweep` runs one delivery of the sweep's message. */
  function world(noticeFailures: number) {
    const { registry, inventory } = buildWorld(options, config);
    const aws = new SimulatedAws(0, 0);
    const clock = new FixedClock('2026-01-01T03:00:05Z');
    const auditLog = new InMemoryAuditLog();
    const audit = new SimulatedAuditLog(aws, auditLog);
    const simulated = new SimulatedNotifier(aws);
    const notifier = new FailingFirstNotifier(simulated, noticeFailures);
    const access = new SimulatedRegistry(aws, registry, ACCOUNT);
    const sweeper = new Sweeper({
      config,
      registry: access,
      inventoryFor: () => Promise.resolve(new SimulatedInventory(aws, inventory)),
      pipeline: new FixPipeline({
        config,
        fixer: { roleArns: [] },
        registry: access,
        notifier,
        audit,
        locks: new SimulatedLocks(aws, new InMemoryRepositoryLocks(clock)),
        clock,
        telemetry: { decided: () => undefined, failed: () => undefined },
      }),
      outbox: new NoticeOutbox({
        audit,
        notifier,
        config,
        clock,
        runId: 'bench-outbox',
        limiter: createLimiter(8),
      }),
      notifier,
      continuations: { send: () => Promise.resolve() },
      clock,
      marginMs: 0,
    });
    const count = (operation: Operation): number => aws.calls.get(operation) ?? 0;
    return {
      async sweep(name: string, delivery: SweepDelivery): Promise<SweepRun> {
        const before = {
          calls: aws.total(),
          queries: count('dynamodb:Query'),
          writes: count('ecr:SetRepositoryPolicy'),
          fixed: simulated.fixedNotices,
        };
        let outcome: string;
        let lateNotices = 0;
        try {
          const result = await sweeper.sweep(request, () => 100_000, delivery);
          outcome = result.kind === 'finished' && result.notified ? 'digest sent' : result.kind;
          lateNotices = result.digest.lateNotices;
        } catch (error) {
          outcome = `failed (${(error as Error).name}): retried`;
        }
        return {
          name,
          calls: aws.total() - before.calls,
          queries: count('dynamodb:Query') - before.queries,
          writes: count('ecr:SetRepositoryPolicy') - before.writes,
          fixedNotices: simulated.fixedNotices - before.fixed,
          lateNotices,
          outcome,
        };
      },
    };
  }

  const first = { attempt: 1, enqueuedAt: Date.parse(SCHEDULED.time) + 2_000 };
  const retry = { attempt: 2, enqueuedAt: Date.parse(SCHEDULED.time) + 2_000 };
  const healthy = world(0);
  const failing = world(20);
  const runs = [
    await healthy.sweep('first sweep: fixes the 10 repositories without the grant', first),
    await healthy.sweep('next sweep: nothing to fix, nothing owed', first),
    await healthy.sweep('that message delivered again (receive count 2)', retry),
    await failing.sweep('first sweep, the 10 FIXED notices fail twice (topic unreachable)', first),
    await failing.sweep('its redelivery, SNS back', retry),
  ];
  return { functions: options.functions, repositories: options.repositories, runs };
}
