/**
 * Sharing and consent (DESIGN.md, "Sharing and consent"). A cross-account fix shares an image with another account:
 * that is the repository owner's decision, not the caller's. The forms of consent, in the order they are checked:
 *   1. the policy already lets the consumer account pull (the planner evaluates that: it then adds only Lambda's
 *      statement, no account statement);
 *   2. the owner's tag: the repository's `shareTag` names the consumer account, or the configured organization;
 *   3. the platform team's declaration: the registry account is in `sharedRegistries`;
 *   4. the organization-wide opt-in: `sharing: "organization"`.
 * This file decides forms 2 to 4 and, when none holds, says what the owner can do. Forms 3 and 4 need
 * `organizationId` (config.ts refuses them without it), so the account statement they lead to always carries the
 * `aws:PrincipalOrgID` condition. The opt-out tag wins over every form; guard.ts checks it first.
 */
import { cleanText } from './bounded-text';
import type { Config } from './config';
import { ORG_ID } from './config';
import type { Target } from './decision';

/** How the owner consented to sharing a repository with the consumer account. */
export type ConsentForm = 'policy' | 'share-tag' | 'shared-registry' | 'organization';

/** Consent outside the policy (forms 2 to 4), or what the owner can do when there is none. */
export type AccountConsent =
  | {
      readonly given: true;
      readonly form: Exclude<ConsentForm, 'policy'>;
      /** Why sharing is consented, as a clause: "the repository's … tag names account 222222222222". */
      readonly reason: string;
    }
  | {
      readonly given: false;
      /** One sentence naming the owner (registry account, repository) and what is missing. */
      readonly explanation: string;
      /** The owner's exact next steps: the tag command, the statements by hand, the platform team's option. */
      readonly nextSteps: readonly string[];
    };

export type ConsentConfig = Pick<
  Config,
  'sharing' | 'sharedRegistries' | 'shareTag' | 'organizationId'
>;

/** ECR tag values hold at most 256 characters: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Tag.html */
const MAX_TAG_VALUE_LENGTH = 256;
/** ECR tag values may contain Unicode spaces (`\p{Z}`); any run of them separates two entries. */
const SEPARATOR = /[\s\p{Z}]+/u;

/** Whether the repository's owner (or the configuration, for the owner) consents to sharing it with the consumer. */
export function ownerConsent(
  target: Target,
  tags: Readonly<Record<string, string>>,
  config: ConsentConfig
): AccountConsent {
  const tagValue = Object.hasOwn(tags, config.shareTag) ? tags[config.shareTag] : undefined;
  // Tags read from ECR are plain, but `plan --tag` takes anything: the value may end up in a notice.
  const entries = tagValue === undefined ? [] : shareTagEntries(cleanText(tagValue, 1_024));
  const organization = config.organizationId;
  if (entries.includes(target.consumerAccount)) {
    return {
      given: true,
      form: 'share-tag',
      reason: `the repository's ${config.shareTag} tag names account ${target.consumerAccount}`,
    };
  }
  if (organization !== undefined && entries.includes(organization)) {
    return {
      given: true,
      form: 'share-tag',
      reason: `the repository's ${config.shareTag} tag names organization ${organization}`,
    };
  }
  if (config.sharedRegistries.includes(target.registryAccount)) {
    return {
      given: true,
      form: 'shared-registry',
      reason: `account ${target.registryAccount} is in sharedRegistries (its repositories are shared with the organization)`,
    };
  }
  if (config.sharing === 'organization') {
    return {
      given: true,
      form: 'organization',
      reason: 'sharing is "organization" (every repository is shared with the organization)',
    };
  }
  return refusal(target, tagValue, entries, config);
}

/** The entries of a share tag value: account ids and organization ids, separated by spaces. */
export function shareTagEntries(value: string): string[] {
  return value.split(SEPARATOR).filter((entry) => entry !== '');
}

/**
 * Who may pull once the account statement is in place, said plainly: the statement names the account's root (AWS's
 * documented recipe), which lets the account delegate the pull to any of its principals through their IAM policies.
 */
