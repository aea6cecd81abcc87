/**
 * `plan`: decide offline what the fixer would do for one event and one repository policy. No AWS call.
 */
import { decide } from '../../lambda/domain/decide';
import type { Decision } from '../../lambda/domain/decision';
import { renderNotification } from '../../lambda/domain/notification';
import { readEvent } from './event-input';
import type { PolicyInput } from './inputs';
import { readConfig, readPolicy, readTags } from './inputs';
import { decisionJson, decisionText } from './output';

export const PLAN_HELP = `Usage: lambda-ecr-autofix plan --event FILE [--event-id ID] [--policy FILE] [--tags FILE]
                               [--tag KEY=VALUE ...] [--config FILE] [--json]

Decides, offline, what lambda-ecr-autofix would do for one failed Lambda deploy.

Options:
  --event FILE    the failed call: the EventBridge event (e.g. a dead-letter queue message body),
                  a CloudTrail record, or the output of "aws cloudtrail lookup-events"; "-" reads stdin
  --event-id ID   which event of a list (lookup-events, a CloudTrail log file) to use; without it
                  the only failed Lambda deploy call of the list is used
  --policy FILE   the repository's current policy: the policy document, or the output of
                  "aws ecr get-repository-policy" (also with --query policyText); without it the
                  repository has no policy
  --tags FILE     the repository's tags: the output of "aws ecr list-tags-for-resource"
                  ({"tags":[{"Key":..,"Value":..}]}), a [{"Key":..,"Value":..}] list or a {"key":"value"} map
  --tag KEY=VALUE one repository tag (repeatable; wins over --tags for the same key). The tags decide
                  the opt-out (optOutTag) and the owner's consent to share with another account
                  (shareTag, e.g. --tag lambda-ecr-autofix:share=222222222222); without any, the
                  repository has none
  --config FILE   configuration JSON (the keys of the cdk.json context "lambda-ecr-autofix")
  --json          print one JSON object: outcome, reason, explanation, target, policyBefore,
                  policyAfter, notification
  -h, --help      show this help

Relative paths are read from the directory the command was typed in.
Exit status: 0 for any decision; 2 for usage errors, unreadable or non-JSON files, and files that
are not what the option expects.`;

export interface PlanOptions {
  readonly event: string;
  readonly eventId?: string | undefined;
  readonly policy?: string | undefined;
  readonly config?: string | undefined;
  /** `--tag KEY=VALUE`, repeatable. */
  readonly tag?: readonly string[] | undefined;
  /** `--tags FILE`. */
  readonly tags?: string | undefined;
  readonly json: boolean;
}

/** Runs `plan` and returns what to print on stdout; `note` prints warnings on stderr. */
export function runPlan(
  options: PlanOptions,
  note: (text: string) => void = () => undefined
): string {
  const config = readConfig(options.config);
  const chosen = readEvent(options.event, options.eventId);
  if (chosen.note !== null) note(chosen.note);
  const policy = options.policy === undefined ? null : readPolicy(options.policy);
  const tags = readTags(options.tags, options.tag ?? []);
  const decision = decide(chosen.event, { policyText: policy?.text ?? null, tags }, config);
  if (policy !== null && options.policy !== undefined) {
    for (const warning of policyMismatches(policy, decision, options.policy)) note(warning);
  }
  // The notification the fixer would send: in enforce mode a fix would be written.
  const applied = decision.outcome === 'fix' && config.mode === 'enforce';
  const notification = renderNotification(decision, {
    mode: config.mode,
    applied,
    repositoryTags: tags,
  });
  return options.json
    ? JSON.stringify(decisionJson(decision, notification), null, 2)
    : decisionText(decision, notification);
}

/** A `get-repository-policy` output of another repository than the event's: planned anyway, but said. */
function policyMismatches(policy: PolicyInput, decision: Decision, path: string): string[] {
  const target = decision.target;
  if (target === null) return [];
  const warnings: string[] = [];
  if (policy.registryId !== null && policy.registryId !== target.registryAccount) {
    warnings.push(
      `warning: --policy ${path} is the policy of a repository in registry ${policy.registryId}, but the event's image is in registry ${target.registryAccount}; the plan uses it anyway`
    );
  }
  if (policy.repositoryName !== null && policy.repositoryName !== target.repositoryName) {
    warnings.push(
      `warning: --policy ${path} is the policy of repository ${policy.repositoryName}, but the event's image is in ${target.repositoryName}; the plan uses it anyway`
    );
  }
  return warnings;
}
