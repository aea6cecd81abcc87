/**
 * The adapters with real SDK clients over HTTP against a local moto_server (see moto-server.ts). moto keeps one state
 * per account: the default credentials act in 123456789012 (the fixer's account here), and credentials from
 * AssumeRole act in the account of the role ARN, which is how the cross-account path is exercised for real.
 */
import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  CreateRepositoryCommand,
  GetRepositoryPolicyCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { CreateFunctionCommand } from '@aws-sdk/client-lambda';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

import type { AuditRecord, RepositoryRef } from '../../lambda/application/ports';
import { createAwsClients, type AwsClients } from '../../lambda/adapters/aws-clients';
import {
  AUDIT_TABLE_SCHEMA,
  DynamoDbAuditLog,
  auditTableDefinition,
  fromItem,
} from '../../lambda/adapters/dynamodb-audit-log';
import { runAuditLogScript } from '../support/audit-log-contract';
import { FIXED_RECORD } from '../support/audit-records';
import { DynamoDbRepositoryLocks } from '../../lambda/adapters/dynamodb-repository-locks';
import { FixedClock, InMemoryAuditLog } from '../../lambda/adapters/in-memory';
import { InvalidPolicyError, RepositoryNotFoundError } from '../../lambda/application/errors';
import { LambdaFunctionLookup, lambdaClientFactory } from '../../lambda/adapters/function-lookup';
import {
  StsRegistryAccess,
  discoverAccountId,
  type TemporaryCredentials,
} from '../../lambda/adapters/registry-access';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier';
import { systemClock } from '../../lambda/adapters/system-clock';
import { createQueue, createRole, receiveMessages, type MotoCaller } from './moto-http';
import {
  MOTO_CREDENTIALS,
  MOTO_DEFAULT_ACCOUNT,
  describeWithMoto,
  startMotoServer,
  type MotoServer,
} from './moto-server';

const FIXER_REGION = 'us-east-1';
const REGISTRY_REGION = 'eu-west-1';
const MEMBER_ACCOUNT = '111111111111';
const ROLE_NAME = 'LambdaEcrAutofixRegistryAccess';
const SESSION = 'lambda-ecr-autofix-4b1c2d3e-aaaa-bbbb-cccc-0123456789ab';

const policyText = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'LambdaEcrAutofixService',
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Condition: {
        StringLike: { 'aws:SourceArn': 'arn:aws:lambda:eu-west-1:222222222222:function:*' },
      },
    },
  ],
});

function repositoryIn(account: string, repositoryName = 'platform/payments-worker'): RepositoryRef {
  return { partition: 'aws', region: REGISTRY_REGION, registryAccount: account, repositoryName };
}

