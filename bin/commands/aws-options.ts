/**
 * The options every command that talks to AWS shares (`apply`, `revoke`, `history`): the endpoint, the topic, the audit
 * table, and the client options they make.
 */
import type { AwsClientsOptions } from '../../lambda/adapters/aws-clients';
import { UsageError } from './usage-error';

/** The environment variable that names the audit table when `--audit-table` is not given. */
export const AUDIT_TABLE_ENV = 'LAMBDA_ECR_AUTOFIX_AUDIT_TABLE';

/**
 * The line `apply` and `scan --fix` print on stderr right before a policy write that no audit record announces: such a
 * write is invisible to `revoke`, `history` and the drift guard.
 */
export const NO_AUDIT_WARNING = `no audit table: this write will not be recorded by lambda-ecr-autofix; revoke and the drift guard will not know it — pass --audit-table NAME or set ${AUDIT_TABLE_ENV}`;

/** DynamoDB table names: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TOPIC_ARN = /^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;

/** `--audit-table`, else the environment variable; validated. */
export function auditTableOption(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>>
): string | undefined {
  const fromEnv = env[AUDIT_TABLE_ENV];
  const table = value ?? (fromEnv === '' ? undefined : fromEnv);
  if (table !== undefined && !TABLE_NAME.test(table)) {
    throw new UsageError(
      `--audit-table must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), got "${table}"`
    );
  }
  return table;
}

export function validateAwsOptions(options: {
  readonly endpointUrl?: string | undefined;
  readonly topicArn?: string | undefined;
}): void {
  if (options.endpointUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(options.endpointUrl)) {
    throw new UsageError(`--endpoint-url must be an http(s) URL, got "${options.endpointUrl}"`);
  }
  const topicProblem = topicArnProblem(options.topicArn);
  if (topicProblem !== null) throw new UsageError(topicProblem);
}

/**
 * What is wrong with `--topic-arn`, or null. A FIFO topic (`….fifo`) is an SNS topic ARN too, but the notices are
 * published without a message group (FIFO topics refuse them): say that, not "not an SNS topic ARN".
 */
export function topicArnProblem(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (/^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[\w-]{1,251}\.fifo$/.test(value)) {
    return `--topic-arn names a FIFO topic ("${value}"); lambda-ecr-autofix publishes its notices to a standard topic (the central stack's TopicArn output)`;
  }
  return TOPIC_ARN.test(value) ? null : `--topic-arn must be an SNS topic ARN, got "${value}"`;
}

/**
 * The clients' options: the region, the endpoint, and, for an endpoint without credentials in the environment
 * (a local moto_server), dummy credentials, so that the SDK does not look for real ones.
 */
export function clientOptionsOf(
  options: { readonly region: string; readonly endpointUrl?: string | undefined },
  env: Readonly<Record<string, string | undefined>>
): AwsClientsOptions {
  const credentials =
    options.endpointUrl !== undefined &&
    env['AWS_ACCESS_KEY_ID'] === undefined &&
    env['AWS_PROFILE'] === undefined
      ? { accessKeyId: 'lambda-ecr-autofix-local', secretAccessKey: 'lambda-ecr-autofix-local' }
      : undefined;
  return {
    region: options.region,
    ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
    ...(credentials === undefined ? {} : { credentials }),
  };
}
