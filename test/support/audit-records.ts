import type { AuditRecord } from '../../lambda/application/ports';

const POLICY_AFTER =
  '{"Version":"2012-10-17","Statement":[{"Sid":"LambdaEcrAutofixService","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Condition":{"StringLike":{"aws:SourceArn":["arn:aws:lambda:eu-west-1:222222222222:function:*"]}}}]}';

/** An audit record of an applied and notified fix, with every field set. */
export const FIXED_RECORD: AuditRecord = {
  repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
  eventId: '4b1c2d3e-aaaa-bbbb-cccc-0123456789ab',
  eventTime: '2026-03-01T11:59:58Z',
  kind: 'fix',
  state: 'applied',
  decidedAt: '2026-03-01T12:00:01.123Z',
  updatedAt: '2026-03-01T12:00:02.456Z',
  owner: '0b6f3d52-6a0e-4a4e-9d7c-2f1f7a3b9c11',
  consumerAccount: '222222222222',
  callerArn: 'arn:aws:sts::222222222222:assumed-role/deployer/ci',
  functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
  outcome: 'fix',
  reason: 'repository-policy-missing-grant',
  explanation: 'Lambda in 222222222222 may now pull platform/payments-worker.',
  mode: 'enforce',
  policyBefore: '{"Version":"2012-10-17","Statement":[]}',
  policyPlanned: POLICY_AFTER,
  policyAfter: POLICY_AFTER,
  grants: [
    {
      sid: 'LambdaEcrAutofixService',
      change: 'created',
      added: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
    },
  ],
  removed: [],
  error: 'none: only to have the field set',
  notice: {
    subject:
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)',
    message: 'WHAT HAPPENED\n…',
  },
  notifiedAt: '2026-03-01T12:00:02.400Z',
  notificationId: 'b1946ac9-2a1f-4a1e-8f0e-6d7f1c2e3a4b',
  expiresAt: 1804075201,
};

/** A recorded decision with every nullable field null and no grants. */
export const BARE_RECORD: AuditRecord = {
  ...FIXED_RECORD,
  repositoryArn: 'none',
  state: 'recorded',
  consumerAccount: null,
  callerArn: null,
  functionArn: null,
  outcome: 'needs-human',
  reason: 'image-uri-unknown',
  explanation: '',
  mode: 'dry-run',
  policyBefore: null,
  policyPlanned: null,
  policyAfter: null,
  grants: [],
  removed: [],
  error: null,
  notice: null,
  notifiedAt: null,
  notificationId: null,
};
