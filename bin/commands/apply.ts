/**
 * `apply`: run the whole pipeline for one event against AWS (default credential chain) or an AWS-compatible
 * endpoint such as a local moto_server: read the policy, write and verify the fix, publish the notification. With
 * `--audit-table` it runs the same write-ahead audit and repository lease as the Lambda.
 */
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';

import { NoticeNotSentError, NoticesOwedError, messageOf } from '../../lambda/application/errors';
import type { EventResult, Telemetry } from '../../lambda/application/fix-pipeline';
import { createAwsPipeline } from '../../lambda/adapters/aws-pipeline';
import { createAwsClients, type AwsClients } from '../../lambda/adapters/aws-clients';
import { discoverAccountId } from '../../lambda/adapters/registry-access';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier';
import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import { parsePolicyCallEvent } from '../../lambda/domain/policy-call-event';
import { renderNotification } from '../../lambda/domain/notification';
import type { Config } from '../../lambda/domain/config';
import type { Decision } from '../../lambda/domain/decision';
import { NO_AUDIT_WARNING, auditTableOption, topicArnProblem } from './aws-options';
import { readEvent } from './event-input';
import { readConfig } from './inputs';
import { checkJson, checkText, decisionJson, decisionText } from './output';
import { UsageError } from './usage-error';

export const APPLY_HELP = `Usage: lambda-ecr-autofix apply --event FILE [--event-id ID] [--config FILE] [--topic-arn ARN]
                               [--audit-table NAME] [--region R] [--endpoint-url URL] [--dry-run] [--json]

Runs the fixer for one failed Lambda deploy against AWS: reads the repository policy (assuming the
member role in other accounts), writes and verifies the fix, and publishes the notification.

Options:
  --event FILE         the failed call: the EventBridge event (e.g. a dead-letter queue message body),
                       a CloudTrail record or log file, the output of "aws cloudtrail lookup-events" or
                       "aws sqs receive-message" (or one entry of it); "-" reads stdin
  --event-id ID        which event of a list to use; without it the only failed deploy call of the list
  --config FILE        configuration JSON (the keys of the cdk.json context "lambda-ecr-autofix")
  --topic-arn ARN      SNS topic for the notification; without it nothing is published. The topic is
                       checked (sns:GetTopicAttributes) before anything is written
  --audit-table NAME   the audit table (the central stack's AuditTableName output; default
                       $LAMBDA_ECR_AUTOFIX_AUDIT_TABLE): records the intent before the write and the
                       outcome after it, and takes the repository lease, like the Lambda. A rerun with
                       the same table sends a notice that could not be sent. Without one, a write is
                       not recorded (revoke and the drift guard will not know it): a warning says so
  --region R           the fixer's region (SNS, STS, DynamoDB); default AWS_REGION, else the event's region
  --endpoint-url URL   send every AWS call to URL (e.g. http://127.0.0.1:5000 for moto_server);
                       without AWS credentials in the environment, dummy ones are used there
  --dry-run            decide and notify, but write nothing (overrides the configured mode)
  --json               print one JSON object: the plan fields plus applied, messageId and audited
  -h, --help           show this help

Credentials: the AWS SDK's default chain (environment, profile, SSO, instance role).
Relative paths are read from the directory the command was typed in.
Exit status: 0 for any decision; 1 when AWS calls failed (an unusable topic: before anything was
written); 2 for usage errors and bad input files; 3 when the policy was written and verified but the
notice could not be sent (with --audit-table, rerun the same command to send it).`;

export interface ApplyOptions {
  readonly event: string;
  readonly eventId?: string | undefined;
  readonly config?: string | undefined;
  readonly topicArn?: string | undefined;
  readonly auditTable?: string | undefined;
  readonly region?: string | undefined;
  readonly endpointUrl?: string | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** Failed AWS work: a one-line message and the exit status (1, or 3 when only the notice is missing). */
export class ApplyError extends Error {
  readonly exitCode: 1 | 3;
  /** What stdout still gets (the decision whose change was written), or null. */
  readonly output: string | null;

