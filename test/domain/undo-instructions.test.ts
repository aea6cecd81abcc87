import { parseConfig } from '../../lambda/domain/config';
import { decide } from '../../lambda/domain/decide';
import type { Target } from '../../lambda/domain/decision';
import { revokeCommand, undoInstructions } from '../../lambda/domain/undo-instructions';
import { loadEvent } from '../support/events';

describe('undoInstructions', () => {
  const decision = decide(
    loadEvent('create-function-same-account-ecr-denied'),
    { policyText: null },
    parseConfig({}, 'test')
  );
  const target = decision.target as Target;

  it('gives the exact revoke command first, then the same by hand, never an older policy to restore', () => {
    const lines = undoInstructions(decision, target, {
      auditTableName: 'LambdaEcrAutofix-AuditTable',
      region: 'eu-central-1',
    });

    expect(lines[0]).toBe(
      'Run: lambda-ecr-autofix revoke --repository arn:aws:ecr:us-east-1:222222222222:repository/orders-api --consumer 222222222222 --audit-table LambdaEcrAutofix-AuditTable --region eu-central-1'
    );
    expect(lines.join('\n')).not.toMatch(/restore it|before\.json|Previous policy/);
    expect(lines[4]).toBe(
      '2. In statement LambdaEcrAutofixService, remove "arn:aws:lambda:us-east-1:222222222222:function:*" from its Condition StringLike "aws:SourceArn" list; if the list is then empty, delete the statement.'
    );
  });

  it('names the audit table output when the table is not known (the CLI without --audit-table)', () => {
    expect(revokeCommand(decision, target)).toBe(
      'lambda-ecr-autofix revoke --repository arn:aws:ecr:us-east-1:222222222222:repository/orders-api --consumer 222222222222 --audit-table <AuditTableName output of the central stack>'
    );
  });

  describe('whose credentials run it: the audit table is in the central account, the repository in its own', () => {
    const crossAccount = decide(
      loadEvent('create-function-cross-account-ecr-denied'),
      { policyText: null },
      parseConfig({ sharing: 'organization', organizationId: 'o-a1b2c3d4e5' }, 'test')
    );
    const crossTarget = crossAccount.target as Target;
    const context = { auditTableName: 'audit', region: 'us-east-1' };

    it('the central account, with --registry-profile for a registry of another account', () => {
      const lines = undoInstructions(crossAccount, crossTarget, {
        ...context,
        centralAccount: '123456789012',
      });

      expect(lines[0]).toBe(
        'Run: lambda-ecr-autofix revoke --repository arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker --consumer 222222222222 --audit-table audit --region us-east-1 --registry-profile <a profile of account 111111111111>'
      );
      expect(lines[1]).toContain(
        'Run it with credentials of the central account 123456789012 (the audit table and the topic are there); --registry-profile names a profile of the registry account 111111111111 for the ECR calls'
      );
    });

    it('one account, when the registry is the central account', () => {
      const lines = undoInstructions(crossAccount, crossTarget, {
        ...context,
        centralAccount: '111111111111',
      });

      expect(lines[0]).not.toContain('--registry-profile');
      expect(lines[1]).toContain(
        'Run it with credentials of account 111111111111 (it holds the repository, the audit table and the topic)'
      );
    });

    it.each([undefined, null])(
      'both ways when the central account is not known (%p)',
      (central) => {
        const lines = undoInstructions(crossAccount, crossTarget, {
          ...context,
          centralAccount: central,
        });

        expect(lines[0]).not.toContain('--registry-profile');
        expect(lines[1]).toContain(
          'Run it with credentials of the central account (the audit table and the topic are there), adding --registry-profile <a profile of account 111111111111> unless that is the central account'
        );
      }
    );
  });

  it('revokes only the function when the fix was function-scoped', () => {
    const scoped = decide(
      loadEvent('create-function-same-account-ecr-denied'),
      { policyText: null },
      parseConfig({ grantScope: 'function' }, 'test')
    );

    expect(revokeCommand(scoped, scoped.target as Target)).toContain(
      `--consumer 222222222222 --function ${(scoped.target as Target).functionName}`
    );
  });

  it('names a statement of another kind without guessing where the values are', () => {
    const grant = { ...decision.grants[0]!, sid: 'LambdaEcrAutofixSomethingElse', added: ['x'] };

    const lines = undoInstructions({ ...decision, grants: [grant] }, target);

    expect(lines[4]).toBe(
      '2. In statement LambdaEcrAutofixSomethingElse, remove "x" from it; if the list is then empty, delete the statement.'
    );
  });
});
