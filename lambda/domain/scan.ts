/**
 * The scan's verdict on one container-image function, decided by the same core as `plan` and the fixer
 * (classify → locate → guard → decideForPolicy, consent included wherever the core applies it):
 *
 * - `broken`: its state or last update says Lambda cannot pull or use the image (function-state.ts);
 * - `at-risk`: nothing is wrong yet, but the repository policy would refuse Lambda's pull at the next deploy or cold
 *   start, and lambda-ecr-autofix may add the grant;
 * - `needs-human`: the policy refuses the pull and a person must act (an explicit deny, no consent, an opted-out or
 *   excluded repository, a missing repository, an unusable image URI), or the function fails for a reason no
 *   repository policy fixes (KMS, VPC, execution role …);
 * - `ok`: the policy lets Lambda pull (whatever the tags and guards say: they only matter for a fix);
 * - `unknown`: the scan could not tell (the repository could not be read, the function could not be looked up), and why.
 */
import type { Config } from './config';
import { classifyFailure } from './classify';
import { decideForPolicy } from './decide';
import type { Decision, Reason, Target } from './decision';
import type { FunctionHealth, ImageFailure } from './function-state';
import { assessFunctionState } from './function-state';
import { guardTarget } from './guard';
import { parseImageUri } from './image-uri';
import { locateTarget } from './locate';
import { repositoryArnOf } from './repository-arn';
import type { ScanContext, ScannedFunction } from './scan-call';
import { imageOf, scanCall } from './scan-call';

export const SCAN_STATUSES = ['ok', 'broken', 'at-risk', 'needs-human', 'unknown'] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];

/** The decision core's reasons, plus what only a function's own state or the scan's reads can say. */
export type ScanReason =
  | Reason
  | ImageFailure
  | 'function-failed'
  | 'function-deleting'
  | 'function-lookup-failed'
  | 'repository-unreadable';

/** One row of the scan's output (`--json`, `--csv`), plus whether the fixer may fix it. */
export interface ScanFinding {
  readonly functionName: string;
  readonly functionArn: string;
  readonly region: string;
  readonly imageUri: string | null;
  readonly repositoryArn: string | null;
  readonly status: ScanStatus;
  readonly reason: ScanReason;
  readonly explanation: string;
  /** The core decides `fix` and no configuration guard refuses it: `scan --fix` and the sweep may fix it. */
  readonly fixable: boolean;
}

/** Where the function's repository is, or why the scan cannot tell. */
export type LocatedFunction =
  | { readonly ok: true; readonly target: Target }
  | {
      readonly ok: false;
      readonly status: 'needs-human' | 'unknown';
      readonly reason: ScanReason;
      readonly explanation: string;
    };

/** What the scan read about the repository. */
export type RepositoryReading =
  | {
      readonly kind: 'read';
      readonly policyText: string | null;
      /** Null when the tags were not needed (see `needsTags`). */
      readonly tags: Readonly<Record<string, string>> | null;
    }
  | {
      readonly kind: 'unreadable';
      readonly status: 'needs-human' | 'unknown';
      readonly reason: ScanReason;
      readonly explanation: string;
    };

/** Locates the function's repository the way the fixer would locate it for a failed deploy. */
export function locateFunction(fn: ScannedFunction, context: ScanContext): LocatedFunction {
  const call = scanCall(fn, context);
  const located = locateTarget(call, classifyFailure(call));
  if (located.ok) return located;
  return {
    ok: false,
    // The image is known but unusable (malformed, another Region): a person must fix the function.
    status: located.reason === 'image-uri-unknown' ? 'unknown' : 'needs-human',
    reason: located.reason,
    explanation:
      located.reason === 'image-uri-unknown'
        ? 'GetFunction returned no image URI for this container-image function.'
        : located.explanation,
  };
}

/** Verdicts that the repository's tags cannot change: the policy itself stands in the way. */
const DECIDED_WITHOUT_TAGS: readonly Reason[] = [
  'explicit-deny',
  'policy-invalid',
  'policy-not-understood',
  'function-name-unknown',
];

/**
 * Whether deciding needs the repository's tags: only when the policy lacks the grant, because the tags can block
 * (opt-out) or allow (the owner's consent to share) a fix, never the pull itself. Saves one call per healthy
 * repository.
 */
export function needsTags(
  fn: ScannedFunction,
  target: Target,
  policyText: string | null,
  config: Config,
  context: ScanContext
): boolean {
  const decision = policyDecision(fn, target, policyText, {}, config, context);
  return (
    decision.outcome === 'fix' ||
    (decision.outcome === 'needs-human' && !DECIDED_WITHOUT_TAGS.includes(decision.reason))
  );
}