  constructor(
    message: string,
    options?: ErrorOptions & { exitCode?: 1 | 3; output?: string | null }
  ) {
    super(message, options);
    this.name = 'ApplyError';
    this.exitCode = options?.exitCode ?? 1;
    this.output = options?.output ?? null;
  }
}

const SILENT: Telemetry = { decided: () => undefined, failed: () => undefined };

export async function runApply(
  options: ApplyOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  note: (text: string) => void = () => undefined,
  /** Clients to use instead of new ones (tests wrap them to inject faults). */
  givenClients?: AwsClients
): Promise<string> {
  const baseConfig = readConfig(options.config);
  const config = options.dryRun ? { ...baseConfig, mode: 'dry-run' as const } : baseConfig;
  const chosen = readEvent(options.event, options.eventId);
  if (chosen.note !== null) note(chosen.note);
  const event = chosen.event;
  if (options.endpointUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(options.endpointUrl)) {
    throw new UsageError(`--endpoint-url must be an http(s) URL, got "${options.endpointUrl}"`);
  }
  const topicProblem = topicArnProblem(options.topicArn);
  if (topicProblem !== null) throw new UsageError(topicProblem);
  const auditTable = auditTableOption(options.auditTable, env);
  const parsed = parseDeployEvent(event);
  const policyCall = parsePolicyCallEvent(event);
  const region =
    options.region ??
    env['AWS_REGION'] ??
    env['AWS_DEFAULT_REGION'] ??
    (parsed.ok ? parsed.call.region : undefined) ??
    (policyCall.ok ? policyCall.call.repository.region : undefined);
  if (region === undefined) {
    throw new UsageError(
      '--region is required when neither AWS_REGION nor the event names a region'
    );
  }
  const credentials =
    options.endpointUrl !== undefined &&
    env['AWS_ACCESS_KEY_ID'] === undefined &&
    env['AWS_PROFILE'] === undefined
      ? { accessKeyId: 'lambda-ecr-autofix-local', secretAccessKey: 'lambda-ecr-autofix-local' }
      : undefined;
  const clientOptions = {
    region,
    ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
    ...(credentials === undefined ? {} : { credentials }),
  };
  const clients = givenClients ?? createAwsClients(clientOptions);
  let identity: { account: string; arn: string | null };
  try {
    const account = await discoverAccountId(clients.sts);
    identity = { account, arn: null };
  } catch (error) {
    throw new ApplyError(
      `cannot determine the AWS account of the credentials: ${(error as Error).message}`,
      {
        cause: error,
      }
    );
  }
  if (options.topicArn !== undefined) {
    // Before anything is written: a fix nobody hears about is worse than no fix.
    try {
      await new SnsNotifier(options.topicArn, clients.sns).check();
    } catch (error) {
      throw new ApplyError(`${(error as Error).message}; nothing was changed`, { cause: error });
    }
  }
  let warned = false;
  const { pipeline } = createAwsPipeline({
    ...clientOptions,
    clients,
    config,
    fixerAccountId: identity.account,
    fixerRoleArns: [],
    topicArn: options.topicArn ?? null,
    auditTableName: auditTable ?? null,
    telemetry: SILENT,
    // Right before the write, so that a write nothing records cannot go unnoticed.
    onUnauditedWrite: () => {
      if (!warned) note(NO_AUDIT_WARNING);
      warned = true;
    },
  });
  const [result] = (await pipeline.process([{ messageId: options.event, event, attempt: 1 }])) as [
    EventResult,
  ];
  if (
    result.status === 'failed' &&
    auditTable !== undefined &&
    result.error instanceof ResourceNotFoundException
  ) {
    // The repository lease and the intent come first, both items of this table: nothing was written to ECR.
    throw new ApplyError(
      `audit table ${auditTable} not found in ${region} (${result.error.message}): give --region the central ` +
        "stack's Region (the table's) and --audit-table its AuditTableName output; nothing was changed",
      { cause: result.error }
    );
  }
  return render(result, { ...options, auditTable }, config);
}

function render(
  result: EventResult,
  options: Pick<ApplyOptions, 'json' | 'auditTable' | 'topicArn'>,
  config: Config,
  /** The `Published:` line's text when the notice failed (the decision is shown all the same). */
  unpublished?: string
): string {
  const audited = options.auditTable !== undefined;
  const mode = config.mode;
  const hasTopic = options.topicArn !== undefined;
  if (result.status === 'failed') {
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    if (result.error instanceof NoticeNotSentError) {
      const rerun =
        options.auditTable === undefined
          ? ' (without --audit-table nothing records the missing notice: tell the consumer account yourself)'
          : ' (run the same command again to send it; nothing will be written again)';
      // The policy was written: whoever ran the command sees what, as for a fix whose notice went out.
      const written = result.error.decision;
      const output =
        written === null
          ? null
          : render(
              {
                messageId: result.messageId,
                status: 'done',
                decision: written,
                applied: true,
                notificationId: null,
                notice: null,
                replayed: result.error.replayed,
              },
              options,
              config,
              `no (notice not sent: ${messageOf(result.error.cause)})`
            );
      throw new ApplyError(`${message}${rerun}`, { cause: result.error, exitCode: 3, output });
    }
    if (result.error instanceof NoticesOwedError) {
      // The drift guard's notice outbox: earlier changes of the repository whose notices it could not send.
      throw new ApplyError(`${message} (run the same command again)`, {
        cause: result.error,
        exitCode: 3,
      });
    }
    throw new ApplyError(message, { cause: result.error });
  }
  if (result.status === 'checked') {
    return options.json
      ? JSON.stringify({ ...checkJson(result.call, result.check), audited }, null, 2)
      : `${checkText(result.call, result.check, (outcome) => whyNotPublished(outcome.decision, config, hasTopic))}\n${auditedText(options.auditTable)}`;
  }
  const { decision, applied, notificationId, replayed } = result;
  const notification = result.notice ?? renderNotification(decision, { mode, applied });
  const json = options.json;
  if (json) {
    return JSON.stringify(
      { ...decisionJson(decision, notification), applied, messageId: notificationId, audited },
      null,
      2
    );
  }
  return [
    decisionText(decision, notification),
    `Applied:     ${appliedText(applied, replayed, mode, decision.outcome)}`,
    `Published:   ${unpublished ?? (notificationId === null ? `no (${whyNotPublished(decision, config, hasTopic)})` : `yes, message ${notificationId}`)}`,
    auditedText(options.auditTable),
  ].join('\n');
}

/** The `Audited:` line: where the run recorded what it did, or that nothing did. */
export function auditedText(auditTable: string | undefined): string {
  return auditTable === undefined
    ? 'Audited:     no (no audit table: revoke, history and the drift guard do not know of this run)'
    : `Audited:     yes, in table ${auditTable}`;
}

/** Why no notification went out, in the terms of the options and configuration that decided it. */
export function whyNotPublished(
  decision: Pick<Decision, 'outcome'>,
  config: Config,
  hasTopic: boolean
): string {
  if (!hasTopic) return 'no --topic-arn given';
  if (!config.notifyOn.includes(decision.outcome)) {
    return `notifyOn ${JSON.stringify(config.notifyOn)} does not include "${decision.outcome}"`;
  }
  return 'the pipeline published nothing for this decision';
}

function appliedText(
  applied: boolean,
  replayed: boolean,
  mode: 'enforce' | 'dry-run',
  outcome: string
): string {
  if (replayed) {
    return applied
      ? 'yes, by an earlier run (audit record completed; nothing written now)'
      : 'no longer: the grant recorded by an earlier run is not in the policy';
  }
  if (applied) return 'yes, written and verified';
  return mode === 'dry-run' && outcome === 'fix' ? 'no (dry-run)' : 'no';
}
