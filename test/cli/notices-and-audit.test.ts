/**
 * `apply` and `scan --fix` from the command line, with AWS mocked by aws-sdk-client-mock (the SDK's own exception
 * classes) and DynamoDB by a fake table that evaluates the adapters' conditions:
 *
 * - a write no audit record announces is impossible to miss: one warning line on stderr right before it, and
 *   `audited: false` in the output (`LAMBDA_ECR_AUTOFIX_AUDIT_TABLE` counts as `--audit-table`);
 * - `scan --fix` never leaves an applied fix without its notice: a notice that cannot be sent makes it exit 3, and a
 *   rerun sends it (its fix is `ok` by then, so only the notice outbox can), once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  GetTopicAttributesCommand,
  NotFoundException,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

import { runApply } from '../../bin/commands/apply';
import { AUDIT_TABLE_ENV, NO_AUDIT_WARNING } from '../../bin/commands/aws-options';
import { toItem } from '../../lambda/adapters/dynamodb-audit-log';
import { FIXED_RECORD } from '../support/audit-records';
import { EVENTS_DIR } from '../support/events';
import { FakeDynamoDbTable } from '../support/fake-dynamodb';
import { fakeEcrRepositories } from '../support/fake-ecr';
import { runCli } from '../support/cli';
import { assumedRole } from '../support/fake-sts';

const REGION = 'eu-west-1';
const ACCOUNT = '222222222222';
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:lambda-ecr-autofix`;
const LOCAL = ['--endpoint-url', 'http://127.0.0.1:9'];
/** The same-account event's repository (orders-api, us-east-1). */
const SAME_ACCOUNT_EVENT = `${EVENTS_DIR}/create-function-same-account-ecr-denied.json`;

const sts = mockClient(STSClient);
const ecr = mockClient(ECRClient);
const sns = mockClient(SNSClient);
const lambda = mockClient(LambdaClient);
const dynamodb = mockClient(DynamoDBClient);

let table: FakeDynamoDbTable;
let policies: Map<string, string>;
/** What happened, in order: warnings, policy writes, notices delivered. */
let journal: string[];
/** Publishes that fail: the next ones whose subject matches, in order. */
let publishFailures: { pattern: RegExp; error: Error }[];
let savedEnv: NodeJS.ProcessEnv;

const writes = () => journal.filter((entry) => entry.startsWith('write '));
const notices = () => journal.filter((entry) => entry.startsWith('notice '));
const topicGone = () =>
  new NotFoundException({ $metadata: { httpStatusCode: 404 }, message: 'Topic does not exist' });

beforeEach(() => {
  for (const mock of [sts, ecr, sns, lambda, dynamodb]) mock.reset();
  savedEnv = process.env;
  process.env = { ...savedEnv };
  delete process.env[AUDIT_TABLE_ENV];
  table = new FakeDynamoDbTable();
  table.attach(dynamodb);
  policies = new Map();
  journal = [];
  publishFailures = [];
  sts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/alice` })
    .on(AssumeRoleCommand)
    .resolves(assumedRole());
  fakeEcrRepositories(ecr, {
    policies,
    tags: [],
    key: (input) => input.repositoryName ?? '?',
    onWrite: (repository) => journal.push(`write ${repository}`),
  });
  sns
    .on(GetTopicAttributesCommand)
    .resolves({ Attributes: { TopicArn: TOPIC } })
    .on(PublishCommand)
    .callsFake((input: { Subject?: string }) => {
      const at = publishFailures.findIndex((failure) => failure.pattern.test(input.Subject ?? ''));
      if (at !== -1) throw (publishFailures.splice(at, 1)[0] as { error: Error }).error;
      journal.push(`notice ${input.Subject ?? ''}`);
      return { MessageId: `sns-${notices().length}` };
    });
  lambda
    .on(ListFunctionsCommand)
    .resolves({
      Functions: ['api', 'worker'].map((name) => ({
        FunctionName: name,
        FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
        PackageType: 'Image',
      })),
    })
    .on(GetFunctionCommand)
    .callsFake((input: { FunctionName?: string }) => ({
      Configuration: { FunctionArn: input.FunctionName, State: 'Active' },
      Code: {
        ImageUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${input.FunctionName?.endsWith(':api') === true ? 'api' : 'worker'}:1`,
      },
    }));
});

afterEach(() => {
  process.env = savedEnv;
});

