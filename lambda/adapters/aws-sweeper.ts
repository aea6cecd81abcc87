/**
 * The composition root of the sweep over real AWS: the Sweeper with SDK v3 adapters. Functions are listed in the
 * swept account with the registry role's credentials there (the fixer's own in the central account); repositories are
 * read through the same registry access as the fixer's; fixes, when `sweepAction` is `fix`, go through the same fix
 * pipeline as deploy events, and so put the same decision events on the central bus.
 */
import { randomUUID } from 'node:crypto';

import { createLimiter } from '../application/concurrency';
import { NoticeOutbox } from '../application/notice-outbox';
import { SWEEP_CONCURRENCY, Sweeper } from '../application/sweep';
import type { Telemetry } from '../application/fix-pipeline';
import type { Clock } from '../application/ports';
import type { Config } from '../domain/config';
import type { AwsClients } from './aws-clients';
import { createAwsPipeline } from './aws-pipeline';
import { DynamoDbAuditLog } from './dynamodb-audit-log';
import { lambdaClientFactory } from './function-lookup';
import { LambdaFunctionInventory } from './lambda-function-inventory';
import { StsRegistryAccess } from './registry-access';
import { SnsSweepContinuations } from './sns-sweep-continuations';
import { systemClock } from './system-clock';

export interface AwsSweeperOptions {
  readonly config: Config;
  readonly clients: AwsClients;
  /** The fixer's region (SNS, DynamoDB, STS). */
  readonly region: string;
  readonly fixerAccountId: string;
  readonly fixerRoleArns: readonly string[];
  /** Where the digest (and the fixes' notices) go; null: nowhere. */
  readonly topicArn: string | null;
  readonly auditTableName: string | null;
  /** The topic that brings continuations back to the sweep queue. */
  readonly continuationTopicArn: string;
  /**
   * The central bus for the fixes' decision events (`DECISION_EVENT_BUS`, set only with `decisionEvents` on and
   * `sweepAction` "fix"); null or absent: none. A report-only sweep puts none either way: its digest is its report.
   */
  readonly decisionEventBus?: string | null;
  readonly telemetry: Telemetry;
  readonly clock?: Clock;
}

export function createAwsSweeper(options: AwsSweeperOptions): Sweeper {
  const { clients, config } = options;
  const clock = options.clock ?? systemClock;
  const registry = new StsRegistryAccess({
    fixerAccountId: options.fixerAccountId,
    registryRoleName: config.registryRoleName,
    stsClient: clients.sts,
    createEcrClient: (region, credentials) => clients.createEcrClient(region, credentials),
    clock,
  });
  const lambdaFor = lambdaClientFactory(registry, (region, credentials) =>
    clients.createLambdaClient(region, credentials)
  );
  const { pipeline, notifier } = createAwsPipeline({
    config,
    region: options.region,
    fixerAccountId: options.fixerAccountId,
    fixerRoleArns: options.fixerRoleArns,
    topicArn: options.topicArn,
    auditTableName: options.auditTableName,
    decisionEventBus: options.decisionEventBus ?? null,
    telemetry: options.telemetry,
    clock,
    clients,
  });
  const fixing = config.sweepAction === 'fix';
  return new Sweeper({
    config,
    registry,
    // The registry role is assumed in the swept account, and in no other, to list its functions.
    inventoryFor: async (request, sessionName) =>
      new LambdaFunctionInventory(
        await lambdaFor(request.account, request.region, sessionName),
        request.account,
        request.region
      ),
    pipeline: fixing ? pipeline : null,
    // The notices the sweep's fixes owe (a report-only sweep writes nothing, so it owes nothing).
    outbox:
      fixing && options.auditTableName !== null
        ? new NoticeOutbox({
            audit: new DynamoDbAuditLog(clients.dynamodb, options.auditTableName),
            notifier,
            config,
            clock,
            runId: `sweep-${randomUUID()}`,
            limiter: createLimiter(SWEEP_CONCURRENCY),
          })
        : null,
    notifier,
    continuations: new SnsSweepContinuations(options.continuationTopicArn, clients.sns),
    clock,
  });
}
