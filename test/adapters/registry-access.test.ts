import { ECRClient, GetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import {
  AssumeRoleCommand,
  ExpiredTokenException,
  GetCallerIdentityCommand,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

import type { RepositoryRef } from '../../lambda/application/ports';
import type { AwsCredentialsInput } from '../../lambda/adapters/aws-clients';
import { RegistryRoleUnavailableError } from '../../lambda/application/errors';
import { FixedClock } from '../../lambda/adapters/in-memory';
import {
  StsRegistryAccess,
  discoverAccountId,
  toRoleSessionName,
  type TemporaryCredentials,
} from '../../lambda/adapters/registry-access';

const FIXER_ACCOUNT = '999999999999';
const REGISTRY_ACCOUNT = '111111111111';
const ROLE_ARN = 'arn:aws:iam::111111111111:role/LambdaEcrAutofixRegistryAccess';
const START = '2026-03-01T12:00:00.000Z';

const crossAccount: RepositoryRef = {
  partition: 'aws',
  region: 'eu-west-1',
  registryAccount: REGISTRY_ACCOUNT,
  repositoryName: 'platform/payments-worker',
};
const sameAccount: RepositoryRef = { ...crossAccount, registryAccount: FIXER_ACCOUNT };

const stsMock = mockClient(STSClient);
const ecrMock = mockClient(ECRClient);

function assumed(accessKeyId: string, expiration: string) {
  return {
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: 'secret',
      SessionToken: 'token',
      Expiration: new Date(expiration),
    },
  };
}

function stsError(name: string, message: string): STSServiceException {
  return new STSServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message,
  });
}

let clock: FixedClock;
let createEcrClient: jest.Mock<ECRClient, [string, AwsCredentialsInput?]>;
let access: StsRegistryAccess;

beforeEach(() => {
  stsMock.reset();
  ecrMock.reset();
  clock = new FixedClock(START);
  createEcrClient = jest.fn(
    (region: string, credentials?: AwsCredentialsInput) => new ECRClient({ region, credentials })
  );
  access = new StsRegistryAccess({
    fixerAccountId: FIXER_ACCOUNT,
    registryRoleName: 'LambdaEcrAutofixRegistryAccess',
    stsClient: new STSClient({ region: 'us-east-1' }),
    createEcrClient,
    clock,
  });
});

async function credentialsOfClient(call: number): Promise<TemporaryCredentials> {
  const provider = createEcrClient.mock.calls[call]?.[1];
  if (typeof provider !== 'function') throw new Error('expected a credentials provider');
  return (await provider()) as TemporaryCredentials;
}

describe('StsRegistryAccess in the fixer’s own account', () => {
  it('uses the fixer’s own credentials and never calls STS', async () => {
    const store = await access.storeFor(sameAccount, 'lambda-ecr-autofix-e1');

    expect(stsMock).not.toHaveReceivedAnyCommand();
    expect(createEcrClient).toHaveBeenCalledWith('eu-west-1', undefined);
    ecrMock.on(GetRepositoryPolicyCommand).resolves({ policyText: '{}' });
    await expect(store.getPolicy(sameAccount)).resolves.toBe('{}');
  });

  it('names the fixer role in access-denied errors', async () => {
    const store = await access.storeFor(sameAccount, 'lambda-ecr-autofix-e1');
    ecrMock.on(GetRepositoryPolicyCommand).rejects(
      new STSServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'denied',
      })
    );

    await expect(store.getPolicy(sameAccount)).rejects.toThrow(
      `the fixer role (account ${FIXER_ACCOUNT}) may not call ecr:GetRepositoryPolicy`
    );
  });
});