describe('apply: a write no audit record announces', () => {
  const options = (extra: Partial<Parameters<typeof runApply>[0]> = {}) => ({
    event: SAME_ACCOUNT_EVENT,
    region: 'us-east-1',
    endpointUrl: 'http://127.0.0.1:9',
    dryRun: false,
    json: true,
    ...extra,
  });

  it('warns once on stderr right before the write, and says audited: false', async () => {
    const output = await runApply(options(), {}, (text) => journal.push(`warning ${text}`));

    expect(journal).toEqual([`warning ${NO_AUDIT_WARNING}`, 'write orders-api']);
    expect(JSON.parse(output)).toEqual(
      expect.objectContaining({ outcome: 'fix', applied: true, audited: false })
    );
  });

  it('prints the warning as one line, and Audited: no in the text', async () => {
    const { code, out, err } = await runCli(
      'apply',
      '--event',
      SAME_ACCOUNT_EVENT,
      '--region',
      'us-east-1',
      ...LOCAL
    );

    expect(code).toBe(0);
    expect(err).toBe(
      'lambda-ecr-autofix apply: no audit table: this write will not be recorded by lambda-ecr-autofix; revoke and the drift guard will not know it — pass --audit-table NAME or set LAMBDA_ECR_AUTOFIX_AUDIT_TABLE'
    );
    expect(out).toContain(
      'Audited:     no (no audit table: revoke, history and the drift guard do not know of this run)'
    );
  });

  it(`takes the table from ${AUDIT_TABLE_ENV}: no warning, the intent before the write, audited: true`, async () => {
    const output = await runApply(options(), { [AUDIT_TABLE_ENV]: 'audit' }, (text) =>
      journal.push(`warning ${text}`)
    );

    expect(journal).toEqual(['write orders-api']);
    expect(JSON.parse(output)).toEqual(expect.objectContaining({ applied: true, audited: true }));
    expect([...table.items.values()].map((item) => item['state']?.S)).toEqual(['applied']);
  });

  it('says Audited: yes with the table in the text', async () => {
    const { code, out, err } = await runCli(
      'apply',
      '--event',
      SAME_ACCOUNT_EVENT,
      '--region',
      'us-east-1',
      '--audit-table',
      'audit',
      ...LOCAL
    );

    expect([code, err]).toEqual([0, '']);
    expect(out).toContain('Audited:     yes, in table audit');
  });

  it('does not warn when nothing is written: a dry run, or a grant that is there already', async () => {
    const dryRun = await runApply(options({ dryRun: true }), {}, (text) => journal.push(text));
    policies.set(
      'orders-api',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          },
        ],
      })
    );
    const allowed = await runApply(options(), {}, (text) => journal.push(text));

    expect(journal).toEqual([]);
    expect(JSON.parse(dryRun)).toEqual(expect.objectContaining({ applied: false, audited: false }));
    expect(JSON.parse(allowed)).toEqual(
      expect.objectContaining({ outcome: 'already-allowed', audited: false })
    );
  });

  it('says which audit table it cannot find, and where, before anything is written', async () => {
    // A table of another Region (the event's, not the central stack's) is the likely mistake.
    dynamodb.reset();
    dynamodb.onAnyCommand().rejects(
      new ResourceNotFoundException({
        $metadata: { httpStatusCode: 400 },
        message: 'Requested resource not found',
      })
    );

    const { code, out, err } = await runCli(
      'apply',
      '--event',
      SAME_ACCOUNT_EVENT,
      '--region',
      'us-east-1',
      '--audit-table',
      'audit',
      ...LOCAL
    );

    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      'lambda-ecr-autofix apply: audit table audit not found in us-east-1 (Requested resource not found): ' +
        "give --region the central stack's Region (the table's) and --audit-table its AuditTableName output; nothing was changed"
    );
    expect(writes()).toEqual([]);
  });

  it(`refuses a bad table name in ${AUDIT_TABLE_ENV}`, async () => {
    process.env[AUDIT_TABLE_ENV] = 'a b';

    const { code, err } = await runCli('apply', '--event', SAME_ACCOUNT_EVENT, ...LOCAL);

    expect(code).toBe(2);
    expect(err).toContain('--audit-table must be a DynamoDB table name');
  });
});

