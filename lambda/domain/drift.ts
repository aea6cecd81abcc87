/**
 * The drift guard's decisions (DESIGN.md, "After the fix"): after a successful ECR `SetRepositoryPolicy`,
 * `DeleteRepositoryPolicy` or `DeleteRepository`, which grants the fixer made (per the audit: grant-ledger.ts) does the
 * repository policy no longer allow, and what to do about it.
 *
 * - "No longer allowed" is decided by evaluating the policy for each audited value (pull-access.ts): Lambda pulling for
 *   a function the pattern covers, or an arbitrary principal of the consumer account for an account root. A grant
 *   that moved to another statement, or is covered by a wider one, is not drift.
 * - `driftAction: "notify"`: one `needs-human` decision (`grant-removed`) per consumer account, listing what is missing
 *   and how to put it back. Reported once: a later call that finds the same values missing stays quiet.
 * - `driftAction: "restore"`: the audited values are planned back through the planner, per consumer, with the same
 *   guards and consent rules as a fix (`fix`, `grant-removed`); whatever the planner would add beyond the audited
 *   values, or cannot add (no consent any more, the opt-out tag, a Deny), turns the consumer's decision into a report.
 * - `DeleteRepository`: the grants went with the repository; one report per consumer, and the ledger ends them.
 */
import type { Config } from './config';
import { ownerConsent } from './consent';
import type { StatementChange, Target } from './decision';
import type { GrantDecision, OwnedValues, PolicyCall, RepositoryTarget } from './grant-decision';
import type { LedgerRecord, LiveGrant } from './grant-ledger';
import { byConsumer, liveGrants, ownedValuesOf } from './grant-ledger';
import { guardRepositoryTags, guardTarget } from './guard';
import { ACCOUNTS_SID, SERVICE_SID, planPolicy } from './planner';
import type { JsonObject } from './policy-document';
import { parsePolicy } from './policy-document';
import { accountPullRequests, evaluatePull, pullWorks, servicePullRequests } from './pull-access';
import { imageFromRepositoryArn } from './repository-arn';
import { PROBE_FUNCTION_NAME } from './revoke-plan';
import { revokeCommandLine, type UndoContext } from './undo-instructions';

/** The drift guard's first verdict on a call, before anything is written. */
export type DriftAssessment =
  | {
      readonly kind: 'ignored';
      readonly reason: 'no-drift' | 'drift-already-reported' | 'drift-guard-off';
      readonly explanation: string;
    }
  /** DeleteRepository: the reports for the grants that went with the repository. */
  | { readonly kind: 'deleted'; readonly decisions: readonly GrantDecision[] }
  /** Grants are missing and not reported yet. */
  | { readonly kind: 'drift'; readonly drifts: readonly ConsumerDrift[] };

/**
 * What the audit records of the repository (any order; the records of `call` itself left out by the caller) and its
 * current policy say about `call`. The policy is not needed for `DeleteRepository` (pass null).
 */
export function assessDrift(
  call: PolicyCall,
  records: readonly LedgerRecord[],
  policyText: string | null,
  config: Pick<Config, 'driftAction' | 'organizationId'>
): DriftAssessment {
  const where = `repository ${call.repository.repositoryName} (account ${call.repository.registryAccount}, ${call.repository.region})`;
  if (config.driftAction === 'off') {
    return ignored(
      'drift-guard-off',
      'driftAction is "off": changes of repository policies are not checked.'
    );
  }
  const live = liveGrants(records);
  if (live.length === 0) {
    return ignored(
      'no-drift',
      `The audit table records no grant of lambda-ecr-autofix on ${where} that is still in force.`
    );
  }
  if (call.eventName === 'DeleteRepository') {
    return { kind: 'deleted', decisions: repositoryDeleted(call, live) };
  }
  const drifts = findDrift(policyText, live, call.repository, config.organizationId);
  if (drifts.length === 0) {
    return ignored(
      'no-drift',
      `The policy of ${where} still allows every grant lambda-ecr-autofix made there (${live.length} recorded in the audit table).`
    );
  }
  // A restore is tried again for what was only reported so far (driftAction may have changed since); a report is
  // not repeated.
  const news =
    config.driftAction === 'restore' ? drifts : drifts.filter((drift) => !drift.alreadyReported);
  if (news.length === 0) {
    return ignored(
      'drift-already-reported',
      `The grants missing from the policy of ${where} were reported before; nothing changed since.`
    );
  }
  return { kind: 'drift', drifts: news };
}

