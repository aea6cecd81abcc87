/**
 * The one read–write–verify loop every policy change goes through (a fix, a drift restore, a revoke): re-read the
 * policy, plan on what is there, announce the write (the write-ahead audit), write, re-read and check that the
 * change holds. ECR's SetRepositoryPolicy has no condition (the last writer wins), so a change missing after the
 * write means another writer replaced the policy: plan again on theirs and write again, a bounded number of times with
 * jittered backoff. The caller holds the repository lease (repository-lease.ts) around it.
 */
import type { Clock, RepositoryPolicyStore, RepositoryRef } from './ports';

/** How many times a write is re-planned when a concurrent writer changed the policy under us. */
export const MAX_WRITE_ATTEMPTS = 4;
const BACKOFF_BASE_MS = 200;

/** What one kind of change contributes to the loop. */
export interface WriteRound<Planned> {
  /** What to write on the policy as read (null: the repository has none), or null when nothing needs writing. */
  plan(current: string | null): Planned | null;
  /** The policy text to write; null deletes the repository policy. */
  policyOf(planned: Planned): string | null;
  /**
   * Called before each write (the write-ahead audit). `replan`: read and plan again before writing (the plan's
   * inputs changed); that round is not a write attempt, so `announce` must not answer it forever. `abandon`: write
   * nothing (the loop ends as `unneeded`). Throwing stops the loop before anything is written.
   */
  announce(planned: Planned, current: string | null): Promise<'write' | 'replan' | 'abandon'>;
  /** Whether the policy read back after the write holds the planned change. */
  holds(read: string | null, planned: Planned): boolean;
  /** Sees every policy read, so the caller knows the last one if the loop throws. */
  seen?(policy: string | null): void;
}

export type WriteOutcome<Planned> =
  /** Nothing (any more) to write; `policy` as last read. */
  | { readonly kind: 'unneeded'; readonly policy: string | null }
  /** Written and verified; `policy` as read back. */
  | { readonly kind: 'verified'; readonly planned: Planned; readonly policy: string | null }
  /** Written `MAX_WRITE_ATTEMPTS` times, replaced by another writer each time. */
  | { readonly kind: 'unverified'; readonly planned: Planned; readonly policy: string | null };

/** Runs the loop; SDK and adapter errors propagate (a write may or may not have happened then). */
export async function writeVerified<Planned>(
  store: RepositoryPolicyStore,
  ref: RepositoryRef,
  clock: Pick<Clock, 'sleep' | 'random'>,
  round: WriteRound<Planned>
): Promise<WriteOutcome<Planned>> {
  for (let attempt = 1; ;) {
    const current = await store.getPolicy(ref);
    round.seen?.(current);
    const planned = round.plan(current);
    if (planned === null) return { kind: 'unneeded', policy: current };
    const announced = await round.announce(planned, current);
    if (announced === 'abandon') return { kind: 'unneeded', policy: current };
    if (announced === 'replan') continue;
    const text = round.policyOf(planned);
    if (text === null) await store.deletePolicy(ref);
    else await store.setPolicy(ref, text);
    const read = await store.getPolicy(ref);
    round.seen?.(read);
    if (round.holds(read, planned)) return { kind: 'verified', planned, policy: read };
    if (attempt >= MAX_WRITE_ATTEMPTS) return { kind: 'unverified', planned, policy: read };
    await clock.sleep(BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.5 + clock.random()));
    attempt += 1;
  }
}
