/**
 * Plans the new repository policy from the current one: pure, deterministic and idempotent.
 *
 * The rules (DESIGN.md, "Policy rules"): the fixer owns only `LambdaEcrAutofixService` and `LambdaEcrAutofixAccounts`,
 * merges new consumers into their lists, keeps every other statement and top-level key exactly as it was, never
 * touches a Deny, never writes `Principal: "*"`, and gives up (`needs-human`) rather than exceed ECR's policy size.
 *
 * Sharing (DESIGN.md, "Sharing and consent"): a cross-account target needs the account statement only when the policy
 * does not already let an arbitrary principal of the consumer account pull (that existing grant is the owner's
 * consent: the plan then adds only Lambda's statement); adding it needs the owner's consent (`consent`), else the plan
 * is `needs-human` (`sharing-not-consented`) and writes nothing. With `organizationId` the account statement carries
 * `aws:PrincipalOrgID`, so a grant ends when the account leaves the organization.
 */
import type { AccountConsent } from './consent';
import { whoCanPull } from './consent';
import type { NeedsHumanReason, StatementChange, Target } from './decision';
import type { AccessRequest, Evaluation } from './policy-evaluator';
import { anyOf } from './policy-evaluator';
import {
  LAMBDA_SERVICE,
  PULL_ACTIONS,
  accountPullRequests,
  evaluatePull,
  servicePullRequests,
} from './pull-access';
import type { JsonObject, PolicyDocument } from './policy-document';
import { EMPTY_POLICY, isJsonObject, parsePolicy, serializePolicy } from './policy-document';

/** ECR's limit on `policyText`: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html */
export const MAX_POLICY_LENGTH = 10_240;
export const SERVICE_SID = 'LambdaEcrAutofixService';
export const ACCOUNTS_SID = 'LambdaEcrAutofixAccounts';
export { LAMBDA_SERVICE, PULL_ACTIONS } from './pull-access';

export type GrantScope = 'account' | 'function';

export interface PlanInput {
  /** The current policy text; null when the repository has none. */
  readonly policyText: string | null;
  readonly target: Target;
  readonly grantScope: GrantScope;
  /**
   * The organization id, when configured: the consumer account's requests carry it as `aws:PrincipalOrgID`, and the
   * account statement is conditioned on it.
   */
  readonly organizationId?: string | undefined;
  /**
   * ARNs of the principal that made the failed call (role, session). Only a Deny naming them counts: a grant to the
   * caller is never a grant to the consumer account (see policy-evaluator.ts, RequestPrincipal).
   */
  readonly callerArns?: readonly string[] | undefined;
  /**
   * The owner's consent outside the policy (consent.ts), needed to add the account statement for a cross-account
   * target. Not consulted when the policy already lets the consumer account pull, nor for a same-account target.
   */
  readonly consent: AccountConsent;
}

export type Plan =
  | {
      readonly outcome: 'fix';
      readonly explanation: string;
      readonly policyAfter: string;
      readonly grants: readonly StatementChange[];
    }
  | { readonly outcome: 'already-allowed'; readonly explanation: string }
  | {
      readonly outcome: 'needs-human';
      readonly reason: Extract<
        NeedsHumanReason,
        | 'explicit-deny'
        | 'policy-too-large'
        | 'policy-invalid'
        | 'policy-not-understood'
        | 'function-name-unknown'
        | 'sharing-not-consented'
      >;
      readonly explanation: string;
      readonly nextSteps: readonly string[];
      /** For `policy-too-large`: the statements to add by hand. */
      readonly grants: readonly StatementChange[];
    };

/** One pull the policy must allow: who asks, and with which context. */
interface RequiredAccess {
  readonly label: string;
  readonly requests: readonly AccessRequest[];
}

