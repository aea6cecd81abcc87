/**
 * Amazon ECR image URIs as Lambda accepts them, and the URI embedded in Lambda's image error messages.
 *
 * Lambda runs container images only from Amazon ECR private repositories in the function's Region, referenced as
 * `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPOSITORY:TAG` or `…/REPOSITORY@sha256:DIGEST`; it does not support
 * the FIPS endpoints (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html).
 */
import type { ImageReference, Partition } from './decision';
import {
  dnsSuffixOf,
  isRegionName,
  isSupportedRegion,
  partitionOfRegion,
  registryHostOf,
} from './partition';

/** A parsed image reference, or what is wrong with the URI (a clause, no trailing period). */
export type ImageUriResult =
  | { readonly ok: true; readonly image: ImageReference }
  | { readonly ok: false; readonly problem: string };

const EXPECTED_SHAPE = 'ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG';

/**
 * ECR's repository-name rule: lower-case components separated by `.`, `_` or `-`, optionally namespaced with `/`
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html). Exported as source text so
 * the repository-ARN matcher bounds names exactly the same way.
 */
export const REPOSITORY_NAME_SOURCE =
  '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*';
const REPOSITORY_NAME = new RegExp(`^${REPOSITORY_NAME_SOURCE}$`);
/** Docker's tag grammar (https://docs.docker.com/reference/cli/docker/image/tag/): what a Docker client can push. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const ACCOUNT_ID = /^\d{12}$/;
// Any host shaped like an ECR private registry endpoint, including the FIPS (`dkr.ecr-fips`) and dual-stack
// (`dkr-ecr`, https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-requests.html) variants, in any letter case.
const ECR_LIKE_HOST = /^([^.]+)\.(dkr\.ecr|dkr\.ecr-fips|dkr-ecr|dkr-ecr-fips)\.([^.]+)\.(.+)$/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const SUPPORTED_SUFFIXES: readonly string[] = ['amazonaws.com', 'amazonaws.com.cn'];

/** Parses an image URI as Lambda would accept it; `problem` says in words what is wrong otherwise. */
export function parseImageUri(uri: string): ImageUriResult {
  if (uri === '') return fail('the image URI is empty');
  if (/\s/.test(uri)) return fail('the image URI contains whitespace');
  if (SCHEME.test(uri)) {
    return fail(
      `the image URI must not start with a scheme such as "https://"; write ${EXPECTED_SHAPE}`
    );
  }
  const slash = uri.indexOf('/');
  if (slash < 0) {
    return fail(
      `the image URI names no registry; Lambda only runs images from Amazon ECR private repositories (${EXPECTED_SHAPE})`
    );
  }
  const registry = parseRegistryHost(uri.slice(0, slash));
  if (!registry.ok) return registry;
  const reference = parseRepositoryPath(uri.slice(slash + 1));
  if (!reference.ok) return reference;
  return { ok: true, image: { uri, ...registry.registry, ...reference.reference } };
}

/** The image URI Lambda quotes in errors E/F/G (`Source image URI does not exist|is not valid|…is not supported`). */
export function findImageUriInMessage(message: string): string | null {
  const match = /source image (\S+) (?:does not exist|is not valid|is not supported)/i.exec(
    message
  );
  // Group 1 is mandatory in this pattern.
  return match === null ? null : (match[1] as string);
}

type Registry = Pick<ImageReference, 'registryAccount' | 'region' | 'partition'>;
type Reference = Pick<ImageReference, 'repositoryName' | 'tag' | 'digest'>;

function parseRegistryHost(
  host: string
): { ok: true; registry: Registry } | { ok: false; problem: string } {
  const match = ECR_LIKE_HOST.exec(host);
  if (match === null) {
    if (host.toLowerCase() === 'public.ecr.aws') {
      return fail(
        'public.ecr.aws is Amazon ECR Public; Lambda only runs images from Amazon ECR private repositories, so pull the image through or copy it into a private repository'
      );
    }
    return fail(
      `${clip(host)} is not an Amazon ECR private registry; Lambda only runs images from Amazon ECR private repositories (${EXPECTED_SHAPE})`
    );
  }
  // All four groups of ECR_LIKE_HOST are mandatory.
  const [account, endpoint, region, suffix] = match.slice(1) as [string, string, string, string];
  if (host !== host.toLowerCase()) {
    return fail(`the registry host ${clip(host)} must be written in lower case`);
  }
  if (endpoint.endsWith('-fips')) {
    return fail(
      `${clip(host)} is a FIPS endpoint; Lambda does not support FIPS ECR endpoints (dkr.ecr-fips)`
    );
  }
  if (endpoint === 'dkr-ecr') {
    return fail(
      `${clip(host)} is an ECR dual-stack endpoint, which Lambda does not document as an image source; use ${registryHostOf(account, region)} instead`
    );
  }
  if (!ACCOUNT_ID.test(account)) {
    return fail(`the registry id "${clip(account)}" is not a 12-digit AWS account id`);
  }
  if (!isRegionName(region)) return fail(`"${clip(region)}" is not an AWS Region name`);
  if (!SUPPORTED_SUFFIXES.includes(suffix) || !isSupportedRegion(region)) {
    return fail(
      `${clip(host)} is in a partition lambda-ecr-autofix does not support (only aws, aws-cn and aws-us-gov: .amazonaws.com and .amazonaws.com.cn)`
    );
  }
  const partition: Partition = partitionOfRegion(region);
  if (suffix !== dnsSuffixOf(partition)) {
    return fail(
      `Region ${region} is in partition ${partition}, whose ECR hosts end in .${dnsSuffixOf(partition)}, not .${suffix}`
    );
  }
  return { ok: true, registry: { registryAccount: account, region, partition } };
}

function parseRepositoryPath(
  path: string
): { ok: true; reference: Reference } | { ok: false; problem: string } {
  const at = path.indexOf('@');
  const digest = at < 0 ? null : path.slice(at + 1);
  const named = at < 0 ? path : path.slice(0, at);
  // Repository names cannot contain `:`, so the first `:` starts the tag.
  const colon = named.indexOf(':');
  const tag = colon < 0 ? null : named.slice(colon + 1);
  const repositoryName = colon < 0 ? named : named.slice(0, colon);

  if (repositoryName.length < 2 || repositoryName.length > 256) {
    return fail(
      `the repository name "${clip(repositoryName)}" must be 2 to 256 characters long (it has ${repositoryName.length})`
    );
  }
  if (!REPOSITORY_NAME.test(repositoryName)) {
    return fail(
      /[A-Z]/.test(repositoryName)
        ? `the repository name "${clip(repositoryName)}" has upper-case letters; ECR repository names are lower-case`
        : `"${clip(repositoryName)}" is not a valid ECR repository name (lower-case letters and digits, separated by ".", "_", "-" or "/")`
    );
  }
  if (tag !== null && !TAG.test(tag)) {
    return fail(
      `the tag "${clip(tag)}" is not a valid image tag (1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-")`
    );
  }
  if (digest !== null && !DIGEST.test(digest)) {
    return fail(
      `the digest "${clip(digest)}" must be "sha256:" followed by 64 lower-case hexadecimal digits`
    );
  }
  if (tag === null && digest === null) {
    return fail(
      `the image URI has neither a tag nor a digest; Lambda needs REPOSITORY:TAG or REPOSITORY@sha256:DIGEST`
    );
  }
  return { ok: true, reference: { repositoryName, tag, digest } };
}

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}

/** Keeps problems one readable line even for absurdly long input. */
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