describe('StsRegistryAccess in another account', () => {
  it('assumes the member role for 15 minutes with a sanitized session name', async () => {
    stsMock.on(AssumeRoleCommand).resolves(assumed('ASIA1', '2026-03-01T12:15:00Z'));

    await access.storeFor(crossAccount, 'lambda-ecr-autofix-4b1c2d3e-aaaa-bbbb-cccc-0123456789ab');

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: ROLE_ARN,
      RoleSessionName: 'lambda-ecr-autofix-4b1c2d3e-aaaa-bbbb-cccc-0123456789ab',
      DurationSeconds: 900,
    });
    expect(createEcrClient).toHaveBeenCalledWith('eu-west-1', expect.any(Function));
    await expect(credentialsOfClient(0)).resolves.toStrictEqual({
      accessKeyId: 'ASIA1',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      expiration: new Date('2026-03-01T12:15:00Z'),
    });
  });

  it('names the member role in access-denied errors', async () => {
    stsMock.on(AssumeRoleCommand).resolves(assumed('ASIA1', '2026-03-01T12:15:00Z'));
    const store = await access.storeFor(crossAccount, 's1');
    ecrMock.on(GetRepositoryPolicyCommand).rejects(
      new STSServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'denied',
      })
    );

    await expect(store.getPolicy(crossAccount)).rejects.toThrow(
      `${ROLE_ARN} may not call ecr:GetRepositoryPolicy`
    );
  });

  it('builds the role ARN in the repository’s partition', async () => {
    stsMock.on(AssumeRoleCommand).resolves(assumed('ASIA1', '2026-03-01T12:15:00Z'));

    await access.storeFor(
      { ...crossAccount, partition: 'aws-us-gov', region: 'us-gov-west-1' },
      'session'
    );

    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: 'arn:aws-us-gov:iam::111111111111:role/LambdaEcrAutofixRegistryAccess',
    });
  });

  it('assumes the role once for many calls and caches one client per account and region', async () => {
    stsMock.on(AssumeRoleCommand).resolves(assumed('ASIA1', '2026-03-01T12:15:00Z'));

    await access.storeFor(crossAccount, 'event-1');
    clock.advance(10 * 60_000);
    await access.storeFor(crossAccount, 'event-2');
    await access.storeFor({ ...crossAccount, repositoryName: 'other' }, 'event-3');
    await access.storeFor({ ...crossAccount, region: 'us-east-1' }, 'event-4');

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(createEcrClient.mock.calls.map(([region]) => region)).toStrictEqual([
      'eu-west-1',
      'us-east-1',
    ]);
  });

  it('shares one AssumeRole between concurrent callers', async () => {
    stsMock.on(AssumeRoleCommand).resolves(assumed('ASIA1', '2026-03-01T12:15:00Z'));

    await Promise.all([
      access.storeFor(crossAccount, 'event-1'),
      access.storeFor(crossAccount, 'event-2'),
      access.storeFor({ ...crossAccount, region: 'us-east-1' }, 'event-3'),
    ]);

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  });

  it('assumes the role again a minute before the credentials expire, for cached clients too', async () => {
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(assumed('ASIA1', '2026-03-01T12:15:00Z'))
      .resolvesOnce(assumed('ASIA2', '2026-03-01T12:29:00Z'));

    await access.storeFor(crossAccount, 'event-1');
    clock.set('2026-03-01T12:13:59.000Z'); // 61 s left: still fresh
    await access.storeFor(crossAccount, 'event-2');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);

    clock.set('2026-03-01T12:14:00.000Z'); // 60 s left: refresh
    await access.storeFor(crossAccount, 'event-3');

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(stsMock.commandCalls(AssumeRoleCommand)[1]?.args[0].input.RoleSessionName).toBe(
      'event-3'
    );
    expect(createEcrClient).toHaveBeenCalledTimes(1);
    await expect(credentialsOfClient(0)).resolves.toMatchObject({ accessKeyId: 'ASIA2' });
  });

  it('refreshes only once when concurrent callers find the credentials stale', async () => {
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(assumed('ASIA1', '2026-03-01T12:15:00Z'))
      .resolves(assumed('ASIA2', '2026-03-01T12:45:00Z'));
    await access.storeFor(crossAccount, 'event-1');
    clock.set('2026-03-01T12:20:00.000Z');

    await Promise.all([
      access.storeFor(crossAccount, 'event-2'),
      access.storeFor(crossAccount, 'event-3'),
    ]);

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it.each([
    ['AccessDenied', 'User: arn:aws:sts::999999999999:assumed-role/fixer/x is not authorized'],
    ['AccessDeniedException', 'not authorized'],
    ['NoSuchEntity', 'The role cannot be found'],
  ])('turns AssumeRole %s into RegistryRoleUnavailableError with the remedy', async (name, msg) => {
    const cause = stsError(name, msg);
    stsMock.on(AssumeRoleCommand).rejects(cause);

    const error = await access.storeFor(crossAccount, 'event-1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistryRoleUnavailableError);
    expect(error).toMatchObject({
      account: REGISTRY_ACCOUNT,
      roleArn: ROLE_ARN,
      reason: 'registry-role-unavailable',
      cause,
    });
    expect((error as Error).message).toContain(
      `deploy the lambda-ecr-autofix member stack in account ${REGISTRY_ACCOUNT} ` +
        `(it creates role ARN ${ROLE_ARN} trusted by the fixer role)`
    );
    expect((error as Error).message).toContain(`AWS said: ${msg}`);
    expect(createEcrClient).not.toHaveBeenCalled();
  });

  it('does not cache a failed AssumeRole', async () => {
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(stsError('AccessDenied', 'denied'))
      .resolves(assumed('ASIA1', '2026-03-01T12:15:00Z'));

    await expect(access.storeFor(crossAccount, 'event-1')).rejects.toBeInstanceOf(
      RegistryRoleUnavailableError
    );
    await expect(access.storeFor(crossAccount, 'event-2')).resolves.toBeDefined();

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('lets other STS failures through unchanged so the queue retries', async () => {
    const expired = new ExpiredTokenException({ $metadata: {}, message: 'expired' });
    stsMock.on(AssumeRoleCommand).rejects(expired);

    await expect(access.storeFor(crossAccount, 'event-1')).rejects.toBe(expired);
  });

  it('rejects an AssumeRole answer without complete credentials', async () => {
    stsMock.on(AssumeRoleCommand).resolves({ Credentials: undefined });

    await expect(access.storeFor(crossAccount, 'event-1')).rejects.toThrow(
      `AssumeRole on ${ROLE_ARN} returned no complete credentials.`
    );
  });
});

describe('toRoleSessionName', () => {
  it.each([
    ['lambda-ecr-autofix-4b1c2d3e-aaaa', 'lambda-ecr-autofix-4b1c2d3e-aaaa'],
    ['lambda-ecr-autofix-a b/c:d*e', 'lambda-ecr-autofix-a-b-c-d-e'],
    ['keeps+=,.@_-', 'keeps+=,.@_-'],
    ['é', 'lambda-ecr-autofix'],
    ['', 'lambda-ecr-autofix'],
  ])('%j → %j', (input, expected) => {
    expect(toRoleSessionName(input)).toBe(expected);
  });

  it('cuts names to the 64 characters STS allows', () => {
    const name = toRoleSessionName(`lambda-ecr-autofix-${'x'.repeat(100)}`);

    expect(name).toHaveLength(64);
    expect(name).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});

describe('discoverAccountId', () => {
  it('asks GetCallerIdentity once per client', async () => {
    stsMock.on(GetCallerIdentityCommand).resolves({ Account: FIXER_ACCOUNT });
    const sts = new STSClient({ region: 'us-east-1' });

    await expect(discoverAccountId(sts)).resolves.toBe(FIXER_ACCOUNT);
    await expect(discoverAccountId(sts)).resolves.toBe(FIXER_ACCOUNT);

    expect(stsMock).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 1);
  });

  it('forgets a failure so the next call asks again', async () => {
    stsMock
      .on(GetCallerIdentityCommand)
      .rejectsOnce(stsError('InvalidClientTokenId', 'bad key'))
      .resolves({ Account: FIXER_ACCOUNT });
    const sts = new STSClient({ region: 'us-east-1' });

    await expect(discoverAccountId(sts)).rejects.toThrow('bad key');
    await expect(discoverAccountId(sts)).resolves.toBe(FIXER_ACCOUNT);
  });

  it('fails when STS names no account', async () => {
    stsMock.on(GetCallerIdentityCommand).resolves({});

    await expect(discoverAccountId(new STSClient({ region: 'us-east-1' }))).rejects.toThrow(
      'GetCallerIdentity returned no Account.'
    );
  });
});
