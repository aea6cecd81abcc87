/**
 * Names of the resources, their defaults and their rules. The central bus and the fixer role have names, not
 * generated ones, because member accounts must reference them before (or without) a CloudFormation export: a member
 * stack is deployed by StackSets or by hand into other accounts, and learns only the central account id and region.
 * Every name can be changed (the construct props), as long as the central and the member side use the same one.
 */
import { Token } from 'aws-cdk-lib';

import { ConfigError } from '../lambda/domain/config-error';

/** The `cdk.json` context key that holds the configuration. */
export const CONTEXT_KEY = 'lambda-ecr-autofix';

/** Default name of the central custom event bus the member accounts forward to. */
export const CENTRAL_BUS_NAME = 'lambda-ecr-autofix';

/**
 * Default name of the fixer's IAM role in the central account. The member accounts' registry role trusts exactly this
 * role, so it needs a predictable ARN: `arn:PARTITION:iam::CENTRAL_ACCOUNT:role/LambdaEcrAutofixFixer`. IAM role names
 * are unique per account, hence one installation per account.
 */
export const FIXER_ROLE_NAME = 'LambdaEcrAutofixFixer';

/** Default name of the service-managed StackSet that deploys the member stack. */
export const MEMBER_STACK_SET_NAME = 'lambda-ecr-autofix-member';

/** Id of the central stack in this repository's CDK app (also its CloudFormation stack name). */
export const CENTRAL_STACK_NAME = 'LambdaEcrAutofix';

/** Id of the stage that holds the standalone member stack, and the member stack's own id and name. */
export const MEMBER_STAGE_ID = 'Member';
export const MEMBER_STACK_NAME = 'LambdaEcrAutofixMember';

/** Powertools service name: the `service` dimension of every custom metric. */
export const SERVICE_NAME = 'lambda-ecr-autofix';

/** CloudWatch namespace of the custom metrics the handler emits (Powertools Metrics, EMF). */
export const METRICS_NAMESPACE = 'LambdaEcrAutofix';

/** Default name of the CloudWatch dashboard. */
export const DASHBOARD_NAME = 'LambdaEcrAutofix';

/**
 * Default name of the central work queue. The queue has a name so that its dead-letter queue's redrive-allow policy
 * can name it: the two queues reference each other, which CloudFormation accepts only when one ARN is computed from a
 * known name.
 */
export const WORK_QUEUE_NAME = 'lambda-ecr-autofix-work';

/** Default name of the sweep queue, a name for the same reason as the work queue's. */
export const SWEEP_QUEUE_NAME = 'lambda-ecr-autofix-sweep';

/** Suffix of the id of the stack that holds the StackSet, after the central stack's id. */
export const MEMBER_DEPLOYMENT_STACK_SUFFIX = 'MemberDeployment';

/** Id of the stack that holds the StackSet in this repository's app (also its CloudFormation stack name). */
export const MEMBER_DEPLOYMENT_STACK_NAME = `${CENTRAL_STACK_NAME}${MEMBER_DEPLOYMENT_STACK_SUFFIX}`;

/**
 * Name of the alarm in every member account and region that fires when failed-deploy events could not be forwarded to
 * the central bus. The central bus has a rule for this name's state changes, forwarded by the member accounts.
 */
export const MEMBER_FORWARDING_ALARM_NAME = 'lambda-ecr-autofix-forwarding-failed';

/** What a name must look like, in the words of the error message. */
interface NameRule {
  readonly pattern: RegExp;
  readonly expected: string;
  /** A name the member accounts use too: it must be a plain string, known at synth time. */
  readonly shared?: boolean;
}

/**
 * The rules of each name prop, from the services' own limits:
 * EventBridge https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html,
 * IAM https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html,
 * SQS https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html,
 * DynamoDB https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html,
 * SNS https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html,
 * CloudWatch https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html,
 * CloudFormation https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html.
 */
export const NAME_RULES = {
  eventBusName: {
    // "default" is every account's default bus, which the member accounts forward from.
    pattern: /^(?!default$)[/.\-_A-Za-z0-9]{1,256}$/,
    expected: 'an event bus name (1-256 of letters, digits and ._-/), not "default"',
    shared: true,
  },
  fixerRoleName: {
    pattern: /^[\w+=,.@-]{1,64}$/,
    expected: 'an IAM role name (1-64 of letters, digits and +=,.@_-)',
    shared: true,
  },
  queueName: {
    pattern: /^[\w-]{1,80}$/,
    expected: 'an SQS queue name (1-80 of letters, digits, _ and -)',
  },
  deadLetterQueueName: {
    pattern: /^[\w-]{1,80}$/,
    expected: 'an SQS queue name (1-80 of letters, digits, _ and -)',
  },
  sweepQueueName: {
    pattern: /^[\w-]{1,80}$/,
    expected: 'an SQS queue name (1-80 of letters, digits, _ and -)',
  },
  auditTableName: {
    pattern: /^[\w.-]{3,255}$/,
    expected: 'a DynamoDB table name (3-255 of letters, digits and _.-)',
  },
  topicName: {
    pattern: /^[\w-]{1,256}$/,
    expected: 'an SNS topic name (1-256 of letters, digits, _ and -)',
  },
  dashboardName: {
    pattern: /^[\w-]{1,255}$/,
    expected: 'a CloudWatch dashboard name (1-255 of letters, digits, _ and -)',
  },
  stackSetName: {
    pattern: /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
    expected: 'a StackSet name (a letter, then up to 127 letters, digits and -)',
  },
} as const satisfies Readonly<Record<string, NameRule>>;

export type NameProp = keyof typeof NAME_RULES;

/**
 * Checks the given names (absent ones are skipped) and throws one `ConfigError` listing every bad one, in the words
 * the configuration keys use: `"eventBusName" must be … (got "…")`. A token is accepted where the name stays in the
 * central account; a name the member accounts need must be a plain string.
 */
export function validateNames(
  names: Partial<Readonly<Record<NameProp, string | undefined>>>,
  source: string
): void {
  const problems: string[] = [];
  for (const [prop, rule] of Object.entries(NAME_RULES) as Array<[NameProp, NameRule]>) {
    const name = names[prop];
    if (name === undefined) continue;
    if (Token.isUnresolved(name)) {
      if (rule.shared === true) {
        problems.push(
          `"${prop}" must be a plain string, not a token: the member accounts build the ARN from it`
        );
      }
      continue;
    }
    if (!rule.pattern.test(name)) {
      problems.push(`"${prop}" must be ${rule.expected} (got ${JSON.stringify(name)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
}
