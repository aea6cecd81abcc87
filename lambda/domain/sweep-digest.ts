/**
 * The digest of one account sweep (one account, one Region): counts per status, the functions that are not `ok`, what
 * was fixed, and what kept the sweep from looking. It travels with the sweep from chunk to chunk (in the continuation
 * message), so it is bounded: at most `MAX_LISTED` functions and `MAX_FIXED` repositories are listed, the rest counted.
 * One notice is sent when the sweep ends, if it found anything at all.
 */
import type { ScanFinding, ScanStatus } from './scan';
import { SCAN_STATUSES } from './scan';

export const MAX_LISTED = 50;
export const MAX_FIXED = 20;
const MAX_TEXT = 300;
const MAX_SUBJECT_LENGTH = 99;
/** What a person must look at first: a function that fails now, then one that will. */
const SEVERITY: Readonly<Record<DigestEntry['status'], number>> = {
  broken: 0,
  'at-risk': 1,
  'needs-human': 2,
  unknown: 3,
};
/** Where the first screen ends and the details begin, as in the other notices. */
const DETAILS = ['-'.repeat(72), 'DETAILS'].join('\n');

/** A function that is not `ok`, as the digest lists it. */
export interface DigestEntry {
  readonly functionName: string;
  readonly status: Exclude<ScanStatus, 'ok'>;
  readonly reason: string;
  readonly repositoryArn: string | null;
  readonly explanation: string;
}

/** A repository the sweep fixed, and for which functions. */
export interface DigestFix {
  readonly repositoryArn: string;
  readonly functions: readonly string[];
}

export interface SweepDigest {
  readonly counts: Readonly<Record<ScanStatus, number>>;
  /** Functions listed, then gone when described. */
  readonly deleted: number;
  readonly listed: readonly DigestEntry[];
  /** Functions not `ok` beyond `MAX_LISTED`. */
  readonly unlisted: number;
  readonly fixed: readonly DigestFix[];
  /** Repositories fixed beyond `MAX_FIXED`. */
  readonly unlistedFixes: number;
  /** Fixes the pipeline could not complete (they stay at-risk or broken until the next sweep). */
  readonly failedFixes: number;
  /**
   * Fixes written and verified whose own FIXED notice could not be sent and that nothing will send again (a sweep
   * without an audit table): this digest is their only notice. With an audit table the notice outbox sends them, and
   * they are counted in `lateNotices`.
   */
  readonly unnotifiedFixes: number;
  /**
   * Notices the sweep sent from the audit table (the notice outbox): notices of applied changes, its own fixes' or an
   * earlier run's, that could not be sent when the change was made.
   */
  readonly lateNotices: number;
  /** Interrupted writes the sweep found in the policy, whose audit records it completed (their notices are late). */
  readonly completedWrites: number;
  /** What kept the sweep from looking at all (e.g. the registry role may not list functions). */
  readonly problems: readonly string[];
}

/** One fix the pipeline made for a function. */
export interface AppliedFix {
  readonly functionName: string;
  readonly repositoryArn: string;
  /** Whether its own FIXED notice was sent (or was not due). */
  readonly notified: boolean;
}

export function emptyDigest(): SweepDigest {
  return {
    counts: { ok: 0, broken: 0, 'at-risk': 0, 'needs-human': 0, unknown: 0 },
    deleted: 0,
    listed: [],
    unlisted: 0,
    fixed: [],
    unlistedFixes: 0,
    failedFixes: 0,
    unnotifiedFixes: 0,
    lateNotices: 0,
    completedWrites: 0,
    problems: [],
  };
}

