/**
 * `scan` against a real moto_server on 127.0.0.1: functions created with CreateFunction (moto 5 accepts image
 * functions without Docker), repositories with the grant, without it, and with a Deny; `--fix` through the pipeline.
 * moto cannot put a function into Inactive/ImageAccessDenied, nor paginate ListFunctions: those cases are covered
 * with aws-sdk-client-mock (test/adapters/lambda-function-inventory.test.ts) and the stand-ins.
 */
import { CreateTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { ECRClient } from '@aws-sdk/client-ecr';
import {
  CreateRepositoryCommand,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { CreateFunctionCommand } from '@aws-sdk/client-lambda';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { NO_AUDIT_WARNING } from '../../bin/commands/aws-options';
import { SCAN_COLUMNS } from '../../bin/commands/scan-output';
import { AwsClients, createAwsClients } from '../../lambda/adapters/aws-clients';
import type { AwsCredentialsInput } from '../../lambda/adapters/aws-clients';
import { runScan } from '../../bin/commands/scan';
import { auditTableDefinition } from '../../lambda/adapters/dynamodb-audit-log';
import { runCli } from '../support/cli';
import { DENY_LAMBDA_POLICY, grantedPolicy, makeFunction } from '../support/scan';
import { createQueue, createRole, receiveMessages } from './moto-http';
import type { MotoServer } from './moto-server';
import {
  MOTO_CREDENTIALS,
  MOTO_DEFAULT_ACCOUNT,
  describeWithMoto,
  startMotoServer,
} from './moto-server';

const REGION = 'us-east-1';
const ACCOUNT = MOTO_DEFAULT_ACCOUNT;
const SHARED = '111111111111';
const ROOT = join(__dirname, '..', '..');

interface Row {
  functionName: string;
  status: string;
  reason: string;
  repositoryArn: string | null;
}

/** Splits RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      index++;
    } else field += char;
  }
  return rows;
}

/** Real clients that record every command they send (service:Command), to count the scan's AWS calls. */
class CountingClients extends AwsClients {
  readonly calls: string[] = [];
  private counted = new WeakSet<object>();

  override get sts() {
    return this.counting('sts', super.sts);
  }

  override createEcrClient(region: string, credentials?: AwsCredentialsInput) {
    return this.counting('ecr', super.createEcrClient(region, credentials));
  }

  override createLambdaClient(region: string, credentials?: AwsCredentialsInput) {
    return this.counting('lambda', super.createLambdaClient(region, credentials));
  }

  private counting<C extends { middlewareStack: { add: (...args: never[]) => void } }>(
    service: string,
    client: C
  ): C {
    if (this.counted.has(client)) return client;
    this.counted.add(client);
    const add = client.middlewareStack.add as unknown as (
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string }
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string }
    ) => void;
    add.call(
      client.middlewareStack,
      (next, context) => (args) => {
        this.calls.push(`${service}:${(context.commandName ?? '?').replace(/Command$/, '')}`);
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' }
    );
    return client;
  }
}

describeWithMoto()('scan against moto_server', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let roleArn: string;

  beforeAll(async () => {
    moto = await startMotoServer();
  });

  afterAll(async () => {
    await moto.stop();
  });

  async function ecrIn(account: string): Promise<ECRClient> {
    if (account === ACCOUNT) return clients.createEcrClient(REGION);
    const assumed = await clients.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
        RoleSessionName: 'test-setup',
      })
    );
    return clients.createEcrClient(REGION, {
      accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
      secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
      sessionToken: assumed.Credentials?.SessionToken ?? '',
    });
  }

  async function repository(
    account: string,
    name: string,
    policyText: string | null,
    tags: Record<string, string> = {}
  ): Promise<void> {
    const ecr = await ecrIn(account);
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      })
    );
    if (policyText !== null) {
      await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: name, policyText }));
    }
  }

  async function policyOf(account: string, name: string): Promise<string | null> {
    try {
      const found = await (
        await ecrIn(account)
      ).send(new GetRepositoryPolicyCommand({ repositoryName: name }));
      return found.policyText ?? null;
    } catch {
      return null;
    }
  }

  function imageOf(account: string, name: string): string {
    return `${account}.dkr.ecr.${REGION}.amazonaws.com/${name}:1.0.0`;
  }

  async function lambdaFunction(
    name: string,
    account: string,
    repositoryName: string
  ): Promise<void> {
    await clients.lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Role: roleArn,
        PackageType: 'Image',
        Code: { ImageUri: imageOf(account, repositoryName) },
      })
    );
  }

  const scanned = (name: string, account: string, repositoryName: string) =>
    makeFunction({
      functionName: name,
      account: ACCOUNT,
      region: REGION,
      imageUri: imageOf(account, repositoryName),
      resolvedImageUri: null,
    });

  beforeEach(async () => {
    await moto.reset();
    clients = createAwsClients({
      region: REGION,
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });
    roleArn = await createRole(
      { endpoint: moto.endpoint, accessKeyId: MOTO_CREDENTIALS.accessKeyId, region: REGION },
      'function-role',
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      }
    );
    await repository(ACCOUNT, 'granted', grantedPolicy(scanned('granted-fn', ACCOUNT, 'granted')));
    await repository(ACCOUNT, 'no-grant', null);
    await repository(ACCOUNT, 'denied', DENY_LAMBDA_POLICY);
    // The owner of the shared registry consents to share with the scanned account (its share tag).
    await repository(SHARED, 'platform/shared', null, { 'lambda-ecr-autofix:share': ACCOUNT });
    await lambdaFunction('granted-fn', ACCOUNT, 'granted');
    await lambdaFunction('at-risk-fn', ACCOUNT, 'no-grant');
    await lambdaFunction('denied-fn', ACCOUNT, 'denied');
    await lambdaFunction('shared-fn', SHARED, 'platform/shared');
  });

  const scanArgs = (...extra: string[]) => [
    'scan',
    '--endpoint-url',
    moto.endpoint,
    '--region',
    REGION,
    ...extra,
  ];

  it('tells ok, at-risk and needs-human apart, in JSON', async () => {
    const { code, out, err } = await runCli(...scanArgs('--json'));

    expect(err).toBe('');
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as { summary: Record<string, number>; functions: Row[] };
    expect(parsed.summary).toEqual({
      ok: 1,
      broken: 0,
      'at-risk': 2,
      'needs-human': 1,
      unknown: 0,
    });
    expect(parsed.functions.map((f) => [f.functionName, f.status, f.reason])).toEqual([
      ['at-risk-fn', 'at-risk', 'repository-policy-missing-grant'],
      ['denied-fn', 'needs-human', 'explicit-deny'],
      ['granted-fn', 'ok', 'grant-already-present'],
      ['shared-fn', 'at-risk', 'repository-policy-missing-grant'],
    ]);
    expect(Object.keys(parsed.functions[0] ?? {})).toEqual([...SCAN_COLUMNS]);
  });

  it('reads each repository once: its policy always, its tags only where they can change the verdict', async () => {
    // A second function on two of the repositories: still one read each.
    await lambdaFunction('granted-fn-2', ACCOUNT, 'granted');
    await lambdaFunction('at-risk-fn-2', ACCOUNT, 'no-grant');
    const counting = new CountingClients({
      region: REGION,
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });

    const result = await runScan(
      {
        regions: [REGION],
        endpointUrl: moto.endpoint,
        json: true,
        csv: false,
        fix: false,
        exitCode: false,
      },
      { progress: null },
      {},
      counting
    );

    const summary = (JSON.parse(result.output) as { summary: Record<string, number> }).summary;
    expect(summary).toEqual({ ok: 2, broken: 0, 'at-risk': 3, 'needs-human': 1, unknown: 0 });
    const count = (call: string) => counting.calls.filter((c) => c === call).length;
    expect(count('ecr:GetRepositoryPolicy')).toBe(4);
    // no-grant and the shared repository lack the grant (opt-out and consent are in their tags); granted has it,
    // and denied's Deny decides whatever its tags say.
    expect(count('ecr:ListTagsForResource')).toBe(2);
    expect(count('sts:AssumeRole')).toBe(1);
    expect(count('lambda:GetFunction')).toBe(6);
    expect(count('lambda:ListFunctions')).toBe(1);
    expect(counting.calls).toHaveLength(4 + 2 + 1 + 6 + 1 + 1); // + GetCallerIdentity
  });

  it('prints the same rows as CSV with a header line', async () => {
    const { code, out } = await runCli(...scanArgs('--csv'));

    expect(code).toBe(0);
    const rows = parseCsv(out);
    expect(rows[0]).toEqual([...SCAN_COLUMNS]);
    expect(rows.slice(1).map((row) => [row[0], row[5]])).toEqual([
      ['at-risk-fn', 'at-risk'],
      ['denied-fn', 'needs-human'],
      ['granted-fn', 'ok'],
      ['shared-fn', 'at-risk'],
    ]);
    expect(rows.every((row) => row.length === SCAN_COLUMNS.length)).toBe(true);
  });

  it("ends --csv with the last row's CRLF (no blank line) and prints no progress without a terminal", async () => {
    // The real process, so that what reaches stdout is what a pipe into a CSV reader gets.
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        execFile(
          join(ROOT, 'node_modules', '.bin', 'tsx'),
          [join(ROOT, 'bin', 'cli.ts'), ...scanArgs('--csv')],
          {
            cwd: ROOT,
            env: {
              PATH: process.env['PATH'] ?? '',
              AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
              AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
            },
          },
          (error, stdout, stderr) => {
            if (error === null) resolve({ code: 0, stdout, stderr });
            else if (typeof error.code === 'number') resolve({ code: error.code, stdout, stderr });
            else reject(new Error(`the CLI did not run: ${error.message}`));
          }
        );
      }
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.endsWith('\r\n')).toBe(true);
    expect(run.stdout.endsWith('\n\n')).toBe(false);
    const rows = parseCsv(run.stdout);
    expect(rows).toHaveLength(5);
    expect(rows.every((row) => row.length === SCAN_COLUMNS.length)).toBe(true);
  });

  it('--fix publishes to the topic in its own Region and keeps the audit there, whatever Region is scanned first', async () => {
    // The central stack's topic and audit table are in us-east-1; the user scans eu-west-1 first.
    const topicArn =
      (await clients.sns.send(new CreateTopicCommand({ Name: 'autofix' }))).TopicArn ?? '';
    await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition('audit')));

    const { code, out, err } = await runCli(
      'scan',
      '--endpoint-url',
      moto.endpoint,
      '--region',
      'eu-west-1',
      '--region',
      REGION,
      '--fix',
      '--topic-arn',
      topicArn,
      '--audit-table',
      'audit'
    );

    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`Published:   2 FIXED notice(s) to ${topicArn}`);
    expect(out).toContain('Audited:     yes, in table audit');
    const records = await clients.dynamodb.send(new ScanCommand({ TableName: 'audit' }));
    expect((records.Items ?? []).filter((item) => item['outcome']?.S === 'fix')).toHaveLength(2);
  });

  it('--fix turns at-risk into ok through the pipeline and leaves the others alone', async () => {
    const topicArn =
      (await clients.sns.send(new CreateTopicCommand({ Name: 'autofix' }))).TopicArn ?? '';
    await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition('audit')));
    const deniedBefore = await policyOf(ACCOUNT, 'denied');
    const grantedBefore = await policyOf(ACCOUNT, 'granted');

    const { code, out, err } = await runCli(
      ...scanArgs('--fix', '--json', '--topic-arn', topicArn, '--audit-table', 'audit')
    );

    expect(err).toBe('');
    expect(code).toBe(0);
    const after = JSON.parse(out) as { summary: Record<string, number>; functions: Row[] };
    expect(after.summary).toEqual({ ok: 3, broken: 0, 'at-risk': 0, 'needs-human': 1, unknown: 0 });
    expect(await policyOf(ACCOUNT, 'denied')).toBe(deniedBefore);
    expect(await policyOf(ACCOUNT, 'granted')).toBe(grantedBefore);
    expect(await policyOf(ACCOUNT, 'no-grant')).toContain('LambdaEcrAutofixService');
    const shared = JSON.parse((await policyOf(SHARED, 'platform/shared')) ?? '{}') as {
      Statement: { Sid: string }[];
    };
    expect(shared.Statement.map((s) => s.Sid)).toEqual([
      'LambdaEcrAutofixService',
      'LambdaEcrAutofixAccounts',
    ]);
    const records = await clients.dynamodb.send(new ScanCommand({ TableName: 'audit' }));
    const fixes = (records.Items ?? []).filter((item) => item['outcome']?.S === 'fix');
    expect(fixes).toHaveLength(2);
  });

  it('prints a readable report, then the state after --fix', async () => {
    const before = await runCli(...scanArgs());
    const fixed = await runCli(...scanArgs('--fix', '--exit-code'));

    expect(before.out).toContain(
      `Scanned 4 container-image functions of account ${ACCOUNT} in ${REGION}:`
    );
    expect(before.out).toContain('ok 1   broken 0   at-risk 2   needs-human 1   unknown 0');
    expect(before.out).toMatch(
      /at-risk\s+at-risk-fn\s+us-east-1\s+no-grant \(123456789012\)\s+repository-policy-missing-grant/
    );
    expect(before.out).toContain('2 of them lambda-ecr-autofix may fix: run again with --fix');
    expect(fixed.code).toBe(0);
    expect(fixed.out).toContain('at-risk-fn: policy written and verified');
    expect(fixed.out).toContain('After the fixes:');
    expect(fixed.out).toContain('ok 3   broken 0   at-risk 0   needs-human 1   unknown 0');
  });

  it('exits 1 before writing anything when --topic-arn is unusable', async () => {
    const missingTopic = `arn:aws:sns:${REGION}:${ACCOUNT}:no-such-topic`;
    const before = await policyOf(ACCOUNT, 'no-grant');

    const { code, out, err } = await runCli(
      ...scanArgs('--fix', '--json', '--topic-arn', missingTopic)
    );

    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/^lambda-ecr-autofix scan: .*; nothing was changed\n?$/);
    expect(await policyOf(ACCOUNT, 'no-grant')).toBe(before);
  });

  it('prints the report, then exits 3 with one line, when fixes cannot send their notices', async () => {
    const topicArn =
      (await clients.sns.send(new CreateTopicCommand({ Name: 'autofix' }))).TopicArn ?? '';
    // Every SNS client of the command fails Publish; the topic check and the other services are moto's.
    const original = SNSClient.prototype.send as (this: SNSClient, c: unknown) => Promise<unknown>;
    const failingPublish = function (this: SNSClient, command: unknown): Promise<unknown> {
      if (command instanceof PublishCommand) {
        return Promise.reject(new Error('SNS Publish failed (simulated).'));
      }
      return original.call(this, command);
    };
    const spy = jest.spyOn(SNSClient.prototype, 'send').mockImplementation(failingPublish as never);
    try {
      const { code, out, err } = await runCli(
        ...scanArgs('--fix', '--json', '--topic-arn', topicArn)
      );

      expect(code).toBe(3);
      expect(JSON.parse(out)).toEqual(
        expect.objectContaining({ summary: expect.any(Object) as unknown })
      );
      // Two lines: the warning before the first write (no audit table), then the error.
      const [warning, error, ...rest] = err.split('\n');
      expect(warning).toBe(`lambda-ecr-autofix scan: ${NO_AUDIT_WARNING}`);
      expect(error).toMatch(
        /^lambda-ecr-autofix scan: 2 fix\(es\) failed; the report shows the state after them; first: arn:aws:lambda:.*notice not sent: SNS Publish failed \(simulated\)\..*tell the consumer accounts yourself\)/
      );
      expect(rest).toEqual([]);
      // The grant was written and verified before the notice failed.
      expect(await policyOf(ACCOUNT, 'no-grant')).toContain('LambdaEcrAutofixService');
    } finally {
      spy.mockRestore();
    }
  });

  it('--fix with a topic deleted after the check: exit 3; with the topic back the rerun sends the notices, then nothing', async () => {
    await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition('audit')));
    const caller = {
      endpoint: moto.endpoint,
      accessKeyId: MOTO_CREDENTIALS.accessKeyId,
      region: REGION,
    };
    const queue = await createQueue(caller, 'e-mails');
    const subscribe = async (): Promise<string> => {
      const topicArn =
        (await clients.sns.send(new CreateTopicCommand({ Name: 'autofix' }))).TopicArn ?? '';
      await clients.sns.send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queue.arn })
      );
      return topicArn;
    };
    const delivered = async (): Promise<string[]> =>
      (await receiveMessages(caller, queue.url)).map(
        (message) => (JSON.parse(message.Body) as { Subject: string }).Subject
      );
    const topicArn = await subscribe();
    const args = scanArgs('--fix', '--json', '--topic-arn', topicArn, '--audit-table', 'audit');
    // The command's topic check passes, then the topic is deleted (on moto_server): every Publish meets moto's NotFound.
    const original = SNSClient.prototype.send as (this: SNSClient, c: unknown) => Promise<unknown>;
    const deleteAfterCheck = async function (this: SNSClient, command: unknown): Promise<unknown> {
      const output = await original.call(this, command);
      if (command instanceof GetTopicAttributesCommand) {
        await original.call(this, new DeleteTopicCommand({ TopicArn: topicArn }));
      }
      return output;
    };
    const spy = jest
      .spyOn(SNSClient.prototype, 'send')
      .mockImplementation(deleteAfterCheck as never);
    let first;
    try {
      first = await runCli(...args);
    } finally {
      spy.mockRestore();
    }
    const fixedAfterFirst = await policyOf(ACCOUNT, 'no-grant');
    await subscribe();

    const second = await runCli(...args);
    const afterSecond = await delivered();
    const third = await runCli(...args);
    const afterThird = await delivered();

    expect(first.code).toBe(3);
    expect(first.err).toMatch(
      /^lambda-ecr-autofix scan: 2 notice\(s\) of applied changes not sent; first: .*\(run the same command again to send them; nothing will be written again\)$/
    );
    expect(fixedAfterFirst).toContain('LambdaEcrAutofixService');
    expect([second.code, second.err]).toEqual([0, '']);
    expect((JSON.parse(second.out) as { notices: { sent: unknown[] } }).notices.sent).toHaveLength(
      2
    );
    expect([...afterSecond].sort()).toEqual([
      '[lambda-ecr-autofix] FIXED: 123456789012 can now pull no-grant (us-east-1)',
      '[lambda-ecr-autofix] FIXED: 123456789012 can now pull platform/shared (us-east-1)',
    ]);
    expect([third.code, afterThird]).toEqual([0, []]);
    const records = await clients.dynamodb.send(new ScanCommand({ TableName: 'audit' }));
    const fixes = (records.Items ?? []).filter((item) => item['outcome']?.S === 'fix');
    expect(fixes.map((item) => [item['state']?.S, item['notifiedAt'] !== undefined])).toEqual([
      ['applied', true],
      ['applied', true],
    ]);
  });

  it('scans the Region of the environment when no --region is given', async () => {
    const saved = process.env['AWS_REGION'];
    process.env['AWS_REGION'] = REGION;
    try {
      const { code, out } = await runCli('scan', '--endpoint-url', moto.endpoint, '--json');

      expect(code).toBe(0);
      expect((JSON.parse(out) as { functions: unknown[] }).functions).toHaveLength(4);
    } finally {
      process.env['AWS_REGION'] = saved;
    }
  });

  it('exits 4 with --exit-code while functions are at risk', async () => {
    const { code } = await runCli(...scanArgs('--exit-code'));

    expect(code).toBe(4);
  });
});