/** Plans the repository policy change for one target. */
export function planPolicy(input: PlanInput): Plan {
  const { target } = input;
  const where = describeRepository(target);
  const parsed = parsePolicy(input.policyText);
  if (!parsed.ok && parsed.kind === 'ambiguous') {
    return needsHuman(
      'policy-not-understood',
      `The policy of ${where} cannot be read safely: ${parsed.problem}.`,
      [
        `Remove the repeated key from the policy of ${target.repositoryArn} (aws ecr get-repository-policy shows it), keeping the one that was meant, then re-run the deploy.`,
      ]
    );
  }
  if (!parsed.ok) {
    return needsHuman(
      'policy-invalid',
      `The policy of ${where} cannot be read: ${parsed.problem}.`,
      [
        `Repair the repository policy of ${target.repositoryArn} (aws ecr get-repository-policy), then re-run the deploy.`,
      ]
    );
  }
  const policy = parsed.policy;
  if (target.functionArn === null) {
    // Without the function there is no aws:SourceArn to check existing statements against, nor to scope a grant to.
    return needsHuman(
      'function-name-unknown',
      `The event does not name the function, so lambda-ecr-autofix cannot tell whether the policy of ${where} lets Lambda pull it.`,
      [
        `Check the deploy's function name, then grant lambda.amazonaws.com ecr:BatchGetImage and ecr:GetDownloadUrlForLayer in the policy of ${target.repositoryArn} by hand if needed.`,
      ]
    );
  }
  const required = requiredAccess(input, target.functionArn);
  const evaluations = required.map((access) => evaluatePull(policy.statements, access.requests));

  const denying = evaluations.flatMap((evaluation) => evaluation.deniedBy);
  const denied = anyOf(evaluations.map((evaluation) => evaluation.denied));
  if (denied === 'yes') {
    const blocked = required.filter((_, index) => evaluations[index]?.denied === 'yes');
    return needsHuman(
      'explicit-deny',
      `A Deny statement (${unique(denying).join(', ')}) in the policy of ${where} blocks ${blocked.map((a) => a.label).join(' and ')}; lambda-ecr-autofix never loosens a Deny.`,
      [
        `Review the Deny statement ${unique(denying).join(', ')} of ${target.repositoryArn} with the repository owner; exempt the Lambda service (aws:PrincipalIsAWSService) or account ${target.consumerAccount} if that is intended.`,
      ]
    );
  }
  if (denied === 'unknown') {
    return needsHuman(
      'policy-not-understood',
      `The policy of ${where} has a Deny statement (${unique(denying).join(', ')}) whose effect on ${required.map((a) => a.label).join(' and ')} cannot be determined safely.`,
      [
        `Check whether statement ${unique(denying).join(', ')} of ${target.repositoryArn} blocks the pull; if not, add the grant shown below by hand.`,
      ]
    );
  }
  if (evaluations.every((evaluation) => evaluation.allowed === 'yes')) {
    const by = unique(evaluations.flatMap((evaluation) => evaluation.allowedBy));
    return {
      outcome: 'already-allowed',
      explanation: `The policy of ${where} already lets ${required.map((a) => a.label).join(' and ')} pull (statement ${by.join(', ')}); nothing to change.`,
    };
  }

  const needs = {
    service: evaluations[0]?.allowed !== 'yes',
    account: evaluations[1] !== undefined && evaluations[1].allowed !== 'yes',
  };
  const change = applyGrants(policy, input, needs);
  if (needs.account && !input.consent.given) {
    // Nothing is written; the statements are what the owner would add by hand.
    return needsHuman(
      'sharing-not-consented',
      input.consent.explanation,
      input.consent.nextSteps,
      change.ok ? change.grants : freshGrants(input, needs)
    );
  }
  if (!change.ok) return change.plan;

  // No Deny was added or changed, so the Denies still do not apply; what must now hold is that the statements the
  // plan wrote allow every access that was missing.
  const written = change.grants.map((grant) => grant.statement as JsonObject);
  const verification = required.map((access, index) =>
    evaluations[index]?.allowed === 'yes' ? 'yes' : evaluatePull(written, access.requests).allowed
  );
  if (verification.some((allowed) => allowed !== 'yes')) {
    return needsHuman(
      'policy-not-understood',
      `The planned policy for ${where} would still not let ${required.map((a) => a.label).join(' and ')} pull, so nothing was changed.`,
      [`Review the policy of ${target.repositoryArn} by hand and add the grant shown below.`],
      change.grants
    );
  }

  const policyAfter = serializePolicy(change.policy, MAX_POLICY_LENGTH);
  if (policyAfter.length > MAX_POLICY_LENGTH) {
    return needsHuman(
      'policy-too-large',
      `Adding the grant would make the policy of ${where} ${policyAfter.length} characters long, over ECR's limit of ${MAX_POLICY_LENGTH}.`,
      [
        `Shorten the policy of ${target.repositoryArn} (merge statements, or grant a whole account with aws:SourceArn arn:${target.partition}:lambda:${target.region}:ACCOUNT:function:*), then add the statements below by hand.`,
      ],
      change.grants
    );
  }
  return {
    outcome: 'fix',
    explanation: `The policy of ${where} did not let ${required
      .filter((_, index) => evaluations[index]?.allowed !== 'yes')
      .map((a) => a.label)
      .join(
        ' and '
      )} pull; the fix ${describeChanges(change.grants)}.${describeSharing(input, needs, evaluations[1])}`,
    policyAfter,
    grants: change.grants,
  };
}

