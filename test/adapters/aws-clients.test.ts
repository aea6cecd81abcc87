import type * as Dynamo from '@aws-sdk/client-dynamodb';
import type * as Ecr from '@aws-sdk/client-ecr';
import type * as Lambda from '@aws-sdk/client-lambda';
import type * as Sns from '@aws-sdk/client-sns';
import type * as Sts from '@aws-sdk/client-sts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';

import {
  DEFAULT_TIMEOUTS,
  MAX_ATTEMPTS,
  createAwsClients,
} from '../../lambda/adapters/aws-clients';
import { FIXER_SIZING } from '../../lib/sizing';

// Count constructions: each client class is wrapped by a mock that builds the real client.
jest.mock('@aws-sdk/client-ecr', () => {
  const actual = jest.requireActual<typeof Ecr>('@aws-sdk/client-ecr');
  return { ...actual, ECRClient: jest.fn((c: Ecr.ECRClientConfig) => new actual.ECRClient(c)) };
});
jest.mock('@aws-sdk/client-sts', () => {
  const actual = jest.requireActual<typeof Sts>('@aws-sdk/client-sts');
  return { ...actual, STSClient: jest.fn((c: Sts.STSClientConfig) => new actual.STSClient(c)) };
});
jest.mock('@aws-sdk/client-sns', () => {
  const actual = jest.requireActual<typeof Sns>('@aws-sdk/client-sns');
  return { ...actual, SNSClient: jest.fn((c: Sns.SNSClientConfig) => new actual.SNSClient(c)) };
});
jest.mock('@aws-sdk/client-dynamodb', () => {
  const actual = jest.requireActual<typeof Dynamo>('@aws-sdk/client-dynamodb');
  return {
    ...actual,
    DynamoDBClient: jest.fn((c: Dynamo.DynamoDBClientConfig) => new actual.DynamoDBClient(c)),
  };
});
jest.mock('@aws-sdk/client-lambda', () => {
  const actual = jest.requireActual<typeof Lambda>('@aws-sdk/client-lambda');
  return {
    ...actual,
    LambdaClient: jest.fn((c: Lambda.LambdaClientConfig) => new actual.LambdaClient(c)),
  };
});

const constructors = [ECRClient, STSClient, SNSClient, DynamoDBClient, LambdaClient].map((c) =>
  jest.mocked(c)
);
const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'example' };

beforeEach(() => constructors.forEach((c) => c.mockClear()));

describe('createAwsClients', () => {
  it('builds no client until one is used, then builds each once', () => {
    const clients = createAwsClients({ region: 'eu-west-1' });

    constructors.forEach((c) => expect(c).not.toHaveBeenCalled());

    expect(clients.sns).toBe(clients.sns);
    expect(jest.mocked(SNSClient)).toHaveBeenCalledTimes(1);
    expect(jest.mocked(ECRClient)).not.toHaveBeenCalled();

    expect(clients.ecr).toBe(clients.ecr);
    expect(clients.sts).toBe(clients.sts);
    expect(clients.dynamodb).toBe(clients.dynamodb);
    expect(clients.lambda).toBe(clients.lambda);
    constructors.forEach((c) => expect(c).toHaveBeenCalledTimes(1));
  });

  it('configures the standard retry mode with 4 attempts in the given region', async () => {
    const clients = createAwsClients({ region: 'eu-west-1' });

    for (const client of [
      clients.ecr,
      clients.sts,
      clients.sns,
      clients.dynamodb,
      clients.lambda,
    ]) {
      expect(client.config.retryMode).toBe('standard');
      await expect(client.config.maxAttempts()).resolves.toBe(MAX_ATTEMPTS);
      await expect(client.config.retryStrategy()).resolves.toMatchObject({ mode: 'standard' });
      await expect(client.config.region()).resolves.toBe('eu-west-1');
    }
    expect(MAX_ATTEMPTS).toBe(4);
  });

  it('sends every client to the given endpoint with the given credentials', async () => {
    const clients = createAwsClients({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:5123',
      credentials,
    });

    for (const client of [
      clients.ecr,
      clients.sts,
      clients.sns,
      clients.dynamodb,
      clients.lambda,
    ]) {
      await expect(client.config.endpoint?.()).resolves.toMatchObject({
        hostname: '127.0.0.1',
        port: 5123,
        protocol: 'http:',
      });
      await expect(client.config.credentials()).resolves.toMatchObject(credentials);
    }
    const other = clients.createEcrClient('eu-west-1');
    await expect(other.config.endpoint?.()).resolves.toMatchObject({ port: 5123 });
  });

  it('uses the AWS endpoints and the default credential chain when given neither', () => {
    const config = createAwsClients({ region: 'eu-west-1' }).configFor('eu-west-1');

    expect(config).toStrictEqual({
      region: 'eu-west-1',
      retryMode: 'standard',
      maxAttempts: 4,
      requestHandler: {
        connectionTimeout: 3_000,
        requestTimeout: 5_000,
        throwOnRequestTimeout: true,
      },
    });
  });

  it('lets a hung call give up within half of the function timeout, retries included', () => {
    // Standard retry mode waits at most 0.1 + 0.2 + 0.4 s between attempts for transient errors (20 s cap unused).
    const backoffMs = 700;

    const worstCaseMs = MAX_ATTEMPTS * DEFAULT_TIMEOUTS.requestMs + backoffMs;

    expect(worstCaseMs).toBeLessThanOrEqual(FIXER_SIZING.timeout.toMilliseconds() / 2);
    expect(DEFAULT_TIMEOUTS.connectionMs).toBeLessThan(DEFAULT_TIMEOUTS.requestMs);
  });

  it('gives every client a NodeHttpHandler with the timeouts', async () => {
    const clients = createAwsClients({
      region: 'eu-west-1',
      timeouts: { connectionMs: 1_234, requestMs: 5_678 },
    });

    for (const client of [
      clients.ecr,
      clients.sts,
      clients.sns,
      clients.dynamodb,
      clients.lambda,
    ]) {
      // The handler keeps its options in configProvider (an internal of @smithy/node-http-handler 4).
      const handler = client.config.requestHandler as unknown as {
        configProvider: Promise<Record<string, unknown>>;
      };
      await expect(handler.configProvider).resolves.toMatchObject({
        connectionTimeout: 1_234,
        requestTimeout: 5_678,
        throwOnRequestTimeout: true,
      });
    }
  });

  it('builds clients for other regions with other credentials', async () => {
    const assumed = () =>
      Promise.resolve({ accessKeyId: 'ASIA1', secretAccessKey: 's', sessionToken: 't' });
    const clients = createAwsClients({ region: 'eu-west-1', credentials });

    const ecr = clients.createEcrClient('us-east-1', assumed);
    const lambda = clients.createLambdaClient('ap-southeast-2');

    await expect(ecr.config.region()).resolves.toBe('us-east-1');
    await expect(ecr.config.credentials()).resolves.toMatchObject({ accessKeyId: 'ASIA1' });
    await expect(lambda.config.region()).resolves.toBe('ap-southeast-2');
    await expect(lambda.config.credentials()).resolves.toMatchObject(credentials);
  });
});
