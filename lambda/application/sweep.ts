/**
 * The scheduled sweep of one account in one Region, in as many invocations as it needs: scan page after page while
 * enough time is left, fix what the fixer may fix when `sweepAction` is `fix` (through the fix pipeline), and either
 * hand the rest to the next invocation (a continuation message with the ListFunctions marker and the digest so far)
 * or, at the end, send one digest notice if the sweep found anything.
 *
 * Functions are listed and described in the swept account only, through its registry role (or the fixer's own role
 * in the central account); repositories are read wherever they live, as the fixer reads them.
 */
import type { Config } from '../domain/config';
import type { ScanContext } from '../domain/scan-call';
import type { AppliedFix, SweepDigest } from '../domain/sweep-digest';
import { addToDigest, foundSomething, renderDigest, withProblem } from '../domain/sweep-digest';
import type { SweepRequest } from '../domain/sweep-request';
import { continuationMessage } from '../domain/sweep-request';
import { createLimiter } from './concurrency';
import { NoticeNotSentError, RegistryRoleUnavailableError, sdkErrorName } from './errors';
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

export class Sweeper {
  constructor(private readonly deps: SweepDependencies) {}

  /**
   * Runs one invocation's share of the sweep. Always lists at least one page, so a sweep always progresses; stops
   * listing when less than the margin is left. Transient AWS failures propagate (the message is retried from where
   * this invocation started); what a person must fix (the role is missing or may not list functions) ends the sweep
   * with that problem in the digest.
   */
  async sweep(request: SweepRequest, remainingMs: () => number): Promise<SweepOutcome> {
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
      return this.finish(request, withProblem(request.digest, problem));
    }

    const fixes =
      config.sweepAction === 'fix' && this.deps.pipeline !== null
        ? await applyScanFixes(this.deps.pipeline, scanned.entries, context)
        : [];
    const repositoryOf = new Map(
      scanned.entries.map((entry) => [entry.finding.functionArn, entry.finding.repositoryArn])
    );
    const applied: AppliedFix[] = fixes.flatMap((fix): AppliedFix[] => {
      if (fix.status === 'done') {
        return fix.applied && fix.decision.target !== null
          ? [
              {
                functionName: nameOf(fix.functionArn),
                repositoryArn: fix.decision.target.repositoryArn,
                notified: true,
              },
            ]
          : [];
      }
      // Written and verified, but its FIXED notice failed: a fix all the same, and the digest tells of it.
      const repositoryArn = repositoryOf.get(fix.functionArn) ?? null;
      return fix.error instanceof NoticeNotSentError && repositoryArn !== null
        ? [{ functionName: nameOf(fix.functionArn), repositoryArn, notified: false }]
        : [];
    });
    const digest = addToDigest(request.digest, {
      findings: scanned.entries.map((entry) => entry.finding),
      deleted: scanned.deleted,
      fixes: applied,
      failedFixes: fixes.filter(
        (fix) => fix.status === 'failed' && !(fix.error instanceof NoticeNotSentError)
      ).length,
    });
    if (scanned.nextMarker !== null) {
      await this.deps.continuations.send(continuationMessage(request, scanned.nextMarker, digest));
      return { kind: 'continued', marker: scanned.nextMarker, chunk: request.chunk + 1, digest };
    }
    return this.finish(request, digest);
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
