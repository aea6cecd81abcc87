import type { AuditRecord } from '../../lambda/application/ports';

/** An audit record of an applied fix, with every field set. */
export const FIXED_RECORD: AuditRecord = {
  repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
  eventId: '4b1c2d3e-aaaa-bbbb-cccc-0123456789ab',
  eventTime: '2026-03-01T11:59:58Z',
  decidedAt: '2026-03-01T12:00:01.123Z',
  consumerAccount: '222222222222',
  callerArn: 'arn:aws:sts::222222222222:assumed-role/deployer/ci',
  functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
  outcome: 'fix',
  reason: 'repository-policy-missing-grant',
  explanation: 'Lambda in 222222222222 may now pull platform/payments-worker.',
  mode: 'enforce',
  applied: true,
  policyBefore: '{"Version":"2012-10-17","Statement":[]}',
  policyAfter: '{"Version":"2012-10-17","Statement":[{"Sid":"LambdaEcrAutofixService"}]}',
  expiresAt: 1804075201,
};

/** An audit record with every nullable field null. */
export const IGNORED_RECORD: AuditRecord = {
  ...FIXED_RECORD,
  repositoryArn: 'none',
  consumerAccount: null,
  callerArn: null,
  functionArn: null,
  outcome: 'ignored',
  reason: 'invalid-event',
  explanation: '',
  mode: 'dry-run',
  applied: false,
  policyBefore: null,
  policyAfter: null,
};
