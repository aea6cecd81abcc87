/**
 * The decision pipeline for one event, as pure functions: parse → classify → locate → guard → plan.
 *
 * It is split where the fixer must talk to AWS: `triage` needs only the event and the configuration; `decideForPolicy`
 * needs what the repository says (its tags and policy). `decide` runs both for the offline `plan` command.
 */
import type { Classification } from './classify';
import { classifyFailure } from './classify';
import { parseDeployEvent } from './cloudtrail-event';
import type { Config } from './config';
import { ownerConsent } from './consent';
import type { Decision, DeployCall, NeedsHumanReason, Reason, Target } from './decision';
import { guardRepositoryTags, guardTarget, isOwnChange } from './guard';
import { locateTarget } from './locate';
import { planPolicy } from './planner';

/** Facts about the fixer itself. */
export interface FixerIdentity {
  /** ARNs of the fixer's own role (loop guard). */
  readonly roleArns: readonly string[];
}

export type Triage =
  /** Decided without looking at the repository. */
  | { readonly kind: 'decided'; readonly decision: Decision }
  /** A repository-policy failure whose target is known: read the repository's tags and policy next. */
  | { readonly kind: 'read-repository'; readonly call: DeployCall; readonly target: Target };

/** Everything that can be decided from the event and the configuration alone. */
export function triage(input: unknown, config: Config, fixer: FixerIdentity): Triage {
  const parsed = parseDeployEvent(input);
  if (!parsed.ok) {
    return decided(bare('ignored', parsed.reason, parsed.explanation, null));
  }
  return triageCall(parsed.call, config, fixer);
}

/** `triage` for an already parsed call. */
export function triageCall(call: DeployCall, config: Config, fixer: FixerIdentity): Triage {
  if (isOwnChange(call, fixer.roleArns)) {
    return decided(
      bare(
        'ignored',
        'own-change',
        `The call was made by lambda-ecr-autofix's own role (${call.caller.arn ?? 'unknown'}), so it is not acted on.`,
        call
      )
    );
  }
  const classification = classifyFailure(call);
  if (classification.kind === 'ignored') {
    return decided(bare('ignored', classification.reason, classification.explanation, call));
  }
  const located = locateTarget(call, classification);
  if (classification.kind === 'needs-human') {
    return decided(fromClassification(classification, call, located.ok ? located.target : null));
  }
  if (!located.ok) {
    // Without an image URI in the request or the error message the decision stays `image-uri-unknown`: the function's
    // current image (GetFunction) is the one *before* a failed UpdateFunctionCode, so it names the wrong repository.
    return decided(
      bare('needs-human', located.reason, located.explanation, call, located.nextSteps)
    );
  }
  const { target } = located;
  const blocked = guardTarget(target, config);
  if (blocked !== null) {
    return decided({
      ...bare('needs-human', blocked.reason, blocked.explanation, call, blocked.nextSteps),
      target,
    });
  }
  return { kind: 'read-repository', call, target };
}

/**
 * What the repository says decides the rest: the opt-out tag (which wins over every form of consent), then the policy
 * plan, with the owner's consent (its share tag, or the configuration) for a cross-account grant.
 */
export function decideForPolicy(
  call: DeployCall,
  target: Target,
  repository: {
    readonly policyText: string | null;
    readonly tags: Readonly<Record<string, string>>;
  },
  config: Config
): Decision {
  const optedOut = guardRepositoryTags(target, repository.tags, config);
  if (optedOut !== null) {
    return {
      ...bare('needs-human', optedOut.reason, optedOut.explanation, call, optedOut.nextSteps),
      target,
      policyBefore: repository.policyText,
    };
  }
  const plan = planPolicy({
    policyText: repository.policyText,
    target,
    grantScope: config.grantScope,
    organizationId: config.organizationId,
    callerArns: callerArns(call),
    consent: ownerConsent(target, repository.tags, config),
  });
  const base = { call, target, policyBefore: repository.policyText };
  switch (plan.outcome) {
    case 'fix':
      return {
        ...base,
        outcome: 'fix',
        reason: 'repository-policy-missing-grant',
        explanation: plan.explanation,
        nextSteps: [],
        policyAfter: plan.policyAfter,
        grants: plan.grants,
      };
    case 'already-allowed':
      return {
        ...base,
        outcome: 'already-allowed',
        reason: 'grant-already-present',
        explanation: plan.explanation,
        nextSteps: [],
        policyAfter: null,
        grants: [],
      };
    case 'needs-human':
      return {
        ...base,
        outcome: 'needs-human',
        reason: plan.reason,
        explanation: plan.explanation,
        nextSteps: plan.nextSteps,
        policyAfter: null,
        grants: plan.grants,
      };
  }
}

/**
 * The whole decision offline: the repository's policy and tags are given (absent policy = the repository has none).
 * Used by the `plan` command.
 */
export function decide(
  input: unknown,
  repository: {
    readonly policyText: string | null;
    readonly tags?: Readonly<Record<string, string>>;
  },
  config: Config,
  fixer: FixerIdentity = { roleArns: [] }
): Decision {
  const triaged = triage(input, config, fixer);
  switch (triaged.kind) {
    case 'decided':
      return triaged.decision;
    case 'read-repository':
      return decideForPolicy(
        triaged.call,
        triaged.target,
        { policyText: repository.policyText, tags: repository.tags ?? {} },
        config
      );
  }
}

/** The caller's role and session ARNs, as a repository policy's Deny might name them. */
export function callerArns(call: DeployCall): string[] {
  const arns = [call.caller.principalArn, call.caller.arn].filter(
    (arn): arn is string => arn !== null
  );
  return [...new Set(arns)];
}

function fromClassification(
  classification: Extract<Classification, { kind: 'needs-human' }>,
  call: DeployCall,
  target: Target | null
): Decision {
  return {
    ...bare(
      'needs-human',
      classification.reason,
      classification.explanation,
      call,
      classification.nextSteps
    ),
    target,
  };
}

function decided(decision: Decision): Triage {
  return { kind: 'decided', decision };
}

/** A decision with no target and no policy. */
export function bare(
  outcome: Decision['outcome'],
  reason: Reason | NeedsHumanReason,
  explanation: string,
  call: DeployCall | null,
  nextSteps: readonly string[] = []
): Decision {
  return {
    outcome,
    reason,
    explanation,
    nextSteps,
    call,
    target: null,
    policyBefore: null,
    policyAfter: null,
    grants: [],
  };
}
