import {
  AuthorizationErrorException,
  GetTopicAttributesCommand,
  NotFoundException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';

import type { NotificationMessage } from '../../lambda/application/ports';
import {
  SnsNotifier,
  TopicUnavailableError,
  snsSubject,
  toMessageAttributes,
  wellFormed,
} from '../../lambda/adapters/sns-notifier';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:999999999999:lambda-ecr-autofix';
const snsMock = mockClient(SNSClient);

const message: NotificationMessage = {
  subject:
    '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)',
  message: 'What failed\n  CreateFunction payments-worker\n',
  attributes: {
    outcome: 'fix',
    reason: 'repository-policy-missing-grant',
    consumerAccount: '222222222222',
    repository: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
  },
};

beforeEach(() => snsMock.reset());

describe('SnsNotifier', () => {
  it('publishes subject, body and the four string attributes, and returns the message id', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'b1946ac9-2a1f-4a1e-8f0e-6d7f1c2e3a4b' });

    const id = await new SnsNotifier(TOPIC_ARN, new SNSClient({})).publish(message);

    expect(id).toBe('b1946ac9-2a1f-4a1e-8f0e-6d7f1c2e3a4b');
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(snsMock.commandCalls(PublishCommand)[0]?.args[0].input).toStrictEqual({
      TopicArn: TOPIC_ARN,
      Subject: message.subject,
      Message: message.message,
      MessageAttributes: {
        outcome: { DataType: 'String', StringValue: 'fix' },
        reason: { DataType: 'String', StringValue: 'repository-policy-missing-grant' },
        consumerAccount: { DataType: 'String', StringValue: '222222222222' },
        repository: {
          DataType: 'String',
          StringValue: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
        },
      },
    });
  });

  it('lets SNS failures through unchanged so the queue retries', async () => {
    const throttled = new ThrottledException({ $metadata: {}, message: 'Rate exceeded' });
    snsMock.on(PublishCommand).rejects(throttled);

    await expect(new SnsNotifier(TOPIC_ARN, new SNSClient({})).publish(message)).rejects.toBe(
      throttled
    );
  });

  it('lets a missing topic through unchanged', async () => {
    snsMock
      .on(PublishCommand)
      .rejects(new NotFoundException({ $metadata: {}, message: 'Topic does not exist' }));

    await expect(
      new SnsNotifier(TOPIC_ARN, new SNSClient({})).publish(message)
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('fails loudly when SNS returns no message id', async () => {
    snsMock.on(PublishCommand).resolves({});

    await expect(new SnsNotifier(TOPIC_ARN, new SNSClient({})).publish(message)).rejects.toThrow(
      `SNS Publish to ${TOPIC_ARN} returned no MessageId.`
    );
  });
});

describe('SnsNotifier at the edge: what reaches SNS is always well-formed (finding e)', () => {
  it('replaces a lone surrogate in subject, message and attributes before publishing', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    // Half an emoji: what cutting "🚀" (two UTF-16 code units) in the middle leaves.
    const half = '\ud83d';

    await new SnsNotifier(TOPIC_ARN, new SNSClient({})).publish({
      subject: `[lambda-ecr-autofix] FIXED: ${half}`,
      message: `Tool: unknown tool (deploy-bot/1.0 ${half})`,
      attributes: { ...message.attributes, repository: `platform/${half}` },
    });

    const input = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.Subject).toBe('[lambda-ecr-autofix] FIXED: ?');
    expect(input?.Message).toBe('Tool: unknown tool (deploy-bot/1.0 \ufffd)');
    expect(input?.MessageAttributes?.['repository']?.StringValue).toBe('platform/\ufffd');
    // What the SDK's query serializer does with each value: it throws URIError on a lone surrogate.
    expect(() => encodeURIComponent(input?.Message ?? '')).not.toThrow();
  });

  it.each([
    [
      'keeps a valid subject as it is',
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull a (eu-west-1)',
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull a (eu-west-1)',
    ],
    ['turns a whole emoji (one code point) into one ?', 'deploy \u{1F680} done', 'deploy ? done'],
    ['turns line breaks and tabs into spaces', 'one\ntwo\r\nthree\tfour', 'one two  three four'],
    ['replaces other control characters', 'bell\u0007', 'bell?'],
    ['cuts at 99 characters', 'x'.repeat(150), 'x'.repeat(99)],
    ['starts with a letter, digit or punctuation mark', '   [subject]', '[subject]'],
    ['never sends an empty subject', '  \n ', '[lambda-ecr-autofix] notification'],
  ])('snsSubject %s', (_, subject, expected) => {
    const result = snsSubject(subject);

    expect(result).toBe(expected);
    expect(result.length).toBeLessThanOrEqual(99);
    expect(/^[\x20-\x7e]*$/.test(result)).toBe(true);
  });

  it('wellFormed leaves valid pairs alone', () => {
    expect(wellFormed('ok \u{1F680}')).toBe('ok \u{1F680}');
    expect(wellFormed('\udc00x')).toBe('\ufffdx');
  });
});

describe('SnsNotifier.check', () => {
  it('resolves when the topic can be read', async () => {
    snsMock.on(GetTopicAttributesCommand).resolves({ Attributes: { TopicArn: TOPIC_ARN } });

    await expect(new SnsNotifier(TOPIC_ARN, new SNSClient({})).check()).resolves.toBeUndefined();
    expect(snsMock).toHaveReceivedCommandWith(GetTopicAttributesCommand, { TopicArn: TOPIC_ARN });
  });

  it.each([
    [
      new NotFoundException({ $metadata: {}, message: 'Topic does not exist' }),
      'NotFoundException: Topic does not exist',
    ],
    [
      new AuthorizationErrorException({
        $metadata: {},
        message: 'not authorized to perform: SNS:GetTopicAttributes',
      }),
      'AuthorizationErrorException: not authorized to perform: SNS:GetTopicAttributes',
    ],
  ])('names the topic and what AWS said when it cannot (%s)', async (error, said) => {
    snsMock.on(GetTopicAttributesCommand).rejects(error);

    const checked = new SnsNotifier(TOPIC_ARN, new SNSClient({})).check();

    await expect(checked).rejects.toBeInstanceOf(TopicUnavailableError);
    await expect(checked).rejects.toThrow(`SNS topic ${TOPIC_ARN} cannot be used: ${said}`);
  });
});

describe('toMessageAttributes', () => {
  it('leaves out empty values, which SNS would reject', () => {
    expect(
      toMessageAttributes({ ...message.attributes, consumerAccount: '', repository: '' })
    ).toStrictEqual({
      outcome: { DataType: 'String', StringValue: 'fix' },
      reason: { DataType: 'String', StringValue: 'repository-policy-missing-grant' },
    });
  });
});
