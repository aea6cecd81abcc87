/**
 * `plan`: decide offline what the fixer would do for one event and one repository policy. No AWS call.
 */
import type { DriftCheck } from '../../lambda/application/drift-guard';
import type { GrantOutcome } from '../../lambda/application/grant-audit';
import type { Config } from '../../lambda/domain/config';
import { bare, decide } from '../../lambda/domain/decide';
import { assessDrift, respondToDrift } from '../../lambda/domain/drift';
import type { GrantDecision, PolicyCall } from '../../lambda/domain/grant-decision';
import type { LedgerRecord } from '../../lambda/domain/grant-ledger';
import { renderGrantNotification } from '../../lambda/domain/grant-notification';
import { isEcrEvent, parsePolicyCallEvent } from '../../lambda/domain/policy-call-event';
import type { Decision } from '../../lambda/domain/decision';
import { renderNotification } from '../../lambda/domain/notification';
import { readEvent } from './event-input';
import type { PolicyInput } from './inputs';
import { readConfig, readJson, readPolicy, readTags } from './inputs';
import { checkJson, checkText, decisionJson, decisionText } from './output';
import { UsageError } from './usage-error';

export const PLAN_HELP = `Usage: lambda-ecr-autofix plan --event FILE [--event-id ID] [--policy FILE] [--tags FILE]
                               [--tag KEY=VALUE ...] [--config FILE] [--json]

Decides, offline, what lambda-ecr-autofix would do for one failed Lambda deploy.

Options:
  --event FILE    the failed call: the EventBridge event (e.g. a dead-letter queue message body),
                  a CloudTrail record or log file, the output of "aws cloudtrail lookup-events" or
                  "aws sqs receive-message" (or one entry of it); "-" reads stdin
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
  --audit FILE    for an ECR SetRepositoryPolicy / DeleteRepositoryPolicy / DeleteRepository event
                  (the drift guard's input): the repository's audit records, as "history --json"
                  prints them; --policy is then the policy after that call
  --config FILE   configuration JSON (the keys of the cdk.json context "lambda-ecr-autofix")
  --json          print one JSON object: outcome, reason, explanation, target, policyBefore,
                  policyAfter, notification (for an ECR event: the drift check, with one
                  decision per consumer account)
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
  /** `--audit FILE`: the output of `history --json`, for an ECR event. */
  readonly audit?: string | undefined;
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
  if (isEcrEvent(chosen.event)) {
    return planPolicyCall(chosen.event, policy?.text ?? null, tags, config, options, note);
  }
  if (options.audit !== undefined) {
    note(
      'warning: --audit is only used for ECR repository-policy events (the drift guard); ignored'
    );
  }
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

/** `plan` for an ECR repository-policy call: the drift guard's decision, offline, from the audit records given. */
function planPolicyCall(
  event: unknown,
  policyText: string | null,
  tags: Readonly<Record<string, string>>,
  config: Config,
  options: PlanOptions,
  note: (text: string) => void
): string {
  const parsed = parsePolicyCallEvent(event);
  if (!parsed.ok) {
    const decision = bare('ignored', parsed.reason, parsed.explanation, null);
    const notification = renderNotification(decision, { mode: config.mode, applied: false });
    return options.json
      ? JSON.stringify(decisionJson(decision, notification), null, 2)
      : decisionText(decision, notification);
  }
  const call = parsed.call;
  if (options.audit === undefined) {
    throw new UsageError(
      `--audit FILE is required for an ECR ${call.eventName} event: the repository's audit records, as "lambda-ecr-autofix history --repository ${call.repository.repositoryArn} --json" prints them`
    );
  }
  const given = readAuditRecords(options.audit);
  const repositoryArn = call.repository.repositoryArn;
  if (given.length > 0 && !given.some((record) => record.repositoryArn === repositoryArn)) {
    // Most likely the history of another repository: "no drift" would then only mean "no record given".
    note(
      `warning: --audit ${options.audit} holds ${given.length} audit record(s), none of repository ${repositoryArn}: ` +
        `the check sees no grant of lambda-ecr-autofix there (lambda-ecr-autofix history --repository ${repositoryArn} --json prints its records)`
    );
  }
  const records = given.filter(
    (record) =>
      record.repositoryArn === repositoryArn && !record.eventId.startsWith(`${call.eventId}/`)
  );
  const check = driftCheckOffline(call, records, policyText, tags, config);
  return options.json ? JSON.stringify(checkJson(call, check), null, 2) : checkText(call, check);
}

