/**
 * parseImageUri and findImageUriInMessage: the ECR image URIs Lambda accepts, and a clear problem for the ones it
 * does not.
 */
import { findImageUriInMessage, parseImageUri } from '../../lambda/domain/image-uri';

const DIGEST = 'sha256:80966d8006f61a65f21ca9ce8a9e1c972ccc9b4b2b79d79ad2a83e6a54e02ccc';
const HOST = '111111111111.dkr.ecr.us-east-1.amazonaws.com';

describe('parseImageUri', () => {
  it.each([
    [
      `111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:2026.03.1`,
      {
        region: 'eu-west-1',
        partition: 'aws',
        repositoryName: 'platform/payments-worker',
        tag: '2026.03.1',
        digest: null,
      },
    ],
    [
      `${HOST}/platform/thumbnailer@${DIGEST}`,
      {
        region: 'us-east-1',
        partition: 'aws',
        repositoryName: 'platform/thumbnailer',
        tag: null,
        digest: DIGEST,
      },
    ],
    [
      `${HOST}/app:1.0@${DIGEST}`,
      { region: 'us-east-1', partition: 'aws', repositoryName: 'app', tag: '1.0', digest: DIGEST },
    ],
    [
      `${HOST}/team.a/sub_b/deep-c/app:latest`,
      {
        region: 'us-east-1',
        partition: 'aws',
        repositoryName: 'team.a/sub_b/deep-c/app',
        tag: 'latest',
        digest: null,
      },
    ],
    [
      '111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app:v1',
      { region: 'cn-north-1', partition: 'aws-cn', repositoryName: 'app', tag: 'v1', digest: null },
    ],
    [
      '111111111111.dkr.ecr.cn-northwest-1.amazonaws.com.cn/app@' + DIGEST,
      {
        region: 'cn-northwest-1',
        partition: 'aws-cn',
        repositoryName: 'app',
        tag: null,
        digest: DIGEST,
      },
    ],
    [
      '111111111111.dkr.ecr.us-gov-west-1.amazonaws.com/app:v1',
      {
        region: 'us-gov-west-1',
        partition: 'aws-us-gov',
        repositoryName: 'app',
        tag: 'v1',
        digest: null,
      },
    ],
    [
      `${HOST}/ab:_x`,
      { region: 'us-east-1', partition: 'aws', repositoryName: 'ab', tag: '_x', digest: null },
    ],
  ])('parses %s', (uri, expected) => {
    // Act
    const result = parseImageUri(uri);

    // Assert
    expect(result).toEqual({
      ok: true,
      image: { uri, registryAccount: '111111111111', ...expected },
    });
  });

  it('accepts the longest names and tags', () => {
    // Arrange
    const name = `a${'b'.repeat(255)}`;
    const tag = `T${'t'.repeat(127)}`;

    // Act
    const result = parseImageUri(`${HOST}/${name}:${tag}`);

    // Assert
    expect(result).toMatchObject({ ok: true, image: { repositoryName: name, tag } });
  });

  it.each([
    ['', 'the image URI is empty'],
    [` ${HOST}/app:1`, 'the image URI contains whitespace'],
    [`${HOST}/app:1\n`, 'the image URI contains whitespace'],
    [`https://${HOST}/app:1`, 'must not start with a scheme such as "https://"'],
    ['orders-api:latest', 'the image URI names no registry'],
    ['docker.io/library/nginx:latest', 'docker.io is not an Amazon ECR private registry'],
    ['ghcr.io/org/app:1', 'ghcr.io is not an Amazon ECR private registry'],
    ['public.ecr.aws/lambda/python:3.12', 'public.ecr.aws is Amazon ECR Public'],
    [
      '111111111111.dkr.ecr-fips.us-east-1.amazonaws.com/app:1',
      'Lambda does not support FIPS ECR endpoints',
    ],
    [
      '111111111111.dkr-ecr-fips.us-east-1.on.aws/app:1',
      'Lambda does not support FIPS ECR endpoints',
    ],
    [
      '111111111111.dkr-ecr.us-east-1.on.aws/app:1',
      'is an ECR dual-stack endpoint, which Lambda does not document as an image source; use 111111111111.dkr.ecr.us-east-1.amazonaws.com instead',
    ],
    ['111111111111.DKR.ECR.us-east-1.amazonaws.com/app:1', 'must be written in lower case'],
    [
      '1111.dkr.ecr.us-east-1.amazonaws.com/app:1',
      'the registry id "1111" is not a 12-digit AWS account id',
    ],
    ['111111111111.dkr.ecr.useast1.amazonaws.com/app:1', '"useast1" is not an AWS Region name'],
    [
      '111111111111.dkr.ecr.eusc-de-east-1.amazonaws.eu/app:1',
      'in a partition lambda-ecr-autofix does not support',
    ],
    [
      '111111111111.dkr.ecr.eu-central-1.amazonaws.eu/app:1',
      'in a partition lambda-ecr-autofix does not support',
    ],
    [
      '111111111111.dkr.ecr.us-iso-east-1.c2s.ic.gov/app:1',
      'in a partition lambda-ecr-autofix does not support',
    ],
    [
      '111111111111.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/app:1',
      'in a partition lambda-ecr-autofix does not support',
    ],
    [
      '111111111111.dkr.ecr.us-iso-east-1.amazonaws.com/app:1',
      'in a partition lambda-ecr-autofix does not support',
    ],
    [`${HOST}:443/app:1`, 'in a partition lambda-ecr-autofix does not support'],
    [
      '111111111111.dkr.ecr.cn-north-1.amazonaws.com/app:1',
      'Region cn-north-1 is in partition aws-cn, whose ECR hosts end in .amazonaws.com.cn, not .amazonaws.com',
    ],
    [
      '111111111111.dkr.ecr.us-east-1.amazonaws.com.cn/app:1',
      'Region us-east-1 is in partition aws, whose ECR hosts end in .amazonaws.com, not .amazonaws.com.cn',
    ],
    [`${HOST}/Orders-Api:1`, 'has upper-case letters; ECR repository names are lower-case'],
    [`${HOST}/a:1`, 'must be 2 to 256 characters long (it has 1)'],
    [`${HOST}/:1`, 'must be 2 to 256 characters long (it has 0)'],
    [`${HOST}/${'a'.repeat(257)}:1`, 'must be 2 to 256 characters long (it has 257)'],
    [`${HOST}/-app:1`, '"-app" is not a valid ECR repository name'],
    [`${HOST}/app//x:1`, '"app//x" is not a valid ECR repository name'],
    [`${HOST}/app/:1`, '"app/" is not a valid ECR repository name'],
    [`${HOST}/app`, 'neither a tag nor a digest'],
    [`${HOST}/platform/app`, 'neither a tag nor a digest'],
    [`${HOST}/app:`, 'the tag "" is not a valid image tag'],
    [`${HOST}/app:.bad`, 'the tag ".bad" is not a valid image tag'],
    [`${HOST}/app:v1:v2`, 'the tag "v1:v2" is not a valid image tag'],
    [`${HOST}/app:${'t'.repeat(129)}`, 'is not a valid image tag'],
    [
      `${HOST}/app@${DIGEST.toUpperCase().replace('SHA256', 'sha256')}`,
      'must be "sha256:" followed by 64',
    ],
    [`${HOST}/app@sha512:${'a'.repeat(128)}`, 'must be "sha256:" followed by 64'],
    [`${HOST}/app@${DIGEST}0`, 'must be "sha256:" followed by 64'],
    [`${HOST}/app@`, 'the digest "" must be'],
  ])('refuses %j: %s', (uri, problem) => {
    // Act
    const result = parseImageUri(uri);

    // Assert
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toContain(problem);
  });

  it('clips absurdly long parts in the problem', () => {
    // Arrange
    const uri = `${'x'.repeat(5000)}.example.com/app:1`;

    // Act
    const result = parseImageUri(uri);

    // Assert
    expect(!result.ok && result.problem.length).toBeLessThan(300);
  });
});

