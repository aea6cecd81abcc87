/**
 * Where a fix would go: the repository (registry account, Region, partition, name) from the image, and who it is for
 * (the consumer account from `recipientAccountId`, the function ARN from the function name). Nothing here trusts an
 * account id from request fields: a caller could name any account in a function ARN.
 */
import type { Classification } from './classify';
import { crossRegionNextSteps } from './classify';
import type { DeployCall, ImageReference, NeedsHumanReason, Target } from './decision';
import { parseFunctionName } from './function-name';
import { findImageUriInMessage, parseImageUri } from './image-uri';
import { partitionOfRegion } from './partition';
import { imageFromRepositoryArn, repositoryArnOf } from './repository-arn';

export { partitionOfRegion } from './partition';

/** The target to fix, or why the fixer must not act (with next steps for a person). */
export type LocateResult =
  | { readonly ok: true; readonly target: Target }
  | {
      readonly ok: false;
      readonly reason: NeedsHumanReason;
      readonly explanation: string;
      readonly nextSteps: string[];
    };

/** Locates the repository to fix and the function it is for; refuses what the fixer must not act on. */
export function locateTarget(call: DeployCall, classification: Classification): LocateResult {
  const found = findImage(call, classification);
  if (found === null) {
    return refuse(
      'image-uri-unknown',
      'The event does not say which image; the request has no image URI and the error message names none.',
      [
        `Find the image URI the deploy of ${call.functionName ?? 'the function'} used in the deploy tool's log (aws lambda get-function shows the image from before a failed update, not this one).`,
        "Check that the image's repository policy lets lambda.amazonaws.com pull it, then re-run the deploy.",
      ]
    );
  }
  if (!found.ok) {
    return refuse('invalid-image-uri', `The image reference is not usable: ${found.problem}.`, [
      'Deploy with a URI of the form ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (or @sha256:DIGEST).',
    ]);
  }
  const image = found.image;
  if (image.region !== call.region) {
    return refuse(
      'cross-region-image',
      `Image ${image.uri} is in ${image.region} but the function is in ${call.region}, and Lambda only runs images from the function's own Region.`,
      crossRegionNextSteps(image, call.region)
    );
  }
  const functionName = bareFunctionName(call.functionName, call.consumerAccount);
  const partition = partitionOfRegion(call.region);
  return {
    ok: true,
    target: {
      partition,
      region: call.region,
      registryAccount: image.registryAccount,
      repositoryName: image.repositoryName,
      repositoryArn: repositoryArnOf(
        image.partition,
        image.region,
        image.registryAccount,
        image.repositoryName
      ),
      consumerAccount: call.consumerAccount,
      functionArn:
        functionName === null
          ? null
          : `arn:${partition}:lambda:${call.region}:${call.consumerAccount}:function:${functionName}`,
      functionName,
      image,
      crossAccount: image.registryAccount !== call.consumerAccount,
    },
  };
}

function refuse(reason: NeedsHumanReason, explanation: string, nextSteps: string[]): LocateResult {
  return { ok: false, reason, explanation, nextSteps };
}

type FoundImage = { ok: true; image: ImageReference } | { ok: false; problem: string };

/** The image from the request, else the URI in the error message, else the repository ARN in an IAM message. */
function findImage(call: DeployCall, classification: Classification): FoundImage | null {
  const uri = call.requestImageUri ?? findImageUriInMessage(call.errorMessage);
  if (uri !== null) return parseImageUri(uri);
  const repositoryArn =
    classification.kind === 'ignored' ? null : classification.repositoryArnInMessage;
  return repositoryArn === null ? null : imageFromRepositoryArn(repositoryArn);
}

/**
 * The bare name in any accepted form (qualifier dropped; see function-name.ts); null when absent, not a function name,
 * or an ARN of another account than the consumer's (the parser already refuses such events as inconsistent).
 */
function bareFunctionName(functionName: string | null, consumerAccount: string): string | null {
  if (functionName === null) return null;
  const reference = parseFunctionName(functionName);
  if (reference === null) return null;
  return reference.account === null || reference.account === consumerAccount
    ? reference.name
    : null;
}