/** The digest with one chunk's findings and fixes added. */
export function addToDigest(
  digest: SweepDigest,
  chunk: {
    readonly findings: readonly ScanFinding[];
    readonly deleted: number;
    readonly fixes: readonly AppliedFix[];
    readonly failedFixes: number;
    /** What the notice outbox did in this chunk. */
    readonly lateNotices?: number;
    readonly completedWrites?: number;
  }
): SweepDigest {
  const counts = { ...digest.counts };
  const listed = [...digest.listed];
  let unlisted = digest.unlisted;
  for (const finding of chunk.findings) {
    counts[finding.status] += 1;
    if (finding.status === 'ok') continue;
    const entry: DigestEntry = {
      functionName: finding.functionName,
      status: finding.status,
      reason: finding.reason,
      repositoryArn: finding.repositoryArn,
      explanation: clip(finding.explanation),
    };
    if (listed.length < MAX_LISTED) {
      listed.push(entry);
      continue;
    }
    // The list is full: a worse finding takes the place of the last of the least severe ones listed.
    unlisted += 1;
    const least = leastSevere(listed);
    if (SEVERITY[entry.status] < SEVERITY[(listed[least] as DigestEntry).status]) {
      listed[least] = entry;
    }
  }
  const fixed = digest.fixed.map((fix) => ({ ...fix, functions: [...fix.functions] }));
  let unlistedFixes = digest.unlistedFixes;
  for (const fix of chunk.fixes) {
    const known = fixed.find((entry) => entry.repositoryArn === fix.repositoryArn);
    if (known !== undefined) known.functions.push(fix.functionName);
    else if (fixed.length < MAX_FIXED) {
      fixed.push({ repositoryArn: fix.repositoryArn, functions: [fix.functionName] });
    } else unlistedFixes += 1;
  }
  return {
    ...digest,
    counts,
    deleted: digest.deleted + chunk.deleted,
    listed,
    unlisted,
    fixed,
    unlistedFixes,
    failedFixes: digest.failedFixes + chunk.failedFixes,
    unnotifiedFixes: digest.unnotifiedFixes + chunk.fixes.filter((fix) => !fix.notified).length,
    lateNotices: digest.lateNotices + (chunk.lateNotices ?? 0),
    completedWrites: digest.completedWrites + (chunk.completedWrites ?? 0),
  };
}

/** The digest with a problem that kept the sweep from looking. */
export function withProblem(digest: SweepDigest, problem: string): SweepDigest {
  return { ...digest, problems: [...digest.problems, clip(problem)].slice(0, 5) };
}

/**
 * Whether the sweep found anything worth a notice: a function that is not `ok`, a fix, a notice it sent late or a
 * record it completed, or a problem.
 */
export function foundSomething(digest: SweepDigest): boolean {
  return (
    SCAN_STATUSES.some((status) => status !== 'ok' && digest.counts[status] > 0) ||
    digest.fixed.length > 0 ||
    digest.lateNotices > 0 ||
    digest.completedWrites > 0 ||
    digest.problems.length > 0
  );
}