/** For a cross-account fix: on what consent the image is shared, and who may pull it afterwards. */
function describeSharing(
  input: PlanInput,
  needs: { readonly account: boolean },
  accountEvaluation: Evaluation | undefined
): string {
  const { target } = input;
  if (!target.crossAccount) return '';
  if (!needs.account) {
    // A cross-account target always has the account evaluation.
    const by = unique((accountEvaluation as Evaluation).allowedBy).join(', ');
    return ` The policy already lets account ${target.consumerAccount} pull (statement ${by}), which is the owner's consent, so no account statement is added.`;
  }
  // An account statement is only ever planned with consent (planPolicy returns sharing-not-consented otherwise).
  const consent = input.consent as Extract<AccountConsent, { given: true }>;
  return ` Shared with account ${target.consumerAccount} because ${consent.reason}: ${whoCanPull(target, input.organizationId)}.`;
}

/** The requests a working pull needs: Lambda's service principal, and for another account that account too. */
function requiredAccess(input: PlanInput, sourceArn: string): RequiredAccess[] {
  const { target } = input;
  const resource = target.repositoryArn;
  const service: RequiredAccess = {
    label: `Lambda (for functions of account ${target.consumerAccount})`,
    requests: servicePullRequests(resource, sourceArn),
  };
  if (!target.crossAccount) return [service];
  const account: RequiredAccess = {
    label: `account ${target.consumerAccount}`,
    requests: accountPullRequests(resource, {
      accountId: target.consumerAccount,
      partition: target.partition,
      organizationId: input.organizationId,
      callerArns: input.callerArns,
    }),
  };
  return [service, account];
}

type GrantChange =
  | {
      readonly ok: true;
      readonly policy: PolicyDocument;
      readonly grants: readonly StatementChange[];
    }
  | { readonly ok: false; readonly plan: Plan };

