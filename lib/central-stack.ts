import * as path from 'node:path';

import {
  Aws,
  CfnOutput,
  CfnParameter,
  Duration,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct, IConstruct } from 'constructs';

import { ConfigError, type Config } from '../lambda/domain/config';
import { OUTCOMES } from '../lambda/domain/decision';
import { AuditTable } from './constructs/audit-table';
import { CentralEventBus } from './constructs/central-event-bus';
import { FixerFunction } from './constructs/fixer-function';
import { FixerMonitoring } from './constructs/fixer-monitoring';
import { FixerQueue } from './constructs/fixer-queue';
import { MemberStackSet } from './constructs/member-stack-set';
import { NotificationTopic } from './constructs/notification-topic';
import { FAILED_IMAGE_DEPLOY_PATTERN } from './failed-deploy-event-pattern';
import { MEMBER_PARAMETERS, type MemberStack } from './member-stack';
import {
  CONTEXT_KEY,
  DASHBOARD_NAME,
  FIXER_ROLE_NAME,
  MEMBER_STACK_SET_NAME,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from './names';
import { registryPermissionStatements } from './registry-permissions';
import { FIXER_SIZING } from './sizing';

const REPOSITORY_ROOT = path.join(__dirname, '..');

/** Where the fixer handler lives, relative to the repository root. */
export const FIXER_HANDLER_ENTRY = path.join(REPOSITORY_ROOT, 'lambda', 'handlers', 'sqs-fixer.ts');

/** Budget for the `CONFIG` environment variable, leaving room for the others within Lambda's 4 KB. */
const CONFIG_ENVIRONMENT_BUDGET_BYTES = 3 * 1024;

export interface CentralStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: Config;
  /**
   * The standalone member stack (in its own stage). Its template becomes the StackSet's template.
   * @default - no StackSet; required when `config.memberDeployment` is set
   */
  readonly memberStack?: MemberStack;
  /**
   * Path of the fixer's handler file.
   * @default lambda/handlers/sqs-fixer.ts in this repository
   */
  readonly handlerEntry?: string;
}

/**
 * The central stack, deployed once per organization in a delegated-administrator or tooling account:
 *
 * failed-deploy events (the organization's, through the central bus; the central account's own, through a rule on its
 * default bus) → SQS queue (+ dead-letter queue) → fixer function → ECR repository policy (directly in this account,
 * through the registry role elsewhere), audit table, SNS topic; alarms and a dashboard; and, with `memberDeployment`,
 * the StackSet that installs the member stack across the organization.
 */
export class CentralStack extends Stack {
  /** The bus the member accounts forward to. */
  public readonly eventBus: CentralEventBus;
  /** The work queue and its dead-letter queue. */
  public readonly queue: FixerQueue;
  /** The encrypted SNS topic (decisions and alarms) and its key. */
  public readonly notifications: NotificationTopic;
  /** The audit table. */
  public readonly audit: AuditTable;
  /** The fixer function, its role and log group. */
  public readonly fixer: FixerFunction;
  /** What the fixer may do to registries: ECR and Lambda in this account, the registry role elsewhere. */
  public readonly registryAccessPolicy: Policy;
  /** Alarms and dashboard. */
  public readonly monitoring: FixerMonitoring;
  /** Present when `memberDeployment` is configured. */
  public readonly memberStackSet?: MemberStackSet;

