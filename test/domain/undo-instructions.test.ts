import { parseConfig } from '../../lambda/domain/config';
import { decide } from '../../lambda/domain/decide';
import type { Target } from '../../lambda/domain/decision';
import { undoInstructions } from '../../lambda/domain/undo-instructions';
import { loadEvent } from '../support/events';

describe('undoInstructions', () => {
  const decision = decide(
    loadEvent('create-function-same-account-ecr-denied'),
    { policyText: null },
    parseConfig({}, 'test')
  );

  it('removes only the added values, even for the repository that had no policy', () => {
    const lines = undoInstructions(decision, decision.target as Target);

    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).not.toMatch(/restore it|before\.json|Previous policy/);
    expect(lines[2]).toBe(
      '2. In statement LambdaEcrAutofixService, remove "arn:aws:lambda:us-east-1:222222222222:function:*" from its Condition StringLike "aws:SourceArn" list; if the list is then empty, delete the statement.'
    );
  });

  it('names a statement of another kind without guessing where the values are', () => {
    const grant = { ...decision.grants[0]!, sid: 'LambdaEcrAutofixSomethingElse', added: ['x'] };

    const lines = undoInstructions({ ...decision, grants: [grant] }, decision.target as Target);

    expect(lines[2]).toBe(
      '2. In statement LambdaEcrAutofixSomethingElse, remove "x" from it; if the list is then empty, delete the statement.'
    );
  });
});
