/**
 * Plans a `revoke`: taking one consumer out of the fixer's own statements, and nothing else. Pure and deterministic.
 *
 * - Only `LambdaEcrAutofixService` (the consumer's `aws:SourceArn` patterns) and `LambdaEcrAutofixAccounts` (its
 *   account root) change; every other statement and top-level key is kept exactly as it was (order, content). A
 *   statement left without values is removed; the repository policy is deleted only when no statement is left.
 * - `--function NAME` removes only that function's patterns (`…:function:NAME`, `…:function:NAME:*`, what
 *   `grantScope: "function"` writes) and the account root only when no pattern of the consumer is left. When a wider
 *   pattern of the consumer (`…:function:*`, an account-scope grant) also lets the function pull, removing the
 *   function's own patterns would change nothing, and narrowing the wider one would cut off the account's other
 *   functions: that is `needs-human` (`granted-at-account-scope`).
 * - Nothing of the consumer in the fixer's statements while the policy still lets it pull: the grant is someone
 *   else's, `needs-human` (`not-granted-by-autofix`), naming the statements that grant it. Nothing at all:
 *   `already-revoked` (revoke is idempotent).
 * - Owned statements that are not in the form the fixer writes (hand edits) are left alone: `needs-human`.
 *
 * Whether the consumer can still pull is decided by evaluating the policy (pull-access.ts), never by string matching.
 */
import type { NeedsHumanReason, RevokeReason } from './decision';
import type { OwnedValues, RepositoryTarget } from './grant-decision';
import type { OwnedStatement } from './planner';
import {
  ACCOUNTS_SID,
  MAX_POLICY_LENGTH,
  SERVICE_SID,
  ownedStatementWith,
  readOwnedStatement,
} from './planner';
import type { JsonObject } from './policy-document';
import { isJsonObject, parsePolicy, serializePolicy } from './policy-document';
import { accountPullRequests, evaluatePull, servicePullRequests } from './pull-access';

/**
 * The function name the evaluator asks about when a whole account is meant: no function is called so (Lambda names
 * allow letters, digits, `-` and `_`), so only a pattern that covers every function of the account matches it.
 */
export const PROBE_FUNCTION_NAME = 'lambda-ecr-autofix-probe';

export interface RevokeInput {
  /** The current policy text; null when the repository has none. */
  readonly policyText: string | null;
  readonly repository: RepositoryTarget;
  readonly consumerAccount: string;
  /** Only this function's patterns; null for the whole consumer account. */
  readonly functionName: string | null;
  /** The configured organization: the consumer's principals carry it as `aws:PrincipalOrgID`. */
  readonly organizationId?: string | undefined;
}

export type RevokePlan =
  | {
      readonly outcome: 'revoke';
      readonly reason: Extract<RevokeReason, 'consumer-revoked'>;
      readonly explanation: string;
      readonly nextSteps: readonly string[];
      /** The new policy; null when the revoke deletes the policy (`deletesPolicy`). */
      readonly policyAfter: string | null;
      readonly deletesPolicy: boolean;
      readonly removed: readonly OwnedValues[];
    }
  | {
      readonly outcome: 'revoke';
      readonly reason: Extract<RevokeReason, 'already-revoked'>;
      readonly explanation: string;
    }
  | {
      readonly outcome: 'needs-human';
      readonly reason: Extract<
        NeedsHumanReason,
        | 'not-granted-by-autofix'
        | 'granted-at-account-scope'
        | 'policy-invalid'
        | 'policy-not-understood'
      >;
      readonly explanation: string;
      readonly nextSteps: readonly string[];
    };

