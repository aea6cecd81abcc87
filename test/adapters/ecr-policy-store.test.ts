import {
  ECRClient,
  ECRServiceException,
  GetRepositoryPolicyCommand,
  InvalidParameterException,
  ListTagsForResourceCommand,
  RepositoryNotFoundException,
  RepositoryPolicyNotFoundException,
  ServerException,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';

import type { RepositoryRef } from '../../lambda/application/ports';
import { EcrPolicyStore } from '../../lambda/adapters/ecr-policy-store';
import {
  InvalidPolicyError,
  RegistryAccessDeniedError,
  RepositoryNotFoundError,
} from '../../lambda/application/errors';

const repository: RepositoryRef = {
  partition: 'aws',
  region: 'eu-west-1',
  registryAccount: '111111111111',
  repositoryName: 'platform/payments-worker',
};
const repositoryArn = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker';
const policyText = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'Keep', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'ecr:*' }],
});
const roleArn = 'arn:aws:iam::111111111111:role/LambdaEcrAutofixRegistryAccess';

const ecrMock = mockClient(ECRClient);
let store: EcrPolicyStore;

beforeEach(() => {
  ecrMock.reset();
  store = new EcrPolicyStore(new ECRClient({ region: 'eu-west-1' }), { principal: roleArn });
});

function accessDenied(action: string): ECRServiceException {
  return new ECRServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `User: arn:aws:sts::111111111111:assumed-role/LambdaEcrAutofixRegistryAccess/s is not authorized to perform: ${action}`,
  });
}

describe('EcrPolicyStore.getPolicy', () => {
  it('returns the policy text exactly, asking the repository’s registry explicitly', async () => {
    ecrMock.on(GetRepositoryPolicyCommand).resolves({ policyText, registryId: '111111111111' });

    await expect(store.getPolicy(repository)).resolves.toBe(policyText);
    expect(ecrMock).toHaveReceivedCommandWith(GetRepositoryPolicyCommand, {
      registryId: '111111111111',
      repositoryName: 'platform/payments-worker',
    });
  });

  it('returns null when the repository has no policy', async () => {
    ecrMock.on(GetRepositoryPolicyCommand).rejects(
      new RepositoryPolicyNotFoundException({
        $metadata: { httpStatusCode: 400 },
        message:
          "Repository policy does not exist for the repository with name 'platform/payments-worker'",
      })
    );

    await expect(store.getPolicy(repository)).resolves.toBeNull();
  });

  it('returns null when ECR answers without a policy text', async () => {
    ecrMock.on(GetRepositoryPolicyCommand).resolves({});

    await expect(store.getPolicy(repository)).resolves.toBeNull();
  });

  it('turns RepositoryNotFoundException into RepositoryNotFoundError', async () => {
    const cause = new RepositoryNotFoundException({
      $metadata: { httpStatusCode: 400 },
      message: "The repository with name 'platform/payments-worker' does not exist",
    });
    ecrMock.on(GetRepositoryPolicyCommand).rejects(cause);

    const error = await store.getPolicy(repository).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RepositoryNotFoundError);
    expect(error).toMatchObject({ reason: 'repository-not-found', repository, cause });
    expect((error as Error).message).toContain(
      'platform/payments-worker does not exist in registry'
    );
  });

  it('turns AccessDeniedException into RegistryAccessDeniedError naming the action and the role', async () => {
    ecrMock.on(GetRepositoryPolicyCommand).rejects(accessDenied('ecr:GetRepositoryPolicy'));

    const error = await store.getPolicy(repository).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistryAccessDeniedError);
    expect(error).toMatchObject({
      action: 'ecr:GetRepositoryPolicy',
      principal: roleArn,
      reason: 'access-denied-to-fixer',
    });
    expect((error as Error).message).toContain(
      `${roleArn} may not call ecr:GetRepositoryPolicy on ${repositoryArn}`
    );
    expect((error as Error).message).toContain('AWS said: User: arn:aws:sts::');
  });

  it('lets a server error through unchanged so the queue retries', async () => {
    const failure = new ServerException({ $metadata: { httpStatusCode: 500 }, message: 'oops' });
    ecrMock.on(GetRepositoryPolicyCommand).rejects(failure);

    await expect(store.getPolicy(repository)).rejects.toBe(failure);
  });

  it('lets a non-SDK failure through unchanged', async () => {
    ecrMock.on(GetRepositoryPolicyCommand).rejects('socket hang up');

    await expect(store.getPolicy(repository)).rejects.toThrow('socket hang up');
  });

  it('names the fixer role when no principal was given', async () => {
    const ownStore = new EcrPolicyStore(new ECRClient({ region: 'eu-west-1' }));
    ecrMock.on(GetRepositoryPolicyCommand).rejects(accessDenied('ecr:GetRepositoryPolicy'));

    await expect(ownStore.getPolicy(repository)).rejects.toThrow(
      'the fixer role may not call ecr:GetRepositoryPolicy'
    );
  });
});

