/**
 * classifyFailure: every row of the error table (A–H in lambda/domain/classify.ts) lands on the right
 * classification, with explanations and next steps that name the specifics.
 */
import { classifyFailure, crossRegionNextSteps } from '../../lambda/domain/classify';
import type { ImageReference } from '../../lambda/domain/decision';
import { makeCall } from '../support/events';

const SESSION = 'arn:aws:sts::222222222222:assumed-role/platform-deployer/build-1';
const REPOSITORY = 'arn:aws:ecr:us-east-1:111111111111:repository/platform/base-python';
const DIGEST = 'sha256:80966d8006f61a65f21ca9ce8a9e1c972ccc9b4b2b79d79ad2a83e6a54e02ccc';

/** An IAM access-denied message for ecr:BatchGetImage on REPOSITORY, ending in `context`. */
function denied(context: string, action = 'ecr:BatchGetImage'): string {
  return `User: ${SESSION} is not authorized to perform: ${action} on resource: ${REPOSITORY} ${context}`;
}

describe('classifyFailure', () => {
  describe('calls that did not fail', () => {
    it.each([null, ''])('ignores a call with errorCode %p as succeeded', (errorCode) => {
      // Arrange
      const call = makeCall({ errorCode, errorMessage: '' });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'ignored',
        reason: 'call-succeeded',
        explanation: 'The CreateFunction call succeeded, so there is nothing to fix.',
      });
    });
  });

  describe('A: Lambda may not pull the image', () => {
    it.each([
      [
        'AccessDeniedException',
        'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
      ],
      [
        'AccessDenied',
        'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
      ],
      [
        'AccessDeniedException',
        'The function does not have permission to access the specified image.',
      ],
      ['AccessDeniedException', 'LAMBDA DOES NOT HAVE PERMISSION TO ACCESS THE ECR IMAGE.'],
    ])('classifies %s "%s" as a repository-policy failure', (errorCode, errorMessage) => {
      // Arrange
      const call = makeCall({ errorCode, errorMessage });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'repository-policy',
        explanation:
          'Lambda may not pull 222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:1.4.2 because the repository policy does not let the lambda.amazonaws.com service principal call ecr:BatchGetImage and ecr:GetDownloadUrlForLayer.',
        repositoryArnInMessage: null,
      });
    });

    it('says "the image" when the request names none', () => {
      // Arrange
      const call = makeCall({ requestImageUri: null });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result.explanation).toMatch(/^Lambda may not pull the image because/);
    });

    it('wins over a request that also looks like a zip package', () => {
      // Arrange
      const call = makeCall({ looksLikeZip: true });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result.kind).toBe('repository-policy');
    });
  });

  describe('B: no resource-based policy allows', () => {
    it.each(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'])(
      'classifies a %s denial as a repository-policy failure naming the repository',
      (action) => {
        // Arrange
        const call = makeCall({
          errorMessage: denied(
            `because no resource-based policy allows the ${action} action`,
            action
          ),
        });

        // Act
        const result = classifyFailure(call);

        // Assert
        expect(result).toEqual({
          kind: 'repository-policy',
          explanation: `The repository policy of ${REPOSITORY} does not let role platform-deployer in account 222222222222 call ${action} (no resource-based policy allows it).`,
          repositoryArnInMessage: REPOSITORY,
        });
      }
    );
  });

  describe('C: no identity-based policy allows', () => {
    it('needs a human to grant the caller role the pull actions', () => {
      // Arrange
      const call = makeCall({
        errorMessage: denied(
          'because no identity-based policy allows the ecr:BatchGetImage action'
        ),
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'needs-human',
        reason: 'caller-identity-policy',
        explanation: `Role platform-deployer may not call ecr:BatchGetImage on ${REPOSITORY} because no identity-based policy allows it, which a repository policy cannot fix.`,
        nextSteps: [
          `Grant role platform-deployer (arn:aws:iam::222222222222:role/platform-deployer) ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on ${REPOSITORY} in its IAM policy.`,
          'Re-run the deploy.',
        ],
        repositoryArnInMessage: REPOSITORY,
      });
    });

    it('names the role from the message when CloudTrail names no principal', () => {
      // Arrange
      const call = makeCall({
        caller: { arn: null, type: null, principalArn: null, invokedBy: null },
        errorMessage: denied(
          'because no identity-based policy allows the ecr:BatchGetImage action'
        ),
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        reason: 'caller-identity-policy',
        nextSteps: [
          expect.stringContaining(`Grant role platform-deployer (${SESSION})`),
          'Re-run the deploy.',
        ],
      });
    });

    it('falls back to "the caller\'s IAM role" when nobody is named', () => {
      // Arrange
      const call = makeCall({
        caller: { arn: null, type: null, principalArn: null, invokedBy: null },
        errorMessage:
          'The caller is not authorized to perform: ecr:BatchGetImage because no identity-based policy allows the ecr:BatchGetImage action',
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        reason: 'caller-identity-policy',
        explanation: expect.stringMatching(
          /^The caller's IAM role may not call ecr:BatchGetImage on the image repository because/
        ) as unknown,
        nextSteps: [
          expect.stringMatching(/^Grant the caller's IAM role ecr:BatchGetImage/),
          'Re-run the deploy.',
        ],
        repositoryArnInMessage: null,
      });
    });

    it('names a non-ECR resource as printed', () => {
      // Arrange
      const call = makeCall({
        errorMessage:
          'User: x is not authorized to perform: ecr:BatchGetImage on resource: * because no identity-based policy allows the ecr:BatchGetImage action',
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        reason: 'caller-identity-policy',
        explanation: expect.stringContaining('ecr:BatchGetImage on * because') as unknown,
        repositoryArnInMessage: null,
      });
    });
  });

  describe('D: explicit denies', () => {
    it.each([
      [
        'service control policy',
        'arn:aws:organizations::333333333333:policy/o-a1b2c3d4e5/service_control_policy/p-examplescp1',
        'Ask your AWS Organizations administrator to review the service control policy arn:aws:organizations::333333333333:policy/o-a1b2c3d4e5/service_control_policy/p-examplescp1: it denies',
      ],
      [
        'resource control policy',
        'arn:aws:organizations::333333333333:policy/o-a1b2c3d4e5/resource_control_policy/p-examplercp1',
        'Ask your AWS Organizations administrator to review the resource control policy arn:aws:organizations::333333333333:policy/o-a1b2c3d4e5/resource_control_policy/p-examplercp1: it denies',
      ],
      [
        'resource-based policy',
        null,
        `Ask the owner of ${REPOSITORY} to review the Deny statement`,
      ],
      [
        'identity-based policy',
        'arn:aws:iam::222222222222:policy/DenyEcr',
        'Remove or narrow the Deny statement for ecr:BatchGetImage in the IAM policies of role platform-deployer arn:aws:iam::222222222222:policy/DenyEcr.',
      ],
      [
        'permissions boundary',
        'arn:aws:iam::222222222222:policy/Boundary',
        'Review the permissions boundary arn:aws:iam::222222222222:policy/Boundary of role platform-deployer: it denies',
      ],
      [
        'session policy',
        null,
        'Review the session policy your deployment tool passes when it assumes role platform-deployer',
      ],
      [
        'VPC endpoint policy',
        'arn:aws:ec2:us-east-1:111111111111:vpc-endpoint/vpce-0abc1234',
        'Ask your network administrator to review the policy of the Amazon ECR VPC endpoint arn:aws:ec2:us-east-1:111111111111:vpc-endpoint/vpce-0abc1234 the deploy goes through',
      ],
    ])('sends a deny in a %s to the right person', (kind, policyArn, step) => {
      // Arrange
      const article = kind.startsWith('identity') ? 'an' : 'a';
      const call = makeCall({
        errorCode: 'AccessDenied',
        errorMessage: denied(
          `with an explicit deny in ${article} ${kind}${policyArn === null ? '' : `: ${policyArn}`}`
        ),
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'needs-human',
        reason: 'explicit-deny',
        explanation: `An explicit deny in a ${kind}${policyArn === null ? '' : ` (${policyArn})`} stops role platform-deployer from calling ecr:BatchGetImage on ${REPOSITORY}, and lambda-ecr-autofix never loosens a deny.`,
        nextSteps: [
          expect.stringContaining(step),
          'Re-run the deploy once the deny no longer applies.',
        ],
        repositoryArnInMessage: REPOSITORY,
      });
    });

    it('drops a sentence-ending period from the policy ARN', () => {
      // Arrange
      const call = makeCall({
        errorMessage: denied(
          'with an explicit deny in a service control policy: arn:aws:organizations::333333333333:policy/o-a1/service_control_policy/p-1.'
        ),
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result.explanation).toContain(
        '(arn:aws:organizations::333333333333:policy/o-a1/service_control_policy/p-1) stops'
      );
    });
  });

  describe('guardrails without an allow', () => {
    it.each([
      [
        'permissions boundary',
        'permissions-boundary',
        'Add ecr:BatchGetImage and ecr:GetDownloadUrlForLayer',
      ],
      ['session policy', 'session-policy', 'in the session policy your deployment tool passes'],
      [
        'service control policy',
        'service-control-policy',
        'in the service control policies that apply to account 222222222222',
      ],
      ['VPC endpoint policy', 'vpc-endpoint-policy', 'com.amazonaws.us-east-1.ecr.dkr'],
    ])('classifies "no %s allows" as %s', (kind, reason, step) => {
      // Arrange
      const call = makeCall({
        errorMessage: denied(`because no ${kind} allows the ecr:BatchGetImage action`),
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        kind: 'needs-human',
        reason,
        explanation: expect.stringContaining(REPOSITORY) as unknown,
        nextSteps: [expect.stringContaining(step), 'Re-run the deploy.'],
        repositoryArnInMessage: REPOSITORY,
      });
    });

    it.each([
      denied(''),
      denied('because no resource control policy allows the ecr:BatchGetImage action'),
      'User: x is not authorized to perform: ecr:InitiateLayerUpload',
    ])('does not guess at an unrecognised ECR denial: %j', (errorMessage) => {
      // Arrange
      const call = makeCall({ errorMessage, eventId: 'event-42' });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        kind: 'needs-human',
        reason: 'unrecognized-ecr-denial',
        explanation: expect.stringContaining(
          'for a reason lambda-ecr-autofix does not recognise'
        ) as unknown,
        nextSteps: [expect.stringContaining('CloudTrail event event-42')],
      });
    });
  });

  describe('denials of other services', () => {
    it.each([
      'User: arn:aws:iam::222222222222:user/dev.alice is not authorized to perform: iam:PassRole on resource: arn:aws:iam::222222222222:role/exec',
      'User: x is not authorized to perform: lambda:CreateFunction on resource: arn:aws:lambda:us-east-1:222222222222:function:f with an explicit deny in a service control policy',
      'User: x is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:222222222222:key/1',
      'User: x is not authorized to perform: ecr-public:GetAuthorizationToken on resource: *',
    ])('ignores %j', (errorMessage) => {
      // Arrange
      const call = makeCall({ errorMessage });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({ kind: 'ignored', reason: 'not-an-ecr-failure' });
    });
  });

  describe('E: the image does not exist', () => {
    it('names the tag, the repository and the account', () => {
      // Arrange
      const uri = '222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:2.0.0';
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage: `Source image ${uri} does not exist. Provide a valid source image.`,
        requestImageUri: uri,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'needs-human',
        reason: 'image-not-found',
        explanation: `Image ${uri} does not exist: either the tag 2.0.0 is not in repository orders-api or the repository itself does not exist in account 222222222222 (us-east-1).`,
        nextSteps: [
          'Push the image with tag 2.0.0 to orders-api before deploying, or deploy a tag or digest that exists.',
          'Check with: aws ecr describe-images --registry-id 222222222222 --repository-name orders-api --image-ids imageTag=2.0.0 --region us-east-1',
        ],
        repositoryArnInMessage: null,
      });
    });

    it('adds the "latest" hint for a latest tag', () => {
      // Arrange
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage:
          'Source image 222222222222.dkr.ecr.us-east-1.amazonaws.com/cdk-assets:latest does not exist. Provide a valid source image.',
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        reason: 'image-not-found',
        nextSteps: [
          expect.any(String),
          expect.any(String),
          expect.stringContaining('CDK container-asset repositories'),
        ],
      });
    });

    it('names a digest when the image is pinned by one', () => {
      // Arrange
      const uri = `111111111111.dkr.ecr.us-east-1.amazonaws.com/platform/app@${DIGEST}`;
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage: `Source image ${uri} does not exist. Provide a valid source image.`,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        reason: 'image-not-found',
        explanation: expect.stringContaining(
          `either the digest ${DIGEST} is not in repository platform/app`
        ) as unknown,
        nextSteps: [
          expect.any(String),
          expect.stringContaining(`--image-ids imageDigest=${DIGEST}`),
        ],
      });
    });

    it.each([
      ['Source image orders-api:2.0 does not exist.', 'Image orders-api:2.0 does not exist'],
      ['Source image does not exist.', 'Image (not named in the event) does not exist'],
    ])('stays generic when the URI is unusable: %j', (errorMessage, start) => {
      // Arrange
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage,
        requestImageUri: null,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'needs-human',
        reason: 'image-not-found',
        explanation: `${start}: its tag or digest, or the repository itself, is missing.`,
        nextSteps: ['Push the image before deploying, or deploy a tag or digest that exists.'],
        repositoryArnInMessage: null,
      });
    });
  });

  describe('F: the image URI is not valid', () => {
    it('recognises an image in another Region and says how to bring it over', () => {
      // Arrange
      const uri = '111111111111.dkr.ecr.eu-central-1.amazonaws.com/tools/ses-provider:1.0.0';
      const call = makeCall({
        region: 'eu-west-1',
        errorCode: 'InvalidParameterValueException',
        errorMessage: `Source image ${uri} is not valid. Provide a valid source image.`,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'needs-human',
        reason: 'cross-region-image',
        explanation: `Image ${uri} is in eu-central-1 but the function is in eu-west-1, and Lambda only runs images from the function's own Region.`,
        nextSteps: [
          expect.stringContaining('Replicate tools/ses-provider from eu-central-1 to eu-west-1'),
          'Deploy with the image URI in eu-west-1: 111111111111.dkr.ecr.eu-west-1.amazonaws.com/tools/ses-provider:1.0.0.',
        ],
        repositoryArnInMessage: null,
      });
    });

    it.each([
      [
        'Source image orders-api:latest is not valid. Provide a valid source image.',
        'the image URI names no registry',
      ],
      [
        'Source image 222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api is not valid. Provide a valid source image.',
        'neither a tag nor a digest',
      ],
      [
        'Source image 222222222222.dkr.ecr-fips.us-east-1.amazonaws.com/orders-api:1 is not valid.',
        'Lambda does not support FIPS ECR endpoints',
      ],
    ])('names what is wrong with an invalid URI: %j', (errorMessage, problem) => {
      // Arrange
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage,
        requestImageUri: null,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        kind: 'needs-human',
        reason: 'invalid-image-uri',
        explanation: expect.stringContaining(problem) as unknown,
      });
      expect(result.explanation).toMatch(/^Lambda rejected the image URI \S+: .+\.$/);
    });

    it('says so when a well-formed URI in the right Region is still refused', () => {
      // Arrange
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage:
          'Source image 222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:1.4.2 is not valid. Provide a valid source image.',
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        reason: 'invalid-image-uri',
        explanation: expect.stringContaining(
          'although it is a well-formed Amazon ECR URI'
        ) as unknown,
      });
    });

    it('says when the event names no URI at all', () => {
      // Arrange
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage: 'Source image is not valid. Provide a valid source image.',
        requestImageUri: null,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        reason: 'invalid-image-uri',
        explanation:
          'Lambda rejected the image URI as not valid, and the event does not say which URI it was.',
      });
    });
  });

  describe('G: unsupported media type', () => {
    it.each([
      'The image manifest, config or layer media type for the source image 222222222222.dkr.ecr.us-east-1.amazonaws.com/bedrock-proxy-api:latest is not supported.',
      'The image manifest or layer media type for the source image 222222222222.dkr.ecr.us-east-1.amazonaws.com/bedrock-proxy-api:latest is not supported.',
    ])('hints at a single-platform build for %j', (errorMessage) => {
      // Arrange
      const call = makeCall({ errorCode: 'InvalidParameterValueException', errorMessage });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        kind: 'needs-human',
        reason: 'unsupported-media-type',
        explanation: expect.stringContaining(
          'Lambda cannot use image 222222222222.dkr.ecr.us-east-1.amazonaws.com/bedrock-proxy-api:latest'
        ) as unknown,
        nextSteps: [
          expect.stringContaining(
            'docker buildx build --platform linux/amd64 --provenance=false --sbom=false'
          ),
          'Push it and deploy the new tag or digest.',
        ],
        repositoryArnInMessage: null,
      });
    });

    it('copes with a message that names no image', () => {
      // Arrange
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage: 'The image manifest or layer media type is not supported.',
        requestImageUri: null,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result.explanation).toContain('Lambda cannot use image (not named in the event)');
    });
  });

  describe('H: cross-account images before 2021-11-04', () => {
    it.each([
      [
        '111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/node:11.6-alpine',
        'Lambda refused image 111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/node:11.6-alpine because',
      ],
      [null, 'Lambda refused image (not named in the event) because'],
    ])('explains the historical restriction for %p', (requestImageUri, start) => {
      // Arrange
      const call = makeCall({
        errorCode: 'InvalidParameterValueException',
        errorMessage: 'Image repository must be in the same account as the caller',
        requestImageUri,
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toMatchObject({
        kind: 'needs-human',
        reason: 'legacy-cross-account-unsupported',
        explanation: expect.stringContaining(start) as unknown,
        nextSteps: [expect.stringContaining('2021-11-04'), expect.any(String)],
      });
    });
  });

  describe('failures that are not about the image', () => {
    it.each([
      [
        'InvalidParameterValueException',
        'The role defined for the function cannot be assumed by Lambda.',
      ],
      [
        'InvalidParameterValueException',
        'Lambda layers are not supported for functions created with container images.',
      ],
      [
        'InvalidParameterValueException',
        "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.",
      ],
      [
        'KMSAccessDeniedException',
        'Lambda was unable to decrypt the environment variables because KMS access was denied.',
      ],
      ['CodeArtifactUserPendingException', 'The code artifact is not ready yet.'],
      ['TooManyRequestsException', 'Rate exceeded'],
      ['ResourceConflictException', 'Function already exist: orders-api'],
      ['ServiceException', ''],
    ])('ignores %s "%s"', (errorCode, errorMessage) => {
      // Arrange
      const call = makeCall({ errorCode, errorMessage });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'ignored',
        reason: 'not-an-ecr-failure',
        explanation: `The CreateFunction call failed with ${errorCode} ("${errorMessage}"), which is not an Amazon ECR image-access failure.`,
      });
    });

    it('clips a long message in the explanation', () => {
      // Arrange
      const call = makeCall({ errorCode: 'ServiceException', errorMessage: 'x'.repeat(5000) });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result.explanation).toContain(`${'x'.repeat(299)}\u2026`);
      expect(result.explanation.length).toBeLessThan(450);
    });

    it.each([
      ['orders-worker', 'Function orders-worker is a zip package'],
      [null, 'The function is a zip package'],
    ])('ignores a zip package failure (function %p)', (functionName, start) => {
      // Arrange
      const call = makeCall({
        functionName,
        looksLikeZip: true,
        requestImageUri: null,
        errorCode: 'InvalidParameterValueException',
        errorMessage: 'The role defined for the function cannot be assumed by Lambda.',
      });

      // Act
      const result = classifyFailure(call);

      // Assert
      expect(result).toEqual({
        kind: 'ignored',
        reason: 'zip-package',
        explanation: `${start}, so its InvalidParameterValueException failure has nothing to do with Amazon ECR.`,
      });
    });
  });
});

describe('crossRegionNextSteps', () => {
  const image: ImageReference = {
    uri: '111111111111.dkr.ecr.eu-central-1.amazonaws.com/app:1@' + DIGEST,
    registryAccount: '111111111111',
    region: 'eu-central-1',
    partition: 'aws',
    repositoryName: 'app',
    tag: '1',
    digest: DIGEST,
  };

  it.each([
    [{}, `111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1@${DIGEST}`],
    [{ tag: null }, `111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app@${DIGEST}`],
    [{ digest: null }, '111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1'],
    [{ tag: null, digest: null }, '111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app'],
  ])('keeps the tag and digest of %p in the suggested URI', (change, uri) => {
    // Act
    const steps = crossRegionNextSteps({ ...image, ...change }, 'cn-north-1');

    // Assert
    expect(steps[1]).toBe(`Deploy with the image URI in cn-north-1: ${uri}.`);
  });
});