/** Creates or extends the owned statements; every other statement keeps its place and content. */
function applyGrants(
  policy: PolicyDocument,
  input: PlanInput,
  needs: { readonly service: boolean; readonly account: boolean }
): GrantChange {
  const { target } = input;
  const statements = [...policy.statements];
  const grants: StatementChange[] = [];
  const wanted: { sid: string; values: readonly string[]; build: OwnedShape }[] = [];
  if (needs.service) {
    wanted.push({ sid: SERVICE_SID, values: sourceArnPatterns(input), build: SERVICE_SHAPE });
  }
  if (needs.account) {
    wanted.push({
      sid: ACCOUNTS_SID,
      values: [`arn:${target.partition}:iam::${target.consumerAccount}:root`],
      build: ACCOUNTS_SHAPE,
    });
  }
  for (const { sid, values, build } of wanted) {
    const organizationId = input.organizationId ?? null;
    const positions = statements
      .map((statement, index) => (statement['Sid'] === sid ? index : -1))
      .filter((index) => index >= 0);
    const [position] = positions;
    if (position === undefined) {
      const statement = build.create([...values].sort(), organizationId);
      statements.push(statement);
      grants.push({ sid, change: 'created', added: [...values].sort(), statement });
      continue;
    }
    const existing = build.read(statements[position] as JsonObject);
    if (positions.length > 1 || existing === null) {
      return {
        ok: false,
        plan: needsHuman(
          'policy-not-understood',
          `Statement ${sid} in the policy of ${describeRepository(target)} belongs to lambda-ecr-autofix but was changed by hand${positions.length > 1 ? ' (it appears more than once)' : ''}, so it is left alone.`,
          [
            `Restore statement ${sid} of ${target.repositoryArn} to the form lambda-ecr-autofix writes, or rename it to take ownership, then re-run the deploy.`,
          ]
        ),
      };
    }
    if (build.organizationScoped && existing.organizationId !== organizationId) {
      const statement = build.create([...values].sort(), organizationId);
      const byHand: StatementChange = { sid, change: 'created', added: [...values], statement };
      return {
        ok: false,
        plan: organizationMismatch(target, existing.organizationId, organizationId, byHand),
      };
    }
    const added = values.filter((value) => !existing.values.includes(value));
    const merged = unique([...existing.values, ...added]).sort();
    const statement = build.update(existing, merged);
    statements[position] = statement;
    grants.push({ sid, change: 'extended', added: [...added].sort(), statement });
  }
  return { ok: true, policy: { ...policy, statements }, grants };
}

/** The statements to add by hand when the owned ones cannot be extended: as if none existed yet. */
function freshGrants(
  input: PlanInput,
  needs: { readonly service: boolean; readonly account: boolean }
): StatementChange[] {
  // The empty policy has no owned statement, so nothing can be in the way.
  const fresh = applyGrants(EMPTY_POLICY, input, needs) as Extract<GrantChange, { ok: true }>;
  return [...fresh.grants];
}

/**
 * The owned account statement and the configuration disagree on the organization. Extending it as it is would add
 * the consumer without the `aws:PrincipalOrgID` condition (a grant that outlives the account's membership), or
 * under another organization's; changing its condition would narrow or widen the grants of every account already
 * listed. Neither is the fixer's call: a person decides.
 */
function organizationMismatch(
  target: Target,
  found: string | null,
  configured: string | null,
  byHand: StatementChange
): Plan {
  const where = describeRepository(target);
  const has =
    found === null
      ? 'grants its accounts without an aws:PrincipalOrgID condition'
      : `limits its grants to organization ${found}`;
  const wants =
    configured === null
      ? 'organizationId is not configured'
      : `organizationId is ${configured}, so new account grants carry the aws:PrincipalOrgID condition`;
  const condition =
    configured === null
      ? ''
      : ` "Condition": {"StringEquals": {"aws:PrincipalOrgID": "${configured}"}}`;
  return needsHuman(
    'policy-not-understood',
    `Statement ${ACCOUNTS_SID} in the policy of ${where} ${has}, but ${wants}; lambda-ecr-autofix neither adds account ${target.consumerAccount} to it as it is nor changes the grants of the accounts it lists.`,
    [
      configured === null
        ? // Without a configured organization, the statement's own one is what differs.
          `Set organizationId to ${found as string} in the lambda-ecr-autofix configuration, or remove the condition from statement ${ACCOUNTS_SID} of ${target.repositoryArn} if its accounts are meant to keep access outside the organization; then re-run the deploy.`
        : `Once every account listed in statement ${ACCOUNTS_SID} of ${target.repositoryArn} belongs to organization ${configured}, set its condition to${condition}; then re-run the deploy.`,
      `Or add the statement below (under another Sid) to the policy of ${target.repositoryArn} by hand.`,
    ],
    [byHand]
  );
}

