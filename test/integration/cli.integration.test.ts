/**
 * `apply` and `demo` against a real moto_server on 127.0.0.1: the same code path as the Lambda, over HTTP.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateRepositoryCommand,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { CreateTopicCommand, DeleteTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';

import { ApplyError, runApply, type ApplyOptions } from '../../bin/commands/apply';
import { NO_AUDIT_WARNING } from '../../bin/commands/aws-options';
import { runDemo } from '../../bin/commands/demo';
import {
  AwsClients,
  createAwsClients,
  type AwsClientsOptions,
  type AwsCredentialsInput,
} from '../../lambda/adapters/aws-clients';
import { auditTableDefinition, fromItem } from '../../lambda/adapters/dynamodb-audit-log';
import { runCli } from '../support/cli';
import { EVENTS_DIR } from '../support/events';
import { createQueue, receiveMessages, type MotoCaller } from './moto-http';
import type { MotoServer } from './moto-server';
import { MOTO_CREDENTIALS, describeWithMoto, startMotoServer } from './moto-server';

/**
 * The SDK clients of one `apply` run with a fault injected right after ECR accepted SetRepositoryPolicy: the real
 * write happens on moto_server, then `afterWrite` runs (it may throw, as a dropped connection would).
 */
class ClientsFailingAfterTheWrite extends AwsClients {
  constructor(
    options: AwsClientsOptions,
    private readonly afterWrite: () => Promise<void>
  ) {
    super(options);
  }

  override createEcrClient(region: string, credentials?: AwsCredentialsInput): ECRClient {
    const client = super.createEcrClient(region, credentials);
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    Object.assign(client, {
      send: async (command: unknown) => {
        const output = await send(command);
        if (command instanceof SetRepositoryPolicyCommand) await this.afterWrite();
        return output;
      },
    });
    return client;
  }
}

const event = (name: string): string => `${EVENTS_DIR}/${name}`;

const cli = runCli;