describe('findImageUriInMessage', () => {
  it.each([
    [
      'Source image 222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:2.0.0 does not exist. Provide a valid source image.',
      '222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:2.0.0',
    ],
    [
      'Source image 111111111111.dkr.ecr.eu-central-1.amazonaws.com/tools/ses-provider:1.0.0 is not valid. Provide a valid source image.',
      '111111111111.dkr.ecr.eu-central-1.amazonaws.com/tools/ses-provider:1.0.0',
    ],
    [
      'The image manifest, config or layer media type for the source image 222222222222.dkr.ecr.us-east-1.amazonaws.com/bedrock-proxy-api:latest is not supported.',
      '222222222222.dkr.ecr.us-east-1.amazonaws.com/bedrock-proxy-api:latest',
    ],
    [
      'The image manifest or layer media type for the source image 1.dkr.ecr.us-east-1.amazonaws.com/a:b is not supported.',
      '1.dkr.ecr.us-east-1.amazonaws.com/a:b',
    ],
    ['SOURCE IMAGE repo:latest IS NOT VALID. Provide a valid source image.', 'repo:latest'],
  ])('finds the URI in %j', (message, uri) => {
    // Act
    const found = findImageUriInMessage(message);

    // Assert
    expect(found).toBe(uri);
  });

  it.each([
    'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
    'Source image  does not exist.',
    'The role defined for the function cannot be assumed by Lambda.',
    '',
  ])('finds nothing in %j', (message) => {
    // Act
    const found = findImageUriInMessage(message);

    // Assert
    expect(found).toBeNull();
  });
});