function sourceArnPatterns(input: PlanInput): string[] {
  const { target } = input;
  const prefix = `arn:${target.partition}:lambda:${target.region}:${target.consumerAccount}:function:`;
  if (input.grantScope === 'account') return [`${prefix}*`];
  const name = target.functionName as string;
  return [`${prefix}${name}`, `${prefix}${name}:*`];
}

/**
 * An owned statement (`LambdaEcrAutofixService` / `LambdaEcrAutofixAccounts`) as the fixer reads it: its values (the
 * `aws:SourceArn` patterns or the account roots), or null when the statement is not in the form the fixer writes (a
 * hand edit), which `revoke` and the planner then leave alone. Null too for any other Sid.
 */
export function readOwnedStatement(statement: JsonObject): OwnedStatement | null {
  const sid = statement['Sid'];
  // Own keys only: a Sid such as "constructor" must not find something on the object's prototype.
  if (typeof sid !== 'string' || !Object.hasOwn(OWNED_SHAPES, sid)) return null;
  return (OWNED_SHAPES[sid] as OwnedShape).read(statement);
}

/** The owned statement `existing` with `values` instead of its own (at least one), everything else unchanged. */
export function ownedStatementWith(
  existing: OwnedStatement,
  values: readonly string[]
): JsonObject {
  const shape = OWNED_SHAPES[String(existing.statement['Sid'])] as OwnedShape;
  return shape.update(existing, values);
}

/** How to recognise, create and update one kind of owned statement. */
interface OwnedShape {
  /** Whether the statement is conditioned on the configured organization (the account statement). */
  readonly organizationScoped: boolean;
  /** `organizationId`: the configured organization, which the account statement is conditioned on. */
  create(values: readonly string[], organizationId: string | null): JsonObject;
  read(statement: JsonObject): OwnedStatement | null;
  update(existing: OwnedStatement, values: readonly string[]): JsonObject;
}

export interface OwnedStatement {
  readonly statement: JsonObject;
  readonly values: readonly string[];
  /** The exact spelling of the condition key found (`aws:SourceArn`, `aws:sourceARN`, …), kept on update. */
  readonly conditionKey: string;
  /** The organization an account statement is conditioned on; null for none (and for the service statement). */
  readonly organizationId: string | null;
}

const SERVICE_SHAPE: OwnedShape = {
  // Lambda's statement is limited by aws:SourceArn; service principals carry no organization.
  organizationScoped: false,
  create: (values) => ({
    Sid: SERVICE_SID,
    Effect: 'Allow',
    Principal: { Service: LAMBDA_SERVICE },
    Action: [...PULL_ACTIONS],
    Condition: { StringLike: { 'aws:SourceArn': [...values] } },
  }),
  read: (statement) => {
    if (!hasOwnedFrame(statement, ['Condition'])) return null;
    const principal = statement['Principal'];
    if (!isJsonObject(principal) || !sameStrings(principal, 'Service', [LAMBDA_SERVICE])) {
      return null;
    }
    const condition = statement['Condition'];
    if (!isJsonObject(condition) || Object.keys(condition).length !== 1) return null;
    const stringLike = condition['StringLike'];
    if (!isJsonObject(stringLike)) return null;
    const keys = Object.keys(stringLike);
    const [key] = keys;
    if (keys.length !== 1 || key === undefined || key.toLowerCase() !== 'aws:sourcearn')
      return null;
    const values = asStrings(stringLike[key]);
    return values === null ? null : { statement, values, conditionKey: key, organizationId: null };
  },
  update: (existing, values) => ({
    ...existing.statement,
    Condition: { StringLike: { [existing.conditionKey]: [...values] } },
  }),
};

