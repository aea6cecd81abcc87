import {
  NotFoundException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';

import type { NotificationMessage } from '../../lambda/application/ports';
import { SnsNotifier, toMessageAttributes } from '../../lambda/adapters/sns-notifier';

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
