import { Annotations, Aws, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type { Alarm, AlarmBase, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventField, Rule, RuleTargetInput, type EventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement, type Grant, type IRole, type Role } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { EventSourceMapping, type Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';

import { parseConfig } from '../lambda/domain/config';
import { ConfigError } from '../lambda/domain/config-error';
import { OUTCOMES } from '../lambda/domain/decision';
import { AuditTable } from './constructs/audit-table';
import { CentralEventBus } from './constructs/central-event-bus';
import { EncryptedTopicTarget } from './constructs/encrypted-topic-target';
import { FixerFunction } from './constructs/fixer-function';
import { FixerMonitoring } from './constructs/fixer-monitoring';
import { FixerPermissions } from './constructs/fixer-permissions';
import { FixerQueue } from './constructs/fixer-queue';
import { ForwardingHeartbeatAlarm } from './constructs/forwarding-heartbeat-alarm';
import { NotificationTopic } from './constructs/notification-topic';
import { SweepRouting } from './constructs/sweep-routing';
import { FAILED_IMAGE_DEPLOY_PATTERN } from './failed-deploy-event-pattern';
import { describeMinutes, forwardingHeartbeatWindow } from './forwarding-heartbeat-window';
import { POLICY_CHANGE_PATTERN } from './policy-change-event-pattern';
import { DECISION_EVENT_SOURCE } from '../lambda/domain/decision-event';
import { handlerCode } from './handler-code';
import type { LambdaEcrAutofixMemberDeployment } from './lambda-ecr-autofix-member-deployment';
import type { LambdaEcrAutofixMemberSettings } from './lambda-ecr-autofix-member';
import { MemberDeploymentStack } from './member-deployment-stack';
import {
  CENTRAL_BUS_NAME,
  DASHBOARD_NAME,
  FIXER_ROLE_NAME,
  MEMBER_DEPLOYMENT_STACK_SUFFIX,
  MEMBER_FORWARDING_ALARM_NAME,
  MEMBER_STACK_SET_NAME,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  SWEEP_QUEUE_NAME,
  WORK_QUEUE_NAME,
  validateNames,
  type NameProp,
} from './names';
import { LIST_FUNCTIONS_ACKNOWLEDGEMENT, functionInventoryStatement } from './registry-permissions';
import { FIXER_SIZING } from './sizing';
import { SWEEPER_SIZING } from './sweep-sizing';

/** Budget for the `CONFIG` environment variable, leaving room for the others within Lambda's 4 KB. */
const CONFIG_ENVIRONMENT_BUDGET_BYTES = 3 * 1024;

/**
 * What the fixer does with the audit table, the write-ahead audit: conditional puts in TransactWriteItems (authorized
 * as dynamodb:PutItem), the update that marks a notice sent (UpdateItem), and reads of the item a failed condition
 * returns (GetItem; ALL_OLD). A repository's lease is a conditional put and a conditional delete of one item. No
 * scans or queries.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
 */
const AUDIT_TABLE_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/** Where the StackSet installs the member stack (the `memberDeployment` configuration key). */
export interface LambdaEcrAutofixMemberDeploymentOptions {
  /**
   * Organizational units (`ou-…`) or the organization root (`r-…`) whose accounts get the member stack, now and when
   * they join later.
   */
  readonly organizationalUnitIds: string[];
  /** Regions to install the member stack in, in each account. Include the central region. */
  readonly regions: string[];
  /**
   * The one region (one of `regions`) whose stack instances create the account-global registry role. Set it once and
   * never change it: the StackSet updates regions in parallel, so moving the role would have one region delete it
   * while another creates it.
   */
  readonly registryRoleRegion: string;
}

/**
 * Properties of `LambdaEcrAutofix`: the configuration keys of the `cdk.json` context key `lambda-ecr-autofix`, with the
 * same names, defaults and validation (a bad value throws `ConfigError` naming the key, the value and the fix), and
 * the names of the resources.
 */
export interface LambdaEcrAutofixProps {
  /**
   * E-mail addresses subscribed to the notification topic. Each receives a confirmation e-mail from SNS first.
   * @default - no subscription: subscribe your own endpoints to `topic`
   */
  readonly notificationEmails?: string[];
  /**
   * `enforce` writes repository policies; `dry-run` decides and notifies but writes nothing (and the roles lose
   * `ecr:SetRepositoryPolicy`).
   * @default 'enforce'
   */
  readonly mode?: 'enforce' | 'dry-run';
  /**
   * `account`: Lambda in the consumer account may pull (`aws:SourceArn` `arn:…:lambda:REGION:ACCOUNT:function:*`);
   * `function`: only the failing function (`…:function:NAME` and `…:function:NAME:*`).
   * @default 'account'
   */
  readonly grantScope?: 'account' | 'function';
  /**
   * Accounts whose repositories may be patched (12-digit ids), or `['*']` for any account of the organization. The
   * central account's own repositories only if listed (or `*`).
   * @default ['*']
   */
  readonly registryAccounts?: string[];
  /**
   * Accounts whose functions may be granted a pull, or `['*']`.
   * @default ['*']
   */
  readonly consumerAccounts?: string[];
  /**
   * Repository-name globs never patched (`*` matches any run of characters, `/` included; `?` one character).
   * @default - none
   */
  readonly excludeRepositories?: string[];
  /**
   * Repositories with this tag (`key=value`, or `key` for any value) are never patched; the roles deny
   * `ecr:SetRepositoryPolicy` on them too.
   * @default 'lambda-ecr-autofix=off'
   */
  readonly optOutTag?: string;
  /**
   * Name of the role the fixer assumes in every registry account (the member accounts' role).
   * @default 'LambdaEcrAutofixRegistryAccess'
   */
  readonly registryRoleName?: string;
  /**
   * The AWS Organizations id (`o-…`): the central bus admits the organization's accounts, and the roles' trust and
   * permissions are limited to it. Required for member accounts and `memberDeployment`.
   * @default - no organization: only the central account's own failed deploys are fixed
   */
  readonly organizationId?: string;
  /**
   * Installs the member stack across the organization with a service-managed StackSet, in a stack of its own next to
   * the stack this construct is in (`<that stack's id>MemberDeployment`, same environment), which depends on it. For
   * a stack of your own (another synthesizer, name or tags), leave this out and put a
   * `LambdaEcrAutofixMemberDeployment` into it.
   * @default - no StackSet
   */
  readonly memberDeployment?: LambdaEcrAutofixMemberDeploymentOptions;
  /**
   * The outcomes that send a notification (`error`: a message that failed its last delivery).
   * @default ['fix', 'needs-human', 'revoke', 'error']
   */
  readonly notifyOn?: Array<
    'fix' | 'already-allowed' | 'needs-human' | 'ignored' | 'revoke' | 'error'
  >;
  /**
   * `consented`: share a repository with another account only with its owner's consent (the repository policy, the
   * share tag, `sharedRegistries`); `organization`: every repository with every account of the organization (needs
   * `organizationId`).
   * @default 'consented'
   */
  readonly sharing?: 'consented' | 'organization';
  /**
   * Registry accounts (12-digit ids) whose repositories are shared with the whole organization (needs
   * `organizationId`).
   * @default - none
   */
  readonly sharedRegistries?: string[];
  /**
   * The repository tag by which an owner consents to sharing: its value lists account ids and/or the organization id,
   * space-separated.
   * @default 'lambda-ecr-autofix:share'
   */
  readonly shareTag?: string;
  /**
   * How long audit records live, in days (1 to 3650; DynamoDB TTL).
   * @default 365
   */
  readonly auditRetentionDays?: number;
  /**
   * When every account and region is swept for functions that can no longer pull their image: an EventBridge
   * `rate(...)` (at most hourly) or `cron(...)` expression, or `off` (no sweeper, no sweep queue, no member rule).
   * @default 'rate(1 day)'
   */
  readonly sweepSchedule?: string;
  /**
   * `report`: a sweep sends a digest only; `fix`: it also fixes what the fixer may fix.
   * @default 'report'
   */
  readonly sweepAction?: 'report' | 'fix';
  /**
   * When a grant the fixer made (per the audit table) disappears from a repository policy: `notify` reports it once,
   * `restore` puts exactly the audited grant back (consent rules apply again), `off` neither forwards nor checks
   * repository-policy changes.
   * @default 'notify'
   */
  readonly driftAction?: 'notify' | 'restore' | 'off';
  /**
   * Put each decision worth telling (`notifyOn`) on the central bus as a `Lambda ECR Autofix Decision` event: the
   * fixer's, and with `sweepAction` `'fix'` the sweep's fixes (a report-only sweep puts none).
   * @default true
   */
  readonly decisionEvents?: boolean;

  /**
   * Name of the central event bus. The member accounts build its ARN from this name.
   * @default 'lambda-ecr-autofix'
   */
  readonly eventBusName?: string;
  /**
   * Name of the fixer's execution role. The registry roles trust this role by its ARN.
   * @default 'LambdaEcrAutofixFixer'
   */
  readonly fixerRoleName?: string;
  /**
   * Name of the work queue (its dead-letter queue admits only this queue as redrive source).
   * @default 'lambda-ecr-autofix-work'
   */
  readonly queueName?: string;
  /**
   * Name of the dead-letter queue.
   * @default - a name generated by CloudFormation
   */
  readonly deadLetterQueueName?: string;
  /**
   * Name of the sweep queue (its dead-letter queue admits only this queue as redrive source), with `sweepSchedule`.
   * @default 'lambda-ecr-autofix-sweep'
   */
  readonly sweepQueueName?: string;
  /**
   * Name of the audit table.
   * @default - a name generated by CloudFormation
   */
  readonly auditTableName?: string;
  /**
   * Name of the notification topic.
   * @default - a name generated by CloudFormation
   */
  readonly topicName?: string;
  /**
   * Name of the CloudWatch dashboard.
   * @default 'LambdaEcrAutofix'
   */
  readonly dashboardName?: string;
  /**
   * Name of the StackSet, with `memberDeployment` (or for a `LambdaEcrAutofixMemberDeployment` of this installation).
   * @default 'lambda-ecr-autofix-member'
   */
  readonly stackSetName?: string;
}

/**
 * lambda-ecr-autofix in the central account (a delegated-administrator or tooling account), once per organization:
 *
 * failed-deploy events (the organization's, through the central bus; this account's own, through a rule on its
 * default bus) → SQS queue (+ dead-letter queue) → fixer function → ECR repository policy (directly in this account,
 * through the registry role elsewhere), audit table, SNS topic; alarms and a dashboard; and the member accounts'
 * forwarding alarms to the same topic, with a heartbeat on their sweep requests for when those alarms cannot arrive.
 * The member accounts need `LambdaEcrAutofixMember` (installed by `memberDeployment` or
 * `LambdaEcrAutofixMemberDeployment`, or by your own pipelines).
 *
 * Provenance (DESIGN.md, "Provenance"): only the project's rules (and the replay role) may send to the queues, only
 * the sweeper may publish continuations and only the project's alarms, rule and functions notices, the local rule
 * matches only this account's events, the registry roles trust the fixer role by its ARN, and the fixer's permissions
 * work only from the fixer function's own code (docs/security-model.md).
 *
 * The fixer's code is the bundle shipped in the package (built when it was packed); in a clone of the repository it is
 * bundled from the sources with the local esbuild.
 *
 * @example
 * const autofix = new LambdaEcrAutofix(this, 'Autofix', {
 *   organizationId: 'o-a1b2c3d4e5',
 *   notificationEmails: ['platform-team@example.com'],
 * });
 * autofix.topic.addSubscription(new SqsSubscription(myQueue));
 */
export class LambdaEcrAutofix extends Construct {
  /** The central bus the member accounts forward to. */
  public readonly eventBus: EventBus;
  /** The work queue the fixer consumes. */
  public readonly queue: Queue;
  /** Messages that failed every delivery, and events EventBridge could not deliver. */
  public readonly deadLetterQueue: Queue;
  /** The one principal besides the rules that may send to the work queue: for replaying dead letters. */
  public readonly replayRole: Role;
  /**
   * The notification topic (decisions and alarms), encrypted with `topicKey`. Its policy refuses every publisher it
   * does not name: add yours with `grantPublish` and `notifyOnAlarm`.
   */
  public readonly topic: Topic;
  /** The customer-managed KMS key of the topic (`grantPublish` gives a publisher the two KMS actions it needs). */
  public readonly topicKey: Key;
  /** The audit table (retained when the stack is deleted). */
  public readonly table: Table;
  /** The fixer function. */
  public readonly fixerFunction: LambdaFunction;
  /** The fixer's execution role (named `fixerRoleName`). */
  public readonly fixerRole: Role;
  /** The fixer's log group. */
  public readonly fixerLogGroup: LogGroup;
  /** Failed deploys forwarded by the organization's accounts (central bus). */
  public readonly organizationRule: Rule;
  /**
   * Repository-policy changes for the drift guard: forwarded ones on the central bus, and this account's own in this
   * region on its default bus; empty with `driftAction: 'off'`.
   */
  public readonly policyChangeRules: Rule[];
  /** Failed deploys of this account in this region (default bus). */
  public readonly localRule: Rule;
  /** Member accounts' forwarding alarms (central bus) → the topic. */
  public readonly memberAlarmRule: Rule;
  /** The alarms (dead-letter queue, function errors, throttles, record errors), each notifying the topic. */
  public readonly alarms: Alarm[];
  /** The dashboard. */
  public readonly dashboard: Dashboard;
  /**
   * The sweeper, the fixer's second entry point (same role, own code and timeout) that finds functions whose image
   * cannot be pulled any more; absent with `sweepSchedule: 'off'`.
   */
  public readonly sweeperFunction?: LambdaFunction;
  /** Sweep requests and continuations; absent with `sweepSchedule: 'off'`. */
  public readonly sweepQueue?: Queue;
  /** Sweeps that failed every delivery; absent with `sweepSchedule: 'off'`. */
  public readonly sweepDeadLetterQueue?: Queue;
  /**
   * Notifies the topic when no member account's scheduled sweep request has reached the central bus for about two
   * schedule intervals: the organization's forwarding is broken. Absent without `organizationId`, with
   * `sweepSchedule: 'off'`, and with a schedule too sparse or irregular for CloudWatch (synth warns).
   */
  public readonly forwardingHeartbeatAlarm?: Alarm;
  /**
   * What `LambdaEcrAutofixMember` (and `LambdaEcrAutofixMemberStack`) need to know of this installation, besides the
   * central account and region: `new LambdaEcrAutofixMember(stack, 'Member', { ...autofix.memberSettings, … })`.
   * Absent without `organizationId`, which member accounts need.
   */
  public readonly memberSettings?: LambdaEcrAutofixMemberSettings;
  /** The name of the StackSet that installs the member stacks. */
  public readonly stackSetName: string;
  /** With `memberDeployment`: the StackSet, in its own stack (`Stack.of(autofix.memberDeployment)`). */
  public readonly memberDeployment?: LambdaEcrAutofixMemberDeployment;
  private readonly notifications: NotificationTopic;

  constructor(scope: Construct, id: string, props: LambdaEcrAutofixProps = {}) {
    super(scope, id);
    const source = `LambdaEcrAutofix "${this.node.path}"`;
    const {
      eventBusName = CENTRAL_BUS_NAME,
      fixerRoleName = FIXER_ROLE_NAME,
      queueName = WORK_QUEUE_NAME,
      deadLetterQueueName,
      sweepQueueName = SWEEP_QUEUE_NAME,
      auditTableName,
      topicName,
      dashboardName = DASHBOARD_NAME,
      stackSetName = MEMBER_STACK_SET_NAME,
      ...configInput
    } = props;
    const names: Record<NameProp, string | undefined> = {
      eventBusName,
      fixerRoleName,
      queueName,
      deadLetterQueueName,
      sweepQueueName,
      auditTableName,
      topicName,
      dashboardName,
      stackSetName,
    };
    const config = parseConfig(configInput, source);
    validateNames(names, source);
    const configJson = JSON.stringify(config);
    validateConfigSize(configJson, source);
    this.stackSetName = stackSetName;

    const eventBus = new CentralEventBus(this, 'EventBus', {
      organizationId: config.organizationId,
      eventBusName,
    });
    this.eventBus = eventBus.eventBus;
    const queues = new FixerQueue(this, 'Queue', {
      queueName,
      deadLetterQueueName,
      visibilityTimeout: Duration.seconds(
        FIXER_SIZING.timeout.toSeconds() * FIXER_SIZING.visibilityTimeoutFactor
      ),
      maxReceiveCount: FIXER_SIZING.maxReceiveCount,
    });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.replayRole = queues.replayRole;
    const notifications = new NotificationTopic(this, 'Notifications', {
      emails: config.notificationEmails,
      eventBusName,
      topicName,
    });
    this.topic = notifications.topic;
    this.topicKey = notifications.key;
    this.notifications = notifications;
    this.table = new AuditTable(this, 'Audit', { tableName: auditTableName }).table;

    const fixer = new FixerFunction(this, 'Fixer', {
      code: handlerCode('fixer'),
      description: 'lambda-ecr-autofix fixer: patches ECR repository policies so Lambda can pull',
      roleName: fixerRoleName,
      memorySize: FIXER_SIZING.memorySize,
      timeout: FIXER_SIZING.timeout,
      environment: {
        CONFIG: configJson,
        TOPIC_ARN: this.topic.topicArn,
        AUDIT_TABLE_NAME: this.table.tableName,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // On the last attempt the handler knows a failure is final and notifies, naming the dead-letter queue.
        MAX_RECEIVE_COUNT: String(FIXER_SIZING.maxReceiveCount),
        DEAD_LETTER_QUEUE: this.deadLetterQueue.queueArn,
      },
    });
    this.fixerFunction = fixer.function;
    this.fixerRole = fixer.role;
    this.fixerLogGroup = fixer.logGroup;
    const fn = this.fixerFunction;
    // The loop guard: the handler ignores the fixer's own SetRepositoryPolicy calls.
    fn.addEnvironment('FIXER_ROLE_ARN', this.fixerRole.roleArn);
    // The topic admits the fixer role (the fixer and the sweeper publish with it); its policies limit that to the two
    // functions' code (FixerPermissions).
    notifications.allowPublisher(this.fixerRole.roleArn);

    const permissions = new FixerPermissions(this, 'FixerPermissions', {
      role: this.fixerRole,
      functionArn: fn.functionArn,
      config,
      notifications,
      auditTable: this.table,
      auditTableActions: AUDIT_TABLE_ACTIONS,
      decisionEventBusArn: config.decisionEvents ? this.eventBus.eventBusArn : undefined,
    });
    if (config.decisionEvents) {
      fn.addEnvironment('DECISION_EVENT_BUS', this.eventBus.eventBusArn);
    }
    /** The functions whose code puts decision events: the fixer, and the sweeper when its sweeps fix. */
    const decisionEventWriters = config.decisionEvents ? [fn.functionArn] : [];

    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: FIXER_SIZING.batchSize,
        maxBatchingWindow: FIXER_SIZING.maxBatchingWindow,
        maxConcurrency: FIXER_SIZING.maxConcurrency,
        reportBatchItemFailures: true,
      })
    );
    // The policies name the function (lambda:SourceFunctionArn), so the function cannot wait for them as it waits for
    // its default policy; the event source mapping, which starts the invocations, does.
    for (const mapping of fn.node.children.filter((c) => c instanceof EventSourceMapping)) {
      mapping.node.addDependency(...permissions.unconditionalPolicies);
    }

    // Both failed-deploy rules deliver to the same queue; events EventBridge cannot deliver go to the dead-letter queue.
    const toQueue = new SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue });
    this.organizationRule = new Rule(this, 'OrganizationRule', {
      description:
        'lambda-ecr-autofix: failed Lambda image deploys forwarded by organization accounts',
      eventBus: this.eventBus,
      eventPattern: FAILED_IMAGE_DEPLOY_PATTERN,
      targets: [toQueue],
    });
    this.localRule = new Rule(this, 'LocalRule', {
      description: 'lambda-ecr-autofix: failed Lambda image deploys in this account and region',
      // Only this account's own events: a default bus can receive other accounts' events too, if its resource policy
      // (which this construct does not manage) lets them in. Those come through the central bus, or not at all.
      eventPattern: { ...FAILED_IMAGE_DEPLOY_PATTERN, account: [Aws.ACCOUNT_ID] },
      targets: [toQueue],
    });
    this.memberAlarmRule = new Rule(this, 'MemberAlarmRule', {
      description:
        'lambda-ecr-autofix: a member account could not forward failed deploys (its alarm, forwarded)',
      eventBus: this.eventBus,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { alarmName: [MEMBER_FORWARDING_ALARM_NAME], state: { value: ['ALARM'] } },
      },
      targets: [new EncryptedTopicTarget(notifications, this.deadLetterQueue, memberAlarmNotice())],
    });
    // The drift guard (DESIGN.md, "After the fix"): repository-policy changes forwarded by the organization's accounts,
    // and this account's own in this region. No rule on the central bus matches the fixer's decision events
    // (source lambda-ecr-autofix), so they never come back to the fixer.
    this.policyChangeRules =
      config.driftAction === 'off'
        ? []
        : [
            new Rule(this, 'OrganizationPolicyChangeRule', {
              description:
                'lambda-ecr-autofix drift guard: repository-policy changes sent on by the organization',
              eventBus: this.eventBus,
              eventPattern: POLICY_CHANGE_PATTERN,
              targets: [toQueue],
            }),
            new Rule(this, 'LocalPolicyChangeRule', {
              description:
                "lambda-ecr-autofix drift guard: repository-policy changes of the central account's own region",
              eventPattern: { ...POLICY_CHANGE_PATTERN, account: [Aws.ACCOUNT_ID] },
              targets: [toQueue],
            }),
          ];
    queues.restrictSenders({
      workQueueRuleArns: [
        this.organizationRule.ruleArn,
        this.localRule.ruleArn,
        ...this.policyChangeRules.map((rule) => rule.ruleArn),
      ],
      deadLetterRuleArns: [this.memberAlarmRule.ruleArn],
    });

    if (config.sweepSchedule !== 'off') {
      // A second entry point with the fixer's role (the registry roles trust that role only), its own bundle (the
      // fixer's stays small) and a longer timeout (a sweep lists whole accounts).
      // A sweep that fixes announces its fixes as the fixer does; one that only reports has its digest as its report.
      const sweepDecisionEvents = config.decisionEvents && config.sweepAction === 'fix';
      const sweeper = new FixerFunction(this, 'Sweeper', {
        code: handlerCode('sweeper'),
        description: 'lambda-ecr-autofix sweeper: finds functions that cannot pull their image',
        role: this.fixerRole,
        memorySize: SWEEPER_SIZING.memorySize,
        timeout: SWEEPER_SIZING.timeout,
        environment: {
          CONFIG: configJson,
          TOPIC_ARN: this.topic.topicArn,
          AUDIT_TABLE_NAME: this.table.tableName,
          FIXER_ROLE_ARN: this.fixerRole.roleArn,
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          ...(sweepDecisionEvents ? { DECISION_EVENT_BUS: this.eventBus.eventBusArn } : {}),
        },
      });
      this.sweeperFunction = sweeper.function;
      const sweeperArn = sweeper.function.functionArn;
      if (sweepDecisionEvents) decisionEventWriters.push(sweeperArn);
      // The fixer's permissions again, usable only from the sweeper's code (lambda:SourceFunctionArn), and what only a
      // sweep needs: list the central account's functions, publish its continuations.
      const sweeperPermissions = new FixerPermissions(this, 'SweeperPermissions', {
        role: this.fixerRole,
        functionArn: sweeperArn,
        // A sweep that only reports never writes a repository policy: without sweepAction "fix", the sweeper gets the
        // read-only permissions of dry-run (the fixer role's opt-out Deny still covers it).
        config: config.sweepAction === 'fix' ? config : { ...config, mode: 'dry-run' },
        notifications,
        auditTable: this.table,
        auditTableActions: AUDIT_TABLE_ACTIONS,
        decisionEventBusArn: sweepDecisionEvents ? this.eventBus.eventBusArn : undefined,
      });
      const sweeps = new SweepRouting(this, 'Sweeps', {
        schedule: config.sweepSchedule,
        queueName: sweepQueueName,
        eventBus: this.eventBus,
        sweeper: sweeper.function,
        publisherRole: this.fixerRole,
        key: this.topicKey,
        alarmAction: new SnsAction(this.topic),
        replayRole: this.replayRole,
        visibilityTimeout: Duration.seconds(
          SWEEPER_SIZING.timeout.toSeconds() * SWEEPER_SIZING.visibilityTimeoutFactor
        ),
        maxReceiveCount: SWEEPER_SIZING.maxReceiveCount,
        maxConcurrency: SWEEPER_SIZING.maxConcurrency,
      });
      this.sweepQueue = sweeps.queue;
      this.sweepDeadLetterQueue = sweeps.deadLetterQueue;
      notifications.allowAlarm(sweeps.deadLetterAlarm);
      if (config.organizationId !== undefined) {
        this.forwardingHeartbeatAlarm = this.addForwardingHeartbeat(
          config.sweepSchedule,
          sweeps.organizationRule,
          eventBusName
        );
      }
      const onlyTheSweeper = {
        ArnLike: { 'lambda:SourceFunctionArn': [sweeperArn, `${sweeperArn}:*`] },
      };
      const sweepOnly = new Policy(this, 'SweeperInventory', {
        roles: [this.fixerRole],
        statements: [
          functionInventoryStatement(onlyTheSweeper),
          new PolicyStatement({
            sid: 'PublishContinuations',
            actions: ['sns:Publish'],
            resources: [sweeps.continuationTopic.topicArn],
            conditions: onlyTheSweeper,
          }),
        ],
      });
      Validations.of(sweepOnly.node.defaultChild as IConstruct).acknowledge(
        LIST_FUNCTIONS_ACKNOWLEDGEMENT
      );
      // As for the fixer: the policies name the function, so its event source mapping waits for them.
      for (const mapping of sweeper.function.node.children.filter(
        (child) => child instanceof EventSourceMapping
      )) {
        mapping.node.addDependency(...sweeperPermissions.unconditionalPolicies, sweepOnly);
      }
    }

    // Decision events come from the code of their writers only (or from nobody, without decisionEvents): nobody else
    // may put one on the central bus. After the sweeper, which may be one of the writers.
    eventBus.reserveSource(
      DECISION_EVENT_SOURCE,
      decisionEventWriters.length === 0
        ? undefined
        : { role: this.fixerRole, functionArns: decisionEventWriters }
    );

    const monitoring = new FixerMonitoring(this, 'Monitoring', {
      function: fn,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      topic: this.topic,
      namespace: METRICS_NAMESPACE,
      serviceName: SERVICE_NAME,
      outcomes: OUTCOMES,
      dashboardName,
    });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
    for (const alarm of this.alarms) notifications.allowAlarm(alarm);

    if (config.organizationId !== undefined) {
      this.memberSettings = {
        organizationId: config.organizationId,
        registryRoleName: config.registryRoleName,
        optOutTag: config.optOutTag,
        mode: config.mode,
        eventBusName,
        fixerRoleName,
        sweepSchedule: config.sweepSchedule,
        driftAction: config.driftAction,
      };
    }
    if (config.memberDeployment !== undefined) {
      this.memberDeployment = this.addMemberDeploymentStack(config.memberDeployment);
    }
  }

  /**
   * Lets a role of this account publish to `topic`: `sns:Publish` and the two KMS actions SNS needs (only through SNS)
   * in its policy, and the role admitted by the topic policy, which refuses publishing to every principal it does not
   * name (docs/security-model.md). `topic.grantPublish` alone is not enough.
   */
  public grantPublish(role: IRole): Grant {
    return this.notifications.grantPublish(role);
  }

  /**
   * Sends an alarm's state changes (of this account and region) to `topic`: the alarm's action, and the alarm admitted
   * by the topic policy, which refuses every alarm it does not name. An `SnsAction` alone is not enough.
   */
  public notifyOnAlarm(alarm: AlarmBase): void {
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.notifications.allowAlarm(alarm);
  }

  /**
   * The heartbeat alarm on the member accounts' sweep requests, notifying the topic on ALARM and on INSUFFICIENT_DATA
   * (no request in the window: see `ForwardingHeartbeatAlarm`), or a synth warning when the schedule allows none.
   */
  private addForwardingHeartbeat(
    schedule: string,
    rule: Rule,
    eventBusName: string
  ): Alarm | undefined {
    const window = forwardingHeartbeatWindow(schedule);
    if (window.kind === 'none') {
      Annotations.of(this).addWarningV2(
        'lambda-ecr-autofix:no-forwarding-heartbeat',
        `No forwarding heartbeat alarm: ${window.reason}. A broken forwarding path (bus policy, organizationId, ` +
          'central region) then goes unnoticed: use a rate(...) or a weekly cron(...) sweepSchedule that runs at ' +
          "least every 6 days, or watch the member accounts' lambda-ecr-autofix-forwarding-failed alarms yourself " +
          '(docs/operations.md, "Forwarding heartbeat").'
      );
      return undefined;
    }
    const alarm = new ForwardingHeartbeatAlarm(this, 'ForwardingHeartbeat', {
      rule,
      eventBusName,
      window,
      alarmDescription:
        `lambda-ecr-autofix: no member account's scheduled sweep request (sweepSchedule ${schedule}) reached the ` +
        `central bus ${eventBusName} for ${describeMinutes(window.window.toMinutes())} (INSUFFICIENT_DATA: none ` +
        'arrived), so their failed deploys probably do not reach it either. Check: organizationId and the bus ' +
        'policy (aws:PrincipalOrgID); that member stacks name this account and Region (CentralAccountId, ' +
        'CentralRegion); the StackSet instances (list-stack-instances); SCPs denying events:PutEvents to the ' +
        'forwarding role; the member forwarding dead-letter queues and their alarm ' +
        `${MEMBER_FORWARDING_ALARM_NAME}. See "Forwarding heartbeat" in docs/operations.md.`,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addInsufficientDataAction(action);
    this.notifications.allowAlarm(alarm);
    return alarm;
  }

  /**
   * The StackSet in a stack of its own, next to this construct's (top-level) stack: a failed StackSet operation then
   * rolls back that stack only, never the central resources, and the member stacks are created after them.
   */
  private addMemberDeploymentStack(
    options: LambdaEcrAutofixMemberDeploymentOptions
  ): LambdaEcrAutofixMemberDeployment {
    let central = Stack.of(this);
    while (central.nestedStackParent !== undefined) central = central.nestedStackParent;
    const known = (value: string) => (Token.isUnresolved(value) ? undefined : value);
    const stack = new MemberDeploymentStack(
      central.node.scope ?? central,
      `${central.node.id}${MEMBER_DEPLOYMENT_STACK_SUFFIX}`,
      {
        autofix: this,
        ...options,
        env: { account: known(central.account), region: known(central.region) },
      }
    );
    return stack.memberDeployment;
  }
}

/**
 * The e-mail text for a member account's forwarding alarm. It names the account and Region from the event's envelope,
 * which EventBridge sets, and no text from the alarm itself: a principal of that account may set its alarm's state
 * with any reason (`cloudwatch:SetAlarmState`), and the platform team must not read that as the product's word.
 */
function memberAlarmNotice(): RuleTargetInput {
  return RuleTargetInput.fromText(
    `lambda-ecr-autofix: account ${EventField.account} could not forward failed Lambda image deploys from region ` +
      `${EventField.region} to the central account: its alarm ${MEMBER_FORWARDING_ALARM_NAME} is in ALARM.\n\n` +
      "The events wait in that account's forwarding dead-letter queue for 14 days. Find the cause and replay " +
      'them: see "Member accounts" in docs/operations.md.'
  );
}

/**
 * The one configuration problem the schema cannot see: the fixer receives the configuration in one environment
 * variable, and Lambda allows 4 KB for all of them.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
function validateConfigSize(configJson: string, source: string): void {
  const configBytes = Buffer.byteLength(configJson);
  if (configBytes <= CONFIG_ENVIRONMENT_BUDGET_BYTES) return;
  throw new ConfigError(source, [
    `the configuration is ${configBytes} bytes as JSON, but the fixer receives it in one Lambda environment ` +
      `variable with a budget of ${CONFIG_ENVIRONMENT_BUDGET_BYTES} bytes (Lambda allows 4 KB for all variables): ` +
      'shorten "registryAccounts", "consumerAccounts" or "excludeRepositories" (use globs such as "team-*/*")',
  ]);
}