describeWithMoto()('apply against moto_server', () => {
  let moto: MotoServer;
  let topicArn: string;

  beforeAll(async () => {
    moto = await startMotoServer();
  });

  afterAll(async () => {
    await moto.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    const clients = createAwsClients({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });
    topicArn = (await clients.sns.send(new CreateTopicCommand({ Name: 'autofix' }))).TopicArn ?? '';
  });

  /** An ECR client acting in another account, as that account's administrator. */
  async function ecrIn(account: string, region: string): Promise<ECRClient> {
    const clients = createAwsClients({
      region,
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });
    const assumed = await clients.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
        RoleSessionName: 'test-setup',
      })
    );
    return clients.createEcrClient(region, {
      accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
      secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
      sessionToken: assumed.Credentials?.SessionToken ?? '',
    });
  }

  it('fixes, then says already-allowed without writing when the same event is replayed', async () => {
    // Arrange
    const ecr = await ecrIn('222222222222', 'us-east-1');
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'orders-api' }));
    const args = [
      'apply',
      '--event',
      event('create-function-same-account-ecr-denied.json'),
      '--endpoint-url',
      moto.endpoint,
      '--topic-arn',
      topicArn,
      '--region',
      'us-east-1',
      '--json',
    ];

    // Act
    const first = await cli(...args);
    const second = await cli(...args);

    // Assert: without an audit table the write is announced on stderr, and the output says it was not audited.
    expect(first.err).toBe(`lambda-ecr-autofix apply: ${NO_AUDIT_WARNING}`);
    expect(second.err).toBe('');
    const fixed = JSON.parse(first.out) as Record<string, unknown>;
    expect(fixed).toEqual(
      expect.objectContaining({
        outcome: 'fix',
        applied: true,
        messageId: expect.any(String) as string,
        audited: false,
      })
    );
    const stored = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'orders-api' }));
    expect(stored.policyText).toContain('LambdaEcrAutofixService');
    expect(JSON.parse(second.out)).toEqual(
      expect.objectContaining({ outcome: 'already-allowed', applied: false, messageId: null })
    );
  });

  it('writes nothing with --dry-run', async () => {
    const ecr = await ecrIn('111111111111', 'eu-west-1');
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'platform/payments-worker',
        tags: [{ Key: 'lambda-ecr-autofix:share', Value: '222222222222' }],
      })
    );

    const { code, out } = await cli(
      'apply',
      '--event',
      event('create-function-cross-account-ecr-denied.json'),
      '--endpoint-url',
      moto.endpoint,
      '--dry-run'
    );

    expect(code).toBe(0);
    expect(out).toContain('Decision:    fix (repository-policy-missing-grant)');
    expect(out).toContain('Applied:     no (dry-run)');
    expect(out).toContain('Published:   no (no --topic-arn given)');
    await expect(
      ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'platform/payments-worker' }))
    ).rejects.toThrow(/policy/i);
  });

  it('says why nothing was published when notifyOn leaves the outcome out', async () => {
    const ecr = await ecrIn('222222222222', 'us-east-1');
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'orders-api' }));
    const config = join(mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-apply-')), 'config.json');
    writeFileSync(config, JSON.stringify({ notifyOn: ['needs-human'] }));

    const { code, out } = await cli(
      'apply',
      '--event',
      event('create-function-same-account-ecr-denied.json'),
      '--endpoint-url',
      moto.endpoint,
      '--topic-arn',
      topicArn,
      '--config',
      config
    );

    expect(code).toBe(0);
    expect(out).toContain('Applied:     yes, written and verified');
    expect(out).toContain('Published:   no (notifyOn ["needs-human"] does not include "fix")');
  });

  it("leaves another account's repository untouched without its owner's consent, and fixes it with the share tag", async () => {
    // Arrange
    const ecr = await ecrIn('111111111111', 'eu-west-1');
    const created = await ecr.send(
      new CreateRepositoryCommand({ repositoryName: 'platform/payments-worker' })
    );
    const args = [
      'apply',
      '--event',
      event('create-function-cross-account-ecr-denied.json'),
      '--endpoint-url',
      moto.endpoint,
      '--topic-arn',
      topicArn,
      '--json',
    ];

    // Act
    const refused = await cli(...args);
    const policyAfterRefusal = ecr.send(
      new GetRepositoryPolicyCommand({ repositoryName: 'platform/payments-worker' })
    );
    await expect(policyAfterRefusal).rejects.toThrow(/policy/i);
    await ecr.send(
      new TagResourceCommand({
        resourceArn: created.repository?.repositoryArn,
        tags: [{ Key: 'lambda-ecr-autofix:share', Value: '222222222222' }],
      })
    );
    const fixed = await cli(...args);

    // Assert
    expect(JSON.parse(refused.out)).toEqual(
      expect.objectContaining({
        outcome: 'needs-human',
        reason: 'sharing-not-consented',
        applied: false,
      })
    );
    expect(JSON.parse(fixed.out)).toEqual(
      expect.objectContaining({ outcome: 'fix', applied: true })
    );
    const stored = await ecr.send(
      new GetRepositoryPolicyCommand({ repositoryName: 'platform/payments-worker' })
    );
    expect(stored.policyText).toContain('arn:aws:iam::222222222222:root');
  });

  it('needs a human when the repository does not exist', async () => {
    const { code, out } = await cli(
      'apply',
      '--event',
      event('create-function-same-account-ecr-denied.json'),
      '--endpoint-url',
      moto.endpoint,
      '--json'
    );

    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(
      expect.objectContaining({
        outcome: 'needs-human',
        reason: 'repository-not-found',
        applied: false,
      })
    );
  });

  it('exits 1 with one line when the endpoint does not answer', async () => {
    const { code, err } = await cli(
      'apply',
      '--event',
      event('create-function-same-account-ecr-denied.json'),
      '--endpoint-url',
      'http://127.0.0.1:9'
    );

    expect(code).toBe(1);
    expect(err).toMatch(/^lambda-ecr-autofix apply: cannot determine the AWS account/);
    expect(err).not.toContain('\n');
  });
});

