/**
 * After the fix, against a real moto_server over HTTP with the CLI's own SDK clients: two consumers fixed with the
 * owner's consent, `history`, `revoke` one (the other keeps pulling), and the drift guard on ECR events replayed
 * through `apply`: a foreign writer's removal reported (notify) or put back (restore), the fixer's own write and a
 * revoke's own write never counted as drift. Who may pull is decided by evaluating the policy read back from ECR.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateRepositoryCommand,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ApplyError } from '../../bin/commands/apply';
import { runRevoke } from '../../bin/commands/revoke';
import {
  AwsClients,
  createAwsClients,
  type AwsClientsOptions,
  type AwsCredentialsInput,
} from '../../lambda/adapters/aws-clients';
import { auditTableDefinition } from '../../lambda/adapters/dynamodb-audit-log';
import { parsePolicy } from '../../lambda/domain/policy-document';
import {
  accountPullRequests,
  evaluatePull,
  pullWorks,
  servicePullRequests,
} from '../../lambda/domain/pull-access';
import { runCli } from '../support/cli';
import { EVENTS_DIR } from '../support/events';
import type { MotoServer } from './moto-server';
import { MOTO_CREDENTIALS, describeWithMoto, startMotoServer } from './moto-server';

const REGION = 'eu-west-1';
const TABLE = 'lambda-ecr-autofix-audit';
const REPOSITORY = 'platform/payments-worker';
const REPOSITORY_ARN = `arn:aws:ecr:${REGION}:111111111111:repository/${REPOSITORY}`;
const ECR_EVENTS = join(__dirname, '..', 'fixtures', 'ecr-events');
const SECOND_CONSUMER = join(
  __dirname,
  '..',
  '..',
  'examples',
  'events',
  'create-function-second-consumer-ecr-denied.json'
);
const CI = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'CiPublish',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111111111111:role/ci-publisher' },
      Action: ['ecr:PutImage', 'ecr:BatchCheckLayerAvailability'],
    },
  ],
});

/** The SDK clients of one `revoke` run with a failure right after ECR accepted the write (a dropped response). */
class FailingAfterTheWrite extends AwsClients {
  failed = false;

  override createEcrClient(region: string, credentials?: AwsCredentialsInput): ECRClient {
    const client = super.createEcrClient(region, credentials);
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    Object.assign(client, {
      send: async (command: unknown) => {
        const output = await send(command);
        if (command instanceof SetRepositoryPolicyCommand && !this.failed) {
          this.failed = true;
          throw new Error('socket hang up');
        }
        return output;
      },
    });
    return client;
  }
}

