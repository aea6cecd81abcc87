/**
 * How decisions are shown: one JSON object for machines (`--json`), readable text for people.
 */
import type { DriftCheck } from '../../lambda/application/drift-guard';
import type { GrantOutcome } from '../../lambda/application/grant-audit';
import type { Decision } from '../../lambda/domain/decision';
import type { PolicyCall } from '../../lambda/domain/grant-decision';
import { summarizeTarget } from '../../lambda/domain/decision';
import type { RenderedNotification } from '../../lambda/domain/notification';
import { findJsonStructureProblem } from '../../lambda/domain/json-structure';
import { lineDiff } from '../../lambda/domain/text-diff';

/** The `plan --json` object (DESIGN.md, "Command line"). */
export function decisionJson(decision: Decision, notification: RenderedNotification) {
  return {
    outcome: decision.outcome,
    reason: decision.reason,
    explanation: decision.explanation,
    target: summarizeTarget(decision.target),
    policyBefore: policyValue(decision.policyBefore),
    policyAfter: policyValue(decision.policyAfter),
    notification: { subject: notification.subject, message: notification.message },
  };
}

/** Readable text: the decision, why, what to do, and the policy diff. */
export function decisionText(decision: Decision, notification: RenderedNotification): string {
  const lines = [
    `Decision:    ${decision.outcome} (${decision.reason})`,
    `Explanation: ${decision.explanation}`,
  ];
  const target = decision.target;
  if (target !== null) {
    lines.push(`Repository:  ${target.repositoryArn}`);
    lines.push(
      `Consumer:    account ${target.consumerAccount}${target.functionArn === null ? '' : `, ${target.functionArn}`}`
    );
  }
  decision.nextSteps.forEach((step, index) =>
    lines.push(`${index === 0 ? 'Next steps:  ' : '             '}${index + 1}. ${step}`)
  );
  if (decision.policyAfter !== null) {
    lines.push('', 'Policy change:');
    const before = decision.policyBefore === null ? '' : pretty(decision.policyBefore);
    lines.push(lineDiff(before, pretty(decision.policyAfter)));
  } else if (decision.grants.length > 0) {
    lines.push('', 'Statements to add by hand:');
    lines.push(
      JSON.stringify(
        decision.grants.map((grant) => grant.statement),
        null,
        2
      )
    );
  }
  lines.push('', `Notification subject: ${notification.subject}`);
  return lines.join('\n');
}

/**
 * The policy as a JSON value, or its text as a string when it is not JSON or nests too deeply to print (a hostile
 * policy of thousands of levels would overflow the stack in `JSON.stringify`).
 */
function policyValue(text: string | null): unknown {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return text;
  }
  return findJsonStructureProblem(text, value)?.kind === 'too-deep' ? text : value;
}

