/**
 * How a scan is shown: a summary and one line per function that is not `ok` for people; every function as one JSON
 * object (`--json`) or as CSV rows (`--csv`, RFC 4180) for machines.
 */
import { NoticeNotSentError } from '../../lambda/application/errors';
import type { OutboxReport } from '../../lambda/application/notice-outbox';
import type { ScanFixResult } from '../../lambda/application/scan-fixes';
import type { ScanFinding, ScanStatus } from '../../lambda/domain/scan';
import { SCAN_STATUSES, summarizeFindings } from '../../lambda/domain/scan';

export interface ScanReport {
  readonly account: string;
  readonly regions: readonly string[];
  readonly findings: readonly ScanFinding[];
  /** Functions deleted while the scan ran (listed, then not found). */
  readonly deleted: number;
}

/** The columns of `--json` rows and `--csv`, in order. */
export const SCAN_COLUMNS = [
  'functionName',
  'functionArn',
  'region',
  'imageUri',
  'repositoryArn',
  'status',
  'reason',
  'explanation',
] as const;

const SEVERITY: Readonly<Record<ScanStatus, number>> = {
  broken: 0,
  'at-risk': 1,
  'needs-human': 2,
  unknown: 3,
  ok: 4,
};

/** What `--fix` adds to `--json`: whether an audit table recorded the fixes, and what the notice outbox did. */
export interface FixFacts {
  readonly audited: boolean;
  /** Null without an audit table (no outbox), or when it could not be read. */
  readonly notices: OutboxReport | null;
}

/**
 * `{summary, functions}`: every image function, `ok` included, by Region and name; with `--fix` also `audited` and
 * `notices` (`{sent, unsent, completed, inProgress}`, or null without an audit table).
 */
export function scanJson(report: ScanReport, fix?: FixFacts): string {
  return JSON.stringify(
    {
      summary: summarizeFindings(report.findings),
      functions: byRegionAndName(report.findings).map(row),
      ...(fix === undefined
        ? {}
        : {
            audited: fix.audited,
            notices:
              fix.notices === null
                ? null
                : {
                    sent: fix.notices.sent.map((notice) => ({
                      repositoryArn: notice.repositoryArn,
                      eventId: notice.eventId,
                      subject: notice.subject,
                      messageId: notice.messageId,
                    })),
                    unsent: fix.notices.unsent.map((notice) => ({
                      repositoryArn: notice.repositoryArn,
                      eventId: notice.eventId,
                      subject: notice.subject,
                      error: notice.error,
                    })),
                    completed: fix.notices.completed,
                    inProgress: fix.notices.busy.map((notice) => ({
                      repositoryArn: notice.repositoryArn,
                      eventId: notice.eventId,
                      subject: notice.subject,
                    })),
                  },
          }),
    },
    null,
    2
  );
}

/** What the notice outbox did: the notices it sent, those still owed, the interrupted writes it completed. */
export function outboxText(report: OutboxReport): string {
  if (
    report.sent.length === 0 &&
    report.unsent.length === 0 &&
    report.completed === 0 &&
    report.busy.length === 0
  ) {
    return 'Notices owed: none (every applied change of the repositories scanned has sent its notice).';
  }
  return [
    'Notices owed (of this run or an earlier one, kept in the audit table):',
    ...report.sent.map((notice) => `  sent: ${notice.subject} (message ${notice.messageId})`),
    ...report.unsent.map((notice) => `  NOT SENT: ${notice.subject}: ${oneLine(notice.error)}`),
    ...report.busy.map(
      (notice) =>
        `  IN PROGRESS: ${notice.subject} (a write of the last 3 minutes; run again later)`
    ),
    ...(report.completed > 0
      ? [
          `  ${report.completed} interrupted write(s) found in the policy: their audit records were completed`,
        ]
      : []),
  ].join('\n');
}

