/**
 * `history`: the audit records (fixes, revokes, drift reports and restores, failures), newest first, as a table for
 * people or JSON for scripts.
 */
import type { AuditRecord } from '../../lambda/application/ports';
import { createAwsClients, type AwsClients } from '../../lambda/adapters/aws-clients';
import { DynamoDbAuditLog } from '../../lambda/adapters/dynamodb-audit-log';
import { ApplyError } from './apply';
import {
  AUDIT_TABLE_ENV,
  auditTableOption,
  clientOptionsOf,
  validateAwsOptions,
} from './aws-options';
import { UsageError } from './usage-error';

export const HISTORY_HELP = `Usage: lambda-ecr-autofix history [--audit-table NAME] [--repository ARN] [--consumer ACCOUNT]
                                 [--since ISO] [--region R] [--endpoint-url URL] [--json]

Prints the audit records of lambda-ecr-autofix, newest first: every fix, revoke, drift report and
restore, and every decision that changed nothing, with what it changed.

Options:
  --audit-table NAME   the audit table (the central stack's AuditTableName output; default
                       $${AUDIT_TABLE_ENV})
  --repository ARN     only this repository's records (a DynamoDB Query; without it, a Scan of the table)
  --consumer ACCOUNT   only the records about this consumer account
  --since ISO          only records decided at or after this time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z
  --region R           the audit table's region; default AWS_REGION
  --endpoint-url URL   send every AWS call to URL (e.g. http://127.0.0.1:5000 for moto_server)
  --json               print one JSON array of records (newest first; the notice body left out), the
                       input of "plan --audit" for replaying a drift event offline
  -h, --help           show this help

Exit status: 0 (also when no record matches); 1 when AWS calls failed; 2 for usage errors.`;

export interface HistoryOptions {
  readonly auditTable?: string | undefined;
  readonly repository?: string | undefined;
  readonly consumer?: string | undefined;
  readonly since?: string | undefined;
  readonly region?: string | undefined;
  readonly endpointUrl?: string | undefined;
  readonly json: boolean;
}

const REPOSITORY_ARN = /^arn:aws(-cn|-us-gov)?:ecr:[a-z0-9-]+:\d{12}:repository\/.+$/;

export async function runHistory(
  options: HistoryOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  givenClients?: AwsClients
): Promise<string> {
  const table = auditTableOption(options.auditTable, env);
  if (table === undefined) {
    throw new UsageError(`--audit-table NAME is required (or $${AUDIT_TABLE_ENV})`);
  }
  if (options.repository !== undefined && !REPOSITORY_ARN.test(options.repository)) {
    throw new UsageError(
      `--repository must be an ECR repository ARN (arn:aws:ecr:REGION:ACCOUNT:repository/NAME), got "${options.repository}"`
    );
  }
  if (options.consumer !== undefined && !/^\d{12}$/.test(options.consumer)) {
    throw new UsageError(`--consumer must be a 12-digit account id, got "${options.consumer}"`);
  }
  const since = options.since === undefined ? undefined : isoTime(options.since);
  validateAwsOptions(options);
  const region = options.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (region === undefined) {
    throw new UsageError(
      "--region is required when AWS_REGION is not set (the audit table's region)"
    );
  }
  const clients = givenClients ?? createAwsClients(clientOptionsOf({ ...options, region }, env));
  let records: AuditRecord[];
  try {
    records = await new DynamoDbAuditLog(clients.dynamodb, table).list({
      repositoryArn: options.repository,
      consumerAccount: options.consumer,
      since,
    });
  } catch (error) {
    throw new ApplyError(`cannot read audit table ${table}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const newestFirst = [...records].sort((a, b) =>
    a.decidedAt === b.decidedAt
      ? compare(`${b.eventTime}#${b.eventId}`, `${a.eventTime}#${a.eventId}`)
      : compare(b.decidedAt, a.decidedAt)
  );
  if (options.json) {
    return JSON.stringify(
      newestFirst.map(({ notice, ...record }) => ({
        ...record,
        notice: notice === null ? null : { subject: notice.subject },
      })),
      null,
      2
    );
  }
  return renderTable(newestFirst);
}

/** An ISO 8601 date or time, as the audit records write it (UTC, milliseconds). */
function isoTime(text: string): string {
  const time = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(
    text
  )
    ? Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text)
    : NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(
      `--since must be an ISO 8601 date or time such as 2026-03-01 or 2026-03-01T12:00:00Z, got "${text}"`
    );
  }
  return new Date(time).toISOString();
}

const HEADERS = [
  'TIME',
  'KIND',
  'STATE',
  'OUTCOME (REASON)',
  'REPOSITORY',
  'CONSUMER',
  'FUNCTION',
  'WHAT CHANGED',
];

/** A plain-text table: one line per record, columns padded, the last column as long as it needs. */
function renderTable(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'No audit records match.';
  const rows = records.map((record) => [
    record.decidedAt.replace(/\.\d{3}Z$/, 'Z'),
    record.kind,
    // An applied change whose notice never went out: the notice outbox still owes it (visible until it is sent).
    record.state === 'applied' && record.notifiedAt === null && record.notice !== null
      ? 'applied, notice owed'
      : record.state,
    `${record.outcome} (${record.reason})`,
    repositoryLabel(record.repositoryArn),
    record.consumerAccount ?? '-',
    record.functionArn === null
      ? '-'
      : (record.functionArn.split(':function:')[1] ?? record.functionArn),
    changed(record),
  ]);
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] as string).length))
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] as number)
      )
      .join('  ')
      .trimEnd();
  return [
    line(HEADERS),
    ...rows.map(line),
    '',
    `${records.length} record${records.length === 1 ? '' : 's'}.`,
  ].join('\n');
}

/** `ACCOUNT/REGION/NAME`: shorter than the ARN, still unambiguous. */
function repositoryLabel(arn: string): string {
  const match = /^arn:[a-z-]+:ecr:([a-z0-9-]+):(\d{12}):repository\/(.+)$/.exec(arn);
  return match === null ? arn : `${match[2]}/${match[1]}/${match[3]}`;
}

/** What the record's write changed (or would have): `+SID value`, `-SID value`, or `-` for none. */
function changed(record: AuditRecord): string {
  const added = record.grants.flatMap((grant) =>
    grant.added.map((value) => `+${short(grant.sid)} ${value}`)
  );
  const removed = record.removed.map(
    (entry) =>
      `${record.kind === 'revoke' || record.reason === 'repository-deleted' ? '-' : 'missing '}${short(entry.sid)} ${entry.values.join(' ')}`
  );
  const parts = [...added, ...removed];
  if (record.kind === 'revoke' && record.state !== 'recorded' && record.policyPlanned === null) {
    parts.push('(policy deleted)');
  }
  return parts.length === 0 ? '-' : parts.join('; ');
}

/** `Service` / `Accounts` for the fixer's statements. */
function short(sid: string): string {
  return sid.replace(/^LambdaEcrAutofix/, '');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