describeWithMoto()('adapters against moto_server', () => {
  let moto: MotoServer | undefined;
  let endpoint: string;
  let clients: AwsClients;

  beforeAll(async () => {
    moto = await startMotoServer();
    endpoint = moto.endpoint;
  });

  afterAll(async () => {
    await moto?.stop();
  });

  beforeEach(async () => {
    await moto?.reset();
    clients = createAwsClients({ region: FIXER_REGION, endpoint, credentials: MOTO_CREDENTIALS });
  });

  function registryAccess(): StsRegistryAccess {
    return new StsRegistryAccess({
      fixerAccountId: MOTO_DEFAULT_ACCOUNT,
      registryRoleName: ROLE_NAME,
      stsClient: clients.sts,
      createEcrClient: (region, credentials) => clients.createEcrClient(region, credentials),
      clock: systemClock,
    });
  }

  /**
   * Admin credentials in another account, the way an organization's management account gets them: assume the
   * account's OrganizationAccountAccessRole (moto lets any role ARN be assumed, existing or not).
   */
  async function adminOf(account: string): Promise<TemporaryCredentials> {
    const output = await clients.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
        RoleSessionName: 'bootstrap',
      })
    );
    const c = output.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error('moto returned no credentials');
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  }

  async function createRepository(ecr: ECRClient, tags: Record<string, string>): Promise<void> {
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'platform/payments-worker',
        tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      })
    );
  }

  it('discovers the fixer account with GetCallerIdentity', async () => {
    await expect(discoverAccountId(clients.sts)).resolves.toBe(MOTO_DEFAULT_ACCOUNT);
  });

  it('reads, writes and tags a repository in the fixer’s own account', async () => {
    await createRepository(clients.createEcrClient(REGISTRY_REGION), {
      'lambda-ecr-autofix': 'off',
    });
    const repository = repositoryIn(MOTO_DEFAULT_ACCOUNT);
    const store = await registryAccess().storeFor(repository, SESSION);

    await expect(store.getPolicy(repository)).resolves.toBeNull();
    await expect(store.setPolicy(repository, policyText)).resolves.toBe(policyText);
    await expect(store.getPolicy(repository)).resolves.toBe(policyText);
    await expect(store.getTags(repository)).resolves.toStrictEqual({ 'lambda-ecr-autofix': 'off' });
  });

  it('keeps the policy text byte for byte, whitespace included', async () => {
    await createRepository(clients.createEcrClient(REGISTRY_REGION), {});
    const repository = repositoryIn(MOTO_DEFAULT_ACCOUNT);
    const store = await registryAccess().storeFor(repository, SESSION);
    const pretty = JSON.stringify(JSON.parse(policyText), null, 4);

    await expect(store.setPolicy(repository, pretty)).resolves.toBe(pretty);
    await expect(store.getPolicy(repository)).resolves.toBe(pretty);
  });

  it('maps a missing repository and a rejected policy to domain errors', async () => {
    await createRepository(clients.createEcrClient(REGISTRY_REGION), {});
    const access = registryAccess();
    const missing = repositoryIn(MOTO_DEFAULT_ACCOUNT, 'platform/missing');
    const existing = repositoryIn(MOTO_DEFAULT_ACCOUNT);
    const store = await access.storeFor(existing, SESSION);

    await expect(store.getPolicy(missing)).rejects.toBeInstanceOf(RepositoryNotFoundError);
    await expect(store.getTags(missing)).rejects.toBeInstanceOf(RepositoryNotFoundError);
    await expect(store.setPolicy(missing, policyText)).rejects.toBeInstanceOf(
      RepositoryNotFoundError
    );
    await expect(store.setPolicy(existing, '{"Statement": "nonsense"}')).rejects.toBeInstanceOf(
      InvalidPolicyError
    );
    await expect(store.getPolicy(existing)).resolves.toBeNull();
  });

  it('patches a repository in another account through a real AssumeRole of the member role', async () => {
    // Arrange the member account as the member stack would: the role, and a registry with a repository.
    const admin = await adminOf(MEMBER_ACCOUNT);
    const adminCaller: MotoCaller = {
      endpoint,
      accessKeyId: admin.accessKeyId,
      region: FIXER_REGION,
    };
    const roleArn = await createRole(adminCaller, ROLE_NAME, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${MOTO_DEFAULT_ACCOUNT}:role/lambda-ecr-autofix-fixer` },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    expect(roleArn).toBe(`arn:aws:iam::${MEMBER_ACCOUNT}:role/${ROLE_NAME}`);
    const memberEcr = clients.createEcrClient(REGISTRY_REGION, admin);
    await createRepository(memberEcr, { team: 'platform' });
    const repository = repositoryIn(MEMBER_ACCOUNT);
    const access = registryAccess();

    const store = await access.storeFor(repository, SESSION);
    await expect(store.getPolicy(repository)).resolves.toBeNull();
    await expect(store.setPolicy(repository, policyText)).resolves.toBe(policyText);
    await expect(store.getTags(repository)).resolves.toStrictEqual({ team: 'platform' });

    // The member account's own view shows our write.
    const written = await memberEcr.send(
      new GetRepositoryPolicyCommand({ repositoryName: repository.repositoryName })
    );
    expect(written).toMatchObject({ registryId: MEMBER_ACCOUNT, policyText });
    // The session acts as the member role, named after the event.
    const provider = await access.credentialsFor(MEMBER_ACCOUNT, 'aws', SESSION);
    if (provider === undefined) throw new Error('expected assumed-role credentials');
    const identity = await new STSClient({
      region: FIXER_REGION,
      endpoint,
      credentials: await provider(),
    }).send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: MEMBER_ACCOUNT,
      Arn: `arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/${ROLE_NAME}/${SESSION}`,
    });
    // The fixer's own credentials do not reach that repository.
    const own = await access.storeFor(repositoryIn(MOTO_DEFAULT_ACCOUNT), SESSION);
    await expect(own.getPolicy(repository)).rejects.toBeInstanceOf(RepositoryNotFoundError);
  });

  it('looks a function up in its account, through the member role for another account', async () => {
    const admin = await adminOf(MEMBER_ACCOUNT);
    const adminCaller: MotoCaller = {
      endpoint,
      accessKeyId: admin.accessKeyId,
      region: FIXER_REGION,
    };
    const executionRole = await createRole(adminCaller, 'payments-worker-execution', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    const imageUri = `${MEMBER_ACCOUNT}.dkr.ecr.${REGISTRY_REGION}.amazonaws.com/platform/payments-worker:1.4.2`;
    await clients.createLambdaClient(REGISTRY_REGION, admin).send(
      new CreateFunctionCommand({
        FunctionName: 'payments-worker',
        Role: executionRole,
        PackageType: 'Image',
        Code: { ImageUri: imageUri },
      })
    );
    const lookup = new LambdaFunctionLookup(
      lambdaClientFactory(registryAccess(), (region, credentials) =>
        clients.createLambdaClient(region, credentials)
      )
    );

    await expect(
      lookup.getFunction(
        { functionName: 'payments-worker', region: REGISTRY_REGION, account: MEMBER_ACCOUNT },
        SESSION
      )
    ).resolves.toStrictEqual({
      functionArn: `arn:aws:lambda:${REGISTRY_REGION}:${MEMBER_ACCOUNT}:function:payments-worker`,
      imageUri,
    });
    await expect(
      lookup.getFunction(
        { functionName: 'payments-worker', region: REGISTRY_REGION, account: MOTO_DEFAULT_ACCOUNT },
        SESSION
      )
    ).resolves.toBeNull();
  });

  it('publishes to SNS with subject and attributes that reach an SQS subscriber', async () => {
    const caller: MotoCaller = {
      endpoint,
      accessKeyId: MOTO_CREDENTIALS.accessKeyId,
      region: FIXER_REGION,
    };
    const queue = await createQueue(caller, 'notifications');
    const { TopicArn } = await clients.sns.send(
      new CreateTopicCommand({ Name: 'lambda-ecr-autofix' })
    );
    if (TopicArn === undefined) throw new Error('no topic');
    await clients.sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queue.arn })
    );
    const subject =
      '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)';

    const messageId = await new SnsNotifier(TopicArn, clients.sns).publish({
      subject,
      message: 'What failed\n  CreateFunction payments-worker\n',
      attributes: {
        outcome: 'fix',
        reason: 'repository-policy-missing-grant',
        consumerAccount: '222222222222',
        repository: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
      },
    });

    const messages = await receiveMessages(caller, queue.url);
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]?.Body ?? '{}')).toMatchObject({
      Type: 'Notification',
      MessageId: messageId,
      TopicArn,
      Subject: subject,
      Message: 'What failed\n  CreateFunction payments-worker\n',
      MessageAttributes: {
        outcome: { Type: 'String', Value: 'fix' },
        reason: { Type: 'String', Value: 'repository-policy-missing-grant' },
        consumerAccount: { Type: 'String', Value: '222222222222' },
        repository: {
          Type: 'String',
          Value: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
        },
      },
    });
  });

  it('has the conditional semantics of the in-memory audit log, call for call (parity)', async () => {
    // Arrange: the same table as the stack's, and the script every audit log must follow.
    const table = 'lambda-ecr-autofix-audit';
    await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition(table)));
    const dynamo = new DynamoDbAuditLog(clients.dynamodb, table);
    const memory = new InMemoryAuditLog();

    // Act
    const overDynamoDb = await runAuditLogScript(dynamo, async () => {
      const items: Record<string, AttributeValue>[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await clients.dynamodb.send(
          new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start })
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return items.map(fromItem);
    });
    const inMemory = await runAuditLogScript(memory, () => Promise.resolve(memory.records));

    // Assert
    expect(overDynamoDb).toStrictEqual(inMemory);
    expect(overDynamoDb.at(-1)?.result).toHaveLength(138);
  });

  it('keeps leases and TTL in the audit table', async () => {
    const table = 'lambda-ecr-autofix-audit';
    await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition(table)));
    await clients.dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: {
          AttributeName: AUDIT_TABLE_SCHEMA.timeToLiveAttribute,
          Enabled: true,
        },
      })
    );
    const fixed: AuditRecord = { ...FIXED_RECORD, policyBefore: null, policyAfter: policyText };
    await expect(
      new DynamoDbAuditLog(clients.dynamodb, table).write([
        { kind: 'decision', record: { ...fixed, state: 'recorded' } },
      ])
    ).resolves.toStrictEqual([{ status: 'written' }]);

    // Repository leases live in the same table: one owner at a time until the lease expires.
    const clock = new FixedClock('2026-03-01T12:00:00.000Z');
    const locks = new DynamoDbRepositoryLocks(clients.dynamodb, table, clock);
    await expect(locks.tryAcquire(fixed.repositoryArn, 'a', 60_000)).resolves.toBe(true);
    await expect(locks.tryAcquire(fixed.repositoryArn, 'b', 60_000)).resolves.toBe(false);
    await expect(locks.tryAcquire(fixed.repositoryArn, 'a', 60_000)).resolves.toBe(true);
    await locks.release(fixed.repositoryArn, 'b');
    await expect(locks.tryAcquire(fixed.repositoryArn, 'b', 60_000)).resolves.toBe(false);
    await clock.sleep(61_000);
    await expect(locks.tryAcquire(fixed.repositoryArn, 'b', 60_000)).resolves.toBe(true);
    await locks.release(fixed.repositoryArn, 'b');
    await expect(locks.tryAcquire(fixed.repositoryArn, 'c', 60_000)).resolves.toBe(true);
    await expect(
      clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: table }))
    ).resolves.toMatchObject({
      TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' },
    });
  });
});
