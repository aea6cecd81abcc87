import { Duration, Token } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
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
}

/**
 * The queue between EventBridge and the fixer, with its dead-letter queue.
 *
 * Both queues use SQS-managed server-side encryption (SSE-SQS: EventBridge can send to it without a KMS key policy)
 * and refuse requests without TLS. The work queue keeps messages 4 days, less than the dead-letter queue's 14, because
 * a message's age counts from its first enqueue even after it moves to the dead-letter queue.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
 *
 * @example
 * const queues = new FixerQueue(this, 'Queue', { visibilityTimeout: Duration.minutes(6) });
 */
export class FixerQueue extends Construct {
  /** The work queue the fixer consumes. */
  public readonly queue: Queue;
  /** Messages that failed `maxReceiveCount` times, and events EventBridge could not deliver. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: FixerQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    if (!Token.isUnresolved(maxReceiveCount) && (maxReceiveCount < 1 || maxReceiveCount > 1000)) {
      throw new Error(
        `FixerQueue: maxReceiveCount must be between 1 and 1000, got ${maxReceiveCount}. Use about 5.`
      );
    }
    const deadLetterRetention = props.deadLetterRetention ?? Duration.days(14);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: deadLetterRetention,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }
}
