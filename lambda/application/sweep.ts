/**
 * The scheduled sweep of one account in one Region, in as many invocations as it needs: scan page after page while
 * enough time is left, fix what the fixer may fix when `sweepAction` is `fix` (through the fix pipeline), and either
 * hand the rest to the next invocation (a continuation message with the ListFunctions marker and the digest so far)
 * or, at the end, send one digest notice if the sweep found anything.
 *
 * Functions are listed and described in the swept account only, through its registry role (or the fixer's own role
 * in the central account); repositories are read wherever they live, as the fixer reads them.
 *
 * Owed notices (the notice outbox, notice-outbox.ts). A fix of the sweep is a synthesized event: once its write is in
 * the policy, the function is `ok` and no later scan makes that event again, so a FIXED notice that failed, or a write
 * whose run died before its record was completed, would never be sent by the pipeline's own retry. The outbox sends
 * it from the audit table. It costs a Query per repository, so it runs only where a notice can be owed:
 * - for the repositories whose fixes in this invocation could not send their notice (retried at once);
 * - for every repository this invocation read, when the message is a redelivery (SQS receive count above 1: an
 *   earlier attempt failed or died after its fixes) or was sent again long after it was made (a dead-letter redrive,
 *   which resets the receive count; `resentLate`);
 * - for the repositories an earlier part of the sweep handed over as still owed (`owedNotices` of the continuation).
 * A part that still owes a notice hands the repositories on with its continuation; the part that ends the sweep fails
 * instead of sending the digest, so that SQS delivers it again (and, after the last attempt, the dead-letter queue
 * keeps it: its redrive tries again). So the digest is sent once nothing it could tell of is owed, and a healthy sweep
 * makes no call for it at all.
 */
import type { Config } from '../domain/config';
import type { ScanContext } from '../domain/scan-call';
import type { AppliedFix, SweepDigest } from '../domain/sweep-digest';
import { addToDigest, foundSomething, renderDigest, withProblem } from '../domain/sweep-digest';
import type { SweepRequest } from '../domain/sweep-request';
import { imageFromRepositoryArn } from '../domain/repository-arn';
import { MAX_OWED_NOTICES, continuationMessage, resentLate } from '../domain/sweep-request';
import { createLimiter } from './concurrency';
import {
  NoticeNotSentError,
  NoticesOwedError,
  RegistryRoleUnavailableError,
  RepositoryNotFoundError,
  sdkErrorName,
} from './errors';
import type { NoticeOutbox, OutboxReport } from './notice-outbox';
import { EMPTY_OUTBOX_REPORT } from './notice-outbox';
import type { Clock, Notifier, RegistryAccess } from './ports';
import type { EventProcessor } from './scan-fixes';
import { applyScanFixes } from './scan-fixes';
import type { FunctionInventory } from './scan-ports';
import type { RegionScan } from './scanner';
import { Scanner } from './scanner';

/** Time kept back for the fixes, the continuation and the notice after the last page is listed. */
export const SWEEP_MARGIN_MS = 40_000;
/** AWS calls in flight at most in one sweep invocation. */
export const SWEEP_CONCURRENCY = 8;

/** Sends the continuation of a sweep so that it comes back through the sweep queue. */
export interface SweepContinuations {
  send(message: Readonly<Record<string, unknown>>): Promise<void>;
}

export interface SweepDependencies {
  readonly config: Config;
  readonly registry: RegistryAccess;
  /** ListFunctions/GetFunction in the swept account (through its registry role). */
  inventoryFor(request: SweepRequest, sessionName: string): Promise<FunctionInventory>;
  /** The fix pipeline, for `sweepAction: "fix"`; null: report only. */
  readonly pipeline: EventProcessor | null;
  /** The notice outbox over the audit table (with the pipeline); null or absent: none. */
  readonly outbox?: NoticeOutbox | null;
  readonly notifier: Notifier | null;
  readonly continuations: SweepContinuations;
  readonly clock: Pick<Clock, 'now'>;
  /** @default SWEEP_MARGIN_MS */
  readonly marginMs?: number;
  /** @default SWEEP_CONCURRENCY */
  readonly concurrency?: number;
}

export type SweepOutcome =
  | {
      readonly kind: 'continued';
      readonly marker: string;
      readonly chunk: number;
      readonly digest: SweepDigest;
    }
  | { readonly kind: 'finished'; readonly digest: SweepDigest; readonly notified: boolean };

