/**
 * `apply` and `demo` against a real moto_server on 127.0.0.1: the same code path as the Lambda, over HTTP.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CreateRepositoryCommand,
  GetRepositoryPolicyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecr';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';

import { runDemo } from '../../bin/commands/demo';
import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { runCli } from '../support/cli';
import { EVENTS_DIR } from '../support/events';
import type { MotoServer } from './moto-server';
import { MOTO_CREDENTIALS, describeWithMoto, startMotoServer } from './moto-server';

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

    // Assert
    expect(first.err).toBe('');
    const fixed = JSON.parse(first.out) as Record<string, unknown>;
    expect(fixed).toEqual(
      expect.objectContaining({
        outcome: 'fix',
        applied: true,
        messageId: expect.any(String) as string,
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
    // Subjects only: 870 lines with every e-mail in full before, about 120 now.
    expect(output).not.toContain('   | ');
    expect(output.split('\n').length).toBeLessThan(150);
    expect(lines.at(-1)).toBe('Each e-mail in full: lambda-ecr-autofix demo --verbose.');
    expect(last).toContain('`npm test` runs the test suite');
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
    });
  });
});