/** The notice: an ASCII subject of at most 99 characters and a plain-text body. */
export function renderDigest(
  sweep: { readonly account: string; readonly region: string; readonly startedAt: string },
  digest: SweepDigest
): { subject: string; message: string } {
  const { counts } = digest;
  const fixedCount = digest.fixed.reduce((sum, fix) => sum + fix.functions.length, 0);
  const headline = [
    counts.broken > 0 ? `${counts.broken} broken` : '',
    counts['at-risk'] > 0 ? `${counts['at-risk']} at-risk` : '',
    counts['needs-human'] > 0 ? `${counts['needs-human']} need a human` : '',
    fixedCount > 0 ? `${fixedCount} fixed` : '',
    digest.lateNotices > 0 ? `${digest.lateNotices} late notice(s)` : '',
    digest.problems.length > 0 ? 'could not sweep' : '',
  ].filter((part) => part !== '');
  const subject =
    `[lambda-ecr-autofix] SWEEP ${sweep.account} (${sweep.region}): ${headline.length > 0 ? headline.join(', ') : `${counts.unknown} unknown`}`
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, MAX_SUBJECT_LENGTH);

  const sections: string[][] = [
    [
      'WHAT THE SWEEP FOUND',
      `The scheduled sweep of account ${sweep.account} in ${sweep.region} (started ${sweep.startedAt}) checked every container-image function.`,
      SCAN_STATUSES.map((status) => `${status} ${counts[status]}`).join(', ') +
        (digest.deleted > 0 ? ` (${digest.deleted} deleted during the sweep)` : ''),
    ],
  ];
  if (digest.problems.length > 0) {
    sections.push(['WHAT KEPT THE SWEEP FROM LOOKING', ...digest.problems.map((p) => `- ${p}`)]);
  }
  sections.push([
    'WHAT TO DO',
    `- The whole list, with each explanation: lambda-ecr-autofix scan --region ${sweep.region} --json (with credentials of account ${sweep.account}).`,
    ...(counts.broken > 0
      ? [
          '- broken: fix the cause, then invoke the function or deploy it again so that Lambda pulls the image.',
        ]
      : []),
    ...(counts['at-risk'] === 0
      ? []
      : digest.fixed.length > 0
        ? [
            '- at-risk: what lambda-ecr-autofix could fix is under WHAT WAS FIXED; any other is listed with why.',
          ]
        : [
            '- at-risk: lambda-ecr-autofix may add the grant: set sweepAction to "fix" (the sweep then fixes with the fixer\'s consent checks, audit record and notice), or run lambda-ecr-autofix scan --fix --audit-table <AuditTableName> --topic-arn <TopicArn> (without them a fix is neither recorded nor announced).',
          ]),
    ...(counts['needs-human'] > 0
      ? [
          '- needs-human: a person must act; each explanation says why (a Deny, no consent to share, an opted-out, excluded or missing repository, a failure of the function itself).',
        ]
      : []),
    ...(counts.unknown > 0
      ? [
          '- unknown: the sweep could not tell; each explanation says why (for example no registry role in the account of the repository).',
        ]
      : []),
  ]);
  if (digest.fixed.length > 0 || digest.failedFixes > 0) {
    sections.push([
      'WHAT WAS FIXED (sweepAction "fix"; each fix also sent its own notice, with how to undo it, and audit record)',
      ...digest.fixed.map((fix) => `- ${fix.repositoryArn}: for ${fix.functions.join(', ')}`),
      ...(digest.unlistedFixes > 0
        ? [`- and ${digest.unlistedFixes} more function(s) in other repositories`]
        : []),
      ...(digest.failedFixes > 0
        ? [
            `- ${digest.failedFixes} fix(es) failed; any of their writes that reached the policy is completed and notified from the audit table, the others are tried again by the next sweep`,
          ]
        : []),
      ...(digest.unnotifiedFixes > 0
        ? [
            `- ${digest.unnotifiedFixes} of these fix(es) could not send their own notice (SNS failed) and no audit table keeps it to send later: this digest is their only notice`,
          ]
        : []),
    ]);
  }
  if (digest.lateNotices > 0 || digest.completedWrites > 0) {
    sections.push([
      'NOTICES SENT LATE (the audit table kept them)',
      ...(digest.lateNotices > 0
        ? [
            `- ${digest.lateNotices} notice(s) of changes lambda-ecr-autofix made (fixes of this sweep or of earlier runs) could not be sent when the change was made; this sweep sent them now`,
          ]
        : []),
      ...(digest.completedWrites > 0
        ? [
            `- ${digest.completedWrites} write(s) of earlier runs were interrupted before their audit record was completed; the sweep found them in the policy and completed the record`,
          ]
        : []),
    ]);
  }
  if (digest.listed.length > 0) {
    const worstFirst = [...digest.listed].sort(
      (a, b) =>
        SEVERITY[a.status] - SEVERITY[b.status] || a.functionName.localeCompare(b.functionName)
    );
    // The list can be long: after the first screen, as the details of every other notice.
    sections.push([DETAILS]);
    sections.push([
      'FUNCTIONS THAT ARE NOT OK (as found, before any fix)',
      ...worstFirst.flatMap((entry) => [
        `- ${entry.functionName}: ${entry.status} (${entry.reason})${entry.repositoryArn === null ? '' : `, ${entry.repositoryArn}`}`,
        `  ${entry.explanation}`,
      ]),
      ...(digest.unlisted > 0 ? [`- and ${digest.unlisted} more`] : []),
    ]);
  }
  const message = sections.map((lines) => lines.join('\n')).join('\n\n');
  return { subject, message };
}

/** The index of the last listed entry of the least severe status. */
function leastSevere(listed: readonly DigestEntry[]): number {
  let found = 0;
  listed.forEach((entry, index) => {
    if (SEVERITY[entry.status] >= SEVERITY[(listed[found] as DigestEntry).status]) found = index;
  });
  return found;
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 3)}...` : text;
}
