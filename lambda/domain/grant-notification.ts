/**
 * The notices of `revoke` and the drift guard: REVOKED, RESTORED and the reports a person acts on. Same rules as the
 * fix notices (notification.ts): an ASCII subject of at most 99 characters, a first screen that says what happened,
 * what changed and what to do, then the details; only the policy diff is ever shortened.
 */
import type { GrantDecision } from './grant-decision';
import type { RenderedNotification } from './notification';
import { MAX_MESSAGE_BYTES, MAX_SUBJECT_LENGTH } from './notification';
import {
  fact,
  indent,
  numbered,
  renderSection,
  shorten,
  toAscii,
  truncateToBytes,
  utf8Length,
} from './notification-text';
import { lineDiff } from './text-diff';

const PRODUCT = '[lambda-ecr-autofix]';
const DETAILS = ['-'.repeat(72), 'DETAILS'].join('\n');
const MESSAGE_BUDGET = MAX_MESSAGE_BYTES - 2_048;

export interface GrantNoticeContext {
  readonly mode: 'enforce' | 'dry-run';
  /** The change is in the policy (written and verified). */
  readonly applied: boolean;
}

export function renderGrantNotification(
  decision: GrantDecision,
  context: GrantNoticeContext
): RenderedNotification {
  return { subject: subjectOf(decision, context), message: bodyOf(decision, context) };
}

function subjectOf(decision: GrantDecision, context: GrantNoticeContext): string {
  const repository = decision.repository;
  const account = decision.consumerAccount ?? 'an account';
  const suffix = ` (${repository.region})`;
  const [headline, verb] = headlineOf(decision, context);
  const head = `${PRODUCT} ${headline}: ${account} `;
  const room = MAX_SUBJECT_LENGTH - head.length - verb.length - suffix.length;
  return toAscii(`${head}${verb}${shorten(repository.repositoryName, room)}${suffix}`).slice(
    0,
    MAX_SUBJECT_LENGTH
  );
}

function headlineOf(decision: GrantDecision, context: GrantNoticeContext): [string, string] {
  if (decision.outcome === 'revoke') {
    return context.applied
      ? ['REVOKED', 'may no longer pull ']
      : ['PROPOSED REVOKE', 'would no longer pull '];
  }
  if (decision.outcome === 'fix') {
    return context.applied
      ? ['RESTORED', 'regains access to ']
      : [
          context.mode === 'dry-run' ? 'PROPOSED RESTORE' : 'RESTORE NOT APPLIED',
          'lost its grant on ',
        ];
  }
  if (decision.reason === 'repository-deleted') return ['REPOSITORY DELETED', 'lost '];
  if (decision.kind === 'drift') return ['GRANT REMOVED', 'from '];
  return ['REVOKE NEEDS A HUMAN', 'on '];
}

function bodyOf(decision: GrantDecision, context: GrantNoticeContext): string {
  const first: string[][] = [['WHAT HAPPENED', decision.explanation]];
  const changed = changeLines(decision, context);
  if (changed.length > 0) first.push(['WHAT CHANGED', ...changed]);
  const steps = [...decision.nextSteps];
  if (decision.outcome === 'revoke' && context.applied) steps.push(...afterRevoke(decision));
  if (steps.length > 0 || decision.outcome === 'needs-human') {
    first.push(['WHAT TO DO', ...numbered(steps)]);
  }
  const details: string[][] = [];
  if (decision.call !== null) {
    const call = decision.call;
    details.push([
      'THE CALL',
      `Call:      ${call.eventName} in account ${call.repository.registryAccount}, ${call.repository.region}`,
      `Caller:    ${fact(call.caller.arn ?? '(unknown)')}`,
      `Time:      ${fact(call.eventTime)}`,
      `Event id:  ${fact(call.eventId)}`,
    ]);
  }
  details.push([
    'THE REPOSITORY',
    `Repository: ${decision.repository.repositoryArn}`,
    `Consumer:   ${decision.consumerAccount === null ? '(none in particular)' : `account ${decision.consumerAccount}`}${decision.functionArn === null ? '' : `, ${decision.functionArn}`}`,
  ]);
  details.push([
    'ABOUT THIS MESSAGE',
    `Outcome: ${decision.outcome}; reason: ${decision.reason}; mode: ${context.mode}.`,
    'Sent by lambda-ecr-autofix. Filter these e-mails with the SNS message attributes outcome, reason, consumerAccount and repository.',
  ]);
  const rendered = [...first, [DETAILS]].map(renderSection);
  const facts = details.map(renderSection);
  if (decision.policyAfter !== null || decision.deletesPolicy) {
    const heading = context.applied ? 'THE POLICY CHANGE' : 'THE PROPOSED POLICY CHANGE';
    const budget =
      MESSAGE_BUDGET - utf8Length([...rendered, ...facts].join('\n\n')) - heading.length - 4;
    const before = decision.policyBefore === null ? '' : pretty(decision.policyBefore);
    const after = decision.deletesPolicy ? '' : pretty(decision.policyAfter as string);
    const diff = lineDiff(before, after);
    rendered.push(
      renderSection([
        heading,
        indent(
          truncateToBytes(
            decision.deletesPolicy ? `${diff}\n(the repository policy is deleted)` : diff,
            budget
          )
        ),
      ])
    );
  }
  return [...rendered, ...facts].join('\n\n');
}

/** One line per statement: what was (or would be) removed from it, or put back into it. */
function changeLines(decision: GrantDecision, context: GrantNoticeContext): string[] {
  const applied = context.applied;
  if (decision.outcome === 'revoke' && decision.reason === 'consumer-revoked') {
    const lines = decision.removed.map(
      (entry) =>
        `- ${applied ? 'Removed' : 'Would remove'} ${entry.values.join(', ')} from statement ${entry.sid}.`
    );
    if (decision.deletesPolicy) {
      lines.push(
        `- ${applied ? 'Deleted' : 'Would delete'} the repository policy (no statement was left).`
      );
    }
    return lines;
  }
  if (decision.outcome === 'fix') {
    return decision.grants.map(
      (grant) =>
        `- ${applied ? 'Put back' : 'Would put back'} ${grant.added.join(', ')} into statement ${grant.sid}.`
    );
  }
  if (decision.kind === 'drift') {
    return decision.removed.map(
      (entry) => `- Missing now: ${entry.values.join(', ')} in statement ${entry.sid}.`
    );
  }
  return [];
}

/** What a revoke means for the consumer's next deploy. */
function afterRevoke(decision: GrantDecision): string[] {
  const account = decision.consumerAccount as string;
  return [
    `Functions of account ${account} that use images of ${decision.repository.repositoryName} fail at their next deploy or cold start, unless another statement lets them pull.`,
    `lambda-ecr-autofix grants access again at such a failure as long as the owner's consent still holds (the repository's share tag, sharedRegistries, sharing "organization"; a same-account repository needs none). To keep account ${account} out, take it out of that consent, or tag the repository with the opt-out tag.`,
  ];
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
