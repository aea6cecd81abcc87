import type { Decision } from '../../lambda/domain/decision';
import {
  DECISION_EVENT_VERSION,
  fixDecisionDetail,
  grantDecisionDetail,
} from '../../lambda/domain/decision-event';
import type { GrantDecision } from '../../lambda/domain/grant-decision';
import { renderGrantNotification } from '../../lambda/domain/grant-notification';
import { MAX_SUBJECT_LENGTH } from '../../lambda/domain/notification';
import { ownedValuesAbsent } from '../../lambda/domain/owned-grants';
import { ACCOUNTS_SID, SERVICE_SID, readOwnedStatement } from '../../lambda/domain/planner';

const REPOSITORY = {
  partition: 'aws' as const,
  region: 'eu-west-1',
  registryAccount: '111111111111',
  repositoryName: 'platform/payments-worker',
  repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
};
const BEFORE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: SERVICE_SID,
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Condition: {
        StringLike: { 'aws:SourceArn': ['arn:aws:lambda:eu-west-1:222222222222:function:*'] },
      },
    },
  ],
});
const REVOKE: GrantDecision = {
  kind: 'revoke',
  outcome: 'revoke',
  reason: 'consumer-revoked',
  explanation: 'Takes account 222222222222 out.',
  nextSteps: [],
  repository: REPOSITORY,
  consumerAccount: '222222222222',
  functionArn: null,
  policyBefore: BEFORE,
  policyAfter: null,
  deletesPolicy: true,
  removed: [{ sid: SERVICE_SID, values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'] }],
  grants: [],
  call: null,
};
const CALL = {
  envelopeId: 'x',
  eventId: 'e1',
  eventName: 'SetRepositoryPolicy' as const,
  eventTime: '2026-03-10T09:15:42Z',
  repository: REPOSITORY,
  caller: { arn: null, type: null, principalArn: null, invokedBy: null },
  userAgent: null,
};
const REPORT: GrantDecision = {
  ...REVOKE,
  kind: 'drift',
  outcome: 'needs-human',
  reason: 'grant-removed',
  explanation: 'Someone removed it.',
  nextSteps: ['Put it back.'],
  policyAfter: null,
  deletesPolicy: false,
  functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:orders',
  call: CALL,
};
const RESTORE: GrantDecision = {
  ...REPORT,
  outcome: 'fix',
  policyBefore: null,
  policyAfter: BEFORE,
  grants: [
    {
      sid: SERVICE_SID,
      change: 'created',
      added: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
      statement: {},
    },
  ],
};
const ENFORCE = { mode: 'enforce' as const, applied: true };

describe('renderGrantNotification', () => {
  it('says REVOKED, what was removed, that the policy went, and what follows for the consumer', () => {
    const { subject, message } = renderGrantNotification(REVOKE, ENFORCE);

    expect(subject).toBe(
      '[lambda-ecr-autofix] REVOKED: 222222222222 may no longer pull platform/payments-worker (eu-west-1)'
    );
    expect(message).toContain(
      '- Removed arn:aws:lambda:eu-west-1:222222222222:function:* from statement LambdaEcrAutofixService.'
    );
    expect(message).toContain('- Deleted the repository policy (no statement was left).');
    expect(message).toContain('grants access again at such a failure as long as the owner');
    expect(message).toContain('(the repository policy is deleted)');
    expect(message).toContain('Consumer:   account 222222222222');
  });

  it('words a proposed revoke in the conditional', () => {
    const { subject, message } = renderGrantNotification(
      { ...REVOKE, deletesPolicy: false, policyAfter: '{"Statement":[]}' },
      { mode: 'enforce', applied: false }
    );

    expect(subject).toContain('PROPOSED REVOKE: 222222222222 would no longer pull');
    expect(renderGrantNotification(REVOKE, { mode: 'enforce', applied: false }).message).toContain(
      '- Would delete the repository policy'
    );
    expect(message).toContain('- Would remove ');
    expect(message).toContain('THE PROPOSED POLICY CHANGE');
    expect(message).not.toContain('WHAT TO DO');
  });

  it('says GRANT REMOVED for a drift report, with the call, what is missing and the steps', () => {
    const { subject, message } = renderGrantNotification(REPORT, ENFORCE);

    expect(subject).toBe(
      '[lambda-ecr-autofix] GRANT REMOVED: 222222222222 from platform/payments-worker (eu-west-1)'
    );
    expect(message).toContain(
      '- Missing now: arn:aws:lambda:eu-west-1:222222222222:function:* in statement'
    );
    expect(message).toContain('1. Put it back.');
    expect(message).toContain('Caller:    (unknown)');
    expect(message).toContain(', arn:aws:lambda:eu-west-1:222222222222:function:orders');
  });

  it('says RESTORED (or the proposal in dry-run) for a restore', () => {
    expect(renderGrantNotification(RESTORE, ENFORCE).subject).toContain(
      'RESTORED: 222222222222 regains access to platform/payments-worker'
    );
    expect(renderGrantNotification(RESTORE, ENFORCE).message).toContain('- Put back ');
    expect(renderGrantNotification(RESTORE, { mode: 'dry-run', applied: false }).subject).toContain(
      'PROPOSED RESTORE'
    );
    const notApplied = renderGrantNotification(RESTORE, { mode: 'enforce', applied: false });
    expect(notApplied.subject).toContain('RESTORE NOT APPLIED');
    expect(notApplied.message).toContain('- Would put back ');
  });

  it('says REPOSITORY DELETED, and REVOKE NEEDS A HUMAN for a revoke a person must finish', () => {
    expect(
      renderGrantNotification({ ...REPORT, reason: 'repository-deleted' }, ENFORCE).subject
    ).toContain('REPOSITORY DELETED: 222222222222 lost platform/payments-worker');
    const refused = renderGrantNotification(
      {
        ...REVOKE,
        outcome: 'needs-human',
        reason: 'not-granted-by-autofix',
        consumerAccount: null,
        deletesPolicy: false,
        nextSteps: [],
      },
      ENFORCE
    );
    expect(refused.subject).toContain('REVOKE NEEDS A HUMAN: an account on');
    expect(refused.message).toContain('WHAT TO DO\nReview the failure above.');
    expect(refused.message).toContain('(none in particular)');
  });

  it('keeps the subject within SNS limits for a very long repository name, and prints a policy that is not JSON as is', () => {
    const long = { ...REPOSITORY, repositoryName: `team/${'x'.repeat(200)}` };

    const { subject, message } = renderGrantNotification(
      {
        ...REVOKE,
        repository: long,
        policyBefore: 'not json',
        deletesPolicy: false,
        policyAfter: 'also not json',
      },
      ENFORCE
    );

    expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(message).toContain('- not json');
  });
});

describe('decision event details', () => {
  it('carries a revoke without policy texts, with what was removed', () => {
    const detail = grantDecisionDetail(REVOKE, {
      mode: 'enforce',
      applied: true,
      notificationId: 'm-1',
      eventId: 'revoke-1',
      eventTime: '2026-03-11T00:00:00.000Z',
      actorArn: 'arn:aws:sts::111111111111:assumed-role/admin/jane',
    });

    expect(detail).toEqual({
      version: DECISION_EVENT_VERSION,
      kind: 'revoke',
      outcome: 'revoke',
      reason: 'consumer-revoked',
      explanation: 'Takes account 222222222222 out.',
      mode: 'enforce',
      applied: true,
      notificationId: 'm-1',
      eventId: 'revoke-1',
      eventTime: '2026-03-11T00:00:00.000Z',
      repository: {
        arn: REPOSITORY.repositoryArn,
        name: REPOSITORY.repositoryName,
        registryAccount: '111111111111',
        region: 'eu-west-1',
        partition: 'aws',
      },
      consumerAccount: '222222222222',
      functionArn: null,
      callerArn: 'arn:aws:sts::111111111111:assumed-role/admin/jane',
      changes: [
        {
          sid: SERVICE_SID,
          change: 'removed',
          values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
        },
      ],
    });
    expect(JSON.stringify(detail)).not.toContain('Statement');
  });

  it('lists missing values of a drift report and re-added ones of a restore; nothing for an already revoked consumer', () => {
    const facts = {
      mode: 'enforce' as const,
      applied: false,
      notificationId: null,
      eventId: 'e',
      eventTime: 't',
      actorArn: null,
    };

    expect(grantDecisionDetail(RESTORE, facts).changes.map((c) => c.change)).toEqual([
      'missing',
      'created',
    ]);
    expect(grantDecisionDetail({ ...REVOKE, reason: 'already-revoked' }, facts).changes).toEqual(
      []
    );
  });

  it('carries a fix decision with its grants, and nothing of a decision without a target', () => {
    const fix = {
      outcome: 'fix',
      reason: 'repository-policy-missing-grant',
      explanation: 'Fixed.',
      nextSteps: [],
      call: {
        eventId: 'e2',
        eventTime: '2026-03-03T16:20:05Z',
        consumerAccount: '444444444444',
        caller: { arn: 'arn:aws:sts::444444444444:assumed-role/deployer/ci' },
      },
      target: {
        ...REPOSITORY,
        consumerAccount: '444444444444',
        functionArn: 'arn:aws:lambda:eu-west-1:444444444444:function:f',
      },
      policyBefore: null,
      policyAfter: BEFORE,
      grants: [
        {
          sid: ACCOUNTS_SID,
          change: 'created',
          added: ['arn:aws:iam::444444444444:root'],
          statement: {},
        },
      ],
    } as unknown as Decision;
    const facts = { mode: 'enforce' as const, applied: true, notificationId: null };

    expect(fixDecisionDetail(fix, facts)).toEqual(
      expect.objectContaining({
        kind: 'fix',
        consumerAccount: '444444444444',
        callerArn: 'arn:aws:sts::444444444444:assumed-role/deployer/ci',
        changes: [
          { sid: ACCOUNTS_SID, change: 'created', values: ['arn:aws:iam::444444444444:root'] },
        ],
      })
    );
    const ignored = {
      ...fix,
      outcome: 'ignored',
      reason: 'invalid-event',
      call: null,
      target: null,
    } as Decision;
    expect(fixDecisionDetail(ignored, facts)).toEqual(
      expect.objectContaining({
        repository: null,
        consumerAccount: null,
        eventId: null,
        callerArn: null,
        changes: [],
      })
    );
  });
});

describe('owned statements', () => {
  it('tells when revoked values are out of the owned statements', () => {
    const removed = [
      { sid: SERVICE_SID, added: ['arn:aws:lambda:eu-west-1:222222222222:function:*'] },
    ];

    expect(ownedValuesAbsent(BEFORE, removed)).toBe(false);
    expect(ownedValuesAbsent(null, removed)).toBe(true);
    expect(ownedValuesAbsent('{"Statement":[]}', removed)).toBe(true);
    expect(ownedValuesAbsent('{', removed)).toBe(false);
    expect(ownedValuesAbsent(BEFORE, [])).toBe(false);
  });

  it('reads only statements the fixer owns, whatever their Sid', () => {
    expect(readOwnedStatement({ Sid: 'constructor', Effect: 'Allow' })).toBeNull();
    expect(readOwnedStatement({ Effect: 'Allow' })).toBeNull();
  });
});
