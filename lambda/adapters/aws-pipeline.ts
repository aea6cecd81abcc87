/**
 * The composition root for real AWS (or an AWS-compatible endpoint such as moto_server): builds the adapters over SDK
 * v3 clients and hands them to the fix pipeline. The Lambda handler and the `apply` command both use it.
 */
import type { AuditLog, Clock, Notifier, RepositoryLocks } from '../application/ports';
import type { Telemetry } from '../application/fix-pipeline';
import { FixPipeline } from '../application/fix-pipeline';
import type { Config } from '../domain/config';
import type { AwsCredentialsInput } from './aws-clients';
import { FixerAwsClients } from './aws-clients';
import { DynamoDbAuditLog } from './dynamodb-audit-log';
import { EventBridgeDecisionEvents } from './eventbridge-decision-events';
import { DynamoDbRepositoryLocks } from './dynamodb-repository-locks';
import { StsRegistryAccess } from './registry-access';
import { SnsNotifier } from './sns-notifier';
import { systemClock } from './system-clock';

export interface AwsPipelineOptions {
  readonly config: Config;
  /** The fixer's region: SNS, DynamoDB and STS calls go there. */
  readonly region: string;
  /** Send every request here (e.g. a local moto_server) instead of AWS. */
  readonly endpoint?: string;
  readonly credentials?: AwsCredentialsInput;
  /** The account the fixer runs in: repositories there are reached without AssumeRole. */
  readonly fixerAccountId: string;
  /** The fixer's own role ARNs, for the loop guard. */
  readonly fixerRoleArns: readonly string[];
  /** Null: no notifications. */
  readonly topicArn: string | null;
  /** Null: no audit records. */
  readonly auditTableName: string | null;
  /** The central bus for decision events (its ARN); null for none. */
  readonly decisionEventBus?: string | null;
  readonly telemetry: Telemetry;
  readonly clock?: Clock;
  /** Clients to share (the demo observes what goes through them). @default new clients from the options above */
  readonly clients?: FixerAwsClients;
  /** Told right before each policy write when there is no audit table (see `PipelineDependencies`). */
  readonly onUnauditedWrite?: (repositoryArn: string) => void;
}

export interface AwsPipeline {
  readonly pipeline: FixPipeline;
  /** The notifier the pipeline uses (also for `error` notices), or null without a topic. */
  readonly notifier: Notifier | null;
}

export function createAwsPipeline(options: AwsPipelineOptions): AwsPipeline {
  const clients =
    options.clients ??
    new FixerAwsClients({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    });
  const clock = options.clock ?? systemClock;
  const registry = new StsRegistryAccess({
    fixerAccountId: options.fixerAccountId,
    registryRoleName: options.config.registryRoleName,
    stsClient: clients.sts,
    createEcrClient: (region, credentials) => clients.createEcrClient(region, credentials),
    clock,
  });
  const notifier: Notifier | null =
    options.topicArn === null ? null : new SnsNotifier(options.topicArn, clients.sns);
  const audit: AuditLog | null =
    options.auditTableName === null
      ? null
      : new DynamoDbAuditLog(clients.dynamodb, options.auditTableName);
  const locks: RepositoryLocks | null =
    options.auditTableName === null
      ? null
      : new DynamoDbRepositoryLocks(clients.dynamodb, options.auditTableName, clock);
  const decisionEventBus = options.decisionEventBus ?? null;
  const pipeline = new FixPipeline({
    config: options.config,
    decisionEvents:
      decisionEventBus === null || !options.config.decisionEvents
        ? null
        : new EventBridgeDecisionEvents(clients.eventBridge, decisionEventBus),
    undo: {
      auditTableName: options.auditTableName,
      region: options.region,
      centralAccount: options.fixerAccountId,
    },
    fixer: { roleArns: options.fixerRoleArns },
    registry,
    notifier,
    audit,
    locks,
    clock,
    telemetry: options.telemetry,
    ...(options.onUnauditedWrite === undefined
      ? {}
      : { onUnauditedWrite: options.onUnauditedWrite }),
  });
  return { pipeline, notifier };
}