describe('scan usage errors', () => {
  it.each([
    [['--json', '--csv'], '--json and --csv exclude each other'],
    [['--region', 'Europe'], '--region must be an AWS Region such as eu-west-1, got "Europe"'],
    [
      ['--topic-arn', 'arn:aws:sns:us-east-1:123456789012:t'],
      '--topic-arn and --audit-table go with --fix',
    ],
    [['--fix', '--topic-arn', 'topic'], '--topic-arn must be an SNS topic ARN'],
    [['--fix', '--audit-table', 'a b'], '--audit-table must be a DynamoDB table name'],
    [['--concurrency', '0'], '--concurrency must be a whole number from 1 to 64, got "0"'],
    [['--endpoint-url', 'localhost'], '--endpoint-url must be an http(s) URL'],
  ])('%j exits 2: %s', async (args, message) => {
    const { code, err } = await runCli('scan', '--region', 'us-east-1', ...args);

    expect(code).toBe(2);
    expect(err).toContain(message);
  });

  it('exits 2 when no Region is given or configured', async () => {
    const saved = { ...process.env };
    delete process.env['AWS_REGION'];
    delete process.env['AWS_DEFAULT_REGION'];
    delete process.env['AWS_PROFILE'];
    process.env['AWS_CONFIG_FILE'] = '/nonexistent/lambda-ecr-autofix-config';
    try {
      const { code, err } = await runCli('scan');

      expect(code).toBe(2);
      expect(err).toBe(
        'lambda-ecr-autofix scan: --region is required: neither AWS_REGION nor your profile names a Region (see --help)'
      );
    } finally {
      process.env = saved;
    }
  });

  it('exits 1 with one line when AWS does not answer', async () => {
    const { code, err } = await runCli(
      'scan',
      '--region',
      'us-east-1',
      '--endpoint-url',
      'http://127.0.0.1:9'
    );

    expect(code).toBe(1);
    expect(err).toMatch(/^lambda-ecr-autofix scan: cannot determine the AWS account/);
  });
});
