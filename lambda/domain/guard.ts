/**
 * The configuration guard: which repositories and accounts lambda-ecr-autofix may act on, the repository opt-out tag,
 * and the loop guard that keeps the fixer from reacting to its own calls. Pure: the caller reads tags and config.
 */
import type { Config } from './config';
import { optOutTagParts } from './config';
import type { DeployCall, NeedsHumanReason, Target } from './decision';
import { matchesGlob } from './glob';
import { parsePrincipalArn } from './principal-arn';

/** Why the guard refuses a target, with what a person can do about it. */
export interface GuardRefusal {
  readonly reason: NeedsHumanReason;
  readonly explanation: string;
  readonly nextSteps: string[];
}

/**
 * Checks the target against `registryAccounts`, `consumerAccounts` (`["*"]` = any account) and the
 * `excludeRepositories` globs (see glob.ts: `*` spans `/`, `?` is one character, case-sensitive, whole name).
 */
export function guardTarget(
  target: Target,
  config: Pick<Config, 'registryAccounts' | 'consumerAccounts' | 'excludeRepositories'>
): GuardRefusal | null {
  if (!allows(config.registryAccounts, target.registryAccount)) {
    return {
      reason: 'registry-account-excluded',
      explanation: `Registry account ${target.registryAccount} is not in registryAccounts (${config.registryAccounts.join(', ')}), so lambda-ecr-autofix leaves ${target.repositoryArn} alone.`,
      nextSteps: [
        `Add "${target.registryAccount}" to registryAccounts in the lambda-ecr-autofix configuration if its repositories should be fixed automatically.`,
        manualGrant(target),
      ],
    };
  }
  if (!allows(config.consumerAccounts, target.consumerAccount)) {
    return {
      reason: 'consumer-account-excluded',
      explanation: `Consumer account ${target.consumerAccount} is not in consumerAccounts (${config.consumerAccounts.join(', ')}), so lambda-ecr-autofix does not grant it access to ${target.repositoryArn}.`,
      nextSteps: [
        `Add "${target.consumerAccount}" to consumerAccounts in the lambda-ecr-autofix configuration if its functions should be granted access automatically.`,
        manualGrant(target),
      ],
    };
  }
  const glob = config.excludeRepositories.find((pattern) =>
    matchesGlob(pattern, target.repositoryName)
  );
  if (glob !== undefined) {
    return {
      reason: 'repository-excluded',
      explanation: `Repository ${target.repositoryName} matches "${glob}" in excludeRepositories, so lambda-ecr-autofix leaves it alone.`,
      nextSteps: [
        `Remove or narrow "${glob}" in excludeRepositories in the lambda-ecr-autofix configuration if ${target.repositoryName} should be fixed automatically.`,
        manualGrant(target),
      ],
    };
  }
  return null;
}

/**
 * Checks the repository's tags for the opt-out tag (`optOutTag`: `key=value`, or `key` for any value). The key must
 * match exactly, as ECR tag keys are case-sensitive; the value is compared ignoring case, so `Off` counts as `off`.
 */
export function guardRepositoryTags(
  target: Target,
  tags: Readonly<Record<string, string>>,
  config: Pick<Config, 'optOutTag'>
): GuardRefusal | null {
  const { key, value } = optOutTagParts(config);
  // Own keys only: a tag map is plain data, and `constructor` must not be found on its prototype.
  const actual = Object.hasOwn(tags, key) ? tags[key] : undefined;
  if (actual === undefined) return null;
  if (value !== null && actual.toLowerCase() !== value.toLowerCase()) return null;
  return {
    reason: 'repository-opted-out',
    explanation: `Repository ${target.repositoryName} is tagged ${key}=${actual}, which opts it out of automatic fixes (optOutTag "${config.optOutTag}").`,
    nextSteps: [
      `Remove the tag to let lambda-ecr-autofix fix it: aws ecr untag-resource --resource-arn ${target.repositoryArn} --tag-keys ${key} --region ${target.region}`,
      manualGrant(target),
    ],
  };
}

/**
 * The loop guard: whether the call was made by one of the fixer's own roles. A session ARN
 * `arn:aws:sts::A:assumed-role/NAME/SESSION` matches the role `arn:aws:iam::A:role/NAME` and `…:role/PATH/NAME`
 * (the session ARN omits the path). Role names are compared ignoring case, as IAM does not distinguish them by
 * case (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
 */
export function isOwnChange(call: DeployCall, fixerRoleArns: readonly string[]): boolean {
  const fixerRoles = fixerRoleArns.map(roleKey);
  return [call.caller.principalArn, call.caller.arn].some(
    (arn) =>
      arn !== null &&
      (fixerRoleArns.includes(arn) ||
        fixerRoles.some((role) => role !== null && role === roleKey(arn)))
  );
}

/** `partition:account:name` for a role or role session, null for anything else. */
function roleKey(arn: string): string | null {
  const principal = parsePrincipalArn(arn);
  if (principal === null || principal.kind === 'user') return null;
  return `${principal.partition}:${principal.account}:${principal.name.toLowerCase()}`;
}

function allows(accounts: readonly string[], account: string): boolean {
  return accounts.includes('*') || accounts.includes(account);
}

/** The statement a person would add by hand, in one sentence. */
function manualGrant(target: Target): string {
  const lambdaPattern = `arn:${target.partition}:lambda:${target.region}:${target.consumerAccount}:function:*`;
  const account = target.crossAccount
    ? ` and to arn:${target.partition}:iam::${target.consumerAccount}:root`
    : '';
  return `Otherwise grant ecr:BatchGetImage and ecr:GetDownloadUrlForLayer by hand in the policy of ${target.repositoryArn}: to lambda.amazonaws.com with aws:SourceArn ${lambdaPattern}${account}.`;
}
