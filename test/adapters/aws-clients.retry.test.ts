/**
 * The retry behaviour is proven over real HTTP against a tiny server on 127.0.0.1: aws-sdk-client-mock replaces the
 * client's `send`, so with it the retry middleware never runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { EcrPolicyStore } from '../../lambda/adapters/ecr-policy-store';
import { RepositoryNotFoundError } from '../../lambda/application/errors';
import type { RepositoryRef } from '../../lambda/application/ports';

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
