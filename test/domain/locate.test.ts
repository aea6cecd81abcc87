/**
 * locateTarget: the repository to fix and the function it is for, from the image URI (request, message, or the
 * repository ARN of an IAM message), with the consumer account always from recipientAccountId.
 */
import type { Classification } from '../../lambda/domain/classify';
import { classifyFailure } from '../../lambda/domain/classify';
import type { DeployCall } from '../../lambda/domain/decision';
import { locateTarget, partitionOfRegion } from '../../lambda/domain/locate';
import { makeCall } from '../support/events';

const POLICY: Classification = {
  kind: 'repository-policy',
  explanation: 'The repository policy does not let Lambda pull.',
  repositoryArnInMessage: null,
};
const DIGEST = 'sha256:80966d8006f61a65f21ca9ce8a9e1c972ccc9b4b2b79d79ad2a83e6a54e02ccc';

function located(call: DeployCall, classification: Classification = POLICY) {
  const result = locateTarget(call, classification);
  if (!result.ok) throw new Error(`expected a target, got: ${result.explanation}`);
  return result.target;
}

describe('locateTarget', () => {
  it('locates a same-account repository and the function', () => {
    // Arrange
    const call = makeCall();

    // Act
    const result = locateTarget(call, POLICY);

    // Assert
    expect(result).toEqual({
      ok: true,
      target: {
        partition: 'aws',
        region: 'us-east-1',
        registryAccount: '222222222222',
        repositoryName: 'orders-api',
        repositoryArn: 'arn:aws:ecr:us-east-1:222222222222:repository/orders-api',
        consumerAccount: '222222222222',
        functionArn: 'arn:aws:lambda:us-east-1:222222222222:function:orders-api',
        functionName: 'orders-api',
        image: {
          uri: '222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:1.4.2',
          registryAccount: '222222222222',
          region: 'us-east-1',
          partition: 'aws',
          repositoryName: 'orders-api',
          tag: '1.4.2',
          digest: null,
        },
        crossAccount: false,
      },
    });
  });

  describe('function names', () => {
    it.each([
      ['orders-api', 'orders-api'],
      ['orders-api:prod', 'orders-api'],
      ['orders-api:$LATEST', 'orders-api'],
      ['222222222222:function:orders-api', 'orders-api'],
      ['222222222222:function:orders-api:7', 'orders-api'],
      ['arn:aws:lambda:us-east-1:222222222222:function:orders-api', 'orders-api'],
      ['arn:aws:lambda:us-east-1:222222222222:function:orders-api:live', 'orders-api'],
      ['222222222222:function:Orders_API-2', 'Orders_API-2'],
      // `function:NAME` is function NAME (not function "function" with qualifier NAME), with or without a qualifier.
      ['function:orders-api', 'orders-api'],
      ['function:orders-api:7', 'orders-api'],
      ['function:orders-api:$LATEST', 'orders-api'],
      // A function literally named "function".
      ['function', 'function'],
      // The Region of a request ARN is never used: the call's own is (the parser refuses a mismatch).
      ['arn:aws:lambda:eu-west-1:222222222222:function:orders-api', 'orders-api'],
    ])('takes %s as function %s of the calling account', (functionName, name) => {
      // Arrange
      const call = makeCall({ functionName });

      // Act
      const target = located(call);

      // Assert
      expect(target.functionName).toBe(name);
      expect(target.functionArn).toBe(`arn:aws:lambda:us-east-1:222222222222:function:${name}`);
    });

    it.each([
      null,
      'bad name',
      'a'.repeat(65),
      'arn:aws:s3:::bucket',
      'orders-api:',
      '',
      'function:',
      'orders-api:a:b',
      // An ARN of another account than the event's (the parser refuses such events as inconsistent-event).
      'arn:aws:lambda:us-east-1:999999999999:function:orders-api',
      '999999999999:function:orders-api',
    ])('leaves the function unknown for %p', (functionName) => {
      // Arrange
      const call = makeCall({ functionName });

      // Act
      const target = located(call);

      // Assert
      expect(target.functionName).toBeNull();
      expect(target.functionArn).toBeNull();
    });
  });

  describe('partitions and image forms', () => {
    it('builds aws-cn ARNs for a China Region', () => {
      // Arrange
      const call = makeCall({
        region: 'cn-north-1',
        consumerAccount: '222222222222',
        requestImageUri: '111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/platform/app:v1',
      });

      // Act
      const target = located(call);

      // Assert
      expect(target).toMatchObject({
        partition: 'aws-cn',
        repositoryArn: 'arn:aws-cn:ecr:cn-north-1:111111111111:repository/platform/app',
        functionArn: 'arn:aws-cn:lambda:cn-north-1:222222222222:function:orders-api',
        crossAccount: true,
      });
    });

    it('builds aws-us-gov ARNs for a GovCloud Region', () => {
      // Arrange
      const call = makeCall({
        region: 'us-gov-west-1',
        requestImageUri: '111111111111.dkr.ecr.us-gov-west-1.amazonaws.com/app@' + DIGEST,
      });

      // Act
      const target = located(call);

      // Assert
      expect(target).toMatchObject({
        partition: 'aws-us-gov',
        repositoryArn: 'arn:aws-us-gov:ecr:us-gov-west-1:111111111111:repository/app',
        functionArn: 'arn:aws-us-gov:lambda:us-gov-west-1:222222222222:function:orders-api',
        image: { tag: null, digest: DIGEST },
      });
    });

    it('keeps nested repository names whole', () => {
      // Arrange
      const call = makeCall({
        requestImageUri: '111111111111.dkr.ecr.us-east-1.amazonaws.com/a/b.c/d_e/f-g:1',
      });

      // Act
      const target = located(call);

      // Assert
      expect(target.repositoryName).toBe('a/b.c/d_e/f-g');
      expect(target.repositoryArn).toBe(
        'arn:aws:ecr:us-east-1:111111111111:repository/a/b.c/d_e/f-g'
      );
    });
  });

  describe('where the image comes from', () => {
    it('takes the URI from the error message when the request has none', () => {
      // Arrange
      const call = makeCall({
        requestImageUri: null,
        errorCode: 'InvalidParameterValueException',
        errorMessage:
          'Source image 111111111111.dkr.ecr.us-east-1.amazonaws.com/orders-api:2.0.0 does not exist. Provide a valid source image.',
      });

      // Act
      const target = located(call, classifyFailure(call));

      // Assert
      expect(target.image.uri).toBe(
        '111111111111.dkr.ecr.us-east-1.amazonaws.com/orders-api:2.0.0'
      );
    });

    it('falls back to the repository ARN of an IAM message, without tag or digest', () => {
      // Arrange
      const call = makeCall({
        requestImageUri: null,
        errorMessage:
          'User: arn:aws:sts::222222222222:assumed-role/d/s is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111111111111:repository/platform/base-python because no resource-based policy allows the ecr:BatchGetImage action',
      });

      // Act
      const target = located(call, classifyFailure(call));

      // Assert
      expect(target).toMatchObject({
        registryAccount: '111111111111',
        repositoryName: 'platform/base-python',
        repositoryArn: 'arn:aws:ecr:us-east-1:111111111111:repository/platform/base-python',
        crossAccount: true,
        image: {
          uri: '111111111111.dkr.ecr.us-east-1.amazonaws.com/platform/base-python',
          tag: null,
          digest: null,
        },
      });
    });

    it.each([
      ['orders-api', 'orders-api'],
      [null, 'the function'],
    ])('says the image is unknown when nothing names it (function %p)', (functionName, shown) => {
      // Arrange
      const call = makeCall({ requestImageUri: null, functionName });

      // Act
      const result = locateTarget(call, POLICY);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'image-uri-unknown',
        explanation:
          'The event does not say which image; the request has no image URI and the error message names none.',
        nextSteps: [
          `Find the image URI the deploy of ${shown} used in the deploy tool's log (aws lambda get-function shows the image from before a failed update, not this one).`,
          "Check that the image's repository policy lets lambda.amazonaws.com pull it, then re-run the deploy.",
        ],
      });
    });

    it('does not look for a repository ARN in an ignored classification', () => {
      // Arrange
      const call = makeCall({ requestImageUri: null });

      // Act
      const result = locateTarget(call, {
        kind: 'ignored',
        reason: 'not-an-ecr-failure',
        explanation: 'Not ours.',
      });

      // Assert
      expect(result).toMatchObject({ ok: false, reason: 'image-uri-unknown' });
    });
  });

  describe('refusals', () => {
    it('refuses an invalid image URI, saying what is wrong', () => {
      // Arrange
      const call = makeCall({
        requestImageUri: '222222222222.dkr.ecr-fips.us-east-1.amazonaws.com/orders-api:1',
      });

      // Act
      const result = locateTarget(call, POLICY);

      // Assert
      expect(result).toMatchObject({
        ok: false,
        reason: 'invalid-image-uri',
        explanation: expect.stringContaining(
          'Lambda does not support FIPS ECR endpoints'
        ) as unknown,
      });
    });

    it('refuses a repository ARN whose Region is not in its partition', () => {
      // Arrange
      const call = makeCall({ requestImageUri: null });

      // Act
      const result = locateTarget(call, {
        ...POLICY,
        repositoryArnInMessage: 'arn:aws:ecr:cn-north-1:111111111111:repository/app',
      });

      // Assert
      expect(result).toMatchObject({ ok: false, reason: 'invalid-image-uri' });
    });

    it('refuses an image in another Region than the function', () => {
      // Arrange
      const call = makeCall({
        region: 'eu-west-1',
        requestImageUri: '111111111111.dkr.ecr.eu-central-1.amazonaws.com/tools/ses-provider:1.0.0',
      });

      // Act
      const result = locateTarget(call, POLICY);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'cross-region-image',
        explanation:
          "Image 111111111111.dkr.ecr.eu-central-1.amazonaws.com/tools/ses-provider:1.0.0 is in eu-central-1 but the function is in eu-west-1, and Lambda only runs images from the function's own Region.",
        nextSteps: [
          expect.stringContaining('Replicate tools/ses-provider from eu-central-1 to eu-west-1'),
          'Deploy with the image URI in eu-west-1: 111111111111.dkr.ecr.eu-west-1.amazonaws.com/tools/ses-provider:1.0.0.',
        ],
      });
    });
  });
});

describe('partitionOfRegion (re-exported)', () => {
  it('is available from locate', () => {
    // Act
    const partitions = ['eu-west-1', 'cn-north-1', 'us-gov-east-1'].map(partitionOfRegion);

    // Assert
    expect(partitions).toEqual(['aws', 'aws-cn', 'aws-us-gov']);
  });
});
