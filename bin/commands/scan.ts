/**
 * `scan`: every container-image function of the caller's account in the given Regions, and whether Lambda can (or
 * will be able to) pull its image; `--fix` fixes what the fixer may fix, through the fixer's own pipeline.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';

import { NoticeNotSentError, messageOf } from '../../lambda/application/errors';
import type { Telemetry } from '../../lambda/application/fix-pipeline';
import { createLimiter } from '../../lambda/application/concurrency';
import type { OutboxReport, OutboxRepository } from '../../lambda/application/notice-outbox';
import { NoticeOutbox } from '../../lambda/application/notice-outbox';
import type { ScanFixResult } from '../../lambda/application/scan-fixes';
import { applyScanFixes } from '../../lambda/application/scan-fixes';
import type { RegionScan, ScanProgress } from '../../lambda/application/scanner';
import { Scanner } from '../../lambda/application/scanner';
import type { AwsClients } from '../../lambda/adapters/aws-clients';
import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { createAwsPipeline } from '../../lambda/adapters/aws-pipeline';
import { DynamoDbAuditLog } from '../../lambda/adapters/dynamodb-audit-log';
import { LambdaFunctionInventory } from '../../lambda/adapters/lambda-function-inventory';
import { StsRegistryAccess } from '../../lambda/adapters/registry-access';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier';
import { systemClock } from '../../lambda/adapters/system-clock';
import type { Config } from '../../lambda/domain/config';
import type { ScanContext } from '../../lambda/domain/scan-call';
import { ApplyError, auditedText } from './apply';
import { NO_AUDIT_WARNING, auditTableOption, topicArnProblem } from './aws-options';
import { readConfig } from './inputs';
import type { ScanReport } from './scan-output';
import { fixesText, outboxText, publishedText, scanCsv, scanJson, scanText } from './scan-output';
import { UsageError } from './usage-error';

export const SCAN_HELP = `Usage: lambda-ecr-autofix scan [--region R ...] [--endpoint-url URL] [--config FILE]
                              [--json | --csv] [--fix [--topic-arn ARN] [--audit-table NAME]]
                              [--concurrency N] [--exit-code]

Checks every container-image function of the account (of your credentials) in each Region:
  ok           the repository policy lets Lambda pull the image
  broken       the function's state says Lambda cannot pull or use its image (e.g. ImageAccessDenied)
  at-risk      it works today, but the repository policy would refuse Lambda's pull at the next
               deploy or cold start; lambda-ecr-autofix may add the grant
  needs-human  a person must act: an explicit deny, no consent to share, an opted-out repository,
               a missing repository, an unusable image URI, or a failure that is not about ECR
  unknown      the scan could not tell (e.g. no access to a repository in another account), and why
Repositories in other accounts are read through the registry role, as the fixer reads them; that role
trusts only the fixer role, so with other credentials their functions are "unknown".

Options:
  --region R           a Region to scan (repeatable); default AWS_REGION or your profile's Region
  --endpoint-url URL   send every AWS call to URL (e.g. http://127.0.0.1:5000 for moto_server)
  --config FILE        configuration JSON (the keys of the cdk.json context "lambda-ecr-autofix")
  --json               print {summary, functions} with every function, ok included
  --csv                print every function as CSV with a header line (RFC 4180)
  --fix                fix what the fixer may fix, through the fixer pipeline (consent, audit,
                       notices), then scan again and print the state after the fixes
  --topic-arn ARN      with --fix: publish the fixer's notices to this SNS topic
  --audit-table NAME   with --fix: write the fixer's audit records (and leases) to this table
                       (default $LAMBDA_ECR_AUTOFIX_AUDIT_TABLE), and send the notices it still owes
                       for the repositories scanned: those an earlier run could not send. Without one,
                       the fixes are not recorded (revoke and the drift guard will not know them).
                       The table is in the topic's Region (the central stack's), else the first --region
  --concurrency N      AWS calls in flight at most (1-64, default 8)
  --exit-code          exit 4 when a function is broken or at-risk (after --fix), for CI
  -h, --help           show this help

Credentials: the AWS SDK's default chain (environment, profile, SSO, instance role).
Exit status: 0 when the scan ran, whatever it found (4 with --exit-code, see above); 1 when AWS calls
failed (listing functions, an unusable --topic-arn, or a fix); 2 for usage errors and bad input files;
3 when fixes were written and verified but notices are still unsent (with --audit-table, run the same
command again: it sends them and writes nothing again).`;

export interface ScanOptions {
  readonly regions: readonly string[];
  readonly endpointUrl?: string | undefined;
  readonly config?: string | undefined;
  readonly json: boolean;
  readonly csv: boolean;
  readonly fix: boolean;
  readonly topicArn?: string | undefined;
  readonly auditTable?: string | undefined;
  readonly concurrency?: string | undefined;
  readonly exitCode: boolean;
}

/** Exit status with `--exit-code` when broken or at-risk functions remain. */
export const FINDINGS_EXIT_CODE = 4;
/** Exit status when policies were written and verified but their notices could not be sent (as `apply`). */
export const NOTICE_NOT_SENT_EXIT_CODE = 3;
export const DEFAULT_CONCURRENCY = 8;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const SILENT: Telemetry = { decided: () => undefined, failed: () => undefined };

