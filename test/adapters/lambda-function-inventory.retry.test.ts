/**
 * Throttling over real HTTP against a tiny server on 127.0.0.1: aws-sdk-client-mock replaces the client's `send`, so
 * with it the retry middleware never runs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { LambdaFunctionInventory } from '../../lambda/adapters/lambda-function-inventory';

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const arnOf = (name: string): string => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

describe('throttling over real HTTP', () => {
  let server: Server;
  let replies: { status: number; body: unknown }[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const reply = replies.shift() ?? { status: 500, body: { message: 'no reply left' } };
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (reply.status === 429) headers['x-amzn-errortype'] = 'TooManyRequestsException';
        response.writeHead(reply.status, headers);
        response.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('retries a throttled ListFunctions page with the client’s standard retry mode', async () => {
    replies = [
      { status: 429, body: { message: 'Rate exceeded', Type: 'User' } },
      {
        status: 200,
        body: { Functions: [{ FunctionName: 'a', FunctionArn: arnOf('a'), PackageType: 'Image' }] },
      },
    ];
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clients = createAwsClients({
      region: REGION,
      endpoint,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' },
    });

    const page = await new LambdaFunctionInventory(clients.lambda, ACCOUNT, REGION).listFunctions(
      null
    );

    expect(page.functions.map((fn) => fn.functionName)).toEqual(['a']);
    expect(replies).toHaveLength(0);
  });
});
