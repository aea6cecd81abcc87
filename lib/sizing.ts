/**
 * How big the fixer is and how fast it drains the queue, as measured by `npm run bench` (BENCHMARKS.md): a 1,000-event
 * burst needs well under 128 MB in one execution environment; 256 MB buys CPU for the cold start; batches of 50 group a
 * burst's events per repository (0.7 AWS calls per event against 5.5 one event at a time).
 */
import { Duration } from 'aws-cdk-lib';

export const FIXER_SIZING = {
  /** Lambda memory in MB (CPU scales with it). */
  memorySize: 256,
  /** Lambda timeout for one batch. */
  timeout: Duration.seconds(60),
  /** Records per invocation. Above 10, SQS event sources need a batching window. */
  batchSize: 50,
  /** How long the poller may wait to fill a batch. Adds at most this much latency to a fix. */
  maxBatchingWindow: Duration.seconds(5),
  /**
   * Concurrent invocations the SQS event source may use (2-1000). Bounds the pressure on ECR's
   * SetRepositoryPolicy and STS when a burst of failed deploys arrives.
   * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
   */
  maxConcurrency: 5,
  /** Deliveries of one message before SQS moves it to the dead-letter queue. */
  maxReceiveCount: 5,
  /**
   * Queue visibility timeout as a multiple of the function timeout. AWS recommends at least six, so a batch that is
   * retried after throttling is not delivered twice.
   * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
   */
  visibilityTimeoutFactor: 6,
} as const;
