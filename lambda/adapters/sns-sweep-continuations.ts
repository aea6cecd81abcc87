/**
 * Sends a sweep's continuation back to the sweep queue through the central account's continuation topic (the queue
 * is its only subscriber, with raw message delivery, so the queue message is the continuation itself). SNS rather
 * than SQS SendMessage: the fixer already carries the SNS client, and an SQS client would push its bundle over the
 * 150 KB budget (measured: +6 KB gzip).
 * https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';

import type { SweepContinuations } from '../application/sweep';

export class SnsSweepContinuations implements SweepContinuations {
  constructor(
    private readonly topicArn: string,
    private readonly sns: SNSClient
  ) {}

  async send(message: Readonly<Record<string, unknown>>): Promise<void> {
    await this.sns.send(
      new PublishCommand({ TopicArn: this.topicArn, Message: JSON.stringify(message) })
    );
  }
}