export interface ScanIo {
  /** Where progress goes (stderr on a terminal); null for none. */
  readonly progress: ((text: string) => void) | null;
  /** A warning on stderr (e.g. a write no audit table records). */
  readonly note?: (text: string) => void;
}

export async function runScan(
  options: ScanOptions,
  io: ScanIo,
  env: Readonly<Record<string, string | undefined>> = process.env,
  /** Clients to use instead of new ones (tests wrap them to inject faults). */
  givenClients?: AwsClients
): Promise<ScanResult> {
  const config = readConfig(options.config);
  const checked = checkOptions(options);
  // The environment's table counts only where a table is used: with --fix.
  const auditTable = options.fix ? auditTableOption(options.auditTable, env) : undefined;
  const credentials =
    options.endpointUrl !== undefined &&
    env['AWS_ACCESS_KEY_ID'] === undefined &&
    env['AWS_PROFILE'] === undefined
      ? { accessKeyId: 'lambda-ecr-autofix-local', secretAccessKey: 'lambda-ecr-autofix-local' }
      : undefined;
  const regions = checked.regions.length > 0 ? checked.regions : [await defaultRegion(env)];
  const clients =
    givenClients ??
    createAwsClients({
      region: regions[0] as string,
      ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
      ...(credentials === undefined ? {} : { credentials }),
    });
  // The fixer's own resources (the topic, the audit table) are in the central stack's Region: the topic's, when given,
  // else the first Region scanned. SNS answers NotFound for a topic of another Region.
  const home = homeRegion(options.topicArn, regions[0] as string);
  const homeClients =
    givenClients !== undefined || home === regions[0]
      ? clients
      : createAwsClients({
          region: home,
          ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
          ...(credentials === undefined ? {} : { credentials }),
        });
  const identity = await callerIdentity(clients);
  const context: ScanContext = {
    runId: runId(),
    time: systemClock.now().toISOString(),
    by: `scan by ${identity.arn}`,
  };
  const scanAll = () =>
    scanRegions(clients, config, identity.account, regions, context, checked.concurrency, io);

  if (options.fix && options.topicArn !== undefined) {
    // Before anything is written, as `apply` does: a fix nobody hears about is worse than no fix.
    try {
      await new SnsNotifier(options.topicArn, homeClients.sns).check();
    } catch (error) {
      throw new ApplyError(`${(error as Error).message}; nothing was changed`, { cause: error });
    }
  }
  let scanned = await scanAll();
  let fixes: ScanFixResult[] | null = null;
  let outbox: OutboxReport | null = null;
  let outboxError: unknown = null;
  if (options.fix) {
    let warned = false;
    const { pipeline, notifier } = createAwsPipeline({
      config,
      region: home,
      ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
      ...(credentials === undefined ? {} : { credentials }),
      fixerAccountId: identity.account,
      fixerRoleArns: [],
      topicArn: options.topicArn ?? null,
      auditTableName: auditTable ?? null,
      telemetry: SILENT,
      clients: homeClients,
      // Right before the first write, so that writes nothing records cannot go unnoticed.
      onUnauditedWrite: () => {
        if (!warned) io.note?.(NO_AUDIT_WARNING);
        warned = true;
      },
    });
    const before = scanned;
    fixes = await applyScanFixes(
      pipeline,
      scanned.flatMap((region) => region.entries),
      context
    );
    // The state after the fixes, read again from AWS.
    scanned = await scanAll();
    if (auditTable !== undefined) {
      // The notices still owed for every repository read (this run's that failed, and those an earlier run could not
      // send: its fixes are `ok` now, so nothing else would ever send them), before the report.
      try {
        outbox = await new NoticeOutbox({
          audit: new DynamoDbAuditLog(homeClients.dynamodb, auditTable),
          notifier,
          config,
          clock: systemClock,
          runId: `scan-${context.runId}`,
          limiter: createLimiter(checked.concurrency),
        }).flush(repositoriesRead([...before, ...scanned]));
      } catch (error) {
        outboxError = error;
      }
    }
  }
  const report: ScanReport = {
    account: identity.account,
    regions,
    findings: scanned.flatMap((region) => region.entries.map((entry) => entry.finding)),
    deleted: scanned.reduce((sum, region) => sum + region.deleted, 0),
  };
  const audited = auditTable !== undefined;
  const output = options.json
    ? scanJson(report, options.fix ? { audited, notices: outbox } : undefined)
    : options.csv
      ? scanCsv(report)
      : [
          ...(fixes === null
            ? []
            : [
                fixesText(fixes),
                ...nonNull(publishedText(fixes, options.topicArn)),
                ...(outbox === null ? [] : [outboxText(outbox)]),
                auditedText(auditTable),
                '',
                'After the fixes:',
              ]),
          scanText(report),
        ].join('\n');
  return { output, ...exitOf(report, fixes ?? [], outbox, outboxError, { ...options, audited }) };
}

