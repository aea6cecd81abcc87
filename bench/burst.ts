/**
 * A burst of failed deploys — a CI pipeline retrying across many functions — processed by the real handler code:
 * SQS batches of the configured size, at most the configured number of concurrent invocations (each a container with
 * its own pipeline and credential cache), over simulated AWS calls of 20–40 ms each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

import { FixPipeline } from '../lambda/application/fix-pipeline';
import {
  InMemoryAuditLog,
  InMemoryRegistry,
  InMemoryRepositoryLocks,
} from '../lambda/adapters/in-memory';
import { SystemClock } from '../lambda/adapters/system-clock';
import { parseConfig } from '../lambda/domain/config';
import { decide } from '../lambda/domain/decide';
import { readEnvironment } from '../lambda/handlers/environment';
import { createHandler } from '../lambda/handlers/sqs-fixer';
import type { Operation } from './latency-adapters';
import {
  SimulatedAuditLog,
  SimulatedAws,
  SimulatedLocks,
  SimulatedNotifier,
  SimulatedRegistry,
} from './latency-adapters';

export interface BurstOptions {
  readonly events: number;
  readonly consumers: number;
  readonly repositories: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
}

export interface BurstResult {
  readonly options: BurstOptions;
  readonly wallMs: number;
  readonly invocations: number;
  readonly retriedMessages: number;
  readonly calls: Readonly<Partial<Record<Operation, number>>>;
  readonly totalCalls: number;
  readonly writes: number;
  readonly repositoriesWritten: number;
  readonly maxWritesPerRepository: number;
  /** Batches in which some repository was written more than once. */
  readonly batchesWithRepeatedWrites: number;
  readonly outcomes: Readonly<Record<string, number>>;
  /** (consumer, repository) pairs that failed and whose grant is not in the final policy. */
  readonly lostGrants: number;
  readonly pairs: number;
  /** SetRepositoryPolicy calls when the same burst is delivered again after it was fixed. */
  readonly writesOnReplay: number;
  /** Fixes written and verified during the burst (each reported once as outcome fix, applied). */
  readonly appliedFixes: number;
  /** DynamoDB calls during the burst (audit records and repository leases). */
  readonly dynamodbCalls: number;
  /** FIXED notices published during the burst: one per applied fix is the contract. */
  readonly fixedNotices: number;
  /** Audit records in state `applied` after the burst, and those among them marked notified. */
  readonly appliedRecords: number;
  readonly notifiedRecords: number;
}

const FIXER_ACCOUNT = '333333333333';
const REGION = 'eu-west-1';
const TEMPLATE = readFileSync(
  join(
    __dirname,
    '..',
    'test',
    'fixtures',
    'events',
    'create-function-cross-account-ecr-denied.json'
  ),
  'utf8'
);

interface Generated {
  readonly body: string;
  readonly consumer: string;
  readonly repository: { registryAccount: string; repositoryName: string };
}

/** Deterministic events: consumer and repository drawn from a seeded generator. */
function generateEvents(options: BurstOptions, round: string): Generated[] {
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const registries = ['111111111111', '444444444444', '555555555555', '666666666666'];
  const repositories = Array.from({ length: options.repositories }, (_, index) => ({
    registryAccount: registries[index % registries.length] as string,
    repositoryName: `team-${index}/service`,
  }));
  return Array.from({ length: options.events }, (_, index) => {
    const consumer = String(200000000000 + next(options.consumers) * 1_000_003);
    const repository = repositories[next(options.repositories)] as Generated['repository'];
    const event = JSON.parse(TEMPLATE) as { account: string; detail: Record<string, unknown> };
    event.account = consumer;
    const detail = event.detail;
    detail['recipientAccountId'] = consumer;
    detail['eventID'] = `${round}-${String(index).padStart(6, '0')}`;
    const request = detail['requestParameters'] as Record<string, unknown>;
    request['functionName'] = `fn-${index % 37}`;
    request['code'] = {
      imageUri: `${repository.registryAccount}.dkr.ecr.${REGION}.amazonaws.com/${repository.repositoryName}:1.0.${index % 5}`,
    };
    return { body: JSON.stringify(event), consumer, repository };
  });
}

