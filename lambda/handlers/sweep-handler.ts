/**
 * The sweeper Lambda (the fixer's second entry point: same role, same code, its own bundle and timeout): batches from
 * the sweep queue (one message each) start or continue the sweep of one account in one Region. A message that is not a valid, consistent sweep request is acknowledged with a warning
 * and never acted on; a sweep that fails is retried by SQS from where its message started, and ends in the
 * dead-letter queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

import type { Sweeper } from '../application/sweep';
import { createAwsClients } from '../adapters/aws-clients';
import { createAwsSweeper } from '../adapters/aws-sweeper';
import { PowertoolsTelemetry } from '../adapters/powertools-telemetry';
import { SCAN_STATUSES } from '../domain/scan';
import { parseSweepMessage } from '../domain/sweep-request';
import { EnvironmentError, readEnvironment } from './environment';

// The same names as the fixer's (sqs-fixer.ts), which this bundle does not import.
const SERVICE_NAME = 'lambda-ecr-autofix';
const METRICS_NAMESPACE = 'LambdaEcrAutofix';

export interface SweepHandlerDependencies {
  readonly sweeper: Sweeper;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What the handler needs of the Lambda context: the time left, and (for the log lines) the rest of it. */
export type InvocationTime = Pick<Context, 'getRemainingTimeInMillis'> & Partial<Context>;

export function createSweepHandler(
  dependencies: () => SweepHandlerDependencies
): (event: SQSEvent, context: InvocationTime) => Promise<SQSBatchResponse> {
  let deps: SweepHandlerDependencies | undefined;
  return async (event, context) => {
    deps ??= dependencies();
    const { sweeper, logger, metrics } = deps;
    // Every log line of this invocation carries the request id, the function and cold_start, as the fixer's do:
    // https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/#capturing-lambda-context-info
    if (isLambdaContext(context)) logger.addContext(context);
    const failures: { itemIdentifier: string }[] = [];
    try {
      for (const record of event.Records) {
        let body: unknown;
        try {
          body = JSON.parse(record.body) as unknown;
        } catch {
          body = record.body;
        }
        const parsed = parseSweepMessage(body);
        if (!parsed.ok) {
          logger.warn('not a sweep request; acknowledged without acting', {
            messageId: record.messageId,
            reason: parsed.reason,
            explanation: parsed.explanation,
          });
          continue;
        }
        const { request } = parsed;
        try {
          const outcome = await sweeper.sweep(request, () => context.getRemainingTimeInMillis(), {
            attempt: Number(record.attributes.ApproximateReceiveCount) || 1,
            enqueuedAt: Number(record.attributes.SentTimestamp),
          });
          logger.info(`sweep ${outcome.kind}`, {
            messageId: record.messageId,
            sweepId: request.sweepId,
            account: request.account,
            region: request.region,
            chunk: request.chunk,
            ...Object.fromEntries(SCAN_STATUSES.map((s) => [s, outcome.digest.counts[s]])),
            problems: outcome.digest.problems,
            lateNotices: outcome.digest.lateNotices,
            completedWrites: outcome.digest.completedWrites,
            notified: outcome.kind === 'finished' && outcome.notified,
          });
        } catch (error) {
          logger.error('sweep failed; the message will be retried', {
            messageId: record.messageId,
            sweepId: request.sweepId,
            account: request.account,
            region: request.region,
            error: error instanceof Error ? error : String(error),
          });
          failures.push({ itemIdentifier: record.messageId });
        }
      }
    } finally {
      // The fixes' decision metrics (sweepAction "fix"); a report-only sweep has none.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
    return { batchItemFailures: failures };
  };
}

/** The whole Lambda context (Lambda always passes one; tests may pass only the remaining time). */
function isLambdaContext(context: InvocationTime): context is Context {
  return typeof context.awsRequestId === 'string';
}

/** The real dependencies, from the environment variables the central stack sets. */
export function defaultSweepDependencies(): SweepHandlerDependencies {
  const environment = readEnvironment(process.env);
  if (environment.sweepContinuationTopicArn === null) {
    throw new EnvironmentError(
      'A sweep arrived but SWEEP_CONTINUATION_TOPIC_ARN is not set; redeploy the central stack.'
    );
  }
  const logger = new Logger({ serviceName: SERVICE_NAME });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const sweeper = createAwsSweeper({
    config: environment.config,
    clients: createAwsClients({ region: environment.region }),
    region: environment.region,
    fixerAccountId: environment.fixerAccountId,
    fixerRoleArns: [environment.fixerRoleArn],
    topicArn: environment.topicArn,
    auditTableName: environment.auditTableName,
    continuationTopicArn: environment.sweepContinuationTopicArn,
    // The fixes of a sweep with sweepAction "fix" are announced on the central bus as the fixer's are.
    decisionEventBus: environment.decisionEventBus,
    telemetry: new PowertoolsTelemetry(logger, metrics),
  });
  return { sweeper, logger, metrics };
}

/** The sweeper Lambda's entry point. Configuration is read and validated on the first invocation of each container. */
export const handler = createSweepHandler(defaultSweepDependencies);