function ignored(
  reason: Extract<DriftAssessment, { kind: 'ignored' }>['reason'],
  explanation: string
): DriftAssessment {
  return { kind: 'ignored', reason, explanation };
}

/** The audited values of one consumer account that the policy no longer allows. */
export interface ConsumerDrift {
  readonly consumerAccount: string;
  /** The function of the most recent record that granted one of the values, or null. */
  readonly functionArn: string | null;
  readonly missing: readonly OwnedValues[];
  /** Every missing value was reported before (and nothing made it live since). */
  readonly alreadyReported: boolean;
}

/**
 * The live grants the policy no longer allows, per consumer account. A policy that cannot be read allows nothing the
 * guard could vouch for: every live grant counts as missing.
 */
export function findDrift(
  policyText: string | null,
  live: readonly LiveGrant[],
  repository: RepositoryTarget,
  organizationId: string | undefined
): ConsumerDrift[] {
  const parsed = parsePolicy(policyText);
  const statements: readonly JsonObject[] | null = parsed.ok ? parsed.policy.statements : null;
  const drifts: ConsumerDrift[] = [];
  for (const [consumerAccount, grants] of byConsumer(live)) {
    const missing = grants.filter(
      (grant) => statements === null || !stillAllowed(statements, grant, repository, organizationId)
    );
    if (missing.length === 0) continue;
    drifts.push({
      consumerAccount,
      functionArn: missing.find((grant) => grant.functionArn !== null)?.functionArn ?? null,
      missing: ownedValuesOf(missing),
      alreadyReported: missing.every((grant) => grant.reported),
    });
  }
  return drifts;
}

/**
 * A drift's missing values as live grants (granted, for this check, by the call that lost them), to ask `findDrift`
 * which of them a policy written to put them back still lacks.
 */
export function grantsOfDrift(drift: ConsumerDrift, grantedBy: string): LiveGrant[] {
  return drift.missing.flatMap((entry) =>
    entry.values.map((value) => ({
      sid: entry.sid,
      value,
      consumerAccount: drift.consumerAccount,
      functionArn: drift.functionArn,
      grantedBy,
      reported: false,
    }))
  );
}

/** Whether the policy still grants what one audited value granted. */
function stillAllowed(
  statements: readonly JsonObject[],
  grant: LiveGrant,
  repository: RepositoryTarget,
  organizationId: string | undefined
): boolean {
  const resource = repository.repositoryArn;
  if (grant.sid === ACCOUNTS_SID) {
    return pullWorks(
      evaluatePull(
        statements,
        accountPullRequests(resource, {
          accountId: grant.consumerAccount,
          partition: repository.partition,
          organizationId,
        })
      )
    );
  }
  // A pattern's wildcard stands for any function (or qualifier): ask about one nobody names on its own.
  const sourceArn = grant.value.replaceAll('*', PROBE_FUNCTION_NAME).replaceAll('?', 'x');
  return pullWorks(evaluatePull(statements, servicePullRequests(resource, sourceArn)));
}

export interface DriftResponse {
  /** One decision per consumer account with missing grants. */
  readonly decisions: readonly GrantDecision[];
  /** The policy that puts the grants back (restore), or null when nothing is to be written. */
  readonly policyAfter: string | null;
}

/**
 * What to do about the drift found after `call`: report it (notify, or restore where restoring is not possible or not
 * allowed) or plan the restore. `tags` are the repository's (read only for a restore; null otherwise).
 */
export function respondToDrift(
  call: PolicyCall,
  drifts: readonly ConsumerDrift[],
  repository: {
    readonly policyText: string | null;
    readonly tags: Readonly<Record<string, string>> | null;
  },
  config: Config,
  /** Where the revoke commands of the notices find the audit table (the Lambda knows; `plan` does not). */
  undo: UndoContext = {}
): DriftResponse {
  const decisions: GrantDecision[] = [];
  let current = repository.policyText;
  let changed = false;
  for (const drift of drifts) {
    if (config.driftAction !== 'restore' || repository.tags === null) {
      if (!drift.alreadyReported) {
        decisions.push(report(call, drift, repository.policyText, null, undo));
      }
      continue;
    }
    const restored = planRestore(call, drift, current, repository.tags, config);
    if (restored.kind === 'report') {
      // Reported once: a restore that still cannot be made is not told again.
      if (!drift.alreadyReported) {
        decisions.push(report(call, drift, repository.policyText, restored.why, undo));
      }
      continue;
    }
    current = restored.policyAfter;
    changed = true;
    decisions.push({
      ...base(call, drift, repository.policyText),
      outcome: 'fix',
      reason: 'grant-removed',
      explanation: `${lossSentence(call, drift)} lambda-ecr-autofix puts ${describeValues(drift.missing)} back, as recorded in its audit table. ${restored.explanation}`,
      nextSteps: [
        `If the grant was removed on purpose, take it back through lambda-ecr-autofix so that the audit knows: ${revokeCommandLine(call.repository, drift.consumerAccount, null, undo)}.`,
        'Add the grant to the code that writes this policy (often an IaC pipeline), or the next run of it removes the grant again.',
      ],
      policyAfter: restored.policyAfter,
      grants: restored.grants,
    });
  }
  return { decisions, policyAfter: changed ? current : null };
}