export function whoCanPull(target: Target, organizationId: string | undefined): string {
  const membership =
    organizationId === undefined
      ? ''
      : ` while the account belongs to organization ${organizationId}`;
  return `every principal of account ${target.consumerAccount} whose own IAM policy allows it may pull images of ${target.repositoryName}${membership}, and Lambda may pull them for the functions of account ${target.consumerAccount}`;
}

function refusal(
  target: Target,
  tagValue: string | undefined,
  entries: readonly string[],
  config: ConsentConfig
): AccountConsent {
  const organization = config.organizationId;
  const owner = `account ${target.registryAccount}`;
  // An organization in the tag is the owner's consent for its members, but membership is checked (the account
  // statement's aws:PrincipalOrgID condition) only when organizationId is configured: say so, not just "no".
  const taggedOrganizations =
    organization === undefined ? entries.filter((entry) => ORG_ID.test(entry)) : [];
  const tagState =
    tagValue === undefined
      ? `the repository has no ${config.shareTag} tag`
      : `its ${config.shareTag} tag ("${cleanText(tagValue, 80)}") ${
          organization !== undefined
            ? `names neither account ${target.consumerAccount} nor organization ${organization}`
            : taggedOrganizations.length > 0
              ? `names organization ${taggedOrganizations.join(', ')}, which counts only when organizationId is configured, and does not name account ${target.consumerAccount}`
              : `does not name account ${target.consumerAccount}`
        }`;
  const [taggedOrganization] = taggedOrganizations;
  const platformStep = `If every repository of ${owner} is meant for the whole organization, the platform team can add "${target.registryAccount}" to sharedRegistries in the lambda-ecr-autofix configuration${organization === undefined ? ' (this needs organizationId)' : ''}.`;
  const explanation =
    `Repository ${target.repositoryName} of ${owner} (${target.region}) does not let account ${target.consumerAccount} pull, ` +
    `and its owner has not consented to sharing it with that account: ${tagState}, ${owner} is not in sharedRegistries, ` +
    `and sharing is "${config.sharing}"; lambda-ecr-autofix shares an image with another account only with its owner's consent.`;
  return {
    given: false,
    explanation,
    nextSteps: [
      tagStep(target, entries, config),
      `Or add the statements below to the policy of ${target.repositoryArn} by hand, in ${owner}.`,
      taggedOrganization === undefined
        ? platformStep
        : `The platform team can set organizationId to ${taggedOrganization} in the lambda-ecr-autofix configuration, so that the tag shares the repository with every account of that organization. ${platformStep}`,
    ],
  };
}

/** The owner's `aws ecr tag-resource` command, keeping every entry the tag already has. */
function tagStep(target: Target, entries: readonly string[], config: ConsentConfig): string {
  const organization = config.organizationId;
  const owner = `account ${target.registryAccount}`;
  const value = [...new Set([...entries, target.consumerAccount])].join(' ');
  const orgAlternative =
    organization === undefined
      ? ''
      : ` (Value=${organization} instead shares it with every account of organization ${organization}.)`;
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    return `If ${owner}, which owns ${target.repositoryName}, agrees to share it with account ${target.consumerAccount}: its ${config.shareTag} tag cannot name one more account (ECR tag values hold ${MAX_TAG_VALUE_LENGTH} characters), so add the statements below by hand.${orgAlternative}`;
  }
  const command = `aws ecr tag-resource --resource-arn ${target.repositoryArn} --tags ${shellWord(`Key=${config.shareTag},Value=${value}`)} --region ${target.region}`;
  return `If ${owner}, which owns ${target.repositoryName}, agrees to share it with account ${target.consumerAccount}, tag the repository (with credentials of ${owner}): ${command}; then re-run the deploy. After the fix, ${whoCanPull(target, organization)}.${orgAlternative}`;
}

/** A shell word: as it is when it needs no quoting, else single-quoted. */
function shellWord(text: string): string {
  if (/^[A-Za-z0-9_.:/=+@,-]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
