/**
 * A bound on how many AWS calls run at once. Urgent tasks (the next ListFunctions page, on which everything else
 * waits) go ahead of the queue, so the one sequential chain of a scan is never stuck behind the calls it feeds.
 */
export interface Limiter {
  /** Runs `task` once a slot is free; `urgent` tasks are started before the others waiting. */
  run<T>(task: () => Promise<T>, options?: { readonly urgent?: boolean }): Promise<T>;
  /** The most tasks that ever ran at once (for tests and benchmarks). */
  readonly peak: number;
}

export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number of at least 1, got ${concurrency}.`);
  }
  let running = 0;
  let peak = 0;
  const urgent: (() => void)[] = [];
  const normal: (() => void)[] = [];

  const next = (): void => {
    const start = urgent.shift() ?? normal.shift();
    if (start !== undefined) start();
  };

  return {
    get peak() {
      return peak;
    },
    run<T>(task: () => Promise<T>, options: { readonly urgent?: boolean } = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const start = (): void => {
          running += 1;
          peak = Math.max(peak, running);
          task()
            .then(resolve, reject)
            .finally(() => {
              running -= 1;
              next();
            });
        };
        if (running < concurrency) start();
        else (options.urgent === true ? urgent : normal).push(start);
      });
    },
  };
}
