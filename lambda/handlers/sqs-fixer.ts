/**
 * The fixer Lambda: consumes SQS batches of EventBridge events (failed Lambda deploys) and reports partial batch
 * failures, so exactly the messages whose processing failed are retried and finally land in the dead-letter queue.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

import type {
  EventResult,
  FixPipeline,
  IncomingEvent,
  Telemetry,
} from '../application/fix-pipeline';
import type { Notifier } from '../application/ports';
import { parseDeployEvent } from '../domain/cloudtrail-event';
import { renderErrorNotification } from '../domain/notification';
import { createAwsPipeline } from '../adapters/aws-pipeline';
import { PowertoolsTelemetry } from '../adapters/powertools-telemetry';
import type { HandlerEnvironment } from './environment';
import { readEnvironment } from './environment';

export const SERVICE_NAME = 'lambda-ecr-autofix';
export const METRICS_NAMESPACE = 'LambdaEcrAutofix';

export interface HandlerDependencies {
  readonly pipeline: FixPipeline;
  readonly notifier: Notifier | null;
  readonly telemetry: Telemetry;
  readonly environment: HandlerEnvironment;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Builds the handler around its dependencies (tests hand in stand-ins). */
export function createHandler(
  dependencies: () => HandlerDependencies
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  let deps: HandlerDependencies | undefined;
  return async (event, context) => {
    deps ??= dependencies();
    const { pipeline, telemetry, logger, metrics } = deps;
    // Every log line of this invocation carries the request id, the function and cold_start (true on the first
    // invocation of the container): https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/#capturing-lambda-context-info
    if (context !== undefined) logger.addContext(context);
    try {
      const incoming: IncomingEvent[] = [];
      for (const record of event.Records) {
        let body: unknown;
        try {
          body = JSON.parse(record.body) as unknown;
        } catch {
          // It will never parse: acknowledge it (not retried), but leave a trace and count it.
          logger.warn('message body is not JSON; acknowledged without processing', {
            messageId: record.messageId,
            bodyStart: record.body.slice(0, 200),
          });
          telemetry.decided({
            messageId: record.messageId,
            eventId: null,
            outcome: 'ignored',
            reason: 'invalid-event',
            repository: null,
            consumerAccount: null,
            applied: false,
            notified: false,
            mode: deps.environment.config.mode,
            secondsToFix: null,
          });
          continue;
        }
        incoming.push({
          messageId: record.messageId,
          event: body,
          attempt: Number(record.attributes.ApproximateReceiveCount) || 1,
        });
      }
      const results = await pipeline.process(incoming);
      await notifyFinalFailures(deps, incoming, results);
      return {
        batchItemFailures: results
          .filter((result) => result.status === 'failed')
          .map((result) => ({ itemIdentifier: result.messageId })),
      };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** An `error` notification for each message that failed on its last delivery and now goes to the DLQ. */
async function notifyFinalFailures(
  deps: HandlerDependencies,
  incoming: readonly IncomingEvent[],
  results: readonly EventResult[]
): Promise<void> {
  const { notifier, environment, logger } = deps;
  if (notifier === null || !environment.config.notifyOn.includes('error')) return;
  await Promise.all(
    results.map(async (result, index) => {
      const event = incoming[index] as IncomingEvent;
      if (result.status !== 'failed' || event.attempt < environment.maxReceiveCount) return;
      const parsed = parseDeployEvent(event.event);
      const rendered = renderErrorNotification({
        messageId: result.messageId,
        attempts: event.attempt,
        error: result.error instanceof Error ? result.error.message : String(result.error),
        call: parsed.ok ? parsed.call : null,
        deadLetterQueue: environment.deadLetterQueue,
      });
      try {
        await notifier.publish({
          ...rendered,
          attributes: {
            outcome: 'error',
            reason: 'processing-failed',
            consumerAccount: parsed.ok ? parsed.call.consumerAccount : 'unknown',
            repository: 'unknown',
          },
        });
      } catch (error) {
        // The DLQ alarm still fires; losing this e-mail must not change which messages are retried.
        logger.error('could not send the error notification', {
          messageId: result.messageId,
          error,
        });
      }
    })
  );
}

/** The real dependencies, from the environment variables the central stack sets. */
export function defaultDependencies(): HandlerDependencies {
  const environment = readEnvironment(process.env);
  const logger = new Logger({ serviceName: SERVICE_NAME });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const telemetry = new PowertoolsTelemetry(logger, metrics);
  const { pipeline, notifier } = createAwsPipeline({
    config: environment.config,
    region: environment.region,
    fixerAccountId: environment.fixerAccountId,
    fixerRoleArns: [environment.fixerRoleArn],
    topicArn: environment.topicArn,
    auditTableName: environment.auditTableName,
    decisionEventBus: environment.decisionEventBus,
    telemetry,
  });
  return { pipeline, notifier, telemetry, environment, logger, metrics };
}

/** The Lambda entry point. Configuration is read and validated on the first invocation of each container. */
export const handler = createHandler(defaultDependencies);