function sqsRecord(body: string, messageId: string, receiveCount: number): SQSRecord {
  return {
    messageId,
    receiptHandle: messageId,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${FIXER_ACCOUNT}:lambda-ecr-autofix`,
    awsRegion: REGION,
  };
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const registry = new InMemoryRegistry({ fixerAccountId: FIXER_ACCOUNT });
  const events = generateEvents(options, 'burst');
  for (const { repository } of events) {
    registry.accountsWithRole.add(repository.registryAccount);
    if (registry.repository({ ...repository, region: REGION }) === undefined) {
      // Shared registries: each owner shares its repositories with the organization (DESIGN.md, "Sharing and consent").
      registry.addRepository(
        { ...repository, region: REGION },
        { tags: { team: 'platform', 'lambda-ecr-autofix:share': 'o-a1b2c3d4e5' } }
      );
    }
  }
  const aws = new SimulatedAws(options.minLatencyMs, options.maxLatencyMs);
  const clock = new SystemClock();
  const auditTable = new InMemoryAuditLog();
  const audit = new SimulatedAuditLog(aws, auditTable);
  const locks = new SimulatedLocks(aws, new InMemoryRepositoryLocks(clock));
  const notifier = new SimulatedNotifier(aws);
  const environment = readEnvironment({
    AWS_REGION: REGION,
    CONFIG: JSON.stringify({ organizationId: 'o-a1b2c3d4e5' }),
    FIXER_ROLE_ARN: `arn:aws:iam::${FIXER_ACCOUNT}:role/LambdaEcrAutofixFixer`,
  });
  const silent = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };

  /** One container: its own handler, pipeline and credential cache, over the shared (simulated) AWS. */
  const container = () => {
    const telemetry = {
      decided: (report: { outcome: string; applied: boolean }) => {
        if (report.outcome === 'fix' && report.applied) appliedFixes += 1;
      },
      failed: () => undefined,
    };
    const access = new SimulatedRegistry(aws, registry, FIXER_ACCOUNT);
    const handler = createHandler(() => ({
      pipeline: new FixPipeline({
        config: environment.config,
        fixer: { roleArns: [environment.fixerRoleArn] },
        registry: access,

        notifier,
        audit,
        locks,
        clock,
        telemetry,
      }),
      notifier,
      telemetry,
      environment,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Bench', logger: silent }),
    }));
    return { handler, access };
  };

  let appliedFixes = 0;
  const outcomes: Record<string, number> = {};
  const countOutcomes = new Map<string, string>();
  let batchesWithRepeatedWrites = 0;
  let invocations = 0;
  let retried = 0;

  async function deliver(bodies: readonly string[], round: string): Promise<number> {
    const queue = bodies.map((body, index) => ({ body, id: `${round}-${index}`, receives: 1 }));
    const started = Date.now();
    const worker = async () => {
      const { handler, access } = container();
      for (;;) {
        const batch = queue.splice(0, options.batchSize);
        if (batch.length === 0) return;
        invocations += 1;
        access.resetBatch();
        const event: SQSEvent = { Records: batch.map((m) => sqsRecord(m.body, m.id, m.receives)) };
        const response: SQSBatchResponse = await handler(event);
        if ([...access.batchWrites.values()].some((count) => count > 1)) {
          batchesWithRepeatedWrites += 1;
        }
        for (const failure of response.batchItemFailures) {
          const message = batch.find((m) => m.id === failure.itemIdentifier);
          if (message !== undefined) {
            retried += 1;
            queue.push({ ...message, receives: message.receives + 1 });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    return Date.now() - started;
  }

  const wallMs = await deliver(
    events.map((e) => e.body),
    'burst'
  );
  const callsAfterBurst = Object.fromEntries(aws.calls) as Partial<Record<Operation, number>>;
  const dynamodbCalls = Object.entries(callsAfterBurst)
    .filter(([operation]) => operation.startsWith('dynamodb:'))
    .reduce((sum, [, count]) => sum + (count ?? 0), 0);
  const appliedAfterBurst = appliedFixes;
  const fixedNotices = notifier.fixedNotices;
  const applied = auditTable.records.filter((record) => record.state === 'applied');
  const totalCalls = aws.total();
  const writes = aws.calls.get('ecr:SetRepositoryPolicy') ?? 0;
  const writesPerRepository = [...aws.writes.values()];

  // Every pair that failed must now be allowed by the final policy.
  const config = parseConfig({ organizationId: 'o-a1b2c3d4e5' }, 'bench');
  const pairs = new Map<string, Generated>();
  for (const generated of events) {
    pairs.set(`${generated.consumer} ${generated.repository.repositoryName}`, generated);
  }
  let lostGrants = 0;
  for (const generated of pairs.values()) {
    const policyText =
      registry.repository({ ...generated.repository, region: REGION })?.policyText ?? null;
    const decision = decide(JSON.parse(generated.body) as unknown, { policyText }, config);
    countOutcomes.set(generated.body, decision.outcome);
    if (decision.outcome !== 'already-allowed') lostGrants += 1;
  }
  for (const outcome of countOutcomes.values()) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;

  // The same failures again (another deploy retry): nothing left to write.
  const writesBeforeReplay = aws.calls.get('ecr:SetRepositoryPolicy') ?? 0;
  await deliver(
    generateEvents(options, 'replay').map((e) => e.body),
    'replay'
  );
  const writesOnReplay = (aws.calls.get('ecr:SetRepositoryPolicy') ?? 0) - writesBeforeReplay;

  return {
    options,
    wallMs,
    invocations,
    retriedMessages: retried,
    calls: callsAfterBurst,
    totalCalls,
    writes,
    repositoriesWritten: writesPerRepository.length,
    maxWritesPerRepository: Math.max(0, ...writesPerRepository),
    batchesWithRepeatedWrites,
    outcomes,
    lostGrants,
    pairs: pairs.size,
    writesOnReplay,
    appliedFixes: appliedAfterBurst,
    dynamodbCalls,
    fixedNotices,
    appliedRecords: applied.length,
    notifiedRecords: applied.filter((record) => record.notifiedAt !== null).length,
  };
}