/** The exit status and error line of a scan, from what its fixes and its notice outbox did. */
function exitOf(
  report: ScanReport,
  fixes: readonly ScanFixResult[],
  outbox: OutboxReport | null,
  outboxError: unknown,
  options: Pick<ScanOptions, 'exitCode'> & { readonly audited: boolean }
): Pick<ScanResult, 'exitCode' | 'error'> {
  // The report still matters: it is printed, then the command fails. With an audit table, a fix whose notice failed
  // is the outbox's (sent by it now, or still owed below).
  const failed = fixes.flatMap((fix) =>
    fix.status === 'failed' && !(options.audited && fix.error instanceof NoticeNotSentError)
      ? [fix]
      : []
  );
  const firstFailed = failed[0];
  if (firstFailed !== undefined) {
    const why = messageOf(firstFailed.error);
    // As `apply`: 3 when every failure is a verified write whose notice could not be sent.
    const onlyNotices = failed.every((fix) => fix.error instanceof NoticeNotSentError);
    return {
      exitCode: onlyNotices ? NOTICE_NOT_SENT_EXIT_CODE : 1,
      error:
        `${failed.length} fix(es) failed; the report shows the state after them; first: ${firstFailed.functionArn}: ${why}` +
        (onlyNotices
          ? ' (without --audit-table nothing records the missing notices: tell the consumer accounts yourself)'
          : ''),
    };
  }
  if (outboxError !== null) {
    return {
      exitCode: 1,
      error: `the fixes are done, but the notices still owed could not be looked up in the audit table: ${messageOf(outboxError)} (run the same command again)`,
    };
  }
  const unsent = outbox?.unsent ?? [];
  const firstUnsent = unsent[0];
  if (firstUnsent !== undefined) {
    return {
      exitCode: NOTICE_NOT_SENT_EXIT_CODE,
      error: `${unsent.length} notice(s) of applied changes not sent; first: "${firstUnsent.subject}": ${firstUnsent.error} (run the same command again to send them; nothing will be written again)`,
    };
  }
  const busy = outbox?.busy ?? [];
  const firstBusy = busy[0];
  if (firstBusy !== undefined) {
    // A write of less than 3 minutes ago whose record is not complete: its own run may still finish it, else the next
    // run of this command does (its fix is `ok` by then, so nothing else would).
    return {
      exitCode: NOTICE_NOT_SENT_EXIT_CODE,
      error: `${busy.length} write(s) may still be in progress (an audit intent of the last 3 minutes), first: "${firstBusy.subject}" (run the same command again in a few minutes to complete it and send its notice)`,
    };
  }
  const remaining = report.findings.some(
    (finding) => finding.status === 'broken' || finding.status === 'at-risk'
  );
  return { exitCode: options.exitCode && remaining ? FINDINGS_EXIT_CODE : 0 };
}

function nonNull(text: string | null): string[] {
  return text === null ? [] : [text];
}

