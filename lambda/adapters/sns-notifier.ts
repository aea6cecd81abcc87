/**
 * Publishes decisions to the SNS topic, with message attributes for subscription filter policies.
 * https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
 * https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html
 *
 * The last line of defence for text that reaches SNS: the domain bounds and cleans event text when it parses it, but
 * whatever the rendering does, a lone UTF-16 surrogate (half an emoji cut in two) must never reach the SDK, whose
 * query serializer (`encodeURIComponent`) throws `URIError` on it, failing every publish of that event after the
 * policy was written. Subjects are also made to fit SNS's rules (ASCII, no control characters, under 100 characters).
 */
import {
  GetTopicAttributesCommand,
  PublishCommand,
  type MessageAttributeValue,
  type SNSClient,
} from '@aws-sdk/client-sns';

import type { NotificationMessage, Notifier } from '../application/ports';

/** SNS subjects must be under 100 characters. */
const MAX_SUBJECT_LENGTH = 99;
const FALLBACK_SUBJECT = '[lambda-ecr-autofix] notification';

/** The topic cannot be used: it does not exist, or these credentials may not use it. */
export class TopicUnavailableError extends Error {
  override readonly name = 'TopicUnavailableError';

  constructor(
    readonly topicArn: string,
    options: ErrorOptions & { awsMessage: string }
  ) {
    super(`SNS topic ${topicArn} cannot be used: ${options.awsMessage}`, options);
  }
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly topicArn: string,
    private readonly sns: SNSClient
  ) {}

  /**
   * Resolves when the topic exists and can be read (GetTopicAttributes), so a command can refuse to change anything
   * before it finds out that it could not tell anyone. Throws `TopicUnavailableError` otherwise.
   */
  async check(): Promise<void> {
    try {
      await this.sns.send(new GetTopicAttributesCommand({ TopicArn: this.topicArn }));
    } catch (error) {
      const awsMessage = `${(error as Error).name}: ${(error as Error).message}`;
      throw new TopicUnavailableError(this.topicArn, { cause: error, awsMessage });
    }
  }

  async publish(message: NotificationMessage): Promise<string> {
    const output = await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: snsSubject(message.subject),
        Message: wellFormed(message.message),
        MessageAttributes: toMessageAttributes(message.attributes),
      })
    );
    if (output.MessageId === undefined) {
      throw new Error(`SNS Publish to ${this.topicArn} returned no MessageId.`);
    }
    return output.MessageId;
  }
}

/** The text with every lone surrogate replaced by U+FFFD (`String.prototype.toWellFormed`, Node.js 20+). */
export function wellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed();
}

/**
 * A subject SNS accepts: printable ASCII only (other characters become `?`, line breaks and tabs a space), starting
 * with a letter, digit or punctuation mark, at most 99 characters.
 */
export function snsSubject(subject: string): string {
  let ascii = '';
  for (const character of wellFormed(subject)) {
    if (/^[\t\r\n]$/.test(character)) ascii += ' ';
    else if (/^[\x20-\x7e]$/.test(character)) ascii += character;
    else ascii += '?';
  }
  const trimmed = ascii.trimStart().slice(0, MAX_SUBJECT_LENGTH).trimEnd();
  return trimmed === '' ? FALLBACK_SUBJECT : trimmed;
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
    if (value !== '') result[name] = { DataType: 'String', StringValue: wellFormed(value) };
  }
  return result;
}
