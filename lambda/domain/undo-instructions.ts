/**
 * How to take back one applied fix. Only what the fix added is removed: restoring an older copy of the policy would
 * also delete whatever was granted since (by the fixer for other consumers, or by people), so the notice never says
 * that. Kept in this one function so that a `revoke` command can replace the steps by hand.
 */
import type { Decision, StatementChange, Target } from './decision';
import { ACCOUNTS_SID, SERVICE_SID } from './planner';

/** The numbered steps that remove exactly the values a fix added to the fixer's own statements. */
export function undoInstructions(decision: Decision, target: Target): string[] {
  const repository = `--region ${target.region} --registry-id ${target.registryAccount} --repository-name ${target.repositoryName}`;
  const steps = [
    `Read the current policy: aws ecr get-repository-policy ${repository} --query policyText --output text > policy.json`,
    ...decision.grants.map(removal),
    `Write it back: aws ecr set-repository-policy ${repository} --policy-text file://policy.json (if no statement is left: aws ecr delete-repository-policy ${repository})`,
  ];
  return [
    'Remove only what this fix added; do not restore an older copy of the policy, which would also delete grants made since:',
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