/** Every repository the scans read, with the policy as last read. */
function repositoriesRead(scans: readonly RegionScan[]): OutboxRepository[] {
  const policies = new Map<string, string | null>();
  for (const scan of scans) {
    for (const [repositoryArn, policyText] of scan.repositories) {
      policies.set(repositoryArn, policyText);
    }
  }
  return [...policies].map(([repositoryArn, policyText]) => ({ repositoryArn, policyText }));
}

/** What to print and the exit status; `error` is one line for stderr. */
export interface ScanResult {
  readonly output: string;
  readonly exitCode: number;
  readonly error?: string;
}

function checkOptions(options: ScanOptions): { regions: string[]; concurrency: number } {
  if (options.json && options.csv) throw new UsageError('--json and --csv exclude each other');
  for (const region of options.regions) {
    if (!REGION.test(region)) {
      throw new UsageError(`--region must be an AWS Region such as eu-west-1, got "${region}"`);
    }
  }
  if (options.endpointUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(options.endpointUrl)) {
    throw new UsageError(`--endpoint-url must be an http(s) URL, got "${options.endpointUrl}"`);
  }
  if (!options.fix && (options.topicArn !== undefined || options.auditTable !== undefined)) {
    throw new UsageError('--topic-arn and --audit-table go with --fix');
  }
  const topicProblem = topicArnProblem(options.topicArn);
  if (topicProblem !== null) throw new UsageError(topicProblem);
  const concurrency =
    options.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(
      `--concurrency must be a whole number from 1 to 64, got "${options.concurrency ?? ''}"`
    );
  }
  return { regions: [...new Set(options.regions)], concurrency };
}

/** The Region of the SNS topic ARN (checked by `checkOptions`), else `fallback`. */
function homeRegion(topicArn: string | undefined, fallback: string): string {
  return topicArn?.split(':')[3] ?? fallback;
}

async function defaultRegion(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const fromEnv = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (fromEnv !== undefined && REGION.test(fromEnv)) return fromEnv;
  // The profile's Region, resolved the way the SDK resolves it.
  try {
    const region = await createAwsClients({ region: '' }).sts.config.region();
    if (REGION.test(region)) return region;
  } catch {
    // no Region configured anywhere
  }
  throw new UsageError('--region is required: neither AWS_REGION nor your profile names a Region');
}

async function callerIdentity(clients: AwsClients): Promise<{ account: string; arn: string }> {
  try {
    const output = await clients.sts.send(new GetCallerIdentityCommand({}));
    if (output.Account === undefined) throw new Error('GetCallerIdentity returned no Account.');
    return { account: output.Account, arn: output.Arn ?? `account ${output.Account}` };
  } catch (error) {
    throw new ApplyError(
      `cannot determine the AWS account of the credentials: ${(error as Error).message}`,
      { cause: error }
    );
  }
}

async function scanRegions(
  clients: AwsClients,
  config: Config,
  account: string,
  regions: readonly string[],
  context: ScanContext,
  concurrency: number,
  io: ScanIo
): Promise<RegionScan[]> {
  const registry = new StsRegistryAccess({
    fixerAccountId: account,
    registryRoleName: config.registryRoleName,
    stsClient: clients.sts,
    createEcrClient: (region, credentials) => clients.createEcrClient(region, credentials),
    clock: systemClock,
  });
  const limiter = createLimiter(concurrency);
  const progress = io.progress;
  const scanner = new Scanner({
    config,
    registry,
    limiter,
    context,
    sessionName: `lambda-ecr-autofix-scan-${context.runId}`,
    ...(progress === null ? {} : { progress: (p: ScanProgress) => progress(progressLine(p)) }),
  });
  const results: RegionScan[] = [];
  for (const region of regions) {
    const inventory = new LambdaFunctionInventory(
      clients.createLambdaClient(region),
      account,
      region
    );
    try {
      results.push(await scanner.scanRegion(inventory));
    } catch (error) {
      throw new ApplyError(
        `cannot list the functions of account ${account} in ${region}: ${(error as Error).message}`,
        { cause: error }
      );
    }
  }
  return results;
}

function progressLine(progress: ScanProgress): string {
  return `scanning ${progress.region}: ${progress.pages} page(s) listed, ${progress.described} of ${progress.imageFunctions} container-image functions checked`;
}

function runId(): string {
  const time = systemClock.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `${time}-${Math.floor(systemClock.random() * 0xffff)
    .toString(16)
    .padStart(4, '0')}`;
}
