/**
 * Property-based tests of the event side of the decision core: classification, location and tool detection never
 * throw on arbitrary error messages and request values, and always answer in the shared vocabulary.
 */
import fc from 'fast-check';

import type { Classification } from '../../lambda/domain/classify';
import { classifyFailure } from '../../lambda/domain/classify';
import type { DeployCall } from '../../lambda/domain/decision';
import { REASONS } from '../../lambda/domain/decision';
import type { LocateResult } from '../../lambda/domain/locate';
import { locateTarget } from '../../lambda/domain/locate';
import { deployToolOf } from '../../lambda/domain/user-agent';
import { makeCall } from '../support/events';

const RUNS = { numRuns: 1000 };

/** Pieces of the messages the classifier knows, to build near-misses and mixtures. */
const FRAGMENTS = [
  'User:',
  'arn:aws:sts::222222222222:assumed-role/deployer/s',
  'is not authorized to perform:',
  'ecr:BatchGetImage',
  'iam:PassRole',
  'on resource:',
  'arn:aws:ecr:us-east-1:111111111111:repository/platform/app',
  'arn:aws-cn:ecr:cn-north-1:111111111111:repository/app',
  'arn:aws:ecr:cn-north-1:111111111111:repository/app',
  'because no',
  'identity-based policy',
  'resource-based policy',
  'permissions boundary',
  'session policy',
  'service control policy',
  'resource control policy',
  'VPC endpoint policy',
  'allows the ecr:BatchGetImage action',
  'with an explicit deny in a',
  'arn:aws:organizations::333333333333:policy/o-a1/service_control_policy/p-1',
  'Source image',
  '111111111111.dkr.ecr.us-east-1.amazonaws.com/app:1',
  '111111111111.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:abc',
  'repo:latest',
  'does not exist.',
  'is not valid.',
  'The image manifest, config or layer media type for the source image',
  'is not supported.',
  'Image repository must be in the same account as the caller',
  'Lambda does not have permission to access the ECR image.',
  '',
  '.',
  ':',
];
const message = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 14 }).map((parts) => parts.join(' ')),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 14 }).map((parts) => parts.join(''))
);
const errorCode = fc.oneof(
  fc.constantFrom(
    null,
    '',
    'AccessDeniedException',
    'AccessDenied',
    'InvalidParameterValueException'
  ),
  fc.string({ maxLength: 40 })
);
const optionalText = fc.oneof(fc.constant(null), fc.string({ maxLength: 120 }));
const call = fc
  .record({
    errorCode,
    errorMessage: message,
    functionName: optionalText,
    requestImageUri: fc.oneof(
      optionalText,
      fc.constant('111111111111.dkr.ecr.us-east-1.amazonaws.com/platform/app:1')
    ),
    looksLikeZip: fc.boolean(),
    userAgent: optionalText,
    region: fc.constantFrom('us-east-1', 'eu-west-1', 'cn-north-1'),
    principalArn: optionalText,
    invokedBy: fc.constantFrom(null, 'cloudformation.amazonaws.com', 'console.amazonaws.com'),
  })
  .map(({ principalArn, invokedBy, ...fields }) =>
    makeCall({ ...fields, caller: { arn: principalArn, type: null, principalArn, invokedBy } })
  );

const NEEDS_HUMAN: readonly string[] = REASONS['needs-human'];
const IGNORED: readonly string[] = REASONS.ignored;

/** Whether a classification speaks the shared vocabulary and names only ARNs that are in the message. */
function isWellFormed(result: Classification, message: string): boolean {
  if (!result.explanation.endsWith('.')) return false;
  if (result.kind === 'ignored') return IGNORED.includes(result.reason);
  const arnInMessage =
    result.repositoryArnInMessage === null || message.includes(result.repositoryArnInMessage);
  if (result.kind === 'repository-policy') return arnInMessage;
  return arnInMessage && NEEDS_HUMAN.includes(result.reason) && result.nextSteps.length > 0;
}

/** Whether a location keeps the call's account and Region, or refuses in the shared vocabulary. */
function isSafeLocation(result: LocateResult, deployCall: DeployCall): boolean {
  if (!result.ok) return NEEDS_HUMAN.includes(result.reason) && result.nextSteps.length > 0;
  const { target } = result;
  return (
    target.consumerAccount === deployCall.consumerAccount &&
    target.region === deployCall.region &&
    target.image.region === deployCall.region &&
    (target.functionArn === null ||
      target.functionArn.includes(`:${deployCall.consumerAccount}:function:`))
  );
}

describe('classification properties', () => {
  it('classifies any failure into the shared vocabulary without throwing', () => {
    fc.assert(
      fc.property(call, (deployCall) => {
        const result = classifyFailure(deployCall);
        expect(isWellFormed(result, deployCall.errorMessage)).toBe(true);
      }),
      RUNS
    );
  });

  it('always reads message A as a repository-policy failure, whatever surrounds it', () => {
    fc.assert(
      fc.property(call, fc.string(), (deployCall, before) => {
        const result = classifyFailure({
          ...deployCall,
          errorCode: 'AccessDeniedException',
          errorMessage: `${before} Lambda does not have permission to access the ECR image. Check the ECR permissions.`,
        });
        expect(result.kind).toBe('repository-policy');
      }),
      RUNS
    );
  });

  it('locates any classified failure without throwing, never trusting a request account', () => {
    fc.assert(
      fc.property(call, (deployCall) => {
        const result = locateTarget(deployCall, classifyFailure(deployCall));
        expect(isSafeLocation(result, deployCall)).toBe(true);
      }),
      RUNS
    );
  });

  it('names a tool for any call without throwing', () => {
    fc.assert(
      fc.property(call, (deployCall) => {
        const tool = deployToolOf(deployCall);
        expect(tool.label.length).toBeGreaterThan(0);
      }),
      RUNS
    );
  });
});
