/**
 * What a failed Lambda deploy call means for the fixer, from its `errorCode` and `errorMessage` alone: a missing
 * repository-policy grant (fixable), a cause a person must handle (with the specific reason and next steps), or not
 * an Amazon ECR image failure at all.
 *
 * The error table (letters are used in the comments below):
 * - A `Lambda does not have permission to access the ECR image` (or the function-state wording `The function does not
 *   have permission to access the specified image`) → repository policy (https://repost.aws/knowledge-center/lambda-ecr-image).
 * - B IAM denial of an `ecr:` action "because no resource-based policy allows" → repository policy.
 * - C … "because no identity-based policy allows" → the caller's own IAM policy (needs a human).
 * - D … "with an explicit deny in a <policy type>", or "because no <guardrail> allows" → needs a human; a deny is
 *   never loosened (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
 * - E/E2 `Source image URI does not exist` (missing tag, digest or repository), F `… is not valid` (malformed URI, or
 *   an image in another Region), G unsupported manifest/config/layer media type, H `Image repository must be in the same
 *   account as the caller` (before 2021-11-04) → needs a human.
 * - Anything else (execution role, layers/handler/runtime with an image, KMS, throttling, conflicts, other services'
 *   denials) → ignored. Image-related Lambda errors: https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-images.html
 */
import { cleanText } from './bounded-text';
import type { DeployCall, IgnoredReason, ImageReference, NeedsHumanReason } from './decision';
import { findImageUriInMessage, parseImageUri } from './image-uri';
import { registryHostOf } from './partition';
import { describePrincipal } from './principal-arn';
import { findRepositoryArnInMessage } from './repository-arn';

/** Fixable by a repository-policy grant, a case for a person (reason + next steps), or not ours. */
export type Classification =
  | {
      readonly kind: 'repository-policy';
      readonly explanation: string;
      readonly repositoryArnInMessage: string | null;
    }
  | {
      readonly kind: 'needs-human';
      readonly reason: NeedsHumanReason;
      readonly explanation: string;
      readonly nextSteps: string[];
      readonly repositoryArnInMessage: string | null;
    }
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason; readonly explanation: string };

/** The two actions Lambda needs on the repository to pull an image. */
const PULL_ACTIONS = 'ecr:BatchGetImage and ecr:GetDownloadUrlForLayer';

/**
 * Error A: the repository policy does not let the `lambda.amazonaws.com` service principal pull, both as the API
 * error (https://repost.aws/knowledge-center/lambda-ecr-image) and as the function-state wording
 * ("The function does not have permission to access the specified image").
 */
const LAMBDA_MAY_NOT_PULL = /does not have permission to access the (?:ECR|specified) image/i;
/** Errors E and E2: the tag/digest, or the whole repository, does not exist. */
const IMAGE_NOT_FOUND = /source image \S* ?does not exist/i;
/** Error F: a malformed URI, or an image in another Region. */
const IMAGE_NOT_VALID = /source image \S* ?is not valid/i;
/** Error G, both wordings: "The image manifest, config or layer media type …" and "The image manifest or layer …". */
const MEDIA_TYPE_NOT_SUPPORTED =
  /image manifest(?:, config)? or layer media type\b.*?\bis not supported/i;
/** Error H: before 2021-11-04 Lambda only ran images from the function's own account. */
const SAME_ACCOUNT_ONLY = /image repository must be in the same account as the caller/i;

/**
 * IAM's access-denied grammar: "User: PRINCIPAL is not authorized to perform: ACTION on resource: RESOURCE
 * (because no TYPE allows the ACTION action | with an explicit deny in a TYPE[: POLICY-ARN])"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
 */
const NOT_AUTHORIZED = /\bis not authorized to perform:?\s*([\w-]+:[\w*-]+)/i;
const DENIED_PRINCIPAL = /\bUser:\s*(\S+)\s+is not authorized/i;
const DENIED_RESOURCE = /\bon resource:?\s*(\S+)/i;
const EXPLICIT_DENY =
  /\bwith an explicit deny in (?:an? )?(service control policy|resource control policy|identity-based policy|resource-based policy|permissions boundary|session policy|VPC endpoint policy)(?::?\s*(arn:\S+?)\.?(?=\s|$))?/i;
const NO_POLICY_ALLOWS =
  /\bbecause no (identity-based policy|resource-based policy|permissions boundary|session policy|service control policy|VPC endpoint policy) allows\b/i;

