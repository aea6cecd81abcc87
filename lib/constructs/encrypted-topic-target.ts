import type {
  IRuleRef,
  IRuleTarget,
  RuleTargetConfig,
  RuleTargetInput,
} from 'aws-cdk-lib/aws-events';
import { addToDeadLetterQueueResourcePolicy } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

import type { NotificationTopic } from './notification-topic';

/**
 * An EventBridge target that publishes to the encrypted notification topic with the topic policy naming this one
 * rule (`aws:SourceArn`). `aws-events-targets`' `SnsTopic` would instead let EventBridge publish for any rule, and
 * grant `events.amazonaws.com` the key without conditions. Undeliverable notices go to the dead-letter queue, whose
 * alarm then notifies as well.
 *
 * @example
 * new Rule(this, 'MemberAlarmRule', {
 *   eventBus,
 *   eventPattern: { source: ['aws.cloudwatch'] },
 *   targets: [new EncryptedTopicTarget(notifications, deadLetterQueue, RuleTargetInput.fromText('…'))],
 * });
 */
export class EncryptedTopicTarget implements IRuleTarget {
  constructor(
    private readonly notifications: NotificationTopic,
    private readonly deadLetterQueue: IQueue,
    private readonly input: RuleTargetInput
  ) {}

  public bind(rule: IRuleRef): RuleTargetConfig {
    const ruleArn = rule.ruleRef.ruleArn;
    this.notifications.allowRule(ruleArn);
    addToDeadLetterQueueResourcePolicy(rule, this.deadLetterQueue);
    return {
      arn: this.notifications.topic.topicArn,
      input: this.input,
      deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      targetResource: this.notifications.topic,
    };
  }
}