/** How SQS delivered the message of a sweep request. */
export interface SweepDelivery {
  /** Its receive count: 1 on the first delivery. */
  readonly attempt: number;
  /** When SQS enqueued it (`SentTimestamp`, milliseconds since the epoch); NaN when unknown. */
  readonly enqueuedAt: number;
}

export const FIRST_DELIVERY: SweepDelivery = { attempt: 1, enqueuedAt: Number.NaN };

export class Sweeper {
  constructor(private readonly deps: SweepDependencies) {}

  /**
   * Runs one invocation's share of the sweep. Always lists at least one page, so a sweep always progresses; stops
   * listing when less than the margin is left. Transient AWS failures propagate (the message is retried from where
   * this invocation started); what a person must fix (the role is missing or may not list functions) ends the sweep
   * with that problem in the digest. A notice of an applied change still owed after the outbox's try is handed on
   * with the continuation, or, in the last part, fails it with `NoticesOwedError` (retried) before the digest.
   * `delivery` tells a redelivered or re-sent message, on which the outbox looks at every repository read.
   */
  async sweep(
    request: SweepRequest,
    remainingMs: () => number,
    delivery: SweepDelivery = FIRST_DELIVERY
  ): Promise<SweepOutcome> {
    const { config, clock } = this.deps;
    const sessionName = `lambda-ecr-autofix-sweep-${request.sweepId}`;
    const context: ScanContext = {
      runId: `${request.sweepId}-${request.chunk}`,
      time: clock.now().toISOString(),
      by: `sweep of ${request.account} in ${request.region} (sweep ${request.sweepId}, part ${request.chunk})`,
    };
    let scanned: RegionScan;
    try {
      const inventory = await this.deps.inventoryFor(request, sessionName);
      const scanner = new Scanner({
        config,
        registry: this.deps.registry,
        limiter: createLimiter(this.deps.concurrency ?? SWEEP_CONCURRENCY),
        context,
        sessionName,
      });
      scanned = await scanner.scanRegion(inventory, {
        startMarker: request.marker,
        continueAfterPage: () => remainingMs() > (this.deps.marginMs ?? SWEEP_MARGIN_MS),
      });
    } catch (error) {
      const problem = humanProblem(error, request);
      if (problem === null) throw error;
      // What earlier parts handed over is still owed, whether this part could look or not.
      const owed = await this.settleOwed(request, sessionName, new Map(), {
        failedNow: [],
        read: [],
      });
      if (owed.repositories.length > 0) throw new NoticesOwedError(owed.owed);
      return this.finish(
        request,
        addToDigest(withProblem(request.digest, problem), {
          findings: [],
          deleted: 0,
          fixes: [],
          failedFixes: 0,
          lateNotices: owed.report.sent.length,
          completedWrites: owed.report.completed,
        })
      );
    }

    const fixes =
      config.sweepAction === 'fix' && this.deps.pipeline !== null
        ? await applyScanFixes(this.deps.pipeline, scanned.entries, context)
        : [];
    const repositoryOf = new Map(
      scanned.entries.map((entry) => [entry.finding.functionArn, entry.finding.repositoryArn])
    );
    const outbox = this.deps.outbox ?? null;
    const applied: AppliedFix[] = [];
    /** Repositories whose fixes failed now: their writes may be in the policy, their notices unsent. */
    const failedNow: string[] = [];
    for (const fix of fixes) {
      if (fix.status === 'done') {
        if (fix.applied && fix.decision.target !== null) {
          const repositoryArn = fix.decision.target.repositoryArn;
          applied.push({ functionName: nameOf(fix.functionArn), repositoryArn, notified: true });
        }
        continue;
      }
      const repositoryArn = repositoryOf.get(fix.functionArn) ?? null;
      if (repositoryArn === null) continue;
      failedNow.push(repositoryArn);
      // Written and verified, but its FIXED notice failed: a fix all the same. The outbox sends the notice (now, or
      // in a later attempt); without one, the digest is its only notice.
      if (fix.error instanceof NoticeNotSentError) {
        applied.push({
          functionName: nameOf(fix.functionArn),
          repositoryArn,
          notified: outbox !== null,
        });
      }
    }
    const redelivered = delivery.attempt > 1 || resentLate(request, delivery.enqueuedAt);
    const owed = await this.settleOwed(request, sessionName, scanned.repositories, {
      failedNow,
      read: redelivered ? [...scanned.repositories.keys()] : [],
    });
    const digest = addToDigest(request.digest, {
      findings: scanned.entries.map((entry) => entry.finding),
      deleted: scanned.deleted,
      fixes: applied,
      failedFixes: fixes.filter(
        (fix) => fix.status === 'failed' && !(fix.error instanceof NoticeNotSentError)
      ).length,
      lateNotices: owed.report.sent.length,
      completedWrites: owed.report.completed,
    });
    if (scanned.nextMarker !== null && owed.repositories.length <= MAX_OWED_NOTICES) {
      await this.deps.continuations.send(
        continuationMessage(request, scanned.nextMarker, digest, {
          owedNotices: owed.repositories,
          sentAt: clock.now().toISOString(),
        })
      );
      return { kind: 'continued', marker: scanned.nextMarker, chunk: request.chunk + 1, digest };
    }
    if (owed.repositories.length > 0) throw new NoticesOwedError(owed.owed);
    return this.finish(request, digest);
  }

