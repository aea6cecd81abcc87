import * as path from 'node:path';

import { Aws, CfnOutput, Duration, Fn, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import {
  EventField,
  Rule,
  RuleTargetInput,
  type IRuleRef,
  type IRuleTarget,
  type RuleTargetConfig,
} from 'aws-cdk-lib/aws-events';
import { SqsQueue, addToDeadLetterQueueResourcePolicy } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct, IConstruct } from 'constructs';

import { ConfigError, type Config } from '../lambda/domain/config';
import { OUTCOMES } from '../lambda/domain/decision';
import { AuditTable } from './constructs/audit-table';
import { CentralEventBus } from './constructs/central-event-bus';
import { FixerFunction } from './constructs/fixer-function';
import { FixerMonitoring } from './constructs/fixer-monitoring';
import { FixerPermissions } from './constructs/fixer-permissions';
import { FixerQueue } from './constructs/fixer-queue';
import { NotificationTopic } from './constructs/notification-topic';
import { SweepRouting } from './constructs/sweep-routing';
import { FAILED_IMAGE_DEPLOY_PATTERN } from './failed-deploy-event-pattern';
import {
  CENTRAL_BUS_NAME,
  CONTEXT_KEY,
  DASHBOARD_NAME,
  FIXER_ROLE_NAME,
  MEMBER_FORWARDING_ALARM_NAME,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  WORK_QUEUE_NAME,
} from './names';
import { LIST_FUNCTIONS_ACKNOWLEDGEMENT, functionInventoryStatement } from './registry-permissions';
import { FIXER_SIZING } from './sizing';
import { SWEEPER_SIZING } from './sweep-sizing';

const REPOSITORY_ROOT = path.join(__dirname, '..');

/** Where the fixer handler lives, relative to the repository root. */
export const FIXER_HANDLER_ENTRY = path.join(REPOSITORY_ROOT, 'lambda', 'handlers', 'sqs-fixer.ts');
/** Where the sweeper handler lives. */
export const SWEEPER_HANDLER_ENTRY = path.join(
  REPOSITORY_ROOT,
  'lambda',
  'handlers',
  'sweep-handler.ts'
);

/** Budget for the `CONFIG` environment variable, leaving room for the others within Lambda's 4 KB. */
const CONFIG_ENVIRONMENT_BUDGET_BYTES = 3 * 1024;

/**
 * What the fixer does with the audit table, the write-ahead audit: conditional puts in TransactWriteItems (authorized
 * as dynamodb:PutItem), the update that marks a notice sent (UpdateItem), and reads of the item a failed condition
 * returns (GetItem; ALL_OLD). A repository's lease is a conditional put and a conditional delete of one item. No
 * scans or queries.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
 */
export const AUDIT_TABLE_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

export interface CentralStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: Config;
  /**
   * Path of the fixer's handler file.
   * @default lambda/handlers/sqs-fixer.ts in this repository
   */
  readonly handlerEntry?: string;
  /**
   * Path of the sweeper's handler file.
   * @default lambda/handlers/sweep-handler.ts in this repository
   */
  readonly sweepHandlerEntry?: string;
}

/**
 * The central stack, deployed once per organization in a delegated-administrator or tooling account:
 *
 * failed-deploy events (the organization's, through the central bus; the central account's own, through a rule on its
 * default bus) → SQS queue (+ dead-letter queue) → fixer function → ECR repository policy (directly in this account,
 * through the registry role elsewhere), audit table, SNS topic; alarms and a dashboard; and the member accounts'
 * forwarding alarms to the same topic. The StackSet that installs the member stack lives in a stack of its own
 * (`MemberDeploymentStack`), so nothing here ever waits for, or rolls back because of, a member account.
 *
 * Provenance (DESIGN.md, "Provenance"): only the project's rules (and the replay role) may send to the queues, the
 * local rule matches only this account's events, the registry roles trust the fixer role by its ARN, and the fixer's
 * permissions work only from the fixer function's own code (docs/security-model.md).
 */
