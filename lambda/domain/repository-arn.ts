/**
 * ECR repository ARNs (`arn:PARTITION:ecr:REGION:ACCOUNT:repository/NAME`): building them, finding them in IAM
 * access-denied messages, and turning one into an image reference when the message is all we have.
 * Format: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html#amazonelasticcontainerregistry-resources-for-iam-policies
 */
import type { ImageReference, Partition } from './decision';
import { REPOSITORY_NAME_SOURCE } from './image-uri';
import { isSupportedRegion, partitionOfRegion, registryHostOf } from './partition';

const ARN_SOURCE = `arn:(aws|aws-cn|aws-us-gov):ecr:([a-z0-9-]+):(\\d{12}):repository/(${REPOSITORY_NAME_SOURCE})`;
// Unanchored: a name ends where the ECR name grammar ends, so a sentence's trailing "." is not taken in.
const ARN_IN_TEXT = new RegExp(ARN_SOURCE);
const ARN_EXACT = new RegExp(`^${ARN_SOURCE}$`);

/** `arn:PARTITION:ecr:REGION:ACCOUNT:repository/NAME`. */
export function repositoryArnOf(
  partition: Partition,
  region: string,
  account: string,
  repositoryName: string
): string {
  return `arn:${partition}:ecr:${region}:${account}:repository/${repositoryName}`;
}

/** The first ECR repository ARN in a message (IAM's "… on resource: ARN …"), or null. */
export function findRepositoryArnInMessage(message: string): string | null {
  const match = ARN_IN_TEXT.exec(message);
  return match === null ? null : match[0];
}

/**
 * The image reference a repository ARN stands for, without tag or digest (an IAM message names the repository, not
 * the image); `uri` is the repository's registry path, e.g. `111111111111.dkr.ecr.eu-west-1.amazonaws.com/app`.
 */
export function imageFromRepositoryArn(
  arn: string
): { ok: true; image: ImageReference } | { ok: false; problem: string } {
  const match = ARN_EXACT.exec(arn);
  if (match === null) return { ok: false, problem: `"${arn}" is not an ECR repository ARN` };
  // All four groups of ARN_SOURCE are mandatory.
  const [partition, region, account, repositoryName] = match.slice(1) as [
    Partition,
    string,
    string,
    string,
  ];
  if (!isSupportedRegion(region) || partitionOfRegion(region) !== partition) {
    return {
      ok: false,
      problem: `${arn} names Region ${region}, which is not in partition ${partition}`,
    };
  }
  return {
    ok: true,
    image: {
      uri: `${registryHostOf(account, region)}/${repositoryName}`,
      registryAccount: account,
      region,
      partition,
      repositoryName,
      tag: null,
      digest: null,
    },
  };
}