  constructor(scope: Construct, id: string, props: CentralStackProps) {
    const { config, memberStack, handlerEntry, ...stackProps } = props;
    super(scope, id, {
      description:
        'lambda-ecr-autofix central: fixes ECR repository policies when Lambda may not pull a container image',
      ...stackProps,
    });
    const configJson = JSON.stringify(config);
    validateForCentralStack(config, configJson, memberStack);

    this.eventBus = new CentralEventBus(this, 'EventBus', {
      organizationId: config.organizationId,
    });
    this.queue = new FixerQueue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(
        FIXER_SIZING.timeout.toSeconds() * FIXER_SIZING.visibilityTimeoutFactor
      ),
      maxReceiveCount: FIXER_SIZING.maxReceiveCount,
    });
    this.notifications = new NotificationTopic(this, 'Notifications', {
      emails: config.notificationEmails,
    });
    this.audit = new AuditTable(this, 'Audit');

    this.fixer = new FixerFunction(this, 'Fixer', {
      entry: handlerEntry ?? FIXER_HANDLER_ENTRY,
      depsLockFilePath: path.join(REPOSITORY_ROOT, 'package-lock.json'),
      description: 'lambda-ecr-autofix fixer: patches ECR repository policies so Lambda can pull',
      roleName: FIXER_ROLE_NAME,
      // In Lambda the execution role's credentials are in the environment: the SDK's full default chain (SSO,
      // profiles, web identity, IMDS, with their nested clients) would only add code to every cold start.
      moduleAliases: {
        '@aws-sdk/credential-provider-node': path.join(
          REPOSITORY_ROOT,
          'lambda/adapters/lambda-credentials.ts'
        ),
      },
      memorySize: FIXER_SIZING.memorySize,
      timeout: FIXER_SIZING.timeout,
      environment: {
        CONFIG: configJson,
        TOPIC_ARN: this.notifications.topic.topicArn,
        AUDIT_TABLE_NAME: this.audit.table.tableName,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // On the last attempt the handler knows a failure is final and notifies, naming the dead-letter queue.
        MAX_RECEIVE_COUNT: String(FIXER_SIZING.maxReceiveCount),
        DEAD_LETTER_QUEUE: this.queue.deadLetterQueue.queueArn,
      },
    });
    const fn = this.fixer.function;
    // The loop guard: the handler ignores the fixer's own SetRepositoryPolicy calls.
    fn.addEnvironment('FIXER_ROLE_ARN', this.fixer.role.roleArn);

    this.notifications.grantPublish(fn);
    // Audit records are written in batches and read back on a retry; a repository's lease is a conditional put and
    // a conditional delete of one item. No scans, queries or updates.
    this.audit.table.grant(
      fn,
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem'
    );
    this.registryAccessPolicy = this.createRegistryAccessPolicy(config);

    fn.addEventSource(
      new SqsEventSource(this.queue.queue, {
        batchSize: FIXER_SIZING.batchSize,
        maxBatchingWindow: FIXER_SIZING.maxBatchingWindow,
        maxConcurrency: FIXER_SIZING.maxConcurrency,
        reportBatchItemFailures: true,
      })
    );

    // Both rules deliver to the same queue; events EventBridge cannot deliver go to the same dead-letter queue.
    const toQueue = new SqsQueue(this.queue.queue, { deadLetterQueue: this.queue.deadLetterQueue });
    new Rule(this, 'OrganizationRule', {
      description:
        'lambda-ecr-autofix: failed Lambda image deploys forwarded by organization accounts',
      eventBus: this.eventBus.eventBus,
      eventPattern: FAILED_IMAGE_DEPLOY_PATTERN,
      targets: [toQueue],
    });
    new Rule(this, 'LocalRule', {
      description: 'lambda-ecr-autofix: failed Lambda image deploys in this account and region',
      eventPattern: FAILED_IMAGE_DEPLOY_PATTERN,
      targets: [toQueue],
    });

    this.monitoring = new FixerMonitoring(this, 'Monitoring', {
      function: fn,
      queue: this.queue.queue,
      deadLetterQueue: this.queue.deadLetterQueue,
      topic: this.notifications.topic,
      namespace: METRICS_NAMESPACE,
      serviceName: SERVICE_NAME,
      outcomes: OUTCOMES,
      dashboardName: DASHBOARD_NAME,
    });

    if (config.memberDeployment !== undefined && memberStack !== undefined) {
      const callAs = new CfnParameter(this, 'StackSetCallAs', {
        type: 'String',
        default: 'DELEGATED_ADMIN',
        allowedValues: ['DELEGATED_ADMIN', 'SELF'],
        description:
          'DELEGATED_ADMIN when this account is a delegated administrator for StackSets, SELF in the management account',
      });
      const { organizationalUnitIds, regions } = config.memberDeployment;
      this.memberStackSet = new MemberStackSet(this, 'Members', {
        memberStack,
        stackSetName: MEMBER_STACK_SET_NAME,
        organizationalUnitIds,
        regions,
        callAs: callAs.valueAsString,
        parameters: {
          [MEMBER_PARAMETERS.centralAccountId]: Aws.ACCOUNT_ID,
          [MEMBER_PARAMETERS.centralRegion]: Aws.REGION,
          // The registry role is global: create it in the first region only.
          [MEMBER_PARAMETERS.registryRoleRegion]: regions[0] ?? '',
        },
      });
    }

    new CfnOutput(this, 'EventBusArn', {
      description: 'Central bus the member accounts forward to',
      value: this.eventBus.eventBus.eventBusArn,
    });
    new CfnOutput(this, 'FixerRoleArn', {
      description: 'Role the member registry roles trust',
      value: this.fixer.role.roleArn,
    });
    new CfnOutput(this, 'TopicArn', {
      description: 'Notifications (subscribe more endpoints here)',
      value: this.notifications.topic.topicArn,
    });
    new CfnOutput(this, 'QueueArn', { value: this.queue.queue.queueArn });
    new CfnOutput(this, 'DeadLetterQueueArn', {
      description: 'Replay with: aws sqs start-message-move-task --source-arn <this>',
      value: this.queue.deadLetterQueue.queueArn,
    });
    new CfnOutput(this, 'AuditTableName', { value: this.audit.table.tableName });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${DASHBOARD_NAME}`,
    });
  }

  /**
   * The fixer's access to registries, as its own policy so it reads as one unit:
   * - in this account, the same ECR and Lambda statements the member accounts' registry role carries;
   * - elsewhere, `sts:AssumeRole` on the registry role only (every account's, or only the configured
   *   `registryAccounts`'), only inside the organization (`aws:ResourceOrgID`).
   */
  private createRegistryAccessPolicy(config: Config): Policy {
    const roleArns = config.registryAccounts.includes('*')
      ? [`arn:${Aws.PARTITION}:iam::*:role/${config.registryRoleName}`]
      : config.registryAccounts.map(
          (account) => `arn:${Aws.PARTITION}:iam::${account}:role/${config.registryRoleName}`
        );
    const assumeRegistryRole = new PolicyStatement({
      sid: 'AssumeRegistryRole',
      actions: ['sts:AssumeRole'],
      resources: roleArns,
      conditions:
        config.organizationId === undefined
          ? undefined
          : { StringEquals: { 'aws:ResourceOrgID': config.organizationId } },
    });
    const policy = new Policy(this, 'RegistryAccessPolicy', {
      roles: [this.fixer.role],
      statements: [...registryPermissionStatements(config), assumeRegistryRole],
    });

    Validations.of(policy.node.defaultChild as IConstruct).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/*]',
        reason:
          'Repositories in the central account: the failing repository is known only when an event arrives. Limited ' +
          'to reading/writing repository policies and reading tags; repositories with the opt-out tag are denied ' +
          'SetRepositoryPolicy.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:<AWS::AccountId>:function:*]',
        reason:
          'lambda:GetFunction (read-only) on the central-account function named by a failed UpdateFunctionCode call, ' +
          'known only when the event arrives.',
      }
    );
    if (config.registryAccounts.includes('*')) {
      Validations.of(policy.node.defaultChild as IConstruct).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${config.registryRoleName}]`,
        reason:
          'registryAccounts is ["*"]: the registry role of any account of the organization (aws:ResourceOrgID), and ' +
          'only that role name; each role in turn trusts only this fixer role.',
      });
    }
    return policy;
  }
}

