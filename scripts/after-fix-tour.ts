/**
 * A tour of `history`, `revoke`, the drift guard and decision events against a local moto_server, printing each
 * command and its real output: the output shown in README.md and docs/operations.md comes from here.
 *
 *   npx tsx scripts/after-fix-tour.ts
 *
 * It starts moto_server on 127.0.0.1 (it must be on the PATH), creates the audit table, the topic, a bus whose
 * decision events a rule copies to a queue, and the shared repository platform/payments-worker of account
 * 111111111111; then two consumers are fixed with the owner's consent, one is revoked, a foreign writer removes the
 * other's grant and the drift guard reports it, then puts it back with driftAction "restore".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateRepositoryCommand, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import {
  CreateEventBusCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';

import { main } from '../bin/cli';
import { createQueue, receiveMessages } from '../test/integration/moto-http';
import { startMotoServer } from '../bin/commands/moto-server';
import { createAwsClients } from '../lambda/adapters/aws-clients';
import { auditTableDefinition } from '../lambda/adapters/dynamodb-audit-log';
import { DECISION_EVENT_DETAIL_TYPE, DECISION_EVENT_SOURCE } from '../lambda/domain/decision-event';

const REGION = 'eu-west-1';
const ROOT = join(__dirname, '..');
const CREDENTIALS = {
  accessKeyId: 'lambda-ecr-autofix-local',
  secretAccessKey: 'lambda-ecr-autofix-local',
};

async function run(title: string, argv: string[], shown: string[] = argv): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (text) => out.push(text),
    (text) => err.push(text),
    {
      env: {
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      },
      cwd: ROOT,
    }
  );
  process.stdout.write(
    `\n### ${title}\n\n$ lambda-ecr-autofix ${shown.join(' ')}\n${out.join('\n')}\n`
  );
  if (err.length > 0) process.stdout.write(`${err.join('\n')}\n`);
  process.stdout.write(`(exit ${code})\n`);
  return out.join('\n');
}

async function tour(): Promise<void> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const moto = await startMotoServer();
  try {
    const clients = createAwsClients({
      region: REGION,
      endpoint: moto.endpoint,
      credentials: CREDENTIALS,
    });
    await clients.dynamodb.send(
      new CreateTableCommand(auditTableDefinition('LambdaEcrAutofixAudit'))
    );
    const topicArn =
      (await clients.sns.send(new CreateTopicCommand({ Name: 'lambda-ecr-autofix' }))).TopicArn ??
      '';
    const bus = await clients.eventBridge.send(
      new CreateEventBusCommand({ Name: 'lambda-ecr-autofix' })
    );
    await clients.eventBridge.send(
      new PutRuleCommand({
        Name: 'team-222222222222-decisions',
        EventBusName: 'lambda-ecr-autofix',
        EventPattern: JSON.stringify({
          source: [DECISION_EVENT_SOURCE],
          'detail-type': [DECISION_EVENT_DETAIL_TYPE],
          detail: { consumerAccount: ['222222222222'] },
        }),
      })
    );
    const caller = {
      endpoint: moto.endpoint,
      accessKeyId: CREDENTIALS.accessKeyId,
      region: REGION,
    };
    const teamQueue = await createQueue(caller, 'team-222222222222-decisions');
    await clients.eventBridge.send(
      new PutTargetsCommand({
        Rule: 'team-222222222222-decisions',
        EventBusName: 'lambda-ecr-autofix',
        Targets: [{ Id: 'team-queue', Arn: teamQueue.arn }],
      })
    );
    const owner = await clients.sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::111111111111:role/OrganizationAccountAccessRole',
        RoleSessionName: 'registry-owner',
      })
    );
    const ecr = clients.createEcrClient(REGION, {
      accessKeyId: owner.Credentials?.AccessKeyId ?? '',
      secretAccessKey: owner.Credentials?.SecretAccessKey ?? '',
      sessionToken: owner.Credentials?.SessionToken ?? '',
    });
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'platform/payments-worker',
        tags: [{ Key: 'lambda-ecr-autofix:share', Value: '222222222222 444444444444' }],
      })
    );
    const ci = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'CiPublish',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111111111111:role/ci-publisher' },
          Action: [
            'ecr:PutImage',
            'ecr:InitiateLayerUpload',
            'ecr:UploadLayerPart',
            'ecr:CompleteLayerUpload',
            'ecr:BatchCheckLayerAvailability',
          ],
        },
      ],
    });
    await ecr.send(
      new SetRepositoryPolicyCommand({ repositoryName: 'platform/payments-worker', policyText: ci })
    );

    const aws = ['--endpoint-url', moto.endpoint, '--region', REGION];
    const shownAws = ['--region', REGION];
    const table = ['--audit-table', 'LambdaEcrAutofixAudit'];
    const topic = ['--topic-arn', topicArn];
    for (const event of [
      'examples/events/create-function-cross-account-ecr-denied.json',
      'examples/events/create-function-second-consumer-ecr-denied.json',
    ]) {
      const argv = ['apply', '--event', event, ...table, ...topic, ...aws];
      await run(`Fix ${event.includes('second') ? 'the second' : 'the first'} consumer`, argv, [
        'apply',
        '--event',
        event,
        ...table,
        '--topic-arn',
        '<TopicArn>',
        ...shownAws,
      ]);
    }
    await run('History', ['history', ...table, ...aws], ['history', ...table, ...shownAws]);
    const repository = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker';
    const revoke = ['revoke', '--repository', repository, '--consumer', '222222222222', ...table];
    await run(
      'Revoke, dry-run first',
      [...revoke, '--dry-run', ...aws],
      [...revoke, '--dry-run', ...shownAws]
    );
    await run(
      'Revoke',
      [...revoke, ...topic, '--event-bus', bus.EventBusArn ?? '', ...aws],
      [...revoke, '--topic-arn', '<TopicArn>', '--event-bus', '<EventBusArn>', ...shownAws]
    );
    const received = await receiveMessages(caller, teamQueue.url);
    process.stdout.write(
      `\n### The decision event, as the team's rule (detail.consumerAccount 222222222222) delivered it\n\n${received
        .map((message) => JSON.stringify(JSON.parse(message.Body), null, 2))
        .join('\n')}\n`
    );
    await run('Revoke again (idempotent)', [...revoke, ...aws], [...revoke, ...shownAws]);
    await ecr.send(
      new SetRepositoryPolicyCommand({ repositoryName: 'platform/payments-worker', policyText: ci })
    );
    process.stdout.write(
      '\n(a person now sets the policy back to the CiPublish statement alone, removing the grant of 444444444444)\n'
    );
    const drift = 'test/fixtures/ecr-events/ecr-set-repository-policy-removes-grants.json';
    await run(
      'The drift guard, driftAction "notify" (the default)',
      ['apply', '--event', drift, ...table, ...topic, ...aws],
      [
        'apply',
        '--event',
        'ecr-set-repository-policy.json',
        ...table,
        '--topic-arn',
        '<TopicArn>',
        ...shownAws,
      ]
    );
    const dir = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-tour-'));
    const config = join(dir, 'restore.json');
    writeFileSync(config, JSON.stringify({ driftAction: 'restore' }));
    await run(
      'The drift guard, driftAction "restore"',
      [
        'apply',
        '--event',
        'test/fixtures/ecr-events/ecr-delete-repository-policy.json',
        '--config',
        config,
        ...table,
        ...topic,
        ...aws,
      ],
      [
        'apply',
        '--event',
        'ecr-delete-repository-policy.json',
        '--config',
        'restore.json',
        ...table,
        '--topic-arn',
        '<TopicArn>',
        ...shownAws,
      ]
    );
    await run(
      'History of account 444444444444',
      ['history', ...table, '--consumer', '444444444444', ...aws],
      ['history', ...table, '--consumer', '444444444444', ...shownAws]
    );
    const json = await run(
      'History as JSON (first record)',
      ['history', ...table, '--repository', repository, '--json', ...aws],
      ['history', ...table, '--repository', repository, '--json', ...shownAws]
    );
    writeFileSync(join(dir, 'history.json'), json);
    writeFileSync(join(dir, 'policy.json'), ci);
    await run(
      'plan, offline: the same drift event against the audit records',
      [
        'plan',
        '--event',
        'test/fixtures/ecr-events/ecr-set-repository-policy-removes-grants.json',
        '--policy',
        join(dir, 'policy.json'),
        '--audit',
        join(dir, 'history.json'),
      ],
      [
        'plan',
        '--event',
        'ecr-set-repository-policy.json',
        '--policy',
        'policy.json',
        '--audit',
        'history.json',
      ]
    );
  } finally {
    await moto.stop();
  }
}

void tour();
