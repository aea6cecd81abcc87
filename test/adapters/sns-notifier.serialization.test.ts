/**
 * The SNS adapter through the SDK's real request serialization (no aws-sdk-client-mock, which replaces `send` before
 * serialization): a lone surrogate in a notice used to make the query serializer throw `URIError: URI malformed`,
 * after the policy was written (finding e). Requests go to a handler that records them; nothing leaves the process.
 */
import { SNSClient } from '@aws-sdk/client-sns';
import { Readable } from 'node:stream';

import { SnsNotifier } from '../../lambda/adapters/sns-notifier';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:999999999999:lambda-ecr-autofix';

/** An SNSClient whose HTTP handler records the request body and answers like SNS. */
function recordingClient(): { client: SNSClient; bodies: string[] } {
  const bodies: string[] = [];
  const client = new SNSClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: (request: { body?: unknown }) => {
        bodies.push(String(request.body));
        const xml =
          '<PublishResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>' +
          '<MessageId>5f0c6a4e-0000-4000-8000-000000000001</MessageId></PublishResult>' +
          '<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>';
        return Promise.resolve({
          response: {
            statusCode: 200,
            headers: { 'content-type': 'text/xml' },
            body: Readable.from([xml]),
          },
        });
      },
    },
  });
  return { client, bodies };
}

describe('SnsNotifier with the SDK serializer', () => {
  it('publishes a notice whose text holds a lone surrogate', async () => {
    const { client, bodies } = recordingClient();

    const id = await new SnsNotifier(TOPIC_ARN, client).publish({
      subject: '[lambda-ecr-autofix] FIXED: \ud83d',
      message: 'Tool: unknown tool (deploy-bot/1.0 \ud83d)',
      attributes: {
        outcome: 'fix',
        reason: 'repository-policy-missing-grant',
        consumerAccount: '222222222222',
        repository: 'orders-api',
      },
    });

    expect(id).toBe('5f0c6a4e-0000-4000-8000-000000000001');
    const body = new URLSearchParams(bodies[0]);
    expect(body.get('Action')).toBe('Publish');
    expect(body.get('Message')).toBe('Tool: unknown tool (deploy-bot/1.0 \ufffd)');
    expect(body.get('Subject')).toBe('[lambda-ecr-autofix] FIXED: ?');
  });

  it('shows why: the serializer itself rejects the raw text', () => {
    expect(() => encodeURIComponent('deploy-bot/1.0 \ud83d')).toThrow(URIError);
  });
});
