import { Duration, Validations } from 'aws-cdk-lib';
import { Rule, type EventPattern, type IEventBus } from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';

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
}

/**
 * A rule on this account's default event bus that forwards matching events to another bus.
 *
 * - The target gets an execution role allowed `events:PutEvents` on that one bus: EventBridge requires a role when the
 *   receiving bus grants access through the organization (`aws:PrincipalOrgID`).
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 * - Events EventBridge cannot deliver (after its retries for 24 hours) go to a dead-letter queue kept 14 days.
 *   Event bus targets take no retry policy.
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
 *
 * Forwarded events keep their envelope (`source: aws.lambda`, `account` = this account).
 *
 * @example
 * new EventForwarder(this, 'Forwarder', { targetBus: centralBus, eventPattern: FAILED_IMAGE_DEPLOY_PATTERN });
 */
export class EventForwarder extends Construct {
  /** The forwarding rule on the default bus. */
  public readonly rule: Rule;
  /** The role EventBridge assumes to put events on the target bus. */
  public readonly role: Role;
  /** Events that could not be delivered. */
  public readonly deadLetterQueue: Queue;

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

    this.rule = new Rule(this, 'Rule', {
      description: props.description,
      eventPattern: props.eventPattern,
      targets: [
        new EventBusTarget(props.targetBus, {
          role: this.role,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