/** A header line and one row per function; fields quoted per RFC 4180, lines ended with CRLF. */
export function scanCsv(report: ScanReport): string {
  const lines = [
    SCAN_COLUMNS.join(','),
    ...byRegionAndName(report.findings).map((finding) =>
      SCAN_COLUMNS.map((column) => csvField(finding[column])).join(',')
    ),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** The summary, then one line per function that is not `ok`: status, function, Region, repository, reason. */
export function scanText(report: ScanReport): string {
  const summary = summarizeFindings(report.findings);
  const lines = [
    `Scanned ${report.findings.length} container-image function${report.findings.length === 1 ? '' : 's'} of account ${report.account} in ${report.regions.join(', ')}${report.deleted > 0 ? ` (${report.deleted} deleted during the scan, skipped)` : ''}:`,
    `  ${SCAN_STATUSES.map((status) => `${status} ${summary[status]}`).join('   ')}`,
  ];
  const notOk = [...report.findings]
    .filter((finding) => finding.status !== 'ok')
    .sort(
      (a, b) =>
        SEVERITY[a.status] - SEVERITY[b.status] ||
        a.region.localeCompare(b.region) ||
        a.functionName.localeCompare(b.functionName)
    );
  if (notOk.length > 0) {
    lines.push('', ...table(notOk));
  }
  const fixable = report.findings.filter((finding) => finding.fixable).length;
  if (fixable > 0) {
    lines.push(
      '',
      `${fixable} of them lambda-ecr-autofix may fix: run again with --fix (the fix goes through the fixer pipeline: consent, audit, notices).`
    );
  }
  if (notOk.length > 0) lines.push('Each explanation: run again with --json or --csv.');
  return lines.join('\n');
}

/** What `--fix` did, one line per function it tried. */
export function fixesText(results: readonly ScanFixResult[]): string {
  if (results.length === 0) return 'Nothing to fix.';
  const lines = [`Fixes (${results.length}):`];
  for (const result of results) {
    const name = result.functionArn.slice(result.functionArn.lastIndexOf(':') + 1);
    if (result.status === 'failed') {
      const message = result.error instanceof Error ? result.error.message : String(result.error);
      // A verified write whose notice failed is a fix all the same (the message says so).
      lines.push(
        `  ${name}: ${result.error instanceof NoticeNotSentError ? '' : 'FAILED: '}${oneLine(message)}`
      );
      continue;
    }
    const { decision, applied } = result;
    const what = applied
      ? 'policy written and verified'
      : decision.outcome === 'already-allowed'
        ? 'already allowed (by a grant of this run or an earlier one)'
        : `not fixed: ${decision.outcome} (${decision.reason})`;
    lines.push(
      `  ${name}: ${what}${decision.target === null ? '' : ` (${decision.target.repositoryArn})`}`
    );
  }
  return lines.join('\n');
}

/**
 * The `Published:` line after the fixes, as `apply` prints it: how many FIXED notices went to the topic, or that no
 * notice was sent because no topic was given. Null when nothing was written.
 */
export function publishedText(
  results: readonly ScanFixResult[],
  topicArn: string | undefined
): string | null {
  const written = results.filter((result) => result.status === 'done' && result.applied);
  if (written.length === 0) return null;
  if (topicArn === undefined) {
    return 'Published:   no (no --topic-arn: nobody was told of these writes; pass --topic-arn ARN so that the consumer and registry accounts hear of them)';
  }
  const sent = written.filter((result) => result.status === 'done' && result.notified).length;
  return `Published:   ${sent} FIXED notice(s) to ${topicArn}`;
}

function row(finding: ScanFinding): Record<(typeof SCAN_COLUMNS)[number], string | null> {
  return Object.fromEntries(SCAN_COLUMNS.map((column) => [column, finding[column]])) as Record<
    (typeof SCAN_COLUMNS)[number],
    string | null
  >;
}

function byRegionAndName(findings: readonly ScanFinding[]): ScanFinding[] {
  return [...findings].sort(
    (a, b) => a.region.localeCompare(b.region) || a.functionName.localeCompare(b.functionName)
  );
}

function table(findings: readonly ScanFinding[]): string[] {
  const rows = [
    ['STATUS', 'FUNCTION', 'REGION', 'REPOSITORY', 'REASON'],
    ...findings.map((finding) => [
      finding.status,
      finding.functionName,
      finding.region,
      repositoryLabel(finding.repositoryArn),
      finding.reason,
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((r) => (r[column] ?? '').length))) ?? [];
  return rows.map((cells) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)
      )
      .join('  ')
  );
}

/** `NAME (ACCOUNT)` for a repository ARN, `-` when the image names none. */
function repositoryLabel(arn: string | null): string {
  if (arn === null) return '-';
  const match = /^arn:[^:]+:ecr:[^:]+:(\d{12}):repository\/(.+)$/.exec(arn);
  return match === null ? arn : `${match[2] as string} (${match[1] as string})`;
}

/** RFC 4180: a field with a comma, a double quote, CR or LF is quoted, and its double quotes doubled. */
function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