/** Classifies a deploy call's failure (error table A–H in the module comment); never throws. */
export function classifyFailure(call: DeployCall): Classification {
  if (!call.errorCode) {
    return ignored('call-succeeded', `The ${call.api} call succeeded, so there is nothing to fix.`);
  }
  const message = call.errorMessage;
  if (LAMBDA_MAY_NOT_PULL.test(message)) {
    return {
      kind: 'repository-policy',
      explanation: `Lambda may not pull ${clip(call.requestImageUri ?? 'the image')} because the repository policy does not let the lambda.amazonaws.com service principal call ${PULL_ACTIONS}.`,
      repositoryArnInMessage: null,
    };
  }
  const denial = parseDenial(message);
  if (denial !== null && /^ecr:/i.test(denial.action)) return classifyEcrDenial(call, denial);
  const imageUri = findImageUriInMessage(message) ?? call.requestImageUri;
  if (IMAGE_NOT_FOUND.test(message)) return imageNotFound(imageUri);
  if (IMAGE_NOT_VALID.test(message)) return imageNotValid(call, imageUri);
  if (MEDIA_TYPE_NOT_SUPPORTED.test(message)) return unsupportedMediaType(imageUri);
  if (SAME_ACCOUNT_ONLY.test(message)) return sameAccountOnly(imageUri);
  // Only now, so that an ECR image message wins even when the request also looks like a zip package.
  if (call.looksLikeZip) {
    return ignored(
      'zip-package',
      `${functionLabel(call)} is a zip package, so its ${clip(call.errorCode)} failure has nothing to do with Amazon ECR.`
    );
  }
  return ignored(
    'not-an-ecr-failure',
    `The ${call.api} call failed with ${clip(call.errorCode)} ("${clip(message)}"), which is not an Amazon ECR image-access failure.`
  );
}

/**
 * What to do when the image is in another Region than the function: Lambda needs the repository in the function's
 * Region (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html).
 */
export function crossRegionNextSteps(image: ImageReference, functionRegion: string): string[] {
  const reference =
    (image.tag === null ? '' : `:${image.tag}`) + (image.digest === null ? '' : `@${image.digest}`);
  return [
    `Replicate ${image.repositoryName} from ${image.region} to ${functionRegion} with Amazon ECR replication (https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html), or push the image to a repository in ${functionRegion}.`,
    `Deploy with the image URI in ${functionRegion}: ${registryHostOf(image.registryAccount, functionRegion)}/${image.repositoryName}${reference}.`,
  ];
}

interface Denial {
  readonly principalArn: string | null;
  readonly action: string;
  /** The repository ARN when the resource is one, else the resource as printed, else null. */
  readonly resource: string | null;
  readonly repositoryArn: string | null;
  readonly message: string;
}

function parseDenial(message: string): Denial | null {
  const action = NOT_AUTHORIZED.exec(message);
  if (action === null) return null;
  const repositoryArn = findRepositoryArnInMessage(message);
  return {
    // Group 1 is mandatory in each of these patterns.
    action: action[1] as string,
    principalArn: DENIED_PRINCIPAL.exec(message)?.[1] ?? null,
    resource: repositoryArn ?? DENIED_RESOURCE.exec(message)?.[1] ?? null,
    repositoryArn,
    message,
  };
}

