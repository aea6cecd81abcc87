/**
 * `revoke`, `history` and `plan` for ECR events from the command line: usage errors (exit 2, one line), the messages
 * of AWS failures (exit 1), a notice that could not be sent (exit 3), and the offline drift decision. AWS is mocked
 * with aws-sdk-client-mock and the SDK's own exception classes; the same commands run against moto_server in
 * test/integration/after-fix.integration.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  ScanCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteRepositoryPolicyCommand,
  ECRClient,
  GetRepositoryPolicyCommand,
  RepositoryNotFoundException,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import {
  GetTopicAttributesCommand,
  InternalErrorException,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

import { toItem } from '../../lambda/adapters/dynamodb-audit-log';
import { FIXED_RECORD } from '../support/audit-records';
import { runCli } from '../support/cli';

const REPOSITORY = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker';
const ECR_EVENTS = join(__dirname, '..', 'fixtures', 'ecr-events');
const TOPIC = 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix';
const dir = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-cli-after-fix-'));
const file = (name: string, content: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const GRANTED = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'LambdaEcrAutofixService',
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Condition: {
        StringLike: { 'aws:SourceArn': ['arn:aws:lambda:eu-west-1:222222222222:function:*'] },
      },
    },
  ],
});
const LOCAL = ['--region', 'eu-west-1', '--endpoint-url', 'http://127.0.0.1:9'];

describe('revoke and history: usage', () => {
  it.each([
    [['revoke', '--consumer', '222222222222'], '--repository ARN is required'],
    [
      ['revoke', '--repository', 'x', '--consumer', '222222222222'],
      '--repository must be an ECR repository ARN',
    ],
    [
      ['revoke', '--repository', REPOSITORY, '--consumer', '22'],
      '--consumer must be a 12-digit account id',
    ],
    [
      ['revoke', '--repository', REPOSITORY, '--consumer', '222222222222', '--function', 'a b'],
      '--function must be a Lambda function name',
    ],
    [
      ['revoke', '--repository', REPOSITORY, '--consumer', '222222222222', '--event-bus', 'bus'],
      '--event-bus must be an EventBridge event bus ARN',
    ],
    [
      ['revoke', '--repository', REPOSITORY, '--consumer', '222222222222'],
      '--audit-table NAME is required',
    ],
    [
      ['revoke', '--repository', REPOSITORY, '--consumer', '222222222222', '--audit-table', 'x'],
      '--audit-table must be a DynamoDB table name',
    ],
    [
      [
        'revoke',
        '--repository',
        REPOSITORY,
        '--consumer',
        '222222222222',
        '--dry-run',
        '--endpoint-url',
        'ftp://x',
      ],
      '--endpoint-url must be an http(s) URL',
    ],
    [['history', '--region', 'eu-west-1'], '--audit-table NAME is required'],
    [
      ['history', '--audit-table', 'audit', '--repository', 'nope'],
      '--repository must be an ECR repository ARN',
    ],
    [
      ['history', '--audit-table', 'audit', '--consumer', 'nope'],
      '--consumer must be a 12-digit account id',
    ],
    [
      ['history', '--audit-table', 'audit', '--since', 'yesterday'],
      '--since must be an ISO 8601 date or time',
    ],
    [
      ['history', '--audit-table', 'audit', '--since', '2026-02-30T99:00'],
      '--since must be an ISO 8601 date or time',
    ],
    [['history', '--audit-table', 'audit', '--topic-arn', 'x'], 'unknown option --topic-arn'],
  ])('exits 2 with one line (%#: %s)', async (argv, message) => {
    const { code, err } = await runCli(...argv);

    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(err).not.toContain('\n');
  });

  it('needs the audit table region for history', async () => {
    const saved = {
      region: process.env['AWS_REGION'],
      fallback: process.env['AWS_DEFAULT_REGION'],
    };
    delete process.env['AWS_REGION'];
    delete process.env['AWS_DEFAULT_REGION'];
    try {
      const { code, err } = await runCli('history', '--audit-table', 'audit');
      expect(code).toBe(2);
      expect(err).toContain('--region is required');
    } finally {
      if (saved.region !== undefined) process.env['AWS_REGION'] = saved.region;
      if (saved.fallback !== undefined) process.env['AWS_DEFAULT_REGION'] = saved.fallback;
    }
  });

  it('lists revoke and history in the help', async () => {
    const { out } = await runCli('--help');

    expect(out).toContain('revoke   take one consumer back out');
    expect(out).toContain('history  print the audit records');
  });
});

describe('revoke and history against mocked AWS', () => {
  const sts = mockClient(STSClient);
  const ecr = mockClient(ECRClient);
  const sns = mockClient(SNSClient);
  const ddb = mockClient(DynamoDBClient);
  let policy: string | null;

  beforeEach(() => {
    for (const mock of [sts, ecr, sns, ddb]) mock.reset();
    policy = GRANTED;
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '111111111111',
      Arn: 'arn:aws:sts::111111111111:assumed-role/platform-admin/jane',
    });
    ecr.on(GetRepositoryPolicyCommand).callsFake(() => ({ policyText: policy ?? undefined }));
    ecr.on(SetRepositoryPolicyCommand).callsFake((input: { policyText: string }) => {
      policy = input.policyText;
      return { policyText: input.policyText };
    });
    ecr.on(DeleteRepositoryPolicyCommand).callsFake(() => {
      policy = null;
      return {};
    });
    sns.on(GetTopicAttributesCommand).resolves({ Attributes: {} });
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteItemsCommand).resolves({});
    ddb.on(PutItemCommand).resolves({});
    ddb.on(DeleteItemCommand).resolves({});
  });

  const revoke = (...extra: string[]) =>
    runCli(
      'revoke',
      '--repository',
      REPOSITORY,
      '--consumer',
      '222222222222',
      '--audit-table',
      'audit',
      ...LOCAL,
      ...extra
    );

  it('exits 3 when the revoke is written and verified but its notice cannot be sent', async () => {
    sns
      .on(PublishCommand)
      .rejects(new InternalErrorException({ $metadata: {}, message: 'SNS is down' }));

    const { code, err } = await revoke('--topic-arn', TOPIC);

    expect(code).toBe(3);
    expect(err).toMatch(
      /revoked and verified; notice not sent: SNS is down \(run the same command again/
    );
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(0);
    expect(policy).toBeNull();
  });

  it('prints the change and says why nothing was published', async () => {
    const { code, out } = await revoke();

    expect(code).toBe(0);
    expect(out).toContain('Decision:    revoke (consumer-revoked)');
    expect(out).toContain('(the repository policy is deleted)');
    expect(out).toContain('Applied:     yes, written and verified');
    expect(out).toContain('Published:   no (no --topic-arn given)');
  });

  it('says what to do when the registry role cannot be assumed from the caller\u2019s account', async () => {
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '333333333333',
      Arn: 'arn:aws:sts::333333333333:assumed-role/ops/jane',
    });
    sts.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: {},
        message: 'not authorized to perform sts:AssumeRole',
      })
    );

    const { code, err } = await revoke();

    expect(code).toBe(1);
    expect(err).toContain(
      'cannot reach registry account 111111111111 from your credentials (account 333333333333)'
    );
    // Not "credentials of the registry account": the audit table is reached with the caller's own credentials.
    expect(err).toContain(
      'Keep your credentials (the audit table and the topic are reached with them) and add --registry-profile <a profile of account 111111111111> for the ECR calls. Nothing was changed.'
    );
  });

  it('reaches the registry with --registry-profile, never through the role', async () => {
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '333333333333',
      Arn: 'arn:aws:sts::333333333333:assumed-role/ops/jane',
    });

    const { code, out } = await revoke('--registry-profile', 'registry-admin', '--dry-run');

    expect(code).toBe(0);
    expect(out).toContain('Applied:     no (dry-run)');
    expect(out).toContain('Published:   no (dry-run)');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('exits 1 with one line when the credentials cannot be identified, or AWS fails', async () => {
    sts.on(GetCallerIdentityCommand).rejects(new Error('no credentials'));
    const unidentified = await revoke();
    sts.on(GetCallerIdentityCommand).resolves({ Account: '111111111111' });
    ddb
      .on(QueryCommand)
      .rejects(new ResourceNotFoundException({ $metadata: {}, message: 'no such table' }));
    const failed = await revoke();

    expect(unidentified).toEqual(expect.objectContaining({ code: 1 }));
    expect(unidentified.err).toContain('cannot determine the AWS account of the credentials');
    expect(failed).toEqual(expect.objectContaining({ code: 1 }));
    expect(failed.err).toBe(
      "lambda-ecr-autofix revoke: audit table audit not found in eu-west-1 (no such table): give --region the central stack's Region (the table's) and --audit-table its AuditTableName output; nothing was changed"
    );
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(0);
  });

  it('says there is nothing to revoke when the repository does not exist, and writes nothing', async () => {
    ecr.on(GetRepositoryPolicyCommand).rejects(
      new RepositoryNotFoundException({
        $metadata: {},
        message: "The repository with name 'platform/payments-worker' does not exist",
      })
    );

    const { code, err } = await revoke();

    expect(code).toBe(1);
    expect(err).toBe(
      'lambda-ecr-autofix revoke: repository platform/payments-worker does not exist in registry 111111111111 ' +
        '(eu-west-1), so there is nothing to revoke: its policy went with it. Check --repository. Nothing was changed.'
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('refuses a topic it cannot use before anything is written', async () => {
    sns
      .on(GetTopicAttributesCommand)
      .rejects(new InternalErrorException({ $metadata: {}, message: 'down' }));

    const { code, err } = await revoke('--topic-arn', TOPIC);

    expect(code).toBe(1);
    expect(err).toContain('nothing was changed');
    expect(policy).toBe(GRANTED);
  });

  it('prints history as a table (newest first) or JSON without the notice body, via Query or Scan', async () => {
    const older = {
      ...FIXED_RECORD,
      eventId: 'older',
      decidedAt: '2026-03-01T12:00:00.000Z',
      notifiedAt: null,
      notificationId: null,
    };
    const revoked = {
      ...FIXED_RECORD,
      eventId: 'revoke-1',
      kind: 'revoke' as const,
      outcome: 'revoke' as const,
      reason: 'consumer-revoked' as const,
      decidedAt: '2026-03-02T12:00:00.000Z',
      grants: [],
      policyPlanned: null,
      removed: [
        {
          sid: 'LambdaEcrAutofixService',
          values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
        },
      ],
    };
    const drift = {
      ...FIXED_RECORD,
      eventId: 'e/222222222222',
      kind: 'drift' as const,
      state: 'recorded' as const,
      outcome: 'needs-human' as const,
      reason: 'grant-removed' as const,
      decidedAt: '2026-03-02T12:00:00.000Z',
      functionArn: null,
      consumerAccount: null,
      grants: [],
      notice: null,
      removed: [{ sid: 'LambdaEcrAutofixAccounts', values: ['arn:aws:iam::222222222222:root'] }],
    };
    ddb.on(ScanCommand).resolves({ Items: [toItem(older), toItem(revoked), toItem(drift)] });
    ddb.on(QueryCommand).resolves({ Items: [] });

    const text = await runCli(
      'history',
      '--audit-table',
      'audit',
      '--since',
      '2026-03-01',
      ...LOCAL
    );
    const json = await runCli('history', '--audit-table', 'audit', '--json', ...LOCAL);
    const none = await runCli(
      'history',
      '--audit-table',
      'audit',
      '--repository',
      REPOSITORY,
      ...LOCAL
    );

    const lines = text.out.split('\n');
    expect(lines[0]).toMatch(
      /^TIME +KIND +STATE +OUTCOME \(REASON\) +REPOSITORY +CONSUMER +FUNCTION +WHAT CHANGED$/
    );
    expect(lines[1]).toMatch(
      /^2026-03-02T12:00:00Z +revoke +applied +revoke \(consumer-revoked\) +111111111111\/eu-west-1\/platform\/payments-worker +222222222222 +payments-worker +-Service arn:aws:lambda:eu-west-1:222222222222:function:\*; \(policy deleted\)$/
    );
    expect(lines[2]).toMatch(/drift {3}recorded +needs-human \(grant-removed\)/);
    expect(lines[2]).toContain('missing Accounts arn:aws:iam::222222222222:root');
    expect(lines[3]).toContain('+Service arn:aws:lambda:eu-west-1:222222222222:function:*');
    // Its FIXED notice was never sent: the outbox still owes it.
    expect(lines[3]).toMatch(
      /fix {5}applied, notice owed {2}fix \(repository-policy-missing-grant\)/
    );
    expect(lines.at(-1)).toBe('3 records.');
    expect(ddb.commandCalls(ScanCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({
      ':since': { S: '2026-03-01T00:00:00.000Z' },
    });
    const records = JSON.parse(json.out) as { eventId: string; notice: unknown }[];
    expect(records.map((r) => r.eventId)).toEqual(['revoke-1', 'e/222222222222', 'older']);
    expect(records[0]?.notice).toEqual({ subject: FIXED_RECORD.notice?.subject });
    expect(records[1]?.notice).toBeNull();
    expect(none.out).toBe('No audit records match.');
  });

  it('exits 1 when the table cannot be read', async () => {
    ddb
      .on(ScanCommand)
      .rejects(
        new ResourceNotFoundException({ $metadata: {}, message: 'Requested resource not found' })
      );

    const { code, err } = await runCli('history', '--audit-table', 'audit', ...LOCAL);

    expect(code).toBe(1);
    expect(err).toContain('cannot read audit table audit: Requested resource not found');
  });
});

describe('plan for an ECR repository-policy event', () => {
  const event = join(ECR_EVENTS, 'ecr-set-repository-policy-removes-grants.json');
  const audit = file('history.json', [
    {
      ...FIXED_RECORD,
      repositoryArn: REPOSITORY,
      eventId: 'fix-1',
      decidedAt: '2026-03-01T12:00:00.000Z',
      grants: [
        {
          sid: 'LambdaEcrAutofixService',
          change: 'created',
          added: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
        },
        {
          sid: 'LambdaEcrAutofixAccounts',
          change: 'created',
          added: ['arn:aws:iam::222222222222:root'],
        },
      ],
    },
    {
      ...FIXED_RECORD,
      repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/other',
      eventId: 'elsewhere',
    },
  ]);
  const emptyPolicy = file('policy.json', { Version: '2012-10-17', Statement: [] });

  it('needs --audit', async () => {
    const { code, err } = await runCli('plan', '--event', event);

    expect(code).toBe(2);
    expect(err).toContain(`--audit FILE is required for an ECR SetRepositoryPolicy event`);
  });

  it('reports the drift offline from the audit records, as the drift guard would', async () => {
    const { code, out } = await runCli(
      'plan',
      '--event',
      event,
      '--policy',
      emptyPolicy,
      '--audit',
      audit,
      '--json'
    );

    expect(code).toBe(0);
    const decision = JSON.parse(out) as {
      outcome: string;
      reason: string;
      decisions: { consumerAccount: string; notification: { subject: string } }[];
    };
    expect(decision).toEqual(
      expect.objectContaining({ kind: 'drift', outcome: 'needs-human', reason: 'grant-removed' })
    );
    expect(decision.decisions.map((d) => d.consumerAccount)).toEqual(['222222222222']);
    expect(decision.decisions[0]?.notification.subject).toContain('GRANT REMOVED: 222222222222');
  });

  it('plans the restore with driftAction "restore" and the tags that consent', async () => {
    const config = file('restore.json', { driftAction: 'restore' });

    const { out } = await runCli(
      'plan',
      '--event',
      event,
      '--policy',
      emptyPolicy,
      '--audit',
      audit,
      '--config',
      config,
      '--tag',
      'lambda-ecr-autofix:share=222222222222'
    );

    expect(out).toContain('Decision:    fix (grant-removed)');
    expect(out).toContain('Policy change (not written):');
    expect(out).toContain('Notification subject: [lambda-ecr-autofix] RESTORED:');
    // plan writes and publishes nothing, for a drift check as for a deploy: no bare "Published: no".
    expect(out).not.toMatch(/^(Applied|Published):/m);
  });

  it('finds nothing without a grant of the fixer, and ignores a failed call', async () => {
    const empty = file('empty.json', []);

    const none = await runCli('plan', '--event', event, '--audit', empty);
    const failed = await runCli(
      'plan',
      '--event',
      join(ECR_EVENTS, 'ecr-set-repository-policy-failed.json'),
      '--json'
    );

    expect(none.out).toContain('Decision:    ignored (no-drift)');
    expect(JSON.parse(failed.out)).toEqual(
      expect.objectContaining({ outcome: 'ignored', reason: 'call-failed' })
    );
  });

  it('warns when the audit records given are all of other repositories (the wrong history file)', async () => {
    const elsewhere = file('elsewhere.json', [
      {
        ...FIXED_RECORD,
        repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/other',
        eventId: 'elsewhere',
      },
    ]);

    const { code, out, err } = await runCli('plan', '--event', event, '--audit', elsewhere);

    expect(code).toBe(0);
    expect(out).toContain('Decision:    ignored (no-drift)');
    expect(err).toBe(
      `lambda-ecr-autofix plan: warning: --audit ${elsewhere} holds 1 audit record(s), none of repository ${REPOSITORY}: ` +
        `the check sees no grant of lambda-ecr-autofix there (lambda-ecr-autofix history --repository ${REPOSITORY} --json prints its records)`
    );
    // The whole table's history (records of this repository among others) needs no warning.
    const mixed = await runCli('plan', '--event', event, '--audit', audit);
    expect(mixed.err).toBe('');
  });

  it('reports a deleted repository without a policy', async () => {
    const { out } = await runCli(
      'plan',
      '--event',
      join(ECR_EVENTS, 'ecr-delete-repository.json'),
      '--audit',
      audit
    );

    expect(out).toContain('Decision:    needs-human (repository-deleted)');
  });

  it.each([
    [{ not: 'a list' }, 'must be a JSON array of audit records'],
    [['text'], 'record 1 is not a JSON object'],
    [[{ kind: 'fix' }], 'record 1 has no "state" string'],
    [[{ ...FIXED_RECORD, kind: 'other' }], 'has kind "other"'],
    [[{ ...FIXED_RECORD, state: 'other' }], 'has state "other"'],
    [[{ ...FIXED_RECORD, grants: 'x' }], 'has no "grants" list'],
    [[{ ...FIXED_RECORD, grants: [{ sid: 1 }] }], 'has a "grants" entry without "sid"'],
  ])('refuses a bad --audit file (%#: %s)', async (content, message) => {
    const { code, err } = await runCli(
      'plan',
      '--event',
      event,
      '--audit',
      file('bad.json', content)
    );

    expect(code).toBe(2);
    expect(err).toContain(message);
  });

  it('warns that --audit is not used for a deploy event', async () => {
    const { code, err } = await runCli(
      'plan',
      '--event',
      join(__dirname, '..', 'fixtures', 'events', 'create-function-same-account-ecr-denied.json'),
      '--audit',
      audit
    );

    expect(code).toBe(0);
    expect(err).toContain('--audit is only used for ECR repository-policy events');
  });

  it('picks the only ECR call of a lookup-events list, and asks for --event-id among several', async () => {
    const detail = (JSON.parse(readFileSync(event, 'utf8')) as { detail: object }).detail;
    const record = (id: string) => ({
      CloudTrailEvent: JSON.stringify({ ...detail, eventID: id }),
    });
    const one = file('one.json', { Events: [record('a')] });
    const two = file('two.json', { Events: [record('a'), record('b')] });

    const picked = await runCli('plan', '--event', one, '--audit', audit);
    const ambiguous = await runCli('plan', '--event', two, '--audit', audit);

    expect(picked.code).toBe(0);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.err).toContain(
      'holds 2 ECR repository-policy calls; choose one with --event-id'
    );
  });
});
