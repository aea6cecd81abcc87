import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { SWEEP_REQUEST_PATTERN, SWEEP_RULE_NAME } from '../sweep-request-pattern';

export interface SweepRoutingProps {
  /** EventBridge schedule expression of the central account's own sweep (`sweepSchedule`). */
  readonly schedule: string;
  /** The central bus, where the member accounts' sweep requests arrive. */
  readonly eventBus: IEventBus;
  /** The sweeper (the fixer's second entry point, with the fixer's role); it consumes the queue, sends continuations. */
  readonly sweeper: LambdaFunction;
  /** The fixer's dead-letter queue, shared: one alarm, one redrive for everything the fixer could not do. */
  readonly deadLetterQueue: IQueue;
  /** The key that encrypts the notification topic; it encrypts the continuation topic too. */
  readonly key: IKey;
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
 *   the sweeps running at once;
 * - a rule on the central bus that sends the member accounts' sweep requests there, and the central account's own
 *   scheduled rule (its Region has no member stack forwarder) that sends its requests there directly;
 * - a continuation topic whose only subscriber is that queue (raw delivery): the sweeper publishes a sweep's next part
 *   to it, so a long sweep continues through the same queue, the same bound and the same dead-letter queue.
 *
 * @example
 * new SweepRouting(this, 'Sweeps', { schedule: 'rate(1 day)', eventBus, sweeper, deadLetterQueue, key, visibilityTimeout });
 */
export class SweepRouting extends Construct {
  /** The sweep queue. */
  public readonly queue: Queue;
  /** The continuation topic. */
  public readonly continuationTopic: Topic;
  /** The rule on the central bus. */
  public readonly organizationRule: Rule;
  /** The central account's own scheduled rule. */
  public readonly localRule: Rule;

  constructor(scope: Construct, id: string, props: SweepRoutingProps) {
    super(scope, id);
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: {
        queue: props.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount ?? 5,
      },
    });

    const toQueue = new SqsQueue(this.queue, { deadLetterQueue: props.deadLetterQueue });
    this.organizationRule = new Rule(this, 'OrganizationRule', {
      description: 'lambda-ecr-autofix: sweep requests of the organization accounts',
      eventBus: props.eventBus,
      eventPattern: SWEEP_REQUEST_PATTERN,
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
    // Publish only: the role holds the key's actions already (it publishes notifications with the same key).
    Grant.addToPrincipalOrResource({
      grantee: props.sweeper,
      actions: ['sns:Publish'],
      resourceArns: [this.continuationTopic.topicArn],
      resource: this.continuationTopic,
    });

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
