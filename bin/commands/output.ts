/**
 * How decisions are shown: one JSON object for machines (`--json`), readable text for people.
 */
import type { Decision } from '../../lambda/domain/decision';
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
