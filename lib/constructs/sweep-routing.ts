import { Aws, Stack, type Duration } from 'aws-cdk-lib';
import type { Alarm, IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import { Match, Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, Effect, Policy, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { SWEEP_QUEUE_NAME } from '../names';
import { SWEEP_REQUEST_PATTERN, SWEEP_RULE_NAME } from '../sweep-request-pattern';
import { DeadLetterAlarm } from './dead-letter-alarm';
import { GuardedQueue } from './guarded-queue';

export interface SweepRoutingProps {
  /** EventBridge schedule expression of the central account's own sweep (`sweepSchedule`). */
  readonly schedule: string;
  /**
   * Name of the sweep queue; its dead-letter queue admits only this queue as redrive source.
   * @default 'lambda-ecr-autofix-sweep'
   */
  readonly queueName?: string;
  /** The central bus, where the member accounts' sweep requests arrive. */
  readonly eventBus: IEventBus;
  /** The sweeper (the fixer's second entry point, with the fixer's role); it consumes the queue. */
  readonly sweeper: LambdaFunction;
  /**
   * The role whose code publishes continuations (the fixer role, which the sweeper runs with; its own policy limits
   * that to the sweeper's code). The continuation topic denies `sns:Publish` to every other principal.
   */
  readonly publisherRole: IRole;
  /** The key that encrypts the notification topic; it encrypts the continuation topic too. */
  readonly key: IKey;
  /** Where the dead-letter queue's alarm goes (the notification topic). */
  readonly alarmAction: IAlarmAction;
  /** The one principal besides the rules and the topic that may send to the sweep queue: for replaying dead letters. */
  readonly replayRole: IRole;
  /** Visibility timeout of the sweep queue (at least six times the sweeper's timeout). */
  readonly visibilityTimeout: Duration;
  /**
   * Deliveries of one sweep message before it goes to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Sweeps running at once (2-1000): bounds the calls on shared registries when many accounts sweep together.
   * @default 2
   */
  readonly maxConcurrency?: number;
}

/**
 * Where sweeps run in the central account:
 *
 * - a sweep queue, apart from the deploy-event queue: a sweep takes a whole invocation (batch size 1) and may need
 *   several, and must neither delay nor share a timeout with the fixes of failed deploys; its own event source caps
 *   the sweeps running at once; its own dead-letter queue (with an alarm) keeps what failed 5 times;
 * - two rules on the central bus that send the member stacks' sweep requests there: one for the other accounts'
 *   (`organizationRule`, whose `MatchedEvents` is the forwarding heartbeat: requests that crossed the organization),
 *   one for this account's own other Regions (`centralAccountRule`, which reach the bus even when the bus policy
 *   refuses the organization); and the central account's own scheduled rule (its Region has no member stack
 *   forwarder) that sends its requests there directly;
 * - a continuation topic whose only subscriber is that queue (raw delivery): the sweeper publishes a sweep's next part
 *   to it, so a long sweep continues through the same queue, the same bound and the same dead-letter queue.
 *
 * As for the work queue, a message in the sweep queue is an instruction, so only these senders may put one there:
 * the three rules, the topic, and the replay role (an explicit `Deny` for everyone else, whatever their IAM policy);
 * and only `publisherRole` may publish to the topic.
 *
 * @example
 * new SweepRouting(this, 'Sweeps', { schedule: 'rate(1 day)', eventBus, sweeper, publisherRole: sweeper.role!, key,
 *   alarmAction, replayRole, visibilityTimeout: Duration.minutes(12) });
 */
export class SweepRouting extends Construct {
  /** The sweep queue. */
  public readonly queue: Queue;
  /** Sweep messages that failed `maxReceiveCount` times, and requests EventBridge could not deliver. */
  public readonly deadLetterQueue: Queue;
  /** The continuation topic. */
  public readonly continuationTopic: Topic;
  /** The rule on the central bus for the other accounts' sweep requests. */
  public readonly organizationRule: Rule;
  /** The rule on the central bus for the sweep requests of this account's other Regions. */
  public readonly centralAccountRule: Rule;
  /** The central account's own scheduled rule. */
  public readonly localRule: Rule;
  /** Fires when the dead-letter queue is not empty. */
  public readonly deadLetterAlarm: Alarm;
  /** What the replay role may do with the sweep queues. */
  public readonly replayPolicy: Policy;

  constructor(scope: Construct, id: string, props: SweepRoutingProps) {
    super(scope, id);
    // The id "Default" leaves the queues' logical ids what they were before GuardedQueue existed: CloudFormation
    // replaces a queue whose logical id changes, and a replaced queue loses its messages.
    const guarded = new GuardedQueue(this, 'Default', {
      queueName: props.queueName ?? SWEEP_QUEUE_NAME,
      visibilityTimeout: props.visibilityTimeout,
      maxReceiveCount: props.maxReceiveCount,
    });
    this.queue = guarded.queue;
    this.deadLetterQueue = guarded.deadLetterQueue;

    const toQueue = new SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue });
    // Split by account so that the first rule counts only requests that crossed the organization's accounts: this
    // account's own requests from its other Regions need no bus policy (its identity policy suffices), and would keep
    // the heartbeat alive while the bus refuses every other account.
    this.organizationRule = new Rule(this, 'OrganizationRule', {
      description: 'lambda-ecr-autofix: sweep requests of the organization accounts',
      eventBus: props.eventBus,
      eventPattern: { ...SWEEP_REQUEST_PATTERN, account: Match.anythingBut(Aws.ACCOUNT_ID) },
      targets: [toQueue],
    });
    this.centralAccountRule = new Rule(this, 'CentralAccountRule', {
      description: "lambda-ecr-autofix: sweep requests of this account's other Regions",
      eventBus: props.eventBus,
      eventPattern: { ...SWEEP_REQUEST_PATTERN, account: [Aws.ACCOUNT_ID] },
      targets: [toQueue],
    });
    this.localRule = new Rule(this, 'LocalRule', {
      ruleName: SWEEP_RULE_NAME,
      description: 'lambda-ecr-autofix: sweeps this account in this Region',
      schedule: Schedule.expression(props.schedule),
      targets: [toQueue],
    });

    this.continuationTopic = new Topic(this, 'ContinuationTopic', {
      displayName: 'lambda-ecr-autofix sweep continuations',
      masterKey: props.key,
      enforceSSL: true,
    });
    this.continuationTopic.addSubscription(
      new SqsSubscription(this.queue, { rawMessageDelivery: true })
    );
    // A continuation names the account and Region to sweep next, and its digest so far, which ends in the digest
    // e-mail: only the publisher role may publish one, whatever another principal's own policy allows (an explicit
    // Deny wins). That the role publishes only from the sweeper's code is its identity policy's condition
    // (lambda:SourceFunctionArn), which Lambda documents for identity-based policies and SCPs only, not for resource
    // policies such as this one; the topic policy has no Allow, so the role needs that identity policy. SNS's delivery to the queue is the queue's sqs:SendMessage
    // (aws:SourceArn = this topic), not an sns:Publish, so this Deny does not touch it.
    // https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html
    this.continuationTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheSweeperPublishes',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [this.continuationTopic.topicArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': props.publisherRole.roleArn } },
      })
    );

    const ruleArns = [
      this.organizationRule.ruleArn,
      this.centralAccountRule.ruleArn,
      this.localRule.ruleArn,
    ];
    guarded.restrictSenders({
      sourceArns: [...ruleArns, this.continuationTopic.topicArn],
      deadLetterSourceArns: ruleArns,
      replayRoleArn: props.replayRole.roleArn,
      sids: {
        queue: 'OnlyTheSweepRulesTheTopicAndTheReplayRoleSend',
        deadLetterQueue: 'OnlyTheSweepRulesAndTheSweepQueueSend',
      },
    });
    this.replayPolicy = new Policy(this, 'ReplayPolicy', {
      roles: [props.replayRole],
      statements: guarded.replayStatements({
        moveDeadLetters: 'MoveSweepDeadLetters',
        sendToQueue: 'SendToSweepQueue',
      }),
    });

    this.deadLetterAlarm = new DeadLetterAlarm(this, 'DeadLetterAlarm', {
      deadLetterQueue: this.deadLetterQueue,
      alarmName: `${Stack.of(this).stackName}-sweep-dead-letter-queue-not-empty`,
      alarmDescription:
        'lambda-ecr-autofix: sweeps failed 5 times, or could not be delivered, and wait in the sweep dead-letter ' +
        'queue (docs/operations.md, "Sweeps").',
    });
    this.deadLetterAlarm.addAlarmAction(props.alarmAction);

    props.sweeper.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1,
        maxConcurrency: props.maxConcurrency ?? 2,
        reportBatchItemFailures: true,
      })
    );
    props.sweeper.addEnvironment('SWEEP_CONTINUATION_TOPIC_ARN', this.continuationTopic.topicArn);
  }
}
