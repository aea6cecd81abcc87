/**
 * Publishes decisions to the SNS topic, with message attributes for subscription filter policies.
 * https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
 * https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html
 */
import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';

import type { NotificationMessage, Notifier } from '../application/ports';

export class SnsNotifier implements Notifier {
  constructor(
    private readonly topicArn: string,
    private readonly sns: SNSClient
  ) {}

  async publish(message: NotificationMessage): Promise<string> {
    const output = await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: message.subject,
        Message: message.message,
        MessageAttributes: toMessageAttributes(message.attributes),
      })
    );
    if (output.MessageId === undefined) {
      throw new Error(`SNS Publish to ${this.topicArn} returned no MessageId.`);
    }
    return output.MessageId;
  }
}

const ATTRIBUTE_NAMES = ['outcome', 'reason', 'consumerAccount', 'repository'] as const;

/**
 * String attributes `outcome`, `reason`, `consumerAccount`, `repository`. SNS rejects empty attribute values, so an
 * empty one is left out rather than failing the notification.
 */
export function toMessageAttributes(
  attributes: NotificationMessage['attributes']
): Record<string, MessageAttributeValue> {
  const result: Record<string, MessageAttributeValue> = {};
  for (const name of ATTRIBUTE_NAMES) {
    const value = attributes[name];
    if (value !== '') result[name] = { DataType: 'String', StringValue: value };
  }
  return result;
}