/** Plans taking `consumerAccount` (or one of its functions) out of the fixer's statements. */
export function planRevoke(input: RevokeInput): RevokePlan {
  const { repository, consumerAccount, functionName } = input;
  const who =
    functionName === null
      ? `account ${consumerAccount}`
      : `function ${functionName} of account ${consumerAccount}`;
  const where = `repository ${repository.repositoryName} (account ${repository.registryAccount}, ${repository.region})`;
  const parsed = parsePolicy(input.policyText);
  if (!parsed.ok) {
    return needsHuman(
      parsed.kind === 'ambiguous' ? 'policy-not-understood' : 'policy-invalid',
      `The policy of ${where} cannot be read safely: ${parsed.problem}.`,
      [
        `Repair the policy of ${repository.repositoryArn} (aws ecr get-repository-policy), then run the revoke again.`,
      ]
    );
  }
  const policy = parsed.policy;
  const statements = policy.statements;

  const owned = new Map<string, { index: number; read: OwnedStatement }>();
  for (const sid of [SERVICE_SID, ACCOUNTS_SID]) {
    const positions = statements
      .map((statement, index) => (statement['Sid'] === sid ? index : -1))
      .filter((index) => index >= 0);
    if (positions.length === 0) continue;
    const [index] = positions as [number];
    const read = readOwnedStatement(statements[index] as JsonObject);
    if (positions.length > 1 || read === null) {
      return needsHuman(
        'policy-not-understood',
        `Statement ${sid} in the policy of ${where} belongs to lambda-ecr-autofix but was changed by hand${positions.length > 1 ? ' (it appears more than once)' : ''}, so revoke leaves it alone.`,
        [
          `Remove ${who} from statement ${sid} of ${repository.repositoryArn} by hand (aws ecr get-repository-policy, edit, aws ecr set-repository-policy), or restore the statement to the form lambda-ecr-autofix writes and run the revoke again.`,
        ]
      );
    }
    owned.set(sid, { index, read });
  }

  const servicePatterns = (owned.get(SERVICE_SID)?.read.values ?? []).filter(
    (value) => lambdaPatternOf(value)?.account === consumerAccount
  );
  let removeService: string[];
  if (functionName === null) {
    removeService = servicePatterns;
  } else {
    removeService = servicePatterns.filter((value) => {
      const rest = (lambdaPatternOf(value) as LambdaPattern).rest;
      return rest === functionName || rest === `${functionName}:*`;
    });
    const wider = servicePatterns.filter(
      (value) =>
        !removeService.includes(value) &&
        coversFunction((lambdaPatternOf(value) as LambdaPattern).rest, functionName)
    );
    if (wider.length > 0) {
      return needsHuman(
        'granted-at-account-scope',
        `Statement ${SERVICE_SID} of ${where} lets Lambda pull for ${wider.join(', ')}, which covers ${who}; removing only the function's own patterns would not take its access away, and narrowing ${wider.join(', ')} would cut off the account's other functions.`,
        [
          `Revoke the whole account: lambda-ecr-autofix revoke --repository ${repository.repositoryArn} --consumer ${consumerAccount} --audit-table <the same table> (and the same --region and --registry-profile as this command, without --function). With grantScope "function", lambda-ecr-autofix grants the functions that still fail to pull again, one by one, at their next deploy.`,
        ]
      );
    }
  }
  const root = `arn:${repository.partition}:iam::${consumerAccount}:root`;
  const servicePatternsLeft = servicePatterns.filter((value) => !removeService.includes(value));
  const accountValues = owned.get(ACCOUNTS_SID)?.read.values ?? [];
  const removeAccounts =
    accountValues.includes(root) &&
    servicePatternsLeft.length === 0 &&
    (functionName === null || removeService.length > 0)
      ? [root]
      : [];

  if (removeService.length === 0 && removeAccounts.length === 0) {
    const grantedBy = grantingStatements(statements, input);
    const throughIdentities = identityGrants(statements, input, grantedBy);
    if (grantedBy.length > 0 || throughIdentities.length > 0) {
      const clauses = [
        ...(grantedBy.length > 0 ? [`${statementsLet(grantedBy)} it pull`] : []),
        ...(throughIdentities.length > 0
          ? [`${statementsLet(throughIdentities)} principals of ${who} pull`]
          : []),
      ];
      const all = [...grantedBy, ...throughIdentities];
      return needsHuman(
        'not-granted-by-autofix',
        `The statements of lambda-ecr-autofix in the policy of ${where} grant ${who} nothing, but ${clauses.join(', and ')}; lambda-ecr-autofix never changes a statement it does not own.`,
        [
          `Review ${statementWord(all)} ${all.join(', ')} of ${repository.repositoryArn} with the repository owner (account ${repository.registryAccount}): aws ecr get-repository-policy --region ${repository.region} --registry-id ${repository.registryAccount} --repository-name ${repository.repositoryName}. Remove ${who} there if it should not pull.`,
        ]
      );
    }
    return {
      outcome: 'revoke',
      reason: 'already-revoked',
      explanation: `The policy of ${where} grants ${who} nothing through lambda-ecr-autofix's statements or any other; nothing to revoke.`,
    };
  }

  const removals = new Map<number, { read: OwnedStatement; values: readonly string[] }>();
  const removed: OwnedValues[] = [];
  for (const [sid, values] of [
    [SERVICE_SID, removeService],
    [ACCOUNTS_SID, removeAccounts],
  ] as const) {
    const statement = owned.get(sid);
    if (statement === undefined || values.length === 0) continue;
    removals.set(statement.index, { read: statement.read, values });
    removed.push({ sid, values: [...values].sort() });
  }
  const after = statements.flatMap((statement, index) => {
    const removal = removals.get(index);
    if (removal === undefined) return [statement];
    const left = removal.read.values.filter((value) => !removal.values.includes(value));
    return left.length === 0 ? [] : [ownedStatementWith(removal.read, left)];
  });
  const deletesPolicy = after.length === 0;
  const policyAfter = deletesPolicy
    ? null
    : serializePolicy({ ...policy, statements: after }, MAX_POLICY_LENGTH);
  const stillGrantedBy = grantingStatements(after, input);
  const stillThroughIdentities = identityGrants(after, input, stillGrantedBy);
  const stillAll = [...stillGrantedBy, ...stillThroughIdentities];
  const changes = removed
    .map((entry) => `${entry.values.join(', ')} from ${entry.sid}`)
    .join(' and ');
  return {
    outcome: 'revoke',
    reason: 'consumer-revoked',
    explanation:
      `Takes ${who} out of lambda-ecr-autofix's statements in the policy of ${where}: removes ${changes}` +
      (deletesPolicy ? '; no statement is left, so the repository policy is deleted.' : '.') +
      (stillGrantedBy.length > 0
        ? ` ${capitalize(who)} can still pull through ${stillGrantedBy.join(', ')}, which lambda-ecr-autofix does not own.`
        : '') +
      (stillThroughIdentities.length > 0
        ? ` Principals of ${who} can still pull through ${stillThroughIdentities.join(', ')}, which lambda-ecr-autofix does not own.`
        : ''),
    nextSteps:
      stillAll.length > 0
        ? [
            `Review ${statementWord(stillAll)} ${stillAll.join(', ')} of ${repository.repositoryArn} with the repository owner (account ${repository.registryAccount}) if ${who} should lose access altogether.`,
          ]
        : [],
    policyAfter,
    deletesPolicy,
    removed,
  };
}