function classifyEcrDenial(call: DeployCall, denial: Denial): Classification {
  const repository = denial.resource ?? 'the image repository';
  // The IAM role or user behind the call; the message names the session, CloudTrail the role.
  const callerArn = call.caller.principalArn ?? denial.principalArn;
  const caller = callerArn === null ? "the caller's IAM role" : describePrincipal(callerArn);
  const explicit = EXPLICIT_DENY.exec(denial.message);
  if (explicit !== null) {
    return explicitDeny(call, denial, {
      // Group 1 is mandatory; group 2 (the policy ARN) is not always printed.
      kind: (explicit[1] as string).toLowerCase(),
      policyArn: explicit[2] ?? null,
      repository,
      caller,
    });
  }
  const implicit = NO_POLICY_ALLOWS.exec(denial.message)?.[1]?.toLowerCase();
  const rerun = 'Re-run the deploy.';
  const grantTo = `${PULL_ACTIONS} on ${repository}`;
  switch (implicit) {
    case 'resource-based policy':
      return {
        kind: 'repository-policy',
        explanation: `The repository policy of ${repository} does not let ${caller} in account ${call.consumerAccount} call ${denial.action} (no resource-based policy allows it).`,
        repositoryArnInMessage: denial.repositoryArn,
      };
    case 'identity-based policy':
      return needsHuman(
        'caller-identity-policy',
        `${capitalize(caller)} may not call ${denial.action} on ${repository} because no identity-based policy allows it, which a repository policy cannot fix.`,
        [
          `Grant ${caller}${callerArn === null ? '' : ` (${callerArn})`} ${grantTo} in its IAM policy.`,
          rerun,
        ],
        denial.repositoryArn
      );
    case 'permissions boundary':
      return needsHuman(
        'permissions-boundary',
        `The permissions boundary of ${caller} does not allow ${denial.action} on ${repository}.`,
        [`Add ${grantTo} to the permissions boundary of ${caller}.`, rerun],
        denial.repositoryArn
      );
    case 'session policy':
      return needsHuman(
        'session-policy',
        `The session policy of ${caller}'s session does not allow ${denial.action} on ${repository}.`,
        [
          `Allow ${grantTo} in the session policy your deployment tool passes when it assumes ${caller}, or assume the role without one.`,
          rerun,
        ],
        denial.repositoryArn
      );
    case 'service control policy':
      return needsHuman(
        'service-control-policy',
        `No service control policy allows ${denial.action} for account ${call.consumerAccount}, so ${caller} may not call it on ${repository}.`,
        [
          `Ask your AWS Organizations administrator to allow ${PULL_ACTIONS} in the service control policies that apply to account ${call.consumerAccount}.`,
          rerun,
        ],
        denial.repositoryArn
      );
    case 'vpc endpoint policy':
      return needsHuman(
        'vpc-endpoint-policy',
        `The policy of the Amazon ECR VPC endpoint the call went through does not allow ${denial.action} on ${repository}.`,
        [
          `Ask your network administrator to allow ${grantTo} in the policy of the Amazon ECR VPC endpoints (com.amazonaws.${call.region}.ecr.dkr and ecr.api) the deploy goes through.`,
          rerun,
        ],
        denial.repositoryArn
      );
    default:
      return needsHuman(
        'unrecognized-ecr-denial',
        `${capitalize(caller)} was denied ${denial.action} on ${repository} for a reason lambda-ecr-autofix does not recognise ("${clip(denial.message)}").`,
        [
          `Read the error message of CloudTrail event ${call.eventId}, then check the repository policy of ${repository}, the IAM policies of ${caller} and the service control policies of account ${call.consumerAccount}.`,
        ],
        denial.repositoryArn
      );
  }
}

function explicitDeny(
  call: DeployCall,
  denial: Denial,
  deny: { kind: string; policyArn: string | null; repository: string; caller: string }
): Classification {
  const { kind, policyArn, repository, caller } = deny;
  const policy = policyArn === null ? '' : ` ${policyArn}`;
  const what = `${denial.action} on ${repository}`;
  const steps: Record<string, { label: string; step: string }> = {
    'service control policy': {
      label: 'service control policy',
      step: `Ask your AWS Organizations administrator to review the service control policy${policy}: it denies ${what} to ${caller} in account ${call.consumerAccount}.`,
    },
    'resource control policy': {
      label: 'resource control policy',
      step: `Ask your AWS Organizations administrator to review the resource control policy${policy}: it denies ${what}.`,
    },
    'resource-based policy': {
      label: 'resource-based policy',
      step: `Ask the owner of ${repository} to review the Deny statement in its repository policy that matches ${caller} and ${denial.action}.`,
    },
    'identity-based policy': {
      label: 'identity-based policy',
      step: `Remove or narrow the Deny statement for ${denial.action} in the IAM policies of ${caller}${policy}.`,
    },
    'permissions boundary': {
      label: 'permissions boundary',
      step: `Review the permissions boundary${policy} of ${caller}: it denies ${what}.`,
    },
    'session policy': {
      label: 'session policy',
      step: `Review the session policy your deployment tool passes when it assumes ${caller}: it denies ${what}.`,
    },
    'vpc endpoint policy': {
      label: 'VPC endpoint policy',
      step: `Ask your network administrator to review the policy of the Amazon ECR VPC endpoint${policy} the deploy goes through: it denies ${what}.`,
    },
  };
  // EXPLICIT_DENY only captures the kinds listed above.
  const { label, step } = steps[kind] as { label: string; step: string };
  return needsHuman(
    'explicit-deny',
    `An explicit deny in a ${label}${policyArn === null ? '' : ` (${policyArn})`} stops ${caller} from calling ${what}, and lambda-ecr-autofix never loosens a deny.`,
    [step, 'Re-run the deploy once the deny no longer applies.'],
    denial.repositoryArn
  );
}