describeWithMoto()(
  'apply --audit-table against moto_server: the write-ahead audit end to end',
  () => {
    let moto: MotoServer;
    const table = 'lambda-ecr-autofix-audit';
    const region = 'us-east-1';

    beforeAll(async () => {
      moto = await startMotoServer();
    });

    afterAll(async () => {
      await moto.stop();
    });

    beforeEach(async () => {
      await moto.reset();
    });

    const clientOptions = (): AwsClientsOptions => ({
      region,
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });

    async function arrange(): Promise<{
      ecr: ECRClient;
      clients: AwsClients;
      queueUrl: string;
      topicArn: string;
      subscribe: () => Promise<void>;
    }> {
      const clients = createAwsClients(clientOptions());
      const assumed = await clients.sts.send(
        new AssumeRoleCommand({
          RoleArn: 'arn:aws:iam::222222222222:role/OrganizationAccountAccessRole',
          RoleSessionName: 'test-setup',
        })
      );
      const ecr = clients.createEcrClient(region, {
        accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
        secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
        sessionToken: assumed.Credentials?.SessionToken ?? '',
      });
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'orders-api' }));
      await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition(table)));
      const caller: MotoCaller = {
        endpoint: moto.endpoint,
        accessKeyId: MOTO_CREDENTIALS.accessKeyId,
        region,
      };
      const queue = await createQueue(caller, 'e-mails');
      let topicArn = '';
      const subscribe = async () => {
        topicArn =
          (await clients.sns.send(new CreateTopicCommand({ Name: 'autofix' }))).TopicArn ?? '';
        await clients.sns.send(
          new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queue.arn })
        );
      };
      await subscribe();
      return {
        ecr,
        clients,
        queueUrl: queue.url,
        get topicArn() {
          return topicArn;
        },
        subscribe,
      };
    }

    function options(topicArn: string, json = false): ApplyOptions {
      return {
        event: event('create-function-same-account-ecr-denied.json'),
        topicArn,
        auditTable: table,
        region,
        endpointUrl: moto.endpoint,
        dryRun: false,
        json,
      };
    }

    /** What the e-mail subscribers got: the subjects of the notices that reached the queue. */
    async function delivered(queueUrl: string): Promise<string[]> {
      const caller = { endpoint: moto.endpoint, accessKeyId: MOTO_CREDENTIALS.accessKeyId, region };
      const messages = await receiveMessages(caller, queueUrl);
      return messages.map((m) => (JSON.parse(m.Body) as { Subject: string }).Subject);
    }

    async function auditItems(clients: AwsClients) {
      const scanned = await clients.dynamodb.send(
        new ScanCommand({ TableName: table, ConsistentRead: true })
      );
      return (scanned.Items ?? []).filter((item) => item['eventKey']?.S !== '#lease').map(fromItem);
    }

    it('refuses an unusable topic before writing; exits 3 when the notice fails after the write; the rerun sends it once', async () => {
      const world = await arrange();
      const fixed = '[lambda-ecr-autofix] FIXED: 222222222222 can now pull orders-api (us-east-1)';

      // 1. A topic that does not exist: exit 1 before anything is written.
      const missing = await cli(
        'apply',
        '--event',
        event('create-function-same-account-ecr-denied.json'),
        '--endpoint-url',
        moto.endpoint,
        '--region',
        region,
        '--audit-table',
        table,
        '--topic-arn',
        'arn:aws:sns:us-east-1:123456789012:no-such-topic'
      );
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(
        /^lambda-ecr-autofix apply: SNS topic arn:aws:sns:us-east-1:123456789012:no-such-topic cannot be used: .*; nothing was changed$/
      );
      await expect(
        world.ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'orders-api' }))
      ).rejects.toThrow(/policy/i);
      expect(await auditItems(world.clients)).toEqual([]);

      // 2. The topic is deleted right after the write: the policy is written and verified, the notice is not sent.
      const topicArn = world.topicArn;
      const faulty = new ClientsFailingAfterTheWrite(clientOptions(), async () => {
        await world.clients.sns.send(new DeleteTopicCommand({ TopicArn: topicArn }));
      });
      const failed = await runApply(options(topicArn), {}, undefined, faulty).then(
        () => null,
        (error: unknown) => error
      );
      expect(failed).toBeInstanceOf(ApplyError);
      expect((failed as ApplyError).exitCode).toBe(3);
      expect((failed as ApplyError).message).toMatch(
        /^policy written and verified; notice not sent: .*\(run the same command again to send it; nothing will be written again\)$/
      );
      // Whoever ran it still sees what was written (stdout), not only that something was.
      expect((failed as ApplyError).output).toContain('Applied:     yes, written and verified');
      expect((failed as ApplyError).output).toMatch(/Published: {3}no \(notice not sent: /);
      expect((failed as ApplyError).output).toContain('LambdaEcrAutofixService');
      const written = await world.ecr.send(
        new GetRepositoryPolicyCommand({ repositoryName: 'orders-api' })
      );
      expect(written.policyText).toContain('LambdaEcrAutofixService');
      expect(await auditItems(world.clients)).toEqual([
        expect.objectContaining({ state: 'applied', notifiedAt: null }),
      ]);

      // 3. The topic is back: the rerun writes nothing and sends the one notice.
      await world.subscribe();
      const rerun = await cli(
        'apply',
        '--event',
        event('create-function-same-account-ecr-denied.json'),
        '--endpoint-url',
        moto.endpoint,
        '--region',
        region,
        '--audit-table',
        table,
        '--topic-arn',
        world.topicArn,
        '--json'
      );
      expect(rerun.code).toBe(0);
      expect(JSON.parse(rerun.out)).toEqual(
        expect.objectContaining({
          outcome: 'fix',
          applied: true,
          messageId: expect.any(String) as string,
        })
      );
      const again = await cli(
        'apply',
        '--event',
        event('create-function-same-account-ecr-denied.json'),
        '--endpoint-url',
        moto.endpoint,
        '--region',
        region,
        '--audit-table',
        table,
        '--topic-arn',
        world.topicArn
      );
      expect(again.code).toBe(0);
      expect(await delivered(world.queueUrl)).toEqual([fixed]);
      const stored = await world.ecr.send(
        new GetRepositoryPolicyCommand({ repositoryName: 'orders-api' })
      );
      expect(stored.policyText).toBe(written.policyText);
      expect(await auditItems(world.clients)).toEqual([
        expect.objectContaining({ state: 'applied', notifiedAt: expect.any(String) as string }),
      ]);
    });

    it('after a crash right after SetRepositoryPolicy, the next run completes the intent and notifies once', async () => {
      const world = await arrange();
      const crashing = new ClientsFailingAfterTheWrite(clientOptions(), () =>
        Promise.reject(
          Object.assign(new Error('Socket timed out without establishing a connection'), {
            name: 'TimeoutError',
          })
        )
      );

      const crashed = await runApply(options(world.topicArn), {}, undefined, crashing).then(
        () => null,
        (error: unknown) => error
      );
      const records = await auditItems(world.clients);
      const redelivered = await runApply(
        options(world.topicArn, true),
        {},
        undefined,
        createAwsClients(clientOptions())
      );

      expect((crashed as ApplyError).exitCode).toBe(1);
      expect((crashed as ApplyError).message).toBe(
        'Socket timed out without establishing a connection'
      );
      expect(records).toEqual([expect.objectContaining({ state: 'failed' })]);
      expect(JSON.parse(redelivered)).toEqual(
        expect.objectContaining({
          outcome: 'fix',
          applied: true,
          messageId: expect.any(String) as string,
        })
      );
      expect(await delivered(world.queueUrl)).toEqual([
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull orders-api (us-east-1)',
      ]);
      expect(await auditItems(world.clients)).toEqual([
        expect.objectContaining({ state: 'applied', notifiedAt: expect.any(String) as string }),
      ]);
    });
  }
);