interface LambdaPattern {
  readonly account: string;
  /** What follows `:function:`: a name, `NAME:*`, `*`, or another pattern. */
  readonly rest: string;
}

/** `arn:PARTITION:lambda:REGION:ACCOUNT:function:REST` → account and rest; null for anything else. */
function lambdaPatternOf(value: string): LambdaPattern | null {
  const match = /^arn:[a-z-]+:lambda:[^:]*:(\d{12}):function:(.+)$/.exec(value);
  return match === null ? null : { account: match[1] as string, rest: match[2] as string };
}

/** Whether a `StringLike` pattern after `:function:` covers function `name` (unqualified), e.g. `*` or `orders-*`. */
function coversFunction(rest: string, name: string): boolean {
  const source = rest
    .split('')
    .map((char) =>
      char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    )
    .join('');
  return new RegExp(`^${source}$`).test(name);
}

/**
 * The statements that (may) let the consumer pull: Lambda for the function (or, for the whole account, for a function
 * no pattern names on its own), and for the whole of another account than the registry's also its principals.
 */
function grantingStatements(statements: readonly JsonObject[], input: RevokeInput): string[] {
  const { repository, consumerAccount, functionName } = input;
  const sourceArn = `arn:${repository.partition}:lambda:${repository.region}:${consumerAccount}:function:${functionName ?? PROBE_FUNCTION_NAME}`;
  const evaluations = [
    evaluatePull(statements, servicePullRequests(repository.repositoryArn, sourceArn)),
  ];
  // A function's grant is Lambda's pull for it; the account's principals are shared by all its functions.
  if (functionName === null && consumerAccount !== repository.registryAccount) {
    evaluations.push(
      evaluatePull(
        statements,
        accountPullRequests(repository.repositoryArn, {
          accountId: consumerAccount,
          partition: repository.partition,
          organizationId: input.organizationId,
        })
      )
    );
  }
  return [
    ...new Set(
      evaluations
        .filter((evaluation) => evaluation.allowed !== 'no')
        .flatMap((evaluation) => evaluation.allowedBy)
    ),
  ];
}

