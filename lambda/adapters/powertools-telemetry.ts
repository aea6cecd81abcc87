/**
 * The pipeline's telemetry as Powertools for AWS Lambda writes it: one structured log line per decision and
 * CloudWatch metrics in the Embedded Metric Format (no API call: the log line is the metric).
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/metrics/
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';

import type { DecisionReport, Telemetry } from '../application/fix-pipeline';

/** Metric names: the dashboard and alarms of the central stack use the same names. */
export const METRIC_NAMES = {
  outcome: (outcome: string) => `Outcome_${outcome}`,
  errors: 'Errors',
  secondsToFix: 'SecondsToFix',
  decisionEventsNotPut: 'DecisionEventsNotPut',
} as const;

export class PowertoolsTelemetry implements Telemetry {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics
  ) {}

  decided(report: DecisionReport): void {
    this.logger.info(`decision ${report.outcome}`, {
      messageId: report.messageId,
      eventId: report.eventId,
      outcome: report.outcome,
      reason: report.reason,
      repository: report.repository,
      consumerAccount: report.consumerAccount,
      applied: report.applied,
      notified: report.notified,
      mode: report.mode,
      secondsToFix: report.secondsToFix,
    });
    this.metrics.addMetric(METRIC_NAMES.outcome(report.outcome), MetricUnit.Count, 1);
    if (report.secondsToFix !== null) {
      this.metrics.addMetric(METRIC_NAMES.secondsToFix, MetricUnit.Seconds, report.secondsToFix);
    }
  }

  /** Decision events that did not reach the bus: logged with their event ids, and counted (alarmed). */
  decisionEventsNotPut(report: {
    readonly count: number;
    readonly eventIds: readonly (string | null)[];
    readonly error: unknown;
  }): void {
    this.logger.error('decision events not put on the central bus', {
      count: report.count,
      eventIds: report.eventIds,
      error: report.error instanceof Error ? report.error : String(report.error),
    });
    this.metrics.addMetric(METRIC_NAMES.decisionEventsNotPut, MetricUnit.Count, report.count);
  }

  failed(report: { messageId: string; eventId: string | null; error: unknown }): void {
    this.logger.error('processing failed; the message will be retried', {
      messageId: report.messageId,
      eventId: report.eventId,
      error: report.error instanceof Error ? report.error : String(report.error),
    });
    this.metrics.addMetric(METRIC_NAMES.errors, MetricUnit.Count, 1);
  }
}