/** The verdict on one function; `located` and `reading` come from `locateFunction` and the repository read. */
export function assessFunction(
  fn: ScannedFunction,
  located: LocatedFunction,
  reading: RepositoryReading | null,
  config: Config,
  context: ScanContext
): ScanFinding {
  const health = assessFunctionState(fn);
  const row = {
    functionName: fn.functionName,
    functionArn: fn.functionArn,
    region: fn.region,
    imageUri: imageOf(fn),
    repositoryArn: located.ok ? located.target.repositoryArn : repositoryOfImage(fn),
  };
  if (health.kind === 'deleting') {
    return { ...row, ...finding('unknown', 'function-deleting', health.explanation) };
  }
  if (!located.ok) return { ...row, ...unanswered(health, located) };
  if (reading === null || reading.kind === 'unreadable') {
    return { ...row, ...unanswered(health, reading ?? unreadable('The repository was not read.')) };
  }
  const { target } = located;
  const decision = policyDecision(
    fn,
    target,
    reading.policyText,
    reading.tags ?? {},
    config,
    context
  );
  const allowed =
    decision.outcome === 'already-allowed' ||
    policyDecision(fn, target, reading.policyText, {}, config, context).outcome ===
      'already-allowed';
  const guard = guardTarget(target, config);
  const fixable = decision.outcome === 'fix' && guard === null;

  if (health.kind === 'image-failure') {
    const policy = allowed
      ? pullAllowedNow(health.reason)
      : fixable
        ? `${decision.explanation} lambda-ecr-autofix may add the grant (scan --fix).`
        : (guard?.explanation ?? decision.explanation);
    return {
      ...row,
      ...finding('broken', health.reason, `${health.explanation} ${policy}`),
      fixable: fixable && health.reason === 'image-access-denied',
    };
  }
  if (allowed) {
    return health.kind === 'other-failure'
      ? {
          ...row,
          ...finding(
            'needs-human',
            'function-failed',
            `${health.explanation} The repository policy lets Lambda pull the image.`
          ),
        }
      : { ...row, ...finding('ok', 'grant-already-present', withNote(health.note, decision)) };
  }
  if (decision.outcome === 'fix' && guard === null) {
    return {
      ...row,
      ...finding('at-risk', decision.reason, join(health, decision.explanation)),
      fixable: true,
    };
  }
  if (decision.outcome === 'fix' && guard !== null) {
    return { ...row, ...finding('needs-human', guard.reason, join(health, guard.explanation)) };
  }
  return { ...row, ...finding('needs-human', decision.reason, join(health, decision.explanation)) };
}

/** A function GetFunction could not describe (other than "not found", which the scan skips). */
export function lookupFailed(
  fn: Pick<ScannedFunction, 'functionName' | 'functionArn' | 'region'>,
  explanation: string
): ScanFinding {
  return {
    functionName: fn.functionName,
    functionArn: fn.functionArn,
    region: fn.region,
    imageUri: null,
    repositoryArn: null,
    ...finding('unknown', 'function-lookup-failed', explanation),
  };
}

/** Counts per status, every status present. */
export function summarizeFindings(
  findings: readonly Pick<ScanFinding, 'status'>[]
): Record<ScanStatus, number> {
  const summary: Record<ScanStatus, number> = {
    ok: 0,
    broken: 0,
    'at-risk': 0,
    'needs-human': 0,
    unknown: 0,
  };
  for (const { status } of findings) summary[status] += 1;
  return summary;
}

/** A repository that could not be read, as the scan reports it. */
export function unreadable(
  explanation: string,
  reason: ScanReason = 'repository-unreadable',
  status: 'needs-human' | 'unknown' = 'unknown'
): Extract<RepositoryReading, { kind: 'unreadable' }> {
  return { kind: 'unreadable', status, reason, explanation };
}

function policyDecision(
  fn: ScannedFunction,
  target: Target,
  policyText: string | null,
  tags: Readonly<Record<string, string>>,
  config: Config,
  context: ScanContext
): Decision {
  return decideForPolicy(scanCall(fn, context), target, { policyText, tags }, config);
}

/** The repository an image URI names, even one Lambda would not use (e.g. in another Region); null if none. */
function repositoryOfImage(fn: ScannedFunction): string | null {
  const uri = imageOf(fn);
  const parsed = uri === null ? null : parseImageUri(uri);
  return parsed?.ok === true
    ? repositoryArnOf(
        parsed.image.partition,
        parsed.image.region,
        parsed.image.registryAccount,
        parsed.image.repositoryName
      )
    : null;
}

function finding(
  status: ScanStatus,
  reason: ScanReason,
  explanation: string
): Pick<ScanFinding, 'status' | 'reason' | 'explanation' | 'fixable'> {
  return { status, reason, explanation, fixable: false };
}

/** No policy verdict (no repository, or it could not be read): the state decides `broken`, else the problem. */
function unanswered(
  health: FunctionHealth,
  problem: { status: ScanStatus; reason: ScanReason; explanation: string }
): Pick<ScanFinding, 'status' | 'reason' | 'explanation' | 'fixable'> {
  return health.kind === 'image-failure'
    ? finding('broken', health.reason, join(health, problem.explanation))
    : finding(problem.status, problem.reason, join(health, problem.explanation));
}

/** The explanation, preceded by what the function's state says when it fails for another reason. */
function join(health: FunctionHealth, explanation: string): string {
  return health.kind === 'other-failure' || health.kind === 'image-failure'
    ? `${health.explanation} ${explanation}`
    : explanation;
}

function withNote(note: string | null, decision: Decision): string {
  return note === null ? decision.explanation : `${decision.explanation} ${note}`;
}

function pullAllowedNow(reason: ImageFailure): string {
  switch (reason) {
    case 'image-access-denied':
      return 'The repository policy lets Lambda pull the image now: invoke the function, or deploy it again, so that Lambda pulls it.';
    case 'image-deleted':
      return 'The repository policy lets Lambda pull, but the image is gone: push it again, or deploy the function with an image that exists.';
    case 'image-invalid':
      return 'The repository policy lets Lambda pull, but Lambda cannot use the image: rebuild it for Lambda (for example with --provenance=false) and deploy it again.';
  }
}