/** The reports after a `DeleteRepository`: the grants went with the repository. */
export function repositoryDeleted(call: PolicyCall, live: readonly LiveGrant[]): GrantDecision[] {
  return [...byConsumer(live)].map(([consumerAccount, grants]) => {
    const removed = ownedValuesOf(grants);
    const drift: ConsumerDrift = {
      consumerAccount,
      functionArn: grants.find((grant) => grant.functionArn !== null)?.functionArn ?? null,
      missing: removed,
      alreadyReported: false,
    };
    return {
      ...base(call, drift, null),
      outcome: 'needs-human',
      reason: 'repository-deleted',
      explanation: `${actor(call)} deleted repository ${call.repository.repositoryName} (account ${call.repository.registryAccount}, ${call.repository.region}) at ${call.eventTime}, and with it the grants lambda-ecr-autofix had made there for account ${consumerAccount}: ${describeValues(removed)}.`,
      nextSteps: [
        `Functions of account ${consumerAccount} that use images of ${call.repository.repositoryName} can no longer pull them (a cold start after the function went inactive, or the next deploy, fails). Move them to another repository, or recreate the repository and push the images again.`,
        'If the repository is recreated, lambda-ecr-autofix grants access again at the next failing deploy (consent rules apply); this report is not repeated.',
      ],
    };
  });
}

type Restore =
  | {
      readonly kind: 'restore';
      readonly policyAfter: string;
      readonly grants: readonly StatementChange[];
      readonly explanation: string;
    }
  | { readonly kind: 'report'; readonly why: string };

/** Plans one consumer's audited values back into the policy, unit by unit (each scope of each function). */
function planRestore(
  call: PolicyCall,
  drift: ConsumerDrift,
  policyText: string | null,
  tags: Readonly<Record<string, string>>,
  config: Config
): Restore {
  const audited = new Set(drift.missing.flatMap((entry) => entry.values));
  const units = restoreUnits(call.repository, drift);
  let current = policyText;
  const grants: StatementChange[] = [];
  const explanations: string[] = [];
  for (const unit of units) {
    const refused =
      guardTarget(unit.target, config) ?? guardRepositoryTags(unit.target, tags, config);
    if (refused !== null) return { kind: 'report', why: refused.explanation };
    const plan = planPolicy({
      policyText: current,
      target: unit.target,
      grantScope: unit.scope,
      organizationId: config.organizationId,
      consent: ownerConsent(unit.target, tags, config),
    });
    if (plan.outcome === 'needs-human') return { kind: 'report', why: plan.explanation };
    if (plan.outcome === 'already-allowed') continue;
    const extra = plan.grants
      .flatMap((grant) => grant.added)
      .filter((value) => !audited.has(value));
    if (extra.length > 0) {
      return {
        kind: 'report',
        why: `Putting the grant back would also add ${extra.join(', ')}, which lambda-ecr-autofix never granted here, so it is left to a person.`,
      };
    }
    current = plan.policyAfter;
    grants.push(...plan.grants);
    explanations.push(plan.explanation);
  }
  if (grants.length === 0 || current === null) {
    return {
      kind: 'report',
      why: 'The planner finds nothing to add for it, yet the policy does not allow the audited values; the policy needs a look by a person.',
    };
  }
  const left = findDrift(
    current,
    grantsOfDrift(drift, call.eventId),
    call.repository,
    config.organizationId
  );
  if (left.length > 0) {
    return {
      kind: 'report',
      why: `The planner cannot put ${describeValues((left[0] as ConsumerDrift).missing)} back exactly.`,
    };
  }
  return { kind: 'restore', policyAfter: current, grants, explanation: explanations.join(' ') };
}

interface RestoreUnit {
  readonly target: Target;
  readonly scope: 'account' | 'function';
}

