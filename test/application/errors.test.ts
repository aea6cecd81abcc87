import type { RepositoryRef } from '../../lambda/application/ports';
import { repositoryArnOf, roleArnOf } from '../../lambda/adapters/arns';
import {
  InvalidPolicyError,
  RegistryAccessDeniedError,
  RegistryRoleUnavailableError,
  RepositoryNotFoundError,
  sdkErrorMessage,
  sdkErrorName,
} from '../../lambda/application/errors';

const repository: RepositoryRef = {
  partition: 'aws',
  region: 'eu-west-1',
  registryAccount: '111111111111',
  repositoryName: 'platform/payments-worker',
};

describe('adapter errors', () => {
  it('carry their name, the needs-human reason and an actionable message', () => {
    const errors = [
      new RepositoryNotFoundError(repository),
      new RegistryAccessDeniedError('ecr:SetRepositoryPolicy', 'the fixer role', repository),
      new InvalidPolicyError(repository, 'Invalid repository policy provided.'),
      new RegistryRoleUnavailableError(
        '111111111111',
        'arn:aws:iam::111111111111:role/LambdaEcrAutofixRegistryAccess'
      ),
    ];

    expect(errors.map((e) => [e.name, e.reason])).toStrictEqual([
      ['RepositoryNotFoundError', 'repository-not-found'],
      ['RegistryAccessDeniedError', 'access-denied-to-fixer'],
      ['InvalidPolicyError', 'policy-invalid'],
      ['RegistryRoleUnavailableError', 'registry-role-unavailable'],
    ]);
    errors.forEach((e) => expect(e).toBeInstanceOf(Error));
    expect(errors.map((e) => e.message)).toStrictEqual([
      'Repository platform/payments-worker does not exist in registry 111111111111 (eu-west-1). ' +
        'Check the image URI, or create the repository and push the image first.',
      'Access denied: the fixer role may not call ecr:SetRepositoryPolicy on ' +
        'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker. Allow ecr:SetRepositoryPolicy ' +
        'on the repository for that role (the lambda-ecr-autofix member stack grants ecr:GetRepositoryPolicy, ' +
        'ecr:SetRepositoryPolicy, ecr:ListTagsForResource and lambda:GetFunction; update it if it is ' +
        'older) and check service control policies and permissions boundaries.',
      'ECR rejected the new policy for arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker: ' +
        'Invalid repository policy provided. The policy was not changed; review the current policy and add ' +
        'the statement by hand.',
      'Cannot assume arn:aws:iam::111111111111:role/LambdaEcrAutofixRegistryAccess in account 111111111111. ' +
        'To fix: deploy the lambda-ecr-autofix member stack in account 111111111111 (it creates role ARN ' +
        'arn:aws:iam::111111111111:role/LambdaEcrAutofixRegistryAccess trusted by the fixer role).',
    ]);
  });

  it('read the name and message of SDK errors only', () => {
    expect(sdkErrorName(new TypeError('x'))).toBe('TypeError');
    expect(sdkErrorName('AccessDenied')).toBeUndefined();
    expect(sdkErrorMessage(new Error(''))).toBeUndefined();
    expect(sdkErrorMessage({ message: 'not an Error' })).toBeUndefined();
    expect(sdkErrorMessage(new Error('denied'))).toBe('denied');
  });
});

describe('ARNs', () => {
  it('builds repository and role ARNs', () => {
    expect(repositoryArnOf(repository)).toBe(
      'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker'
    );
    expect(roleArnOf('aws-cn', '111111111111', 'R')).toBe('arn:aws-cn:iam::111111111111:role/R');
  });
});