  /**
   * The notice outbox (see the top of this file) for the repositories an earlier part handed over, those whose fixes
   * failed now, and `read` (on a redelivery: every repository this part read, with the policy it read). The first two
   * are looked at with the policy as it is now (read again only if an interrupted write is to be checked): a fix that
   * failed may have written after the scan read the policy. Returns the report and the repositories still owed:
   * a notice not sent, or (of the first two) a write another run may still be completing.
   */
  private async settleOwed(
    request: SweepRequest,
    sessionName: string,
    policies: ReadonlyMap<string, string | null>,
    targets: { readonly failedNow: readonly string[]; readonly read: readonly string[] }
  ): Promise<{
    report: OutboxReport;
    repositories: string[];
    owed: { subject: string; error: string }[];
  }> {
    const outbox = this.deps.outbox ?? null;
    const ours = new Set([...request.owedNotices, ...targets.failedNow]);
    const repositories = new Map<string, string | null | undefined>();
    for (const repositoryArn of targets.read) {
      repositories.set(repositoryArn, policies.get(repositoryArn));
    }
    for (const repositoryArn of ours) {
      const fresh = !targets.failedNow.includes(repositoryArn) && policies.has(repositoryArn);
      repositories.set(repositoryArn, fresh ? policies.get(repositoryArn) : undefined);
    }
    if (outbox === null || repositories.size === 0) {
      return { report: EMPTY_OUTBOX_REPORT, repositories: [], owed: [] };
    }
    const report = await outbox.flush(
      [...repositories].map(([repositoryArn, policyText]) => ({ repositoryArn, policyText })),
      (repositoryArn) => this.readPolicy(repositoryArn, sessionName)
    );
    const owed = [
      ...report.unsent,
      ...report.busy
        .filter((notice) => ours.has(notice.repositoryArn))
        .map((notice) => ({ ...notice, error: 'its write may still be in progress' })),
    ];
    return {
      report,
      repositories: [...new Set(owed.map((notice) => notice.repositoryArn))],
      owed,
    };
  }

  /** A repository's policy now, through the registry access; undefined when the repository is gone. */
  private async readPolicy(
    repositoryArn: string,
    sessionName: string
  ): Promise<string | null | undefined> {
    const parsed = imageFromRepositoryArn(repositoryArn);
    if (!parsed.ok) return undefined;
    const { partition, region, registryAccount, repositoryName } = parsed.image;
    const ref = { partition, region, registryAccount, repositoryName };
    try {
      const store = await this.deps.registry.storeFor(ref, sessionName);
      return await store.getPolicy(ref);
    } catch (error) {
      if (error instanceof RepositoryNotFoundError) return undefined;
      throw error;
    }
  }

  private async finish(request: SweepRequest, digest: SweepDigest): Promise<SweepOutcome> {
    const { notifier } = this.deps;
    if (notifier === null || !foundSomething(digest)) {
      return { kind: 'finished', digest, notified: false };
    }
    const rendered = renderDigest(request, digest);
    await notifier.publish({
      ...rendered,
      attributes: {
        outcome: 'sweep',
        reason: 'sweep-digest',
        consumerAccount: request.account,
        repository: 'various',
      },
    });
    return { kind: 'finished', digest, notified: true };
  }
}

/** What a person must fix before this account can be swept, or null for a failure worth retrying. */
function humanProblem(error: unknown, request: SweepRequest): string | null {
  if (error instanceof RegistryRoleUnavailableError) return error.message;
  const name = sdkErrorName(error) ?? '';
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return (
      `The role lambda-ecr-autofix uses in account ${request.account} may not list or read its functions in ` +
      `${request.region} (lambda:ListFunctions, lambda:GetFunction): update the member stack there. AWS said: ` +
      (error as Error).message
    );
  }
  return null;
}

function nameOf(functionArn: string): string {
  return functionArn.slice(functionArn.lastIndexOf(':') + 1);
}
