/**
 * The notice outbox: every applied write gets its notice, at least once, even when the run that wrote it could not
 * send it and nothing will process that run's input again (DESIGN.md, "Audit").
 *
 * The audit record is the outbox entry. An `applied` record without `notifiedAt` still owes its notice, whose text the
 * record carries (rendered when its intent was written); an `intent` that no run is working on any more, or a `failed`
 * write, whose change is in the policy was completed in ECR but not in the table. The outbox reads a repository's
 * unsettled records (one Query), and for each:
 *
 * 1. an interrupted write whose change is in the policy as read by the caller: the record becomes `applied` (the same
 *    conditional replace the pipeline uses, so of two runs only one completes it), then 2.;
 * 2. an `applied` record without `notifiedAt`: its stored notice is published, then `notifiedAt` is set with the
 *    pipeline's own conditional update (`markNotified`), so of two concurrent senders exactly one marks it. Both may
 *    have sent it: at least once, never zero.
 *
 * Who runs it, and when (each only where a notice can be owed, so that a healthy run pays nothing): the sweep on a
 * redelivered or re-sent message and for the repositories whose notices failed (sweep.ts), `scan --fix` with an audit
 * table for every repository it read (bin/commands/scan.ts), and the drift guard for the repository of each ECR event,
 * on the records it reads anyway (drift-guard.ts).
 */
import type { Config } from '../domain/config';
import { changeInPolicy, replaceOf } from './audit-records';
import type { Limiter } from './concurrency';
import { messageOf } from './errors';
import type { AuditKey, AuditLog, AuditRecord, Clock, Notifier } from './ports';
import { LIVE_INTENT_MS } from './write-ahead-audit';

export interface NoticeOutboxDependencies {
  readonly audit: AuditLog;
  /** Null: no notices are sent (interrupted writes are still completed). */
  readonly notifier: Notifier | null;
  readonly config: Pick<Config, 'notifyOn'>;
  readonly clock: Pick<Clock, 'now'>;
  /** This run's id: the owner of the records it completes. */
  readonly runId: string;
  /** Bounds the repositories read at once; without it, one after the other. */
  readonly limiter?: Limiter;
}

/**
 * Reads a repository's policy now, for a repository given without one that has an interrupted write to check (called
 * only then); undefined when the repository is gone. Without it, such writes are left as they are.
 */
export type PolicyReader = (repositoryArn: string) => Promise<string | null | undefined>;

/** A repository to settle, with its policy as the caller read it (undefined: not read). */
export interface OutboxRepository {
  readonly repositoryArn: string;
  /** Needed to complete interrupted writes; without it only notices already due are sent. */
  readonly policyText?: string | null | undefined;
}

export interface OutboxNotice extends AuditKey {
  readonly kind: AuditRecord['kind'];
  readonly consumerAccount: string | null;
  readonly subject: string;
}

export interface OutboxReport {
  /** Notices published now (`marked` false: another sender set `notifiedAt` first; it sent the notice too). */
  readonly sent: readonly (OutboxNotice & {
    readonly messageId: string;
    readonly marked: boolean;
  })[];
  /** Notices still owed: not published, or published and not marked (the next run sends them again). */
  readonly unsent: readonly (OutboxNotice & { readonly error: string })[];
  /** Interrupted writes found in the policy whose records this run completed as `applied`. */
  readonly completed: number;
  /**
   * Writes another run may still be completing (its `intent` is fresh, see `LIVE_INTENT_MS`): left to it, or to a
   * later run once that intent is stale.
   */
  readonly busy: readonly OutboxNotice[];
}

export const EMPTY_OUTBOX_REPORT: OutboxReport = { sent: [], unsent: [], completed: 0, busy: [] };

export class NoticeOutbox {
  constructor(private readonly deps: NoticeOutboxDependencies) {}

  /**
   * Reads each repository's unsettled records and settles them. Errors of the audit table (and of `readPolicy`)
   * propagate.
   */
  async flush(
    repositories: readonly OutboxRepository[],
    readPolicy?: PolicyReader
  ): Promise<OutboxReport> {
    const reports = await Promise.all(
      repositories.map((repository) => {
        const task = async (): Promise<OutboxReport> => {
          const records = await this.deps.audit.list({
            repositoryArn: repository.repositoryArn,
            unsettled: true,
          });
          let policyText = repository.policyText;
          if (
            policyText === undefined &&
            readPolicy !== undefined &&
            records.some((record) => this.interrupted(record) === 'stale')
          ) {
            policyText = await readPolicy(repository.repositoryArn);
          }
          return this.settle(records, policyText);
        };
        return this.deps.limiter === undefined ? task() : this.deps.limiter.run(task);
      })
    );
    return mergeReports(reports);
  }