/**
 * The planner's units for one consumer's missing values: each missing `aws:SourceArn` pattern as the scope that wrote
 * it (`…:function:*` account, `…:function:NAME[:*]` function NAME), and a missing account root on its own.
 */
function restoreUnits(repository: RepositoryTarget, drift: ConsumerDrift): RestoreUnit[] {
  const patterns = drift.missing.find((entry) => entry.sid === SERVICE_SID)?.values ?? [];
  const units = new Map<string, RestoreUnit>();
  for (const pattern of patterns) {
    // Every live service value names a function (accountOfOwnedValue checked `:function:`).
    const rest = (/:function:(.*)$/.exec(pattern) as RegExpExecArray)[1] as string;
    const name = rest.endsWith(':*') ? rest.slice(0, -2) : rest;
    const scope = name.includes('*') || name.includes('?') ? 'account' : 'function';
    const functionName = scope === 'account' ? PROBE_FUNCTION_NAME : name;
    units.set(`${scope}:${functionName}`, {
      scope,
      target: targetOf(repository, drift.consumerAccount, functionName),
    });
  }
  if (units.size === 0) {
    // Only the account root is missing: any function of the account stands for it.
    units.set('account', {
      scope: 'account',
      target: targetOf(repository, drift.consumerAccount, PROBE_FUNCTION_NAME),
    });
  }
  return [...units.values()];
}

function targetOf(
  repository: RepositoryTarget,
  consumerAccount: string,
  functionName: string
): Target {
  // A RepositoryTarget always names a valid repository ARN (it was built from one).
  const image = imageFromRepositoryArn(repository.repositoryArn) as Extract<
    ReturnType<typeof imageFromRepositoryArn>,
    { ok: true }
  >;
  return {
    ...repository,
    consumerAccount,
    functionArn: `arn:${repository.partition}:lambda:${repository.region}:${consumerAccount}:function:${functionName}`,
    functionName,
    image: image.image,
    crossAccount: consumerAccount !== repository.registryAccount,
  };
}

function report(
  call: PolicyCall,
  drift: ConsumerDrift,
  policyText: string | null,
  why: string | null,
  undo: UndoContext
): GrantDecision {
  const repository = call.repository;
  const where = `--region ${repository.region} --registry-id ${repository.registryAccount} --repository-name ${repository.repositoryName}`;
  return {
    ...base(call, drift, policyText),
    outcome: 'needs-human',
    reason: 'grant-removed',
    explanation: `${lossSentence(call, drift)}${why === null ? '' : ` It is not put back automatically: ${why}`}`,
    nextSteps: [
      `If the removal was a mistake, put the values back: in statement ${drift.missing.map((entry) => `${entry.sid} add ${entry.values.join(', ')}`).join('; in statement ')} (aws ecr get-repository-policy ${where} --query policyText --output text > policy.json, edit policy.json, aws ecr set-repository-policy ${where} --policy-text file://policy.json), and add them to the code that writes this policy; or set driftAction to "restore" so that lambda-ecr-autofix puts them back itself.`,
      `If it was on purpose, record it so that lambda-ecr-autofix stops counting the grant as its own: ${revokeCommandLine(repository, drift.consumerAccount, null, undo)} (it changes nothing that is already gone).`,
    ],
  };
}

function base(
  call: PolicyCall,
  drift: ConsumerDrift,
  policyText: string | null
): Omit<GrantDecision, 'outcome' | 'reason' | 'explanation' | 'nextSteps'> {
  return {
    kind: 'drift',
    repository: call.repository,
    consumerAccount: drift.consumerAccount,
    functionArn: drift.functionArn,
    policyBefore: policyText,
    policyAfter: null,
    deletesPolicy: false,
    removed: drift.missing,
    grants: [],
    call,
  };
}

/** "CALLER's SetRepositoryPolicy at TIME removed … from REPOSITORY: …" */
function lossSentence(call: PolicyCall, drift: ConsumerDrift): string {
  const repository = call.repository;
  return `${actor(call)}'s ${call.eventName} at ${call.eventTime} left the policy of repository ${repository.repositoryName} (account ${repository.registryAccount}, ${repository.region}) without grants lambda-ecr-autofix had made for account ${drift.consumerAccount} (${describeValues(drift.missing)}), so Lambda functions of that account may no longer be able to pull their images.`;
}

function actor(call: PolicyCall): string {
  return call.caller.arn ?? 'An unknown caller';
}

function describeValues(values: readonly OwnedValues[]): string {
  return values.map((entry) => `${entry.values.join(', ')} in ${entry.sid}`).join('; ');
}
