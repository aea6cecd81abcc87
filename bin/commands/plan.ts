/**
 * `plan`: decide offline what the fixer would do for one event and one repository policy. No AWS call.
 */
import { decide } from '../../lambda/domain/decide';
import { renderNotification } from '../../lambda/domain/notification';
import { readConfig, readJson, readPolicy } from './inputs';
import { decisionJson, decisionText } from './output';

export const PLAN_HELP = `Usage: lambda-ecr-autofix plan --event FILE [--policy FILE] [--config FILE] [--json]

Decides, offline, what lambda-ecr-autofix would do for one failed Lambda deploy.

Options:
  --event FILE    the EventBridge event (or bare CloudTrail record) of the failed call; "-" reads stdin
  --policy FILE   the repository's current policy: the policy document, or the output of
                  "aws ecr get-repository-policy"; without it the repository has no policy
  --config FILE   configuration JSON (the keys of the cdk.json context "lambda-ecr-autofix")
  --json          print one JSON object: outcome, reason, explanation, target, policyBefore,
                  policyAfter, notification
  -h, --help      show this help

Exit status: 0 for any decision; 2 for usage errors and unreadable or non-JSON files.`;

export interface PlanOptions {
  readonly event: string;
  readonly policy?: string | undefined;
  readonly config?: string | undefined;
  readonly json: boolean;
}

/** Runs `plan` and returns what to print on stdout. */
export function runPlan(options: PlanOptions): string {
  const config = readConfig(options.config);
  const event = readJson('--event', options.event);
  const policyText = options.policy === undefined ? null : readPolicy(options.policy);
  const decision = decide(event, { policyText }, config);
  // The notification the fixer would send: in enforce mode a fix would be written.
  const applied = decision.outcome === 'fix' && config.mode === 'enforce';
  const notification = renderNotification(decision, { mode: config.mode, applied });
  return options.json
    ? JSON.stringify(decisionJson(decision, notification), null, 2)
    : decisionText(decision, notification);
}
