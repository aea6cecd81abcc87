/**
 * `apply`: run the whole pipeline for one event against AWS (default credential chain) or an AWS-compatible
 * endpoint such as a local moto_server: read the policy, write and verify the fix, publish the notification.
 */
import type { EventResult, Telemetry } from '../../lambda/application/fix-pipeline';
import { createAwsPipeline } from '../../lambda/adapters/aws-pipeline';
import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { discoverAccountId } from '../../lambda/adapters/registry-access';
import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import { renderNotification } from '../../lambda/domain/notification';
import type { Config } from '../../lambda/domain/config';
import type { Decision } from '../../lambda/domain/decision';
import { readEvent } from './event-input';
import { readConfig } from './inputs';
import { decisionJson, decisionText } from './output';
import { UsageError } from './usage-error';

export const APPLY_HELP = `Usage: lambda-ecr-autofix apply --event FILE [--event-id ID] [--config FILE] [--topic-arn ARN]
                               [--region R] [--endpoint-url URL] [--dry-run] [--json]

Runs the fixer for one failed Lambda deploy against AWS: reads the repository policy (assuming the
member role in other accounts), writes and verifies the fix, and publishes the notification.

Options:
  --event FILE         the failed call: the EventBridge event (e.g. a dead-letter queue message body),
                       a CloudTrail record, or the output of "aws cloudtrail lookup-events"; "-" reads stdin
  --event-id ID        which event of a list to use; without it the only failed deploy call of the list
  --config FILE        configuration JSON (the keys of the cdk.json context "lambda-ecr-autofix")
  --topic-arn ARN      SNS topic for the notification; without it nothing is published
  --region R           the fixer's region (SNS, STS); default AWS_REGION, else the event's region
  --endpoint-url URL   send every AWS call to URL (e.g. http://127.0.0.1:5000 for moto_server);
                       without AWS credentials in the environment, dummy ones are used there
  --dry-run            decide and notify, but write nothing (overrides the configured mode)
  --json               print one JSON object: the plan fields plus applied and messageId
  -h, --help           show this help

Credentials: the AWS SDK's default chain (environment, profile, SSO, instance role).
Relative paths are read from the directory the command was typed in.
Exit status: 0 for any decision; 1 when AWS calls failed; 2 for usage errors and bad input files.`;

export interface ApplyOptions {
  readonly event: string;
  readonly eventId?: string | undefined;
  readonly config?: string | undefined;
  readonly topicArn?: string | undefined;
  readonly region?: string | undefined;
  readonly endpointUrl?: string | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** Failed AWS work: exit status 1 with a one-line message. */
export class ApplyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApplyError';
  }
}

const SILENT: Telemetry = { decided: () => undefined, failed: () => undefined };

export async function runApply(
  options: ApplyOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  note: (text: string) => void = () => undefined
): Promise<string> {
  const baseConfig = readConfig(options.config);
  const config = options.dryRun ? { ...baseConfig, mode: 'dry-run' as const } : baseConfig;
  const chosen = readEvent(options.event, options.eventId);
  if (chosen.note !== null) note(chosen.note);
  const event = chosen.event;
  if (options.endpointUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(options.endpointUrl)) {
    throw new UsageError(`--endpoint-url must be an http(s) URL, got "${options.endpointUrl}"`);
  }
  if (
    options.topicArn !== undefined &&
    !/^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(options.topicArn)
  ) {
    throw new UsageError(`--topic-arn must be an SNS topic ARN, got "${options.topicArn}"`);
  }
  const parsed = parseDeployEvent(event);
  const region =
    options.region ??
    env['AWS_REGION'] ??
    env['AWS_DEFAULT_REGION'] ??
    (parsed.ok ? parsed.call.region : undefined);
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
  let identity: { account: string; arn: string | null };
  try {
    const clients = createAwsClients(clientOptions);
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
  const { pipeline } = createAwsPipeline({
    ...clientOptions,
    config,
    fixerAccountId: identity.account,
    fixerRoleArns: [],
    topicArn: options.topicArn ?? null,
    auditTableName: null,
    telemetry: SILENT,
  });
  const [result] = await pipeline.process([{ messageId: options.event, event, attempt: 1 }]);
  return render(result as EventResult, options.json, config, options.topicArn !== undefined);
}

function render(result: EventResult, json: boolean, config: Config, hasTopic: boolean): string {
  const mode = config.mode;
  if (result.status === 'failed') {
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    throw new ApplyError(message, { cause: result.error });
  }
  const { decision, applied, notificationId } = result;
  const notification = renderNotification(decision, { mode, applied });
  if (json) {
    return JSON.stringify(
      { ...decisionJson(decision, notification), applied, messageId: notificationId },
      null,
      2
    );
  }
  return [
    decisionText(decision, notification),
    `Applied:     ${applied ? 'yes, written and verified' : mode === 'dry-run' && decision.outcome === 'fix' ? 'no (dry-run)' : 'no'}`,
    `Published:   ${notificationId === null ? `no (${whyNotPublished(decision, config, hasTopic)})` : `yes, message ${notificationId}`}`,
  ].join('\n');
}

/** Why no notification went out, in the terms of the options and configuration that decided it. */
export function whyNotPublished(decision: Decision, config: Config, hasTopic: boolean): string {
  if (!hasTopic) return 'no --topic-arn given';
  if (!config.notifyOn.includes(decision.outcome)) {
    return `notifyOn ${JSON.stringify(config.notifyOn)} does not include "${decision.outcome}"`;
  }
  return 'the pipeline published nothing for this decision';
}
