/**
 * ECR repository ARNs: built for targets, found in IAM access-denied messages, and turned into image references.
 */
import {
  findRepositoryArnInMessage,
  imageFromRepositoryArn,
  repositoryArnOf,
} from '../../lambda/domain/repository-arn';

describe('repositoryArnOf', () => {
  it('builds the ARN of a namespaced repository in any partition', () => {
    // Act
    const arn = repositoryArnOf('aws-cn', 'cn-north-1', '111111111111', 'platform/app');

    // Assert
    expect(arn).toBe('arn:aws-cn:ecr:cn-north-1:111111111111:repository/platform/app');
  });
});

describe('findRepositoryArnInMessage', () => {
  it.each([
    [
      'User: arn:aws:sts::222222222222:assumed-role/r/s is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-west-2:111111111111:repository/example/hello-world-lambda because no identity-based policy allows the ecr:BatchGetImage action',
      'arn:aws:ecr:us-west-2:111111111111:repository/example/hello-world-lambda',
    ],
    [
      'not authorized to perform: ecr:BatchGetImage on resource: arn:aws-us-gov:ecr:us-gov-west-1:111111111111:repository/app.',
      'arn:aws-us-gov:ecr:us-gov-west-1:111111111111:repository/app',
    ],
  ])('finds the repository ARN in %j', (message, arn) => {
    // Act
    const found = findRepositoryArnInMessage(message);

    // Assert
    expect(found).toBe(arn);
  });

  it('finds nothing in a message without a repository ARN', () => {
    // Act
    const found = findRepositoryArnInMessage(
      'User: x is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/r'
    );

    // Assert
    expect(found).toBeNull();
  });
});

describe('imageFromRepositoryArn', () => {
  it('builds a reference without tag or digest whose URI is the registry path', () => {
    // Act
    const result = imageFromRepositoryArn(
      'arn:aws-cn:ecr:cn-north-1:111111111111:repository/ml/app'
    );

    // Assert
    expect(result).toEqual({
      ok: true,
      image: {
        uri: '111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/ml/app',
        registryAccount: '111111111111',
        region: 'cn-north-1',
        partition: 'aws-cn',
        repositoryName: 'ml/app',
        tag: null,
        digest: null,
      },
    });
  });

  it.each([
    [
      'arn:aws:ecr:cn-north-1:111111111111:repository/app',
      'names Region cn-north-1, which is not in partition aws',
    ],
    ['arn:aws:ecr:us-iso-east-1:111111111111:repository/app', 'which is not in partition aws'],
    ['arn:aws:ecr:us-east-1:111111111111:repository/App', 'is not an ECR repository ARN'],
    ['arn:aws:s3:::bucket', 'is not an ECR repository ARN'],
  ])('refuses %s', (arn, problem) => {
    // Act
    const result = imageFromRepositoryArn(arn);

    // Assert
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toContain(problem);
  });
});
