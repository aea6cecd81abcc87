import { Duration, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, type EventPattern, type IEventBus } from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';

import { DeadLetterAlarm } from './dead-letter-alarm';

export interface EventForwarderProps {
  /** The bus to forward to, usually in another account (and possibly another region). */
  readonly targetBus: IEventBus;
  /** Which events of this account's default bus to forward. */
  readonly eventPattern: EventPattern;
  /**
   * Description of the rule.
   * @default - none
   */
  readonly description?: string;
  /**
   * More patterns to forward to the same bus, each with a rule of its own (same role and dead-letter queue).
   * @default - none
   */
  readonly additionalRules?: readonly {
    /** Construct id of the rule. */
    readonly id: string;
    readonly eventPattern: EventPattern;
    readonly description?: string;
  }[];
  /**
   * Name of an alarm on the dead-letter queue (an event could not be forwarded). Its state changes are forwarded to
   * the target bus too, so the receiving side can tell someone.
   * @default - no alarm
   */
  readonly alarmName?: string;
}

/**
 * A rule on this account's default event bus that forwards matching events to another bus, and makes failing to
 * forward visible.
 *
 * - The target gets an execution role allowed `events:PutEvents` on that one bus: EventBridge requires a role when the
 *   receiving bus grants access through the organization (`aws:PrincipalOrgID`).
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 * - Events EventBridge cannot deliver (after its retries for 24 hours) go to a dead-letter queue kept 14 days.
 *   Event bus targets take no retry policy. Only the forwarder's rules may send to that queue.
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
 * - With `alarmName`: an alarm when the dead-letter queue holds a message, and a second rule that forwards the alarm's
 *   state changes (`CloudWatch Alarm State Change`, from this account's default bus) to the same bus. An alarm's SNS
 *   action would need a topic that admits every member account, documented in the alarm's own region, while the
 *   receiving side is in another account and usually another region; an event travels there like the forwarded ones,
 *   with the permissions that already exist. It shares their path, so it tells the receiving side
 *   about failures that are not the path itself (a bus that did not exist yet, throttling, an outage), while a path
 *   that is broken for good (a wrong organization id, a moved central region) shows in this account's alarm only.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
 *
 * Forwarded events keep their envelope (`source`, `account` = this account, `region`).
 *
 * @example
 * new EventForwarder(this, 'Forwarder', {
 *   targetBus: centralBus,
 *   eventPattern: FAILED_IMAGE_DEPLOY_PATTERN,
 *   alarmName: 'lambda-ecr-autofix-forwarding-failed',
 * });
 */
export class EventForwarder extends Construct {
  /** The forwarding rule on the default bus. */
  public readonly rule: Rule;
  /** The rules of `additionalRules`, in order. */
  public readonly additionalRules: Rule[];
  /** The role EventBridge assumes to put events on the target bus. */
  public readonly role: Role;
  /** Events that could not be delivered. */
  public readonly deadLetterQueue: Queue;
  /** With `alarmName`: the alarm on the dead-letter queue. */
  public readonly alarm?: Alarm;
  /** With `alarmName`: the rule that forwards the alarm's state changes. */
  public readonly alarmRule?: Rule;

  constructor(scope: Construct, id: string, props: EventForwarderProps) {
    super(scope, id);
    this.role = new Role(this, 'Role', {
      description:
        'lambda-ecr-autofix: lets EventBridge forward failed Lambda deploys to the central bus',
      assumedBy: new ServicePrincipal('events.amazonaws.com'),
    });
    props.targetBus.grantPutEventsTo(this.role);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // On the CfnQueue itself, not the construct: its queue policy must not inherit the acknowledgement.
    Validations.of(this.deadLetterQueue.node.defaultChild as IConstruct).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the EventBridge forwarding target; cdk-nag only recognises ' +
        'dead-letter queues named in an SQS redrive policy or a Lambda dead-letter config.',
    });

    const target = new EventBusTarget(props.targetBus, {
      role: this.role,
      deadLetterQueue: this.deadLetterQueue,
    });
    this.rule = new Rule(this, 'Rule', {
      description: props.description,
      eventPattern: props.eventPattern,
      targets: [target],
    });
    this.additionalRules = (props.additionalRules ?? []).map(
      (rule) =>
        new Rule(this, rule.id, {
          description: rule.description,
          eventPattern: rule.eventPattern,
          targets: [target],
        })
    );
    const rules = [this.rule, ...this.additionalRules];

    if (props.alarmName !== undefined) {
      this.alarm = new DeadLetterAlarm(this, 'Alarm', {
        deadLetterQueue: this.deadLetterQueue,
        alarmName: props.alarmName,
        alarmDescription:
          'lambda-ecr-autofix: failed Lambda image deploys of this account could not be forwarded to the central ' +
          "account and wait in the forwarder's dead-letter queue. Tell the platform team that runs lambda-ecr-autofix " +
          '(see "Member accounts" in its docs/operations.md).',
      });
      this.alarmRule = new Rule(this, 'AlarmRule', {
        description: 'lambda-ecr-autofix: tells the central account that forwarding failed here',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: [this.alarm.alarmArn],
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [target],
      });
      rules.push(this.alarmRule);
    }

    // Only this forwarder's rules may put messages here: what waits in this queue is replayed into the central
    // work queue by hand (docs/operations.md), so nobody else may add to it.
    this.deadLetterQueue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheForwardingRulesSend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnNotEquals: { 'aws:SourceArn': rules.map((rule) => rule.ruleArn) } },
      })
    );
  }
}