function imageNotFound(uri: string | null): Classification {
  const parsed = uri === null ? null : parseImageUri(uri);
  if (parsed === null || !parsed.ok) {
    return needsHuman(
      'image-not-found',
      `Image ${clip(uri ?? '(not named in the event)')} does not exist: its tag or digest, or the repository itself, is missing.`,
      ['Push the image before deploying, or deploy a tag or digest that exists.'],
      null
    );
  }
  const image = parsed.image;
  const reference = image.digest === null ? `tag ${image.tag}` : `digest ${image.digest}`;
  const imageIds = image.digest === null ? `imageTag=${image.tag}` : `imageDigest=${image.digest}`;
  const steps = [
    `Push the image with ${reference} to ${image.repositoryName} before deploying, or deploy a tag or digest that exists.`,
    `Check with: aws ecr describe-images --registry-id ${image.registryAccount} --repository-name ${image.repositoryName} --image-ids ${imageIds} --region ${image.region}`,
  ];
  if (image.tag === 'latest') {
    steps.push(
      'Nothing creates a "latest" tag by itself (CDK container-asset repositories, for example, only hold content-hash tags): reference the tag your build pushes.'
    );
  }
  return needsHuman(
    'image-not-found',
    `Image ${image.uri} does not exist: either the ${reference} is not in repository ${image.repositoryName} or the repository itself does not exist in account ${image.registryAccount} (${image.region}).`,
    steps,
    null
  );
}

function imageNotValid(call: DeployCall, uri: string | null): Classification {
  const fixUri =
    "Deploy with a URI of the form ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (or @sha256:DIGEST) in the function's Region.";
  if (uri === null) {
    return needsHuman(
      'invalid-image-uri',
      'Lambda rejected the image URI as not valid, and the event does not say which URI it was.',
      [fixUri],
      null
    );
  }
  const parsed = parseImageUri(uri);
  if (!parsed.ok) {
    return needsHuman(
      'invalid-image-uri',
      `Lambda rejected the image URI ${clip(uri)}: ${parsed.problem}.`,
      [fixUri],
      null
    );
  }
  if (parsed.image.region !== call.region) {
    return needsHuman(
      'cross-region-image',
      `Image ${uri} is in ${parsed.image.region} but the function is in ${call.region}, and Lambda only runs images from the function's own Region.`,
      crossRegionNextSteps(parsed.image, call.region),
      null
    );
  }
  return needsHuman(
    'invalid-image-uri',
    `Lambda says the image URI ${uri} is not valid, although it is a well-formed Amazon ECR URI in the function's Region.`,
    [
      `Check that ${parsed.image.repositoryName} exists in account ${parsed.image.registryAccount} (${parsed.image.region}) and holds that image, then re-run the deploy.`,
    ],
    null
  );
}

function unsupportedMediaType(uri: string | null): Classification {
  return needsHuman(
    'unsupported-media-type',
    // Lambda takes Docker image manifest v2 schema 2 and OCI images (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html).
    `Lambda cannot use image ${clip(uri ?? '(not named in the event)')} because its manifest, config or layer media type is not supported (usually a multi-platform image index or a provenance/SBOM attestation).`,
    [
      'Rebuild it as a single-platform image (Docker image manifest v2 schema 2 or OCI) with docker buildx build --platform linux/amd64 --provenance=false --sbom=false (linux/arm64 for arm64 functions).',
      'Push it and deploy the new tag or digest.',
    ],
    null
  );
}

function sameAccountOnly(uri: string | null): Classification {
  return needsHuman(
    'legacy-cross-account-unsupported',
    `Lambda refused image ${clip(uri ?? '(not named in the event)')} because it is in another account, which Lambda only supports since 2021-11-04.`,
    [
      'Re-run the deploy: Lambda supports images from other accounts since 2021-11-04 (https://aws.amazon.com/blogs/compute/introducing-cross-account-amazon-ecr-access-for-aws-lambda/).',
      'If it then fails with an Amazon ECR permission error, lambda-ecr-autofix can grant the access in the repository policy.',
    ],
    null
  );
}

function needsHuman(
  reason: NeedsHumanReason,
  explanation: string,
  nextSteps: string[],
  repositoryArnInMessage: string | null
): Classification {
  return { kind: 'needs-human', reason, explanation, nextSteps, repositoryArnInMessage };
}

function ignored(reason: IgnoredReason, explanation: string): Classification {
  return { kind: 'ignored', reason, explanation };
}

function functionLabel(call: DeployCall): string {
  return call.functionName === null ? 'The function' : `Function ${clip(call.functionName)}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Keeps quoted messages, codes and URIs from the event to a readable length, cut on a code point boundary. */
function clip(text: string): string {
  return cleanText(text, 300);
}
