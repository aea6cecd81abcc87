/**
 * `scan --fix` and `sweepAction: "fix"`: the findings the fixer may fix go through the fix pipeline itself, as the
 * deploy events a refused pull would have produced (`scanDeployEvent`). So a scan's fix gets everything a fix gets
 * (the decision core's guards and consent, the repository lease, the write-and-verify loop, the audit record, the
 * notice) and nothing else: this file only translates findings to events and results back.
 */
import type { ScanContext } from '../domain/scan-call';
import { scanDeployEvent } from '../domain/scan-call';
import type { Decision } from '../domain/decision';
import type { EventResult, IncomingEvent } from './fix-pipeline';
import type { ScanEntry } from './scanner';

/** What the pipeline did for one function. */
export type ScanFixResult =
  | {
      readonly functionArn: string;
      readonly status: 'done';
      /** The pipeline's decision at the time of the fix (it re-reads the policy). */
      readonly decision: Decision;
      /** Whether this function's event wrote (and verified) the policy. */
      readonly applied: boolean;
      readonly notified: boolean;
    }
  | { readonly functionArn: string; readonly status: 'failed'; readonly error: unknown };

/** The one method of the fix pipeline this seam needs. */
export interface EventProcessor {
  process(events: readonly IncomingEvent[]): Promise<EventResult[]>;
}

/** Fixes every fixable finding in one pipeline batch (so a repository is written once for all its functions). */
export async function applyScanFixes(
  pipeline: EventProcessor,
  entries: readonly ScanEntry[],
  context: ScanContext
): Promise<ScanFixResult[]> {
  const fixable = entries.flatMap((entry) =>
    entry.finding.fixable && entry.fn !== null ? [entry.fn] : []
  );
  if (fixable.length === 0) return [];
  const results = await pipeline.process(
    fixable.map((fn) => ({
      messageId: fn.functionArn,
      event: scanDeployEvent(fn, context),
      attempt: 1,
    }))
  );
  return results.map((result): ScanFixResult => {
    if (result.status === 'failed') {
      return { functionArn: result.messageId, status: 'failed', error: result.error };
    }
    if (result.status === 'checked') {
      // Scan events are deploy calls, never ECR policy calls.
      throw new Error(
        `Scan event ${result.messageId} was taken for an ECR repository-policy call.`
      );
    }
    return {
      functionArn: result.messageId,
      status: 'done',
      decision: result.decision,
      applied: result.applied,
      notified: result.notificationId !== null,
    };
  });
}