describeWithMoto()('after the fix, against moto_server', () => {
  let moto: MotoServer;
  let topicArn: string;
  let ecr: ECRClient;
  let clientOptions: AwsClientsOptions;
  let common: string[];

  beforeAll(async () => {
    moto = await startMotoServer();
  });

  afterAll(async () => {
    await moto.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    clientOptions = { region: REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS };
    const clients = createAwsClients(clientOptions);
    await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition(TABLE)));
    topicArn = (await clients.sns.send(new CreateTopicCommand({ Name: 'autofix' }))).TopicArn ?? '';
    const assumed = await clients.sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::111111111111:role/OrganizationAccountAccessRole',
        RoleSessionName: 'registry-owner',
      })
    );
    ecr = clients.createEcrClient(REGION, {
      accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
      secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
      sessionToken: assumed.Credentials?.SessionToken ?? '',
    });
    // The owner shares the repository with both workload accounts (the share tag is the consent).
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: REPOSITORY,
        tags: [{ Key: 'lambda-ecr-autofix:share', Value: '222222222222 444444444444' }],
      })
    );
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: REPOSITORY, policyText: CI }));
    common = [
      '--endpoint-url',
      moto.endpoint,
      '--region',
      REGION,
      '--audit-table',
      TABLE,
      '--topic-arn',
      topicArn,
    ];
  });

  async function fixBoth(): Promise<void> {
    for (const event of [
      `${EVENTS_DIR}/create-function-cross-account-ecr-denied.json`,
      SECOND_CONSUMER,
    ]) {
      const { code, out, err } = await runCli('apply', '--event', event, ...common, '--json');
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual(expect.objectContaining({ outcome: 'fix', applied: true }));
    }
  }

  async function policy(): Promise<string | null> {
    return (
      (await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: REPOSITORY }))).policyText ??
      null
    );
  }

  /** Whether Lambda functions of `account` (and, cross-account, its principals) may pull, per the policy read back. */
  async function canPull(account: string): Promise<boolean> {
    const parsed = parsePolicy(await policy());
    if (!parsed.ok) throw new Error(parsed.problem);
    const statements = parsed.policy.statements;
    const lambda = evaluatePull(
      statements,
      servicePullRequests(
        REPOSITORY_ARN,
        `arn:aws:lambda:${REGION}:${account}:function:any-function`
      )
    );
    const principals = evaluatePull(
      statements,
      accountPullRequests(REPOSITORY_ARN, { accountId: account, partition: 'aws' })
    );
    return pullWorks(lambda) && pullWorks(principals);
  }

  async function history(...args: string[]): Promise<Record<string, unknown>[]> {
    const { code, out } = await runCli(
      'history',
      '--endpoint-url',
      moto.endpoint,
      '--region',
      REGION,
      '--audit-table',
      TABLE,
      '--json',
      ...args
    );
    expect(code).toBe(0);
    return JSON.parse(out) as Record<string, unknown>[];
  }

  const applyEcrEvent = async (name: string, ...extra: string[]) => {
    const { code, out, err } = await runCli(
      'apply',
      '--event',
      join(ECR_EVENTS, `${name}.json`),
      ...common,
      '--json',
      ...extra
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    return JSON.parse(out) as {
      outcome: string;
      reason: string;
      decisions: Record<string, unknown>[];
    };
  };

  it('revokes one of two consumers: it can no longer pull, the other can, the foreign statement stays, history shows it', async () => {
    await fixBoth();
    const fixed = await history();
    expect(fixed.map((r) => [r['kind'], r['state'], r['consumerAccount']])).toEqual(
      expect.arrayContaining([
        ['fix', 'applied', '222222222222'],
        ['fix', 'applied', '444444444444'],
      ])
    );
    expect(await canPull('222222222222')).toBe(true);

    const { code, out } = await runCli(
      'revoke',
      '--repository',
      REPOSITORY_ARN,
      '--consumer',
      '222222222222',
      ...common,
      '--json'
    );

    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(
      expect.objectContaining({
        outcome: 'revoke',
        reason: 'consumer-revoked',
        applied: true,
        messageId: expect.any(String) as string,
      })
    );
    expect(await canPull('222222222222')).toBe(false);
    expect(await canPull('444444444444')).toBe(true);
    const statements = (JSON.parse((await policy()) ?? '{}') as { Statement: unknown[] }).Statement;
    expect(statements[0]).toEqual((JSON.parse(CI) as { Statement: unknown[] }).Statement[0]);
    const after = await history('--consumer', '222222222222');
    expect(after[0]).toEqual(
      expect.objectContaining({
        kind: 'revoke',
        state: 'applied',
        outcome: 'revoke',
        consumerAccount: '222222222222',
      })
    );
    expect(
      await history('--repository', 'arn:aws:ecr:eu-west-1:111111111111:repository/other')
    ).toEqual([]);
  });

  it('completes a revoke whose response was lost right after the write, on the rerun', async () => {
    await fixBoth();
    const clients = new FailingAfterTheWrite(clientOptions);
    const options = {
      repository: REPOSITORY_ARN,
      consumer: '444444444444',
      auditTable: TABLE,
      topicArn,
      region: REGION,
      endpointUrl: moto.endpoint,
      dryRun: false,
      json: true,
    };

    await expect(runRevoke(options, {}, () => undefined, clients)).rejects.toBeInstanceOf(
      ApplyError
    );
    expect(await canPull('444444444444')).toBe(false);
    const left = (await history('--consumer', '444444444444')).find((r) => r['kind'] === 'revoke');
    const rerun = JSON.parse(await runRevoke(options, {}, () => undefined, clients)) as Record<
      string,
      unknown
    >;

    expect(left).toEqual(expect.objectContaining({ state: 'failed' }));
    expect(rerun).toEqual(
      expect.objectContaining({
        applied: true,
        replayed: true,
        messageId: expect.any(String) as string,
      })
    );
    const revokes = (await history('--consumer', '444444444444')).filter(
      (r) => r['kind'] === 'revoke'
    );
    expect(revokes).toEqual([
      expect.objectContaining({ state: 'applied', eventId: left?.['eventId'] }),
    ]);
  });

  it("never takes the fixer's own write, or a revoke's own write, for drift", async () => {
    await fixBoth();
    const own = await applyEcrEvent('ecr-set-repository-policy-by-fixer');
    await runCli('revoke', '--repository', REPOSITORY_ARN, '--consumer', '222222222222', ...common);
    const revoked = await applyEcrEvent('ecr-set-repository-policy-removes-grants');

    expect(own).toEqual(expect.objectContaining({ outcome: 'ignored', reason: 'no-drift' }));
    expect(revoked).toEqual(expect.objectContaining({ outcome: 'ignored', reason: 'no-drift' }));
  });

  it("reports a foreign writer's removal (notify), then puts exactly the audited grants back (restore)", async () => {
    await fixBoth();
    const fixedPolicy = await policy();
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: REPOSITORY, policyText: CI }));
    const config = join(mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-drift-')), 'restore.json');
    writeFileSync(config, JSON.stringify({ driftAction: 'restore' }));

    const reported = await applyEcrEvent('ecr-set-repository-policy-removes-grants');
    expect(await canPull('222222222222')).toBe(false);
    const restored = await applyEcrEvent('ecr-delete-repository-policy', '--config', config);

    expect(reported).toEqual(
      expect.objectContaining({ outcome: 'needs-human', reason: 'grant-removed' })
    );
    expect(reported.decisions.map((d) => d['consumerAccount'])).toEqual([
      '222222222222',
      '444444444444',
    ]);
    expect(restored).toEqual(expect.objectContaining({ outcome: 'fix', reason: 'grant-removed' }));
    expect(restored.decisions.map((d) => [d['consumerAccount'], d['applied']])).toEqual([
      ['222222222222', true],
      ['444444444444', true],
    ]);
    expect(JSON.parse((await policy()) ?? '')).toEqual(JSON.parse(fixedPolicy ?? ''));
    expect(await canPull('222222222222')).toBe(true);
    expect(
      (await history()).filter((r) => r['kind'] === 'drift').map((r) => [r['state'], r['outcome']])
    ).toEqual(
      expect.arrayContaining([
        ['recorded', 'needs-human'],
        ['applied', 'fix'],
      ])
    );
  });

  it('prints a readable history table, newest first', async () => {
    await fixBoth();

    const { code, out } = await runCli(
      'history',
      '--endpoint-url',
      moto.endpoint,
      '--region',
      REGION,
      '--audit-table',
      TABLE
    );

    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(
      /^TIME\s+KIND\s+STATE\s+OUTCOME \(REASON\)\s+REPOSITORY\s+CONSUMER\s+FUNCTION\s+WHAT CHANGED$/
    );
    expect(lines[1]).toContain('444444444444');
    expect(lines.at(-1)).toBe('2 records.');
  });
});