describe('EcrPolicyStore.setPolicy', () => {
  it('sets the policy without force and returns the text ECR stored', async () => {
    const stored = JSON.stringify(JSON.parse(policyText), null, 2);
    ecrMock.on(SetRepositoryPolicyCommand).resolves({ policyText: stored });

    await expect(store.setPolicy(repository, policyText)).resolves.toBe(stored);
    const calls = ecrMock.commandCalls(SetRepositoryPolicyCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toStrictEqual({
      registryId: '111111111111',
      repositoryName: 'platform/payments-worker',
      policyText,
    });
    expect(calls[0]?.args[0].input).not.toHaveProperty('force');
  });

  it('returns the text it sent when the endpoint does not echo it', async () => {
    ecrMock.on(SetRepositoryPolicyCommand).resolves({});

    await expect(store.setPolicy(repository, policyText)).resolves.toBe(policyText);
  });

  it('turns InvalidParameterException into InvalidPolicyError with ECR’s words', async () => {
    ecrMock.on(SetRepositoryPolicyCommand).rejects(
      new InvalidParameterException({
        $metadata: { httpStatusCode: 400 },
        message:
          "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
      })
    );

    const error = await store.setPolicy(repository, '{}').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidPolicyError);
    expect(error).toMatchObject({ reason: 'policy-invalid' });
    expect((error as Error).message).toContain("'Invalid repository policy provided'");
    expect((error as Error).message).toContain(repositoryArn);
  });

  it('names InvalidParameterException when ECR gave no message', async () => {
    ecrMock
      .on(SetRepositoryPolicyCommand)
      .rejects(new InvalidParameterException({ $metadata: {}, message: '' }));

    await expect(store.setPolicy(repository, '{}')).rejects.toThrow(
      /rejected the new policy .*: InvalidParameterException\./
    );
  });

  it('turns AccessDeniedException into RegistryAccessDeniedError for ecr:SetRepositoryPolicy', async () => {
    ecrMock.on(SetRepositoryPolicyCommand).rejects(accessDenied('ecr:SetRepositoryPolicy'));

    await expect(store.setPolicy(repository, policyText)).rejects.toMatchObject({
      name: 'RegistryAccessDeniedError',
      action: 'ecr:SetRepositoryPolicy',
    });
  });

  it('turns RepositoryNotFoundException into RepositoryNotFoundError', async () => {
    ecrMock
      .on(SetRepositoryPolicyCommand)
      .rejects(new RepositoryNotFoundException({ $metadata: {}, message: 'gone' }));

    await expect(store.setPolicy(repository, policyText)).rejects.toBeInstanceOf(
      RepositoryNotFoundError
    );
  });
});

describe('EcrPolicyStore.getTags', () => {
  it('lists the tags of the repository ARN as a plain map', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({
      tags: [
        { Key: 'lambda-ecr-autofix', Value: 'off' },
        { Key: 'aws:cloudformation:stack-name', Value: 'registry' },
        { Key: 'empty', Value: undefined },
        { Key: undefined, Value: 'no key' },
      ],
    });

    await expect(store.getTags(repository)).resolves.toStrictEqual({
      'lambda-ecr-autofix': 'off',
      'aws:cloudformation:stack-name': 'registry',
      empty: '',
    });
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: repositoryArn,
    });
  });

  it('returns an empty map for an untagged repository', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({});

    await expect(store.getTags(repository)).resolves.toStrictEqual({});
  });

  it('builds the ARN in the repository’s partition', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [] });

    await store.getTags({ ...repository, partition: 'aws-cn', region: 'cn-north-1' });

    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: 'arn:aws-cn:ecr:cn-north-1:111111111111:repository/platform/payments-worker',
    });
  });

  it('maps AccessDeniedException for ecr:ListTagsForResource', async () => {
    ecrMock.on(ListTagsForResourceCommand).rejects(accessDenied('ecr:ListTagsForResource'));

    await expect(store.getTags(repository)).rejects.toMatchObject({
      name: 'RegistryAccessDeniedError',
      action: 'ecr:ListTagsForResource',
    });
  });

  it('maps RepositoryNotFoundException', async () => {
    ecrMock
      .on(ListTagsForResourceCommand)
      .rejects(new RepositoryNotFoundException({ $metadata: {}, message: 'gone' }));

    await expect(store.getTags(repository)).rejects.toBeInstanceOf(RepositoryNotFoundError);
  });
});