const ACCOUNTS_SHAPE: OwnedShape = {
  organizationScoped: true,
  create: (values, organizationId) => ({
    Sid: ACCOUNTS_SID,
    Effect: 'Allow',
    Principal: { AWS: [...values] },
    Action: [...PULL_ACTIONS],
    ...(organizationId === null
      ? {}
      : { Condition: { StringEquals: { 'aws:PrincipalOrgID': organizationId } } }),
  }),
  read: (statement) => {
    const conditioned = Object.hasOwn(statement, 'Condition');
    if (!hasOwnedFrame(statement, conditioned ? ['Condition'] : [])) return null;
    const principal = statement['Principal'];
    if (!isJsonObject(principal) || Object.keys(principal).length !== 1) return null;
    const values = asStrings(principal['AWS']);
    if (values === null || !values.every((value) => ROOT_ARN.test(value))) return null;
    const organizationId = conditioned ? organizationOf(statement['Condition']) : null;
    if (conditioned && organizationId === null) return null;
    return { statement, values, conditionKey: '', organizationId };
  },
  // The condition, if any, is kept exactly as written (the key's spelling included).
  update: (existing, values) => ({ ...existing.statement, Principal: { AWS: [...values] } }),
};

const OWNED_SHAPES: Readonly<Record<string, OwnedShape>> = {
  [SERVICE_SID]: SERVICE_SHAPE,
  [ACCOUNTS_SID]: ACCOUNTS_SHAPE,
};

/** The organization of `{"StringEquals": {"aws:PrincipalOrgID": ORG}}` (key in any case, value or one-item list). */
function organizationOf(condition: unknown): string | null {
  if (!isJsonObject(condition) || Object.keys(condition).length !== 1) return null;
  const stringEquals = condition['StringEquals'];
  if (!isJsonObject(stringEquals)) return null;
  const keys = Object.keys(stringEquals);
  const [key] = keys;
  if (keys.length !== 1 || key === undefined || key.toLowerCase() !== 'aws:principalorgid') {
    return null;
  }
  const values = asStrings(stringEquals[key]);
  return values !== null && values.length === 1 ? (values[0] as string) : null;
}

const ROOT_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:root$/;

/** Sid, Effect Allow, Principal, exactly the two pull actions, and nothing else but the listed extra keys. */
function hasOwnedFrame(statement: JsonObject, extraKeys: readonly string[]): boolean {
  const allowedKeys = new Set(['Sid', 'Effect', 'Principal', 'Action', ...extraKeys]);
  const keys = Object.keys(statement);
  if (keys.length !== allowedKeys.size || !keys.every((key) => allowedKeys.has(key))) return false;
  const actions = asStrings(statement['Action']);
  return (
    statement['Effect'] === 'Allow' &&
    actions !== null &&
    actions.length === PULL_ACTIONS.length &&
    PULL_ACTIONS.every((action) => actions.includes(action))
  );
}

function sameStrings(object: JsonObject, key: string, expected: readonly string[]): boolean {
  if (Object.keys(object).length !== 1) return false;
  const values = asStrings(object[key]);
  return (
    values !== null &&
    values.length === expected.length &&
    expected.every((v) => values.includes(v))
  );
}

function asStrings(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.length === 0) return null;
  return value.every((item): item is string => typeof item === 'string') ? [...value] : null;
}

function needsHuman(
  reason: Extract<Plan, { outcome: 'needs-human' }>['reason'],
  explanation: string,
  nextSteps: readonly string[],
  grants: readonly StatementChange[] = []
): Plan {
  return { outcome: 'needs-human', reason, explanation, nextSteps, grants };
}

function describeChanges(grants: readonly StatementChange[]): string {
  return grants
    .map((grant) =>
      grant.change === 'created'
        ? `adds statement ${grant.sid} for ${grant.added.join(', ')}`
        : `adds ${grant.added.join(', ')} to statement ${grant.sid}`
    )
    .join(' and ');
}

export function describeRepository(target: Target): string {
  return `repository ${target.repositoryName} (account ${target.registryAccount}, ${target.region})`;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