/**
 * The Allow statements, besides `counted`, that let one identity (a role, a user, a role session) of the consumer
 * account pull. A grant to one identity is not a grant to the account (policy-evaluator.ts, `RequestPrincipal`), so
 * `grantingStatements` leaves them out; but a revoke of the whole account must not say that nothing grants it while one
 * of its roles can still pull. Each statement naming such an identity is evaluated as if it named the account, so its
 * actions, resources and conditions still decide (a condition the evaluator cannot decide counts: it may let it pull).
 * One function's revoke is about Lambda's pull for it alone, and a same-account consumer's principals are the owner's.
 */
function identityGrants(
  statements: readonly JsonObject[],
  input: RevokeInput,
  counted: readonly string[]
): string[] {
  const { repository, consumerAccount, functionName } = input;
  if (functionName !== null || consumerAccount === repository.registryAccount) return [];
  const root = `arn:${repository.partition}:iam::${consumerAccount}:root`;
  const prefixes = [
    `arn:${repository.partition}:iam::${consumerAccount}:`,
    `arn:${repository.partition}:sts::${consumerAccount}:`,
  ];
  const asAccount = statements.flatMap((statement, index) => {
    const principal = statement['Principal'];
    const aws = isJsonObject(principal) ? principal['AWS'] : undefined;
    const entries = typeof aws === 'string' ? [aws] : Array.isArray(aws) ? aws : [];
    const namesIdentity = entries.some(
      (entry) =>
        typeof entry === 'string' &&
        entry !== root &&
        prefixes.some((prefix) => entry.startsWith(prefix))
    );
    if (statement['Effect'] !== 'Allow' || !namesIdentity) return [];
    // The label the evaluator gives the statement where it stands in the policy: its Sid, else its position.
    const label = typeof statement['Sid'] === 'string' ? statement['Sid'] : `#${index + 1}`;
    return [{ ...statement, Sid: label, Principal: { AWS: root } }];
  });
  if (asAccount.length === 0) return [];
  const evaluation = evaluatePull(
    asAccount,
    accountPullRequests(repository.repositoryArn, {
      accountId: consumerAccount,
      partition: repository.partition,
      organizationId: input.organizationId,
    })
  );
  return evaluation.allowed === 'no'
    ? []
    : evaluation.allowedBy.filter((label) => !counted.includes(label));
}

/** "statement A lets" or "statements A, B let". */
function statementsLet(labels: readonly string[]): string {
  return `${statementWord(labels)} ${labels.join(', ')} ${labels.length === 1 ? 'lets' : 'let'}`;
}

function statementWord(labels: readonly string[]): string {
  return labels.length === 1 ? 'statement' : 'statements';
}

function needsHuman(
  reason: Extract<RevokePlan, { outcome: 'needs-human' }>['reason'],
  explanation: string,
  nextSteps: readonly string[]
): RevokePlan {
  return { outcome: 'needs-human', reason, explanation, nextSteps };
}

function capitalize(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}
