/**
 * How big the sweeper is and how many sweeps run at once. A sweep invocation lists pages while more than
 * `SWEEP_MARGIN_MS` (lambda/application/sweep.ts, 40 s) is left, then fixes, continues or reports: a 120 s timeout
 * gives each invocation about 80 s of listing, some 6,000 functions at the default concurrency (BENCHMARKS.md).
 */
import { Duration } from 'aws-cdk-lib';

export const SWEEPER_SIZING = {
  memorySize: 256,
  timeout: Duration.seconds(120),
  /** Sweeps running at once: bounds the calls on shared registries when many accounts sweep together. */
  maxConcurrency: 2,
  /** Deliveries of one sweep message before it goes to the dead-letter queue. */
  maxReceiveCount: 5,
  /** Queue visibility timeout as a multiple of the function timeout (AWS recommends at least six). */
  visibilityTimeoutFactor: 6,
} as const;
