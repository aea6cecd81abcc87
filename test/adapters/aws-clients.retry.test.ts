/**
 * The retry and timeout behaviour is proven over real HTTP against tiny servers on 127.0.0.1: aws-sdk-client-mock
 * replaces the client's `send`, so with it neither the retry middleware nor the HTTP handler ever runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { createAwsPipeline } from '../../lambda/adapters/aws-pipeline';
import { EcrPolicyStore } from '../../lambda/adapters/ecr-policy-store';
import { RepositoryNotFoundError } from '../../lambda/application/errors';
import type { RepositoryRef } from '../../lambda/application/ports';
import { parseConfig } from '../../lambda/domain/config';
import { loadEvent } from '../support/events';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const repository: RepositoryRef = {
  partition: 'aws',
  region: 'us-east-1',
  registryAccount: '123456789012',
  repositoryName: 'platform/payments-worker',
};
const policyText = '{"Version":"2012-10-17","Statement":[]}';
const ok: Reply = {
  status: 200,
  body: { policyText, registryId: '123456789012', repositoryName: 'platform/payments-worker' },
};
const throttled: Reply = {
  status: 400,
  body: { __type: 'ThrottlingException', message: 'Rate exceeded' },
};
const serverError: Reply = {
  status: 500,
  body: { __type: 'ServerException', message: 'Internal error' },
};
const notFound: Reply = {
  status: 400,
  body: { __type: 'RepositoryNotFoundException', message: 'The repository does not exist' },
};

let server: Server;
let endpoint: string;
let replies: Reply[];
let targets: string[];

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      targets.push(String(request.headers['x-amz-target']));
      const reply = replies.shift() ?? serverError;
      response.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve()))
  );
});

function store(): EcrPolicyStore {
  const clients = createAwsClients({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'example' },
  });
  return new EcrPolicyStore(clients.ecr);
}

beforeEach(() => {
  targets = [];
});

describe('standard retry mode of the clients from createAwsClients', () => {
  it('retries a throttling error, then succeeds', async () => {
    replies = [throttled, ok];

    await expect(store().getPolicy(repository)).resolves.toBe(policyText);

    expect(targets).toStrictEqual([
      'AmazonEC2ContainerRegistry_V20150921.GetRepositoryPolicy',
      'AmazonEC2ContainerRegistry_V20150921.GetRepositoryPolicy',
    ]);
  });

  it('retries 5xx errors, then succeeds', async () => {
    replies = [serverError, serverError, ok];

    await expect(store().getPolicy(repository)).resolves.toBe(policyText);

    expect(targets).toHaveLength(3);
  });

  it('gives up after 4 attempts and lets the error through', async () => {
    replies = [serverError, serverError, serverError, serverError, ok];

    await expect(store().getPolicy(repository)).rejects.toMatchObject({
      name: 'ServerException',
      $metadata: { attempts: 4 },
    });

    expect(targets).toHaveLength(4);
  });

  it('does not retry a client error', async () => {
    replies = [notFound, ok];

    await expect(store().getPolicy(repository)).rejects.toBeInstanceOf(RepositoryNotFoundError);

    expect(targets).toHaveLength(1);
  });
});

describe('timeouts of the clients from createAwsClients', () => {
  let silent: Server;
  let silentEndpoint: string;
  let received: number;

  beforeAll(async () => {
    // Accepts the connection and reads the request, then never answers: a hung AWS endpoint.
    silent = createServer((request: IncomingMessage) => {
      received += 1;
      request.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentEndpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      silent.close((error) => (error ? reject(error) : resolve()))
    );
  });

  beforeEach(() => {
    received = 0;
  });

  const shortTimeouts = { connectionMs: 200, requestMs: 300 };

  it('gives up on an endpoint that never answers, after every attempt timed out', async () => {
    const clients = createAwsClients({
      region: 'us-east-1',
      endpoint: silentEndpoint,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'example' },
      timeouts: shortTimeouts,
    });

    await expect(new EcrPolicyStore(clients.ecr).getPolicy(repository)).rejects.toMatchObject({
      name: 'TimeoutError',
      $metadata: { attempts: 4 },
    });

    expect(received).toBe(4);
  });

  it('fails the event, so that SQS delivers it again, when AWS hangs', async () => {
    const clients = createAwsClients({
      region: 'us-east-1',
      endpoint: silentEndpoint,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'example' },
      timeouts: shortTimeouts,
    });
    const { pipeline } = createAwsPipeline({
      config: parseConfig({}, 'test'),
      region: 'us-east-1',
      fixerAccountId: '222222222222',
      fixerRoleArns: [],
      topicArn: null,
      auditTableName: null,
      telemetry: { decided: () => undefined, failed: () => undefined },
      clients,
    });

    const [result] = await pipeline.process([
      { messageId: 'm1', event: loadEvent('create-function-same-account-ecr-denied'), attempt: 1 },
    ]);

    expect(result).toMatchObject({
      messageId: 'm1',
      status: 'failed',
      error: expect.objectContaining({ name: 'TimeoutError' }) as Error,
    });
  });
});
