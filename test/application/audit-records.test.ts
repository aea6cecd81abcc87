import { decisionFromRecord, recordOf } from '../../lambda/application/audit-records';
import { bare } from '../../lambda/domain/decide';
import { SERVICE_SID } from '../../lambda/domain/planner';
import { FIXED_RECORD } from '../support/audit-records';
import { makeCall } from '../support/events';

describe('recordOf', () => {
  it('records a decision without a target under the repository "none", without grants', () => {
    const decision = bare('needs-human', 'image-uri-unknown', 'No image.', makeCall());

    const record = recordOf(decision, 'recorded', new Date('2026-03-01T12:00:00.000Z'), {
      owner: 'run-1',
      mode: 'enforce',
      retentionDays: 1,
    });

    expect(record).toEqual(
      expect.objectContaining({
        repositoryArn: 'none',
        functionArn: null,
        grants: [],
        decidedAt: '2026-03-01T12:00:00.000Z',
        updatedAt: '2026-03-01T12:00:00.000Z',
        expiresAt: Date.parse('2026-03-02T12:00:00.000Z') / 1000,
      })
    );
  });
});

describe('decisionFromRecord', () => {
  it('gives back the decision with the statements as the record planned them', () => {
    const decision = decisionFromRecord(FIXED_RECORD, makeCall(), null);

    expect(decision).toEqual(
      expect.objectContaining({
        outcome: 'fix',
        policyBefore: FIXED_RECORD.policyBefore,
        policyAfter: FIXED_RECORD.policyPlanned,
      })
    );
    expect(decision.grants[0]?.statement).toEqual(expect.objectContaining({ Sid: SERVICE_SID }));
  });

  it.each([
    ['no planned policy', { policyPlanned: null }],
    ['an unreadable planned policy', { policyPlanned: '{"Statement": 3}' }],
    ['a planned policy without the statement', { policyPlanned: '{"Statement": []}' }],
  ])('keeps the grants (with an empty statement) for %s', (_, fields) => {
    const decision = decisionFromRecord({ ...FIXED_RECORD, ...fields }, null, null);

    expect(decision.grants).toEqual([expect.objectContaining({ sid: SERVICE_SID, statement: {} })]);
  });
});
