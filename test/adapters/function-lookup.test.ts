import {
  GetFunctionCommand,
  LambdaClient,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import type { AwsCredentialsInput } from '../../lambda/adapters/aws-clients';
import { LambdaFunctionLookup, lambdaClientFactory } from '../../lambda/adapters/function-lookup';
import type { AccountCredentials } from '../../lambda/adapters/registry-access';

const lambdaMock = mockClient(LambdaClient);
const input = { functionName: 'payments-worker', region: 'eu-west-1', account: '222222222222' };
const functionArn = 'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker';
const imageUri = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:1.4.2';

let clientFor: jest.Mock<Promise<LambdaClient>, [string, string, string]>;
let lookup: LambdaFunctionLookup;

beforeEach(() => {
  lambdaMock.reset();
  clientFor = jest.fn((_account: string, region: string, _sessionName: string) =>
    Promise.resolve(new LambdaClient({ region }))
  );
  lookup = new LambdaFunctionLookup(clientFor);
});

describe('LambdaFunctionLookup', () => {
  it('returns the function ARN and image URI from a client in the function’s account', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({
      Configuration: { FunctionArn: functionArn, PackageType: 'Image' },
      Code: { ImageUri: imageUri, RepositoryType: 'ECR' },
    });

    await expect(lookup.getFunction(input, 'lambda-ecr-autofix-e1')).resolves.toStrictEqual({
      functionArn,
      imageUri,
    });
    expect(clientFor).toHaveBeenCalledWith('222222222222', 'eu-west-1', 'lambda-ecr-autofix-e1');
    expect(lambdaMock).toHaveReceivedCommandWith(GetFunctionCommand, {
      FunctionName: 'payments-worker',
    });
  });

  it('returns a null image URI for a zip function', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({
      Configuration: { FunctionArn: functionArn, PackageType: 'Zip' },
      Code: { Location: 'https://example.invalid/code.zip', RepositoryType: 'S3' },
    });

    await expect(lookup.getFunction(input, 's')).resolves.toStrictEqual({
      functionArn,
      imageUri: null,
    });
  });

  it('returns null when the function does not exist', async () => {
    lambdaMock.on(GetFunctionCommand).rejects(
      new ResourceNotFoundException({
        $metadata: { httpStatusCode: 404 },
        message: `Function not found: ${functionArn}`,
      })
    );

    await expect(lookup.getFunction(input, 's')).resolves.toBeNull();
  });

  it('lets throttling through unchanged', async () => {
    const throttled = new TooManyRequestsException({ $metadata: {}, message: 'Rate exceeded' });
    lambdaMock.on(GetFunctionCommand).rejects(throttled);

    await expect(lookup.getFunction(input, 's')).rejects.toBe(throttled);
  });

  it('fails loudly on an answer without the function ARN', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({});

    await expect(lookup.getFunction(input, 's')).rejects.toThrow(
      'GetFunction for payments-worker returned no Configuration.FunctionArn.'
    );
  });
});

describe('lambdaClientFactory', () => {
  const provider: AccountCredentials = () =>
    Promise.resolve({
      accessKeyId: 'ASIA1',
      secretAccessKey: 's',
      sessionToken: 't',
      expiration: new Date('2030-01-01T00:00:00Z'),
    });

  it('reaches other accounts with the access’s credentials, one client per account and region', async () => {
    const access = { credentialsFor: jest.fn(() => Promise.resolve(provider)) };
    const create = jest.fn(
      (region: string, credentials?: AwsCredentialsInput) =>
        new LambdaClient({ region, credentials })
    );
    const factory = lambdaClientFactory(access, create);

    const first = await factory('222222222222', 'cn-north-1', 'session-1');
    const again = await factory('222222222222', 'cn-north-1', 'session-2');
    await factory('222222222222', 'us-gov-west-1', 'session-3');

    expect(again).toBe(first);
    expect(create.mock.calls).toStrictEqual([
      ['cn-north-1', provider],
      ['us-gov-west-1', provider],
    ]);
    expect(access.credentialsFor.mock.calls).toStrictEqual([
      ['222222222222', 'aws-cn', 'session-1'],
      ['222222222222', 'aws-cn', 'session-2'],
      ['222222222222', 'aws-us-gov', 'session-3'],
    ]);
  });

  it('uses the fixer’s own credentials in its own account', async () => {
    const access = { credentialsFor: jest.fn(() => Promise.resolve(undefined)) };
    const create = jest.fn((region: string) => new LambdaClient({ region }));

    await lambdaClientFactory(access, create)('999999999999', 'eu-west-1', 's');

    expect(create).toHaveBeenCalledWith('eu-west-1', undefined);
    expect(access.credentialsFor).toHaveBeenCalledWith('999999999999', 'aws', 's');
  });
});