export class CentralStack extends Stack {
  /** The bus the member accounts forward to. */
  public readonly eventBus: CentralEventBus;
  /** The work queue, its dead-letter queue and the replay role. */
  public readonly queue: FixerQueue;
  /** The encrypted SNS topic (decisions and alarms) and its key. */
  public readonly notifications: NotificationTopic;
  /** The audit table. */
  public readonly audit: AuditTable;
  /** The fixer function, its role and log group. */
  public readonly fixer: FixerFunction;
  /** What the fixer may do to registries, the topic and the audit table. */
  public readonly permissions: FixerPermissions;
  /** Failed deploys forwarded by the organization's accounts (central bus). */
  public readonly organizationRule: Rule;
  /** Failed deploys of this account in this region (default bus). */
  public readonly localRule: Rule;
  /** Member accounts' forwarding alarms (central bus) → the topic. */
  public readonly memberAlarmRule: Rule;
  /** Alarms and dashboard. */
  public readonly monitoring: FixerMonitoring;
  /** The sweep queue, its rules and continuation topic; absent with `sweepSchedule: "off"`. */
  public readonly sweeps?: SweepRouting;
  /** The sweeper: the fixer's second entry point, with the fixer's role; absent with `sweepSchedule: "off"`. */
  public readonly sweeper?: FixerFunction;
  /** The fixer's permissions for the sweeper's code (`lambda:SourceFunctionArn`); absent with sweeps off. */
  public readonly sweeperPermissions?: FixerPermissions;