/** Configuration problems the schema cannot see: they depend on how the central stack uses the values. */
function validateForCentralStack(
  config: Config,
  configJson: string,
  memberStack: MemberStack | undefined
): void {
  const source = `cdk.json context "${CONTEXT_KEY}"`;
  const problems: string[] = [];
  if (config.memberDeployment !== undefined && config.organizationId === undefined) {
    problems.push(
      '"memberDeployment" needs "organizationId" (got nothing): the central bus admits the member accounts by ' +
        'organization; set "organizationId" (aws organizations describe-organization) or remove "memberDeployment"'
    );
  }
  const configBytes = Buffer.byteLength(configJson);
  if (configBytes > CONFIG_ENVIRONMENT_BUDGET_BYTES) {
    problems.push(
      `the configuration is ${configBytes} bytes as JSON, but the fixer receives it in one Lambda environment ` +
        `variable with a budget of ${CONFIG_ENVIRONMENT_BUDGET_BYTES} bytes (Lambda allows 4 KB for all variables): ` +
        'shorten "registryAccounts", "consumerAccounts" or "excludeRepositories" (use globs such as "team-*/*")'
    );
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  if (config.memberDeployment !== undefined && memberStack === undefined) {
    throw new Error(
      'CentralStack: config.memberDeployment is set but props.memberStack is missing; pass the member stack whose ' +
        'template the StackSet deploys.'
    );
  }
}