function pretty(text: string): string {
  const value = policyValue(text);
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** A revoke or drift decision for `--json`: the decision without the notice text, and what became of it. */
export function grantOutcomeJson(outcome: GrantOutcome) {
  const { decision } = outcome;
  return {
    kind: decision.kind,
    outcome: decision.outcome,
    reason: decision.reason,
    explanation: decision.explanation,
    nextSteps: decision.nextSteps,
    repository: decision.repository,
    consumerAccount: decision.consumerAccount,
    functionArn: decision.functionArn,
    removed: decision.removed,
    restored: decision.grants.map((grant) => ({ sid: grant.sid, added: grant.added })),
    policyBefore: policyValue(decision.policyBefore),
    policyAfter: policyValue(decision.policyAfter),
    deletesPolicy: decision.deletesPolicy,
    eventId: outcome.key.eventId,
    applied: outcome.applied,
    replayed: outcome.replayed,
    messageId: outcome.notificationId,
    notification:
      outcome.notice === null
        ? null
        : { subject: outcome.notice.subject, message: outcome.notice.message },
  };
}

/** A revoke or drift decision as readable text, with the policy diff when it changes the policy. */
export function grantOutcomeText(outcome: GrantOutcome): string {
  const { decision } = outcome;
  const lines = [
    `Decision:    ${decision.outcome} (${decision.reason})`,
    `Explanation: ${decision.explanation}`,
    `Repository:  ${decision.repository.repositoryArn}`,
  ];
  if (decision.consumerAccount !== null) {
    lines.push(
      `Consumer:    account ${decision.consumerAccount}${decision.functionArn === null ? '' : `, ${decision.functionArn}`}`
    );
  }
  decision.nextSteps.forEach((step, index) =>
    lines.push(`${index === 0 ? 'Next steps:  ' : '             '}${index + 1}. ${step}`)
  );
  if (decision.policyAfter !== null || decision.deletesPolicy) {
    lines.push('', outcome.applied ? 'Policy change:' : 'Policy change (not written):');
    const before = decision.policyBefore === null ? '' : pretty(decision.policyBefore);
    lines.push(lineDiff(before, decision.deletesPolicy ? '' : pretty(decision.policyAfter ?? '')));
    if (decision.deletesPolicy) lines.push('(the repository policy is deleted)');
  }
  if (outcome.notice !== null) lines.push('', `Notification subject: ${outcome.notice.subject}`);
  return lines.join('\n');
}

/** The drift guard's verdict on one ECR call, for `apply --json`. */
export function checkJson(call: PolicyCall, check: DriftCheck) {
  const event = {
    eventId: call.eventId,
    eventName: call.eventName,
    eventTime: call.eventTime,
    repositoryArn: call.repository.repositoryArn,
    callerArn: call.caller.arn,
  };
  const owedNotices = check.outbox?.sent.map((notice) => notice.subject) ?? [];
  if (check.kind === 'ignored') {
    return {
      kind: 'drift',
      event,
      outcome: 'ignored',
      reason: check.reason,
      explanation: check.explanation,
      decisions: [],
      owedNoticesSent: owedNotices,
    };
  }
  const first = mostSevere(check.outcomes);
  return {
    kind: 'drift',
    event,
    outcome: first?.decision.outcome ?? 'ignored',
    reason: first?.decision.reason ?? 'no-drift',
    explanation: check.outcomes.map((outcome) => outcome.decision.explanation).join(' '),
    decisions: check.outcomes.map(grantOutcomeJson),
    owedNoticesSent: owedNotices,
  };
}

/**
 * The drift guard's verdict on one ECR call as readable text. `notPublished` says why an outcome's notice was not
 * published (`apply`, the demo); without it (`plan`, which writes and publishes nothing) there are no Applied and
 * Published lines, as for a deploy event.
 */
export function checkText(
  call: PolicyCall,
  check: DriftCheck,
  notPublished?: (outcome: GrantOutcome) => string
): string {
  const head = `Drift check: ${call.eventName} on ${call.repository.repositoryArn} by ${call.caller.arn ?? 'an unknown caller'} at ${call.eventTime} (event ${call.eventId})`;
  if (check.kind === 'ignored') {
    return [
      head,
      `Decision:    ignored (${check.reason})`,
      `Explanation: ${check.explanation}`,
      ...owedText(check),
    ].join('\n');
  }
  return [
    head,
    ...owedText(check).map((line) => `\n${line}`),
    ...check.outcomes.map((outcome) =>
      notPublished === undefined
        ? `\n${grantOutcomeText(outcome)}`
        : `\n${grantOutcomeText(outcome)}\nApplied:     ${outcome.applied ? (outcome.replayed ? 'yes, by an earlier attempt (audit record completed)' : 'yes, written and verified') : 'no'}\nPublished:   ${outcome.notificationId === null ? `no (${notPublished(outcome)})` : `yes, message ${outcome.notificationId}`}`
    ),
  ].join('\n');
}

/** What the notice outbox did on the way (notices earlier changes of the repository still owed). */
function owedText(check: DriftCheck): string[] {
  const outbox = check.outbox;
  if (outbox === undefined) return [];
  return [
    `Owed notices: ${outbox.sent.length} sent now, of earlier changes of this repository${outbox.completed > 0 ? ` (${outbox.completed} interrupted write(s) completed)` : ''}: ${outbox.sent.map((notice) => notice.subject).join('; ') || 'none'}`,
  ];
}

function mostSevere(outcomes: readonly GrantOutcome[]): GrantOutcome | undefined {
  const rank = (outcome: GrantOutcome): number =>
    outcome.decision.outcome === 'needs-human' ? 0 : outcome.decision.outcome === 'fix' ? 1 : 2;
  return [...outcomes].sort((a, b) => rank(a) - rank(b))[0];
}
