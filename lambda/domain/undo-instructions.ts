/**
 * How to take back one applied fix: the exact `revoke` command, which computes the change on the policy as it is at
 * undo time (only the consumer's values leave the fixer's statements; grants made since, by the fixer for other
 * consumers or by people, stay), and the same steps by hand. Never "restore the old policy", which would also delete
 * whatever was granted since.
 */
import type { Decision, StatementChange, Target } from './decision';
import { ACCOUNTS_SID, SERVICE_SID } from './planner';

/** Where the `revoke` command finds the audit table (the Lambda knows; the CLI without `--audit-table` does not). */
export interface UndoContext {
  /** The audit table's name, so that the drift guard knows the removal was a revoke. */
  readonly auditTableName?: string | null | undefined;
  /** The central stack's region (the audit table's and the topic's). */
  readonly region?: string | null | undefined;
  /**
   * The central account (the audit table's and the topic's): `revoke` reaches them with the caller's credentials, so a
   * repository of another account needs `--registry-profile` for its ECR calls.
   */
  readonly centralAccount?: string | null | undefined;
}

/** The `revoke` command that takes this fix's consumer (or function) back out of the fixer's statements. */
export function revokeCommand(
  decision: Decision,
  target: Target,
  context: UndoContext = {}
): string {
  const functionScoped = decision.grants.some(
    (grant) =>
      grant.sid === SERVICE_SID &&
      target.functionName !== null &&
      grant.added.some((value) => value.endsWith(`:function:${target.functionName}`))
  );
  return revokeCommandLine(
    target,
    target.consumerAccount,
    functionScoped ? target.functionName : null,
    context
  );
}

/**
 * `lambda-ecr-autofix revoke` for one consumer (or one function) of one repository, with the audit table it requires
 * (a placeholder naming the stack output when the caller does not know it) and the central region.
 */
export function revokeCommandLine(
  repository: { readonly repositoryArn: string; readonly registryAccount: string },
  consumerAccount: string,
  functionName: string | null,
  context: UndoContext
): string {
  return [
    'lambda-ecr-autofix revoke',
    `--repository ${repository.repositoryArn}`,
    `--consumer ${consumerAccount}`,
    ...(functionName === null ? [] : [`--function ${functionName}`]),
    `--audit-table ${context.auditTableName ?? '<AuditTableName output of the central stack>'}`,
    ...(context.region === null || context.region === undefined
      ? []
      : [`--region ${context.region}`]),
    ...(otherRegistry(repository.registryAccount, context)
      ? [`--registry-profile <a profile of account ${repository.registryAccount}>`]
      : []),
  ].join(' ');
}

/** The repository is known to be in another account than the audit table. */
function otherRegistry(registryAccount: string, context: UndoContext): boolean {
  const central = context.centralAccount;
  return central !== null && central !== undefined && central !== registryAccount;
}

/** Whose credentials `revoke` needs: the audit table's (the central account's), and the repository's for ECR. */
function credentialsNote(target: Target, context: UndoContext): string {
  const registry = target.registryAccount;
  const central = context.centralAccount;
  if (central === null || central === undefined) {
    return `Run it with credentials of the central account (the audit table and the topic are there), adding --registry-profile <a profile of account ${registry}> unless that is the central account`;
  }
  if (central === registry) {
    return `Run it with credentials of account ${registry} (it holds the repository, the audit table and the topic)`;
  }
  return `Run it with credentials of the central account ${central} (the audit table and the topic are there); --registry-profile names a profile of the registry account ${registry} for the ECR calls`;
}

/** The steps that remove exactly this consumer's values from the fixer's own statements. */
export function undoInstructions(
  decision: Decision,
  target: Target,
  context: UndoContext = {}
): string[] {
  const repository = `--region ${target.region} --registry-id ${target.registryAccount} --repository-name ${target.repositoryName}`;
  const command = revokeCommand(decision, target, context);
  const steps = [
    `Read the current policy: aws ecr get-repository-policy ${repository} --query policyText --output text > policy.json`,
    ...decision.grants.map(removal),
    `Write it back: aws ecr set-repository-policy ${repository} --policy-text file://policy.json (if no statement is left: aws ecr delete-repository-policy ${repository})`,
  ];
  return [
    `Run: ${command}`,
    `It removes only what lambda-ecr-autofix granted account ${target.consumerAccount} (computed on the policy as it is then; add --dry-run to see the change first), records the revoke in the audit table and sends a REVOKED notice. ${credentialsNote(target, context)} (docs/operations.md, "Taking a grant back").`,
    'By hand instead (do not restore an older copy of the policy, which would also delete grants made since):',
    ...steps.map((step, index) => `${index + 1}. ${step}`),
  ];
}

function removal(grant: StatementChange): string {
  const values = grant.added.map((value) => `"${value}"`).join(', ');
  const where =
    grant.sid === SERVICE_SID
      ? 'its Condition StringLike "aws:SourceArn" list'
      : grant.sid === ACCOUNTS_SID
        ? 'its Principal "AWS" list'
        : 'it';
  return `In statement ${grant.sid}, remove ${values} from ${where}; if the list is then empty, delete the statement.`;
}
