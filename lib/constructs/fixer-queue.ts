import { Aws, Duration, Token } from 'aws-cdk-lib';
import {
  AccountRootPrincipal,
  AnyPrincipal,
  Effect,
  PolicyDocument,
  PolicyStatement,
  Role,
} from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface FixerQueueProps {
  /**
   * Visibility timeout of the work queue. Lambda's SQS event source needs at least six times the function timeout.
   * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
   */
  readonly visibilityTimeout: Duration;
  /**
   * Deliveries of one message before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the dead-letter queue keeps a message (the SQS maximum is 14 days).
   * @default Duration.days(14)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Name of the work queue. With a name, the dead-letter queue admits only this queue as a redrive source
   * (`RedriveAllowPolicy`); without one CloudFormation could not resolve the two queues' references to each other.
   * @default - a generated name, and any queue of the account and region may use the dead-letter queue
   */
  readonly queueName?: string;
}

/** What may send to the two queues, for `restrictSenders`. */
export interface QueueSenders {
  /** ARNs of the EventBridge rules that deliver to the work queue (and, for what they cannot deliver, to the DLQ). */
  readonly workQueueRuleArns: readonly string[];
  /**
   * ARNs of other rules whose targets use the dead-letter queue for undeliverable events.
   * @default - none
   */
  readonly deadLetterRuleArns?: readonly string[];
}

/**
 * The queue between EventBridge and the fixer, with its dead-letter queue, and the role that replays dead letters.
 *
 * Both queues use SQS-managed server-side encryption (SSE-SQS: EventBridge can send to it without a KMS key policy)
 * and refuse requests without TLS. The work queue keeps messages 4 days, less than the dead-letter queue's 14, because
 * a message's age counts from its first enqueue even after it moves to the dead-letter queue.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
 *
 * `restrictSenders` then makes the project's rules the only senders (see there): a message in the work queue is an
 * instruction to the fixer, so nobody else may put one there, not even a principal of this account whose IAM policy
 * allows `sqs:SendMessage`.
 *
 * @example
 * const queues = new FixerQueue(this, 'Queue', { visibilityTimeout: Duration.minutes(6) });
 * queues.restrictSenders({ workQueueRuleArns: [rule.ruleArn] });
 */
export class FixerQueue extends Construct {
  /** The work queue the fixer consumes. */
  public readonly queue: Queue;
  /** Messages that failed `maxReceiveCount` times, and events EventBridge could not deliver. */
  public readonly deadLetterQueue: Queue;
  /**
   * The one principal besides the rules that may send to the work queue: for replaying dead letters
   * (`aws sqs start-message-move-task`, docs/operations.md). Any principal of this account whose own IAM policy allows
   * `sts:AssumeRole` on it may assume it, so who may replay is decided in one place.
   */
  public readonly replayRole: Role;

  constructor(scope: Construct, id: string, props: FixerQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    if (!Token.isUnresolved(maxReceiveCount) && (maxReceiveCount < 1 || maxReceiveCount > 1000)) {
      throw new Error(
        `FixerQueue: maxReceiveCount must be between 1 and 1000, got ${maxReceiveCount}. Use about 5.`
      );
    }
    const deadLetterRetention = props.deadLetterRetention ?? Duration.days(14);

    // Without a redrive-allow policy, any queue of this account and region could name this one as its dead-letter
    // queue, and a replay would then carry its messages into the work queue.
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    const queueName = props.queueName;
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: deadLetterRetention,
      redriveAllowPolicy:
        queueName === undefined
          ? undefined
          : {
              redrivePermission: RedrivePermission.BY_QUEUE,
              sourceQueues: [
                Queue.fromQueueArn(
                  this,
                  'WorkQueueByName',
                  `arn:${Aws.PARTITION}:sqs:${Aws.REGION}:${Aws.ACCOUNT_ID}:${queueName}`
                ),
              ],
            },
    });
    this.queue = new Queue(this, 'Queue', {
      queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.replayRole = new Role(this, 'ReplayRole', {
      description:
        'lambda-ecr-autofix: replays dead letters into the work queue (the only principal besides the rules that may send to it)',
      assumedBy: new AccountRootPrincipal(),
      inlinePolicies: {
        Replay: new PolicyDocument({
          statements: [
            new PolicyStatement({
              sid: 'MoveDeadLetters',
              actions: [
                'sqs:CancelMessageMoveTask',
                'sqs:DeleteMessage',
                'sqs:GetQueueAttributes',
                'sqs:GetQueueUrl',
                'sqs:ListMessageMoveTasks',
                'sqs:ReceiveMessage',
                'sqs:StartMessageMoveTask',
              ],
              resources: [this.deadLetterQueue.queueArn],
            }),
            new PolicyStatement({
              sid: 'SendToWorkQueue',
              actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
              resources: [this.queue.queueArn],
            }),
          ],
        }),
      },
    });
  }

  /**
   * Denies `sqs:SendMessage` on both queues to everyone but the project's senders. An explicit `Deny` in the queue
   * policy wins over any `Allow`, including an identity policy of this account's principals
   * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). The `Allow`s for
   * EventBridge come from the rules' targets (`aws:SourceArn` = each rule).
   *
   * - Work queue: only requests whose `aws:SourceArn` is one of the rules (EventBridge), or whose principal is the
   *   replay role (`aws:PrincipalArn`, the role even for its sessions). Only AWS services set `aws:SourceArn`; a caller
   *   cannot choose it. An IAM principal's request has none, so it matches neither exception and the `Deny` applies.
   *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcearn
   * - Dead-letter queue: only the rules (undeliverable events) and the work queue (its redrive).
   *
   * Receiving and deleting (the fixer's event source mapping) are not affected: only `sqs:SendMessage` is denied.
   */
  public restrictSenders(senders: QueueSenders): void {
    const ruleArns = [...senders.workQueueRuleArns];
    if (ruleArns.length === 0) {
      throw new Error(
        'FixerQueue: restrictSenders needs the ARNs of the rules that deliver to the queue, e.g. [rule.ruleArn].'
      );
    }
    const deadLetterSenders = [
      ...ruleArns,
      ...(senders.deadLetterRuleArns ?? []),
      this.queue.queueArn,
    ];
    this.queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheProjectRulesAndTheReplayRoleSend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: {
          ArnNotEquals: {
            'aws:SourceArn': ruleArns,
            'aws:PrincipalArn': this.replayRole.roleArn,
          },
        },
      })
    );
    this.deadLetterQueue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheProjectRulesAndTheWorkQueueSend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnNotEquals: { 'aws:SourceArn': deadLetterSenders } },
      })
    );
  }
}