describe('scan --fix: audit and owed notices', () => {
  const scan = (...extra: string[]) => runCli('scan', '--region', REGION, ...LOCAL, ...extra);

  interface ScanJson {
    summary: Record<string, number>;
    audited?: boolean;
    notices?: {
      sent: { subject: string; messageId: string }[];
      unsent: { subject: string; error: string }[];
      completed: number;
    } | null;
  }

  it('without an audit table: one warning before the first write, audited: false', async () => {
    const { code, out, err } = await scan('--fix', '--json');

    expect(code).toBe(0);
    expect(err).toBe(`lambda-ecr-autofix scan: ${NO_AUDIT_WARNING}`);
    expect(writes()).toEqual(['write api', 'write worker']);
    expect(JSON.parse(out)).toEqual(
      expect.objectContaining({
        audited: false,
        notices: null,
        summary: expect.any(Object) as object,
      })
    );
  });

  it('says Audited: no in the text, and nothing of it without --fix', async () => {
    const fixed = await scan('--fix');
    const plain = await scan('--json');

    expect(fixed.out).toContain('Audited:     no (no audit table');
    expect(JSON.parse(plain.out)).not.toHaveProperty('audited');
    expect(plain.err).toBe('');
  });

  it(`takes the table from ${AUDIT_TABLE_ENV} with --fix, and ignores it without`, async () => {
    process.env[AUDIT_TABLE_ENV] = 'audit';

    const fixed = await scan('--fix', '--json');
    const plain = await scan('--json');

    expect([fixed.code, fixed.err]).toEqual([0, '']);
    expect(JSON.parse(fixed.out)).toEqual(expect.objectContaining({ audited: true }));
    expect(plain.code).toBe(0);
    expect(table.calls['Query']).toBe(2);
  });

  it('a notice that cannot be sent: exit 3; the rerun sends it and exits 0; a third run sends nothing', async () => {
    // The topic is deleted after the check: the fix of "api" is written and verified, its notice is not sent (nor
    // on the outbox's second try); the fix of "worker" goes through.
    const api = /can now pull api /;
    publishFailures.push(
      { pattern: api, error: topicGone() },
      { pattern: api, error: topicGone() }
    );
    const args = ['--fix', '--json', '--topic-arn', TOPIC, '--audit-table', 'audit'];

    const first = await scan(...args);
    const second = await scan(...args);
    const third = await scan(...args);

    expect(first.code).toBe(3);
    expect(first.err).toMatch(
      /^lambda-ecr-autofix scan: 1 notice\(s\) of applied changes not sent; first: "\[lambda-ecr-autofix\] FIXED: 222222222222 can now pull api \(eu-west-1\)": not sent: Topic does not exist \(run the same command again to send them; nothing will be written again\)$/
    );
    const firstJson = JSON.parse(first.out) as ScanJson;
    expect(firstJson.audited).toBe(true);
    expect(firstJson.notices?.unsent.map((n) => n.subject)).toEqual([
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull api (eu-west-1)',
    ]);
    expect(firstJson.summary).toEqual(expect.objectContaining({ ok: 2, 'at-risk': 0 }));

    expect([second.code, second.err]).toEqual([0, '']);
    expect((JSON.parse(second.out) as ScanJson).notices).toEqual({
      sent: [
        expect.objectContaining({
          subject: '[lambda-ecr-autofix] FIXED: 222222222222 can now pull api (eu-west-1)',
        }),
      ],
      unsent: [],
      completed: 0,
      inProgress: [],
    });
    expect([third.code, (JSON.parse(third.out) as ScanJson).notices]).toEqual([
      0,
      { sent: [], unsent: [], completed: 0, inProgress: [] },
    ]);

    expect(writes()).toEqual(['write api', 'write worker']);
    expect(notices().sort()).toEqual([
      'notice [lambda-ecr-autofix] FIXED: 222222222222 can now pull api (eu-west-1)',
      'notice [lambda-ecr-autofix] FIXED: 222222222222 can now pull worker (eu-west-1)',
    ]);
  });

  it('a notice that fails once is sent again before the report: exit 0, and the text says so', async () => {
    publishFailures.push({ pattern: /can now pull api /, error: topicGone() });

    const { code, out, err } = await scan('--fix', '--topic-arn', TOPIC, '--audit-table', 'audit');

    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(
      / {2}api: policy written and verified; notice not sent: Topic does not exist/
    );
    expect(out).toContain('Notices owed (of this run or an earlier one, kept in the audit table):');
    expect(out).toMatch(
      / {2}sent: \[lambda-ecr-autofix\] FIXED: 222222222222 can now pull api \(eu-west-1\) \(message sns-\d\)/
    );
    expect(out).toContain('Audited:     yes, in table audit');
    expect(notices()).toHaveLength(2);
  });

  it('exits 3 while a write of the last minutes is not complete (its notice may still be owed)', async () => {
    // The record of a fix whose run was interrupted a moment ago (it will be stale, and completed, in 3 minutes).
    const fresh = {
      ...FIXED_RECORD,
      repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/api`,
      state: 'intent' as const,
      owner: 'another-run',
      updatedAt: new Date().toISOString(),
      notifiedAt: null,
      notificationId: null,
    };
    const item = toItem(fresh);
    table.items.set(`${fresh.repositoryArn}\n${item['eventKey']?.S ?? ''}`, item);

    const { code, out, err } = await scan('--fix', '--topic-arn', TOPIC, '--audit-table', 'audit');

    expect(code).toBe(3);
    expect(out).toContain(
      `  IN PROGRESS: ${FIXED_RECORD.notice?.subject ?? ''} (a write of the last 3 minutes; run again later)`
    );
    expect(err).toContain(
      '1 write(s) may still be in progress (an audit intent of the last 3 minutes)'
    );
  });

  it('says so when nothing is owed', async () => {
    const { out } = await scan('--fix', '--topic-arn', TOPIC, '--audit-table', 'audit');

    expect(out).toContain(
      'Notices owed: none (every applied change of the repositories scanned has sent its notice).'
    );
  });

  it('exits 1 when the audit table cannot be read for owed notices, after printing the report', async () => {
    const { ProvisionedThroughputExceededException } = await import('@aws-sdk/client-dynamodb');
    table.failNext.set(
      'Query',
      new ProvisionedThroughputExceededException({
        $metadata: { httpStatusCode: 400 },
        message: 'Throughput exceeded',
      })
    );

    const { code, out, err } = await scan('--fix', '--json', '--audit-table', 'audit');

    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual(expect.objectContaining({ audited: true, notices: null }));
    expect(err).toBe(
      'lambda-ecr-autofix scan: the fixes are done, but the notices still owed could not be looked up in the audit table: Throughput exceeded (run the same command again)'
    );
  });
});

describe('apply with an ECR event: the notices earlier changes of the repository still owe', () => {
  const ECR_EVENT = join(
    __dirname,
    '..',
    'fixtures',
    'ecr-events',
    'ecr-set-repository-policy-by-fixer.json'
  );
  const OWED = { ...FIXED_RECORD, notifiedAt: null, notificationId: null };

  beforeEach(() => {
    const item = toItem(OWED);
    table.items.set(`${OWED.repositoryArn}\n${item['eventKey']?.S ?? ''}`, item);
    policies.set('platform/payments-worker', FIXED_RECORD.policyPlanned ?? '');
  });

  const apply = (...extra: string[]) =>
    runCli(
      'apply',
      '--event',
      ECR_EVENT,
      '--audit-table',
      'audit',
      '--topic-arn',
      TOPIC,
      '--region',
      REGION,
      ...LOCAL,
      ...extra
    );

  it('sends them with the drift check, and says so', async () => {
    const json = await apply('--json');
    const again = await apply();

    expect([json.code, json.err]).toEqual([0, '']);
    expect(JSON.parse(json.out)).toEqual(
      expect.objectContaining({
        outcome: 'ignored',
        reason: 'no-drift',
        owedNoticesSent: [FIXED_RECORD.notice?.subject],
        audited: true,
      })
    );
    expect(notices()).toEqual([`notice ${FIXED_RECORD.notice?.subject ?? ''}`]);
    expect(again.out).not.toContain('Owed notices');
  });

  it('exits 3 when they cannot be sent, and a rerun sends them', async () => {
    publishFailures.push({ pattern: /FIXED/, error: topicGone() });

    const failed = await apply();
    const rerun = await apply();

    expect(failed.code).toBe(3);
    expect(failed.err).toMatch(
      /^lambda-ecr-autofix apply: 1 notice\(s\) of applied changes could not be sent .*Topic does not exist.*\(run the same command again\)$/
    );
    expect(rerun.code).toBe(0);
    expect(rerun.out).toContain(
      `Owed notices: 1 sent now, of earlier changes of this repository: ${FIXED_RECORD.notice?.subject ?? ''}`
    );
  });
});

describe('apply with an ECR event that removed a grant: "Published: no" says why', () => {
  const ECR_EVENT = join(
    __dirname,
    '..',
    'fixtures',
    'ecr-events',
    'ecr-set-repository-policy-removes-grants.json'
  );

  beforeEach(() => {
    const item = toItem(FIXED_RECORD);
    table.items.set(`${FIXED_RECORD.repositoryArn}\n${item['eventKey']?.S ?? ''}`, item);
    // The policy as the foreign writer left it: without the fixer's statements.
    policies.set(
      'platform/payments-worker',
      JSON.stringify({ Version: '2012-10-17', Statement: [] })
    );
  });

  const apply = (...extra: string[]) =>
    runCli(
      'apply',
      '--event',
      ECR_EVENT,
      '--audit-table',
      'audit',
      '--region',
      REGION,
      ...LOCAL,
      ...extra
    );

  it('without --topic-arn', async () => {
    const { code, out } = await apply();

    expect(code).toBe(0);
    expect(out).toContain('Decision:    needs-human (grant-removed)');
    expect(out).toContain('Published:   no (no --topic-arn given)');
    // The revoke its next steps give runs as written: it names the audit table and the region.
    expect(out).toContain(
      'lambda-ecr-autofix revoke --repository arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker --consumer 222222222222 --audit-table audit --region eu-west-1'
    );
  });

  it('when notifyOn leaves the outcome out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-notify-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ notifyOn: ['fix'] }));

    const { code, out } = await apply('--topic-arn', TOPIC, '--config', config);

    expect(code).toBe(0);
    expect(out).toContain('Published:   no (notifyOn ["fix"] does not include "needs-human")');
    expect(notices()).toEqual([]);
  });
});