describe('demo', () => {
  it('tells the whole story briefly by default, with the in-memory stand-ins', async () => {
    const lines: string[] = [];

    const last = await runDemo({ verbose: false, motoServer: null }, (text) => lines.push(text));

    const output = lines.join('\n');
    expect(output).toContain('AWS calls go to in-memory stand-ins');
    expect(output).toContain(
      'Summary: 4 fix, 1 already-allowed, 6 needs-human, 2 ignored; 10 audit records written.'
    );
    expect(output).toContain(
      'e-mail:   [lambda-ecr-autofix] FIXED: 444444444444 can now pull platform/payments-worker (eu-west-1)'
    );
    // Subjects only: 870 lines with every e-mail in full before, about 120 now, and 35 for the scan at the end.
    expect(output).not.toContain('   | ');
    expect(output.split('\n').length).toBeLessThan(185);
    // In a clone, in the clone's terms: no lambda-ecr-autofix on the PATH there.
    expect(lines.at(-1)).toBe('Each e-mail in full: npm run demo -- --verbose.');
    expect(last).toContain('`npm test` runs the test suite');
    // The scan of the workload account, then scan --fix through the same pipeline.
    expect(output).toContain('ok 2   broken 0   at-risk 1   needs-human 3   unknown 0');
    expect(output).toMatch(
      /at-risk\s+bedrock-proxy\s+us-east-1\s+bedrock-proxy-api \(222222222222\)/
    );
    expect(output).toContain(
      'bedrock-proxy: policy written and verified (arn:aws:ecr:us-east-1:222222222222:repository/bedrock-proxy-api)'
    );
    expect(output).toContain(
      'e-mail:   [lambda-ecr-autofix] FIXED: 222222222222 can now pull bedrock-proxy-api (us-east-1)'
    );
    expect(output).toContain('ok 3   broken 0   at-risk 0   needs-human 3   unknown 0');
  });

  it('prints every e-mail in full with verbose', async () => {
    const lines: string[] = [];

    await runDemo({ verbose: true, motoServer: null }, (text) => lines.push(text));

    const output = lines.join('\n');
    expect(output).toContain('   | WHAT CHANGED');
    expect(output).toContain('   | HOW TO UNDO');
    expect(output).not.toContain('demo --verbose');
  });

  describeWithMoto()('with moto_server', () => {
    it('tells the same story through the real SDK clients, with full e-mails', async () => {
      const lines: string[] = [];

      await runDemo({ verbose: true }, (text) => lines.push(text));

      const output = lines.join('\n');
      expect(output).toMatch(/AWS calls go to a local moto_server at http:\/\/127\.0\.0\.1:\d+/);
      expect(output).toContain(
        'Summary: 4 fix, 1 already-allowed, 6 needs-human, 2 ignored; 10 audit records written.'
      );
      expect(output).toContain(
        '   | !!! THIS REPOSITORY IS MANAGED BY CLOUDFORMATION STACK CDKTOOLKIT !!!'
      );
      expect(output).toContain('"arn:aws:iam::444444444444:root"');
      expect(output).toContain('ok 2   broken 0   at-risk 1   needs-human 3   unknown 0');
      expect(output).toMatch(
        /needs-human\s+legacy-reports\s+us-east-1\s+legacy-reports \(222222222222\)\s+repository-not-found/
      );
      expect(output).toContain('ok 3   broken 0   at-risk 0   needs-human 3   unknown 0');
      expect(output).toContain('A scheduled sweep does the same in every account and Region');
    });
  });
});