  constructor(scope: Construct, id: string, props: CentralStackProps) {
    const { config, handlerEntry, sweepHandlerEntry, ...stackProps } = props;
    super(scope, id, {
      description:
        'lambda-ecr-autofix central: fixes ECR repository policies when Lambda may not pull a container image',
      ...stackProps,
    });
    const configJson = JSON.stringify(config);
    validateForCentralStack(config, configJson);

    this.eventBus = new CentralEventBus(this, 'EventBus', {
      organizationId: config.organizationId,
      eventBusName: CENTRAL_BUS_NAME,
    });
    this.queue = new FixerQueue(this, 'Queue', {
      queueName: WORK_QUEUE_NAME,
      visibilityTimeout: Duration.seconds(
        FIXER_SIZING.timeout.toSeconds() * FIXER_SIZING.visibilityTimeoutFactor
      ),
      maxReceiveCount: FIXER_SIZING.maxReceiveCount,
    });
    this.notifications = new NotificationTopic(this, 'Notifications', {
      emails: config.notificationEmails,
      eventBusName: CENTRAL_BUS_NAME,
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

    this.permissions = new FixerPermissions(this, 'FixerPermissions', {
      role: this.fixer.role,
      functionArn: fn.functionArn,
      config,
      notifications: this.notifications,
      auditTable: this.audit.table,
      auditTableActions: AUDIT_TABLE_ACTIONS,
    });

    fn.addEventSource(
      new SqsEventSource(this.queue.queue, {
        batchSize: FIXER_SIZING.batchSize,
        maxBatchingWindow: FIXER_SIZING.maxBatchingWindow,
        maxConcurrency: FIXER_SIZING.maxConcurrency,
        reportBatchItemFailures: true,
      })
    );
    // The policies name the function (lambda:SourceFunctionArn), so the function cannot wait for them as it waits for
    // its default policy; the event source mapping, which starts the invocations, does.
    for (const mapping of fn.node.children.filter((c) => c instanceof EventSourceMapping)) {
      mapping.node.addDependency(...this.permissions.unconditionalPolicies);
    }

    // Both failed-deploy rules deliver to the same queue; events EventBridge cannot deliver go to the dead-letter queue.
    const toQueue = new SqsQueue(this.queue.queue, { deadLetterQueue: this.queue.deadLetterQueue });
    this.organizationRule = new Rule(this, 'OrganizationRule', {
      description:
        'lambda-ecr-autofix: failed Lambda image deploys forwarded by organization accounts',
      eventBus: this.eventBus.eventBus,
      eventPattern: FAILED_IMAGE_DEPLOY_PATTERN,
      targets: [toQueue],
    });
    this.localRule = new Rule(this, 'LocalRule', {
      description: 'lambda-ecr-autofix: failed Lambda image deploys in this account and region',
      // Only this account's own events: a default bus can receive other accounts' events too, if its resource policy
      // (which this stack does not manage) lets them in. Those come through the central bus, or not at all.
      eventPattern: { ...FAILED_IMAGE_DEPLOY_PATTERN, account: [Aws.ACCOUNT_ID] },
      targets: [toQueue],
    });
    this.memberAlarmRule = new Rule(this, 'MemberAlarmRule', {
      description:
        'lambda-ecr-autofix: a member account could not forward failed deploys (its alarm, forwarded)',
      eventBus: this.eventBus.eventBus,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { alarmName: [MEMBER_FORWARDING_ALARM_NAME], state: { value: ['ALARM'] } },
      },
      targets: [new EncryptedTopicTarget(this.notifications, this.queue, memberAlarmNotice())],
    });
    this.queue.restrictSenders({
      workQueueRuleArns: [this.organizationRule.ruleArn, this.localRule.ruleArn],
      deadLetterRuleArns: [this.memberAlarmRule.ruleArn],
    });

    if (config.sweepSchedule !== 'off') {
      // A second entry point with the fixer's role (the registry roles trust that role only), its own bundle (the
      // fixer's stays small) and a longer timeout (a sweep lists whole accounts).
      this.sweeper = new FixerFunction(this, 'Sweeper', {
        entry: sweepHandlerEntry ?? SWEEPER_HANDLER_ENTRY,
        depsLockFilePath: path.join(REPOSITORY_ROOT, 'package-lock.json'),
        description: 'lambda-ecr-autofix sweeper: finds functions that cannot pull their image',
        role: this.fixer.role,
        moduleAliases: {
          '@aws-sdk/credential-provider-node': path.join(
            REPOSITORY_ROOT,
            'lambda/adapters/lambda-credentials.ts'
          ),
        },
        memorySize: SWEEPER_SIZING.memorySize,
        timeout: SWEEPER_SIZING.timeout,
        environment: {
          CONFIG: configJson,
          TOPIC_ARN: this.notifications.topic.topicArn,
          AUDIT_TABLE_NAME: this.audit.table.tableName,
          FIXER_ROLE_ARN: this.fixer.role.roleArn,
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        },
      });
      const sweeperArn = this.sweeper.function.functionArn;
      // The fixer's permissions again, usable only from the sweeper's code (lambda:SourceFunctionArn), and what only a
      // sweep needs: list the central account's functions, publish its continuations.
      this.sweeperPermissions = new FixerPermissions(this, 'SweeperPermissions', {
        role: this.fixer.role,
        functionArn: sweeperArn,
        config,
        notifications: this.notifications,
        auditTable: this.audit.table,
        auditTableActions: AUDIT_TABLE_ACTIONS,
      });
      this.sweeps = new SweepRouting(this, 'Sweeps', {
        schedule: config.sweepSchedule,
        eventBus: this.eventBus.eventBus,
        sweeper: this.sweeper.function,
        key: this.notifications.key,
        alarmAction: new SnsAction(this.notifications.topic),
        replayRole: this.queue.replayRole,
        visibilityTimeout: Duration.seconds(
          SWEEPER_SIZING.timeout.toSeconds() * SWEEPER_SIZING.visibilityTimeoutFactor
        ),
        maxReceiveCount: SWEEPER_SIZING.maxReceiveCount,
        maxConcurrency: SWEEPER_SIZING.maxConcurrency,
      });
      const onlyTheSweeper = {
        ArnLike: { 'lambda:SourceFunctionArn': [sweeperArn, `${sweeperArn}:*`] },
      };
      const sweepOnly = new Policy(this, 'SweeperInventory', {
        roles: [this.fixer.role],
        statements: [
          functionInventoryStatement(onlyTheSweeper),
          new PolicyStatement({
            sid: 'PublishContinuations',
            actions: ['sns:Publish'],
            resources: [this.sweeps.continuationTopic.topicArn],
            conditions: onlyTheSweeper,
          }),
        ],
      });
      Validations.of(sweepOnly.node.defaultChild as IConstruct).acknowledge(
        LIST_FUNCTIONS_ACKNOWLEDGEMENT
      );
      // As for the fixer: the policies name the function, so its event source mapping waits for them.
      for (const mapping of this.sweeper.function.node.children.filter(
        (child) => child instanceof EventSourceMapping
      )) {
        mapping.node.addDependency(...this.sweeperPermissions.unconditionalPolicies, sweepOnly);
      }
      new CfnOutput(this, 'SweepQueueArn', {
        description:
          'Sweep requests and continuations (replay sweeps from the sweep dead-letter queue here)',
        value: this.sweeps.queue.queueArn,
      });
      new CfnOutput(this, 'SweepDeadLetterQueueArn', {
        description: 'Sweeps that failed 5 times; replay as ReplayRoleArn into SweepQueueArn',
        value: this.sweeps.deadLetterQueue.queueArn,
      });
    }

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

    new CfnOutput(this, 'EventBusArn', {
      description: 'Central bus the member accounts forward to',
      value: this.eventBus.eventBus.eventBusArn,
    });
    new CfnOutput(this, 'FixerRoleArn', {
      description: 'Role the member registry roles trust (by its ARN)',
      value: this.fixer.role.roleArn,
    });
    new CfnOutput(this, 'TopicArn', {
      description: 'Notifications (subscribe more endpoints here)',
      value: this.notifications.topic.topicArn,
    });
    new CfnOutput(this, 'QueueArn', { value: this.queue.queue.queueArn });
    new CfnOutput(this, 'DeadLetterQueueArn', {
      description:
        'Replay (as ReplayRoleArn): aws sqs start-message-move-task --source-arn <DeadLetterQueueArn> ' +
        '--destination-arn <QueueArn>; the ReplayCommand output has both filled in',
      value: this.queue.deadLetterQueue.queueArn,
    });
    new CfnOutput(this, 'ReplayRoleArn', {
      description:
        'The only principal besides the rules that may send to the work queue: assume it to replay dead letters',
      value: this.queue.replayRole.roleArn,
    });
    new CfnOutput(this, 'ReplayCommand', {
      description:
        'Replays the dead letters into the work queue; run it as ReplayRoleArn (docs/operations.md)',
      value: Fn.join('', [
        'aws sqs start-message-move-task --source-arn ',
        this.queue.deadLetterQueue.queueArn,
        ' --destination-arn ',
        this.queue.queue.queueArn,
        ' --max-number-of-messages-per-second 10',
      ]),
    });
    new CfnOutput(this, 'AuditTableName', { value: this.audit.table.tableName });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${DASHBOARD_NAME}`,
    });
  }
}

/**
 * An EventBridge target that publishes to the encrypted notification topic with the topic policy naming this one
 * rule (`aws:SourceArn`). `aws-events-targets`' `SnsTopic` would instead let EventBridge publish for any rule, and
 * grant `events.amazonaws.com` the key without conditions. Undeliverable notices go to the dead-letter queue, whose
 * alarm then notifies as well.
 */
class EncryptedTopicTarget implements IRuleTarget {
  constructor(
    private readonly notifications: NotificationTopic,
    private readonly queues: FixerQueue,
    private readonly input: RuleTargetInput
  ) {}

  public bind(rule: IRuleRef): RuleTargetConfig {
    const ruleArn = rule.ruleRef.ruleArn;
    this.notifications.allowRule(ruleArn);
    addToDeadLetterQueueResourcePolicy(rule, this.queues.deadLetterQueue);
    return {
      arn: this.notifications.topic.topicArn,
      input: this.input,
      deadLetterConfig: { arn: this.queues.deadLetterQueue.queueArn },
      targetResource: this.notifications.topic,
    };
  }
}

/** The e-mail text for a member account's forwarding alarm. */
function memberAlarmNotice(): RuleTargetInput {
  return RuleTargetInput.fromText(
    `lambda-ecr-autofix: account ${EventField.account} could not forward failed Lambda image deploys from region ` +
      `${EventField.region} to the central account.\n\n` +
      `Alarm ${EventField.fromPath('$.detail.alarmName')}: ${EventField.fromPath('$.detail.state.reason')}\n\n` +
      "The events wait in that account's forwarding dead-letter queue for 14 days. Find the cause and replay " +
      'them: see "Member accounts" in docs/operations.md.'
  );
}

/** Configuration problems the schema cannot see: they depend on how the central stack uses the values. */
function validateForCentralStack(config: Config, configJson: string): void {
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
}
