/**
 * Taking turns on a repository: ECR's SetRepositoryPolicy has no condition (the last writer wins), so concurrent
 * fixer invocations hold a short lease on the repository while they read, write and verify its policy.
 *
 * The lease owner is the id of one pipeline run (one Lambda invocation, one CLI run), never something taken from the
 * event: two invocations that both hold a delivery of the same event must not both believe they own the lease.
 */
import { randomUUID } from 'node:crypto';

import { RepositoryBusyError } from './errors';
import type { Clock, RepositoryLocks } from './ports';

/** A repository lease outlives any write-and-verify (four attempts with backoff take seconds). */
export const LEASE_MS = 60_000;
/** How long an invocation waits for another to finish with a repository before SQS retries the events later. */
export const LEASE_WAIT_MS = 20_000;

/** A fresh owner id for one pipeline run: random, so that no two runs ever share one. */
export function newRunId(): string {
  return randomUUID();
}

/**
 * Runs `work` holding the lease on `repositoryArn` for `owner`. Waits (with jitter) while another owner holds it and
 * gives up with `RepositoryBusyError`, a transient failure SQS retries. Without locks (a single CLI process) it just
 * runs `work`.
 */
export async function withRepositoryLease<T>(
  locks: RepositoryLocks | null,
  clock: Clock,
  repositoryArn: string,
  owner: string,
  work: () => Promise<T>
): Promise<T> {
  if (locks === null) return work();
  const deadline = clock.now().getTime() + LEASE_WAIT_MS;
  while (!(await locks.tryAcquire(repositoryArn, owner, LEASE_MS))) {
    if (clock.now().getTime() >= deadline)
      throw new RepositoryBusyError(repositoryArn, LEASE_WAIT_MS);
    await clock.sleep(100 + 300 * clock.random());
  }
  try {
    return await work();
  } finally {
    // A lease that cannot be returned expires on its own; the work is done, so this must not fail the events.
    await locks.release(repositoryArn, owner).catch(() => undefined);
  }
}
