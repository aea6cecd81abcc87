/**
 * Fixed names shared by the central stack and the member stack. They are fixed, not generated, because member
 * accounts must reference the central resources before (or without) a CloudFormation export: a member stack is
 * deployed by StackSets or by hand into other accounts, and learns only the central account id and region.
 */

/** The `cdk.json` context key that holds the configuration. */
export const CONTEXT_KEY = 'lambda-ecr-autofix';

/** Name of the central custom event bus the member accounts forward to. */
export const CENTRAL_BUS_NAME = 'lambda-ecr-autofix';

/**
 * Name of the fixer's IAM role in the central account. The member accounts' registry role trusts exactly this role,
 * so it needs a predictable ARN: `arn:PARTITION:iam::CENTRAL_ACCOUNT:role/LambdaEcrAutofixFixer`. IAM role names are
 * unique per account, hence one central stack per account.
 */
export const FIXER_ROLE_NAME = 'LambdaEcrAutofixFixer';

/** Name of the service-managed StackSet that deploys the member stack. */
export const MEMBER_STACK_SET_NAME = 'lambda-ecr-autofix-member';

/** Id of the central stack in the CDK app (also its CloudFormation stack name). */
export const CENTRAL_STACK_NAME = 'LambdaEcrAutofix';

/** Id of the stage that holds the standalone member stack, and the member stack's own id and name. */
export const MEMBER_STAGE_ID = 'Member';
export const MEMBER_STACK_NAME = 'LambdaEcrAutofixMember';

/** Powertools service name: the `service` dimension of every custom metric. */
export const SERVICE_NAME = 'lambda-ecr-autofix';

/** CloudWatch namespace of the custom metrics the handler emits (Powertools Metrics, EMF). */
export const METRICS_NAMESPACE = 'LambdaEcrAutofix';

/** Name of the CloudWatch dashboard. */
export const DASHBOARD_NAME = 'LambdaEcrAutofix';

/**
 * Name of the central work queue. Fixed so that its dead-letter queue's redrive-allow policy can name it: the two
 * queues reference each other, which CloudFormation accepts only when one ARN is computed from a known name.
 */
export const WORK_QUEUE_NAME = 'lambda-ecr-autofix-work';

/** Name of the sweep queue, fixed for the same reason as the work queue's. */
export const SWEEP_QUEUE_NAME = 'lambda-ecr-autofix-sweep';

/** Id of the stack that holds the StackSet (also its CloudFormation stack name). */
export const MEMBER_DEPLOYMENT_STACK_NAME = 'LambdaEcrAutofixMemberDeployment';

/**
 * Name of the alarm in every member account and region that fires when failed-deploy events could not be forwarded to
 * the central bus. The central bus has a rule for this name's state changes, forwarded by the member accounts.
 */
export const MEMBER_FORWARDING_ALARM_NAME = 'lambda-ecr-autofix-forwarding-failed';