  /**
   * Settles records the caller has read already (one repository's, any states), oldest first. `policyText` is the
   * repository's policy as read after those records were written (undefined: not read).
   */
  async settle(
    records: readonly AuditRecord[],
    policyText: string | null | undefined
  ): Promise<OutboxReport> {
    const ordered = [...records].sort((a, b) =>
      a.decidedAt < b.decidedAt ? -1 : a.decidedAt > b.decidedAt ? 1 : 0
    );
    const sent: (OutboxNotice & { messageId: string; marked: boolean })[] = [];
    const unsent: (OutboxNotice & { error: string })[] = [];
    const busy: OutboxNotice[] = [];
    let completed = 0;
    for (const record of ordered) {
      let owed: AuditRecord | null = null;
      const interrupted = this.interrupted(record);
      if (record.state === 'applied') {
        owed = record.notifiedAt === null ? record : null;
      } else if (interrupted === 'live') {
        busy.push(noticeOf(record));
        continue;
      } else if (interrupted === 'stale' && policyText !== undefined) {
        if (!changeInPolicy(record, policyText)) continue;
        const result = await this.complete(record, policyText);
        if (result.kind === 'changed') continue;
        if (result.kind === 'unwritten') {
          unsent.push({ ...noticeOf(record), error: result.error });
          continue;
        }
        completed += 1;
        owed = result.record;
      }
      if (owed === null || owed.notice === null || !this.wanted(owed)) continue;
      const outcome = await this.send(owed);
      if ('error' in outcome) unsent.push({ ...noticeOf(owed), error: outcome.error });
      else sent.push({ ...noticeOf(owed), ...outcome });
    }
    return { sent, unsent, completed, busy };
  }

  /**
   * Whether a record is a write that may have happened without its record saying so: `stale` when no run is
   * completing it any more, `live` when another run may still be (its fresh intent), `no` for any other record.
   */
  private interrupted(record: AuditRecord): 'stale' | 'live' | 'no' {
    const { clock, runId } = this.deps;
    if (record.state === 'intent') {
      const staleBefore = new Date(clock.now().getTime() - LIVE_INTENT_MS).toISOString();
      return record.owner === runId || record.updatedAt < staleBefore ? 'stale' : 'live';
    }
    // A failed write that kept its intent's outcome failed in flight (a timeout, an SDK error): it may be in the
    // policy. One that became a decision (verification-failed, access denied, …) is settled: its notice went out.
    const inFlight =
      record.state === 'failed' && record.outcome === (record.kind === 'revoke' ? 'revoke' : 'fix');
    return inFlight ? 'stale' : 'no';
  }

  /** Completes an interrupted write's record: the completed record, `changed` (another run did), or why not. */
  private async complete(
    record: AuditRecord,
    policyText: string | null
  ): Promise<
    | { readonly kind: 'completed'; readonly record: AuditRecord }
    | { readonly kind: 'changed' }
    | { readonly kind: 'unwritten'; readonly error: string }
  > {
    const { audit, clock, runId } = this.deps;
    const completed: AuditRecord = {
      ...record,
      state: 'applied',
      updatedAt: clock.now().toISOString(),
      owner: runId,
      policyAfter: policyText,
      error: null,
      notifiedAt: null,
      notificationId: null,
    };
    try {
      const [result] = await audit.write([replaceOf(record, completed)]);
      if (result?.status === 'written') return { kind: 'completed', record: completed };
      // Another run completed or replaced it since it was read: that run owns its notice.
      if (result?.status === 'conflict') return { kind: 'changed' };
      const reason = result?.status === 'unwritten' ? result.reason : 'no result';
      return { kind: 'unwritten', error: `its record could not be completed: ${reason}` };
    } catch (error) {
      return { kind: 'unwritten', error: `its record could not be completed: ${messageOf(error)}` };
    }
  }

  private wanted(record: AuditRecord): boolean {
    return this.deps.notifier !== null && this.deps.config.notifyOn.includes(record.outcome);
  }

  /** Publishes the stored notice, then marks it sent with the pipeline's conditional update. */
  private async send(
    record: AuditRecord
  ): Promise<{ messageId: string; marked: boolean } | { error: string }> {
    const { audit, clock } = this.deps;
    const notice = record.notice as NonNullable<AuditRecord['notice']>;
    let messageId: string;
    try {
      messageId = await (this.deps.notifier as Notifier).publish({
        subject: notice.subject,
        message: notice.message,
        // The attributes the pipeline gives the same notice (notices.ts, grant-notices.ts).
        attributes: {
          outcome: record.outcome,
          reason: record.reason,
          consumerAccount: record.consumerAccount ?? 'unknown',
          repository: repositoryNameOf(record.repositoryArn),
        },
      });
    } catch (error) {
      return { error: `not sent: ${messageOf(error)}` };
    }
    try {
      const marked = await audit.markNotified(record, clock.now().toISOString(), messageId);
      return { messageId, marked };
    } catch (error) {
      return { error: `sent as message ${messageId} but not marked as sent: ${messageOf(error)}` };
    }
  }
}

/** One report of several. */
export function mergeReports(reports: readonly OutboxReport[]): OutboxReport {
  return {
    sent: reports.flatMap((report) => report.sent),
    unsent: reports.flatMap((report) => report.unsent),
    completed: reports.reduce((sum, report) => sum + report.completed, 0),
    busy: reports.flatMap((report) => report.busy),
  };
}

function noticeOf(record: AuditRecord): OutboxNotice {
  return {
    repositoryArn: record.repositoryArn,
    eventId: record.eventId,
    eventTime: record.eventTime,
    kind: record.kind,
    consumerAccount: record.consumerAccount,
    subject: record.notice?.subject ?? `(record ${record.eventId} has no stored notice)`,
  };
}

/** `platform/payments-worker` of `arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker`. */
function repositoryNameOf(repositoryArn: string): string {
  const at = repositoryArn.indexOf(':repository/');
  return at === -1 ? repositoryArn : repositoryArn.slice(at + ':repository/'.length);
}