function driftCheckOffline(
  call: PolicyCall,
  records: readonly LedgerRecord[],
  policyText: string | null,
  tags: Readonly<Record<string, string>>,
  config: Config
): DriftCheck {
  const assessed = assessDrift(
    call,
    records,
    call.eventName === 'DeleteRepository' ? null : policyText,
    config
  );
  if (assessed.kind === 'ignored') return assessed;
  const restoring = config.driftAction === 'restore' && config.mode === 'enforce';
  const decisions =
    assessed.kind === 'deleted'
      ? assessed.decisions
      : respondToDrift(call, assessed.drifts, { policyText, tags: restoring ? tags : null }, config)
          .decisions;
  if (decisions.length === 0) {
    return {
      kind: 'ignored',
      reason: 'drift-already-reported',
      explanation: 'The missing grants were reported before and still cannot be put back.',
    };
  }
  return {
    kind: 'decided',
    outcomes: decisions.map((decision) => offlineOutcome(call, decision, config)),
    unverified: false,
  };
}

function offlineOutcome(call: PolicyCall, decision: GrantDecision, config: Config): GrantOutcome {
  // The notice the fixer would send: in enforce mode a restore would be written.
  const applied = decision.outcome === 'fix' && config.mode === 'enforce';
  return {
    decision,
    key: {
      eventId: `${call.eventId}/${decision.consumerAccount ?? 'none'}`,
      eventTime: call.eventTime,
      actorArn: call.caller.arn,
    },
    applied: false,
    replayed: false,
    notice: renderGrantNotification(decision, { mode: config.mode, applied }),
    notificationId: null,
    noticeError: null,
  };
}

type AuditInput = LedgerRecord & { readonly repositoryArn: string };

/** The records of `history --json` (or a list of audit records of that shape), checked field by field. */
function readAuditRecords(path: string): AuditInput[] {
  const value = readJson('--audit', path);
  if (!Array.isArray(value)) {
    throw new UsageError(
      `--audit ${path} must be a JSON array of audit records (the output of "lambda-ecr-autofix history --json")`
    );
  }
  return value.map((entry: unknown, index) => {
    const where = `--audit ${path}: record ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new UsageError(`${where} is not a JSON object`);
    }
    const record = entry as Record<string, unknown>;
    const text = (key: string): string => {
      const field = record[key];
      if (typeof field !== 'string') throw new UsageError(`${where} has no "${key}" string`);
      return field;
    };
    const kind = text('kind');
    const state = text('state');
    if (kind !== 'fix' && kind !== 'revoke' && kind !== 'drift') {
      throw new UsageError(`${where} has kind "${kind}", expected fix, revoke or drift`);
    }
    if (state !== 'intent' && state !== 'applied' && state !== 'failed' && state !== 'recorded') {
      throw new UsageError(
        `${where} has state "${state}", expected intent, applied, failed or recorded`
      );
    }
    return {
      repositoryArn: text('repositoryArn'),
      kind,
      state,
      outcome: text('outcome') as LedgerRecord['outcome'],
      reason: text('reason') as LedgerRecord['reason'],
      eventId: text('eventId'),
      eventTime: text('eventTime'),
      decidedAt: text('decidedAt'),
      functionArn: typeof record['functionArn'] === 'string' ? record['functionArn'] : null,
      grants: valuesList(record['grants'], 'added', where, 'grants').map(([sid, added]) => ({
        sid,
        added,
      })),
      removed: valuesList(record['removed'] ?? [], 'values', where, 'removed').map(
        ([sid, values]) => ({ sid, values })
      ),
    };
  });
}

/** A list of `{sid, KEY: [strings]}` (audit grants or removed values) as `[sid, values]` pairs. */
function valuesList(
  value: unknown,
  key: 'added' | 'values',
  where: string,
  field: string
): [string, string[]][] {
  if (!Array.isArray(value)) throw new UsageError(`${where} has no "${field}" list`);
  return value.map((entry: unknown) => {
    const item = entry as Record<string, unknown> | null;
    const values = item?.[key];
    if (
      typeof item?.['sid'] !== 'string' ||
      !Array.isArray(values) ||
      !values.every((v): v is string => typeof v === 'string')
    ) {
      throw new UsageError(
        `${where} has a "${field}" entry without "sid" and a "${key}" list of strings`
      );
    }
    return [item['sid'], values];
  });
}
