/**
 * The demo's small AWS Organization: a workload account (222222222222), a shared-services registry account
 * (111111111111), a second consumer (444444444444) and the fixer's account. Two implementations behind one
 * interface: a local moto_server reached through the real SDK clients, or the in-memory stand-ins.
 */
import { CreateTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { ECRClient } from '@aws-sdk/client-ecr';
import {
  CreateRepositoryCommand,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecr';
import { CreateFunctionCommand } from '@aws-sdk/client-lambda';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';

import type { Telemetry } from '../../lambda/application/fix-pipeline';
import { FixPipeline } from '../../lambda/application/fix-pipeline';
import type { RegistryAccess } from '../../lambda/application/ports';
import type { FunctionInventory } from '../../lambda/application/scan-ports';
import type { AwsCredentialsInput } from '../../lambda/adapters/aws-clients';
import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { createAwsPipeline } from '../../lambda/adapters/aws-pipeline';
import { auditTableDefinition } from '../../lambda/adapters/dynamodb-audit-log';
import { lambdaClientFactory } from '../../lambda/adapters/function-lookup';
import { InMemoryFunctionInventory } from '../../lambda/adapters/in-memory-functions';
import { LambdaFunctionInventory } from '../../lambda/adapters/lambda-function-inventory';
import { StsRegistryAccess } from '../../lambda/adapters/registry-access';
import { partitionOfRegion } from '../../lambda/domain/partition';
import {
  FixedClock,
  InMemoryAuditLog,
  InMemoryNotifier,
  InMemoryRegistry,
  InMemoryRepositoryLocks,
} from '../../lambda/adapters/in-memory';
import type { Config } from '../../lambda/domain/config';
import { systemClock } from '../../lambda/adapters/system-clock';
import type { MotoServer } from './moto-server';
import { MOTO_SERVER, startMotoServer } from './moto-server';

export const FIXER_ACCOUNT = '123456789012';
export const FIXER_REGION = 'us-east-1';

export interface DemoRepository {
  readonly account: string;
  readonly region: string;
  readonly name: string;
  readonly policyText?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** An Active container-image function of the demo organization. */
export interface DemoFunction {
  readonly account: string;
  readonly region: string;
  readonly name: string;
  readonly imageUri: string;
}

/** A published notification, as the demo shows it. */
export interface SentMessage {
  readonly subject: string;
  readonly message: string;
}

export interface DemoWorld {
  /** One line saying where the AWS calls go. */
  readonly description: string;
  readonly pipeline: FixPipeline;
  createRepository(repository: DemoRepository): Promise<void>;
  /** Creates a function (Active, as Lambda leaves a successful deploy). */
  createFunction(fn: DemoFunction): Promise<void>;
  /** The registry access the fixer has (its role here, the registry role elsewhere), for the scan. */
  readonly registry: RegistryAccess;
  /** The functions of an account in a Region, listed as the sweep lists them (through the registry role). */
  inventory(account: string, region: string): Promise<FunctionInventory>;
  policyOf(repository: Pick<DemoRepository, 'account' | 'region' | 'name'>): Promise<string | null>;
  /** Messages published since the last call. */
  takeMessages(): SentMessage[];
  /** How many audit records the table holds. */
  auditCount(): Promise<number>;
  close(): Promise<void>;
}

/** Starts a local moto_server when one is on the PATH (or `motoServer` names one), else builds the in-memory world. */
export async function openWorld(
  config: Config,
  telemetry: Telemetry,
  motoServer: string | null = MOTO_SERVER
): Promise<DemoWorld> {
  if (motoServer !== null) {
    const server = await startMotoServer({ executable: motoServer });
    try {
      return await motoWorld(server, config, telemetry);
    } catch (error) {
      await server.stop();
      throw error;
    }
  }
  return inMemoryWorld(config, telemetry);
}

const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'demo-secret' };

async function motoWorld(
  server: MotoServer,
  config: Config,
  telemetry: Telemetry
): Promise<DemoWorld> {
  const endpoint = server.endpoint;
  const clients = createAwsClients({ region: FIXER_REGION, endpoint, credentials: CREDENTIALS });
  const topic = await clients.sns.send(new CreateTopicCommand({ Name: 'lambda-ecr-autofix' }));
  const tableName = 'lambda-ecr-autofix-audit';
  await clients.dynamodb.send(new CreateTableCommand(auditTableDefinition(tableName)));
  const published: SentMessage[] = [];
  const { pipeline } = createAwsPipeline({
    config,
    region: FIXER_REGION,
    endpoint,
    credentials: CREDENTIALS,
    fixerAccountId: FIXER_ACCOUNT,
    fixerRoleArns: [`arn:aws:iam::${FIXER_ACCOUNT}:role/LambdaEcrAutofixFixer`],
    topicArn: topic.TopicArn ?? null,
    auditTableName: tableName,
    telemetry,
    clients,
  });
  // Show what went through SNS: observe the Publish calls the pipeline's notifier makes.
  clients.sns.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Subject?: string; Message?: string };
      if (input.Message !== undefined) {
        published.push({ subject: input.Subject ?? '', message: input.Message });
      }
      return next(args);
    },
    { step: 'initialize', name: 'demoCapturePublish' }
  );

  // Each account's resources are created with credentials of that account, as an administrator there would.
  const accountCredentials = async (
    account: string
  ): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string }> => {
    const assumed = await clients.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
        RoleSessionName: 'lambda-ecr-autofix-demo-setup',
      })
    );
    const c = assumed.Credentials;
    return {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    };
  };
  const ecrIn = async (account: string, region: string): Promise<ECRClient> => {
    if (account === FIXER_ACCOUNT) return clients.createEcrClient(region);
    const credentials: AwsCredentialsInput = await accountCredentials(account);
    return clients.createEcrClient(region, credentials);
  };

  // The fixer's view of the organization, for the scan: the registry role in each account (moto trusts any caller).
  const registry = new StsRegistryAccess({
    fixerAccountId: FIXER_ACCOUNT,
    registryRoleName: config.registryRoleName,
    stsClient: clients.sts,
    createEcrClient: (region, credentials) => clients.createEcrClient(region, credentials),
    clock: systemClock,
  });
  const lambdaFor = lambdaClientFactory(registry, (region, credentials) =>
    clients.createLambdaClient(region, credentials)
  );
  const functionRoles = new Map<string, string>();

  return {
    description: `a local moto_server at ${endpoint} (real AWS SDK clients, STS AssumeRole into each account, SNS topic ${topic.TopicArn ?? ''}, DynamoDB table ${tableName})`,
    pipeline,
    registry,
    async inventory(account, region) {
      return new LambdaFunctionInventory(
        await lambdaFor(account, region, 'lambda-ecr-autofix-demo-sweep'),
        account,
        region
      );
    },
    async createFunction(fn) {
      const credentials = await accountCredentials(fn.account);
      let roleArn = functionRoles.get(fn.account);
      if (roleArn === undefined) {
        roleArn = await createExecutionRole(endpoint, credentials.accessKeyId);
        functionRoles.set(fn.account, roleArn);
      }
      await clients.createLambdaClient(fn.region, credentials).send(
        new CreateFunctionCommand({
          FunctionName: fn.name,
          Role: roleArn,
          PackageType: 'Image',
          Code: { ImageUri: fn.imageUri },
        })
      );
    },
    async createRepository(repository) {
      const ecr = await ecrIn(repository.account, repository.region);
      const created = await ecr.send(
        new CreateRepositoryCommand({
          repositoryName: repository.name,
          tags: Object.entries(repository.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
        })
      );
      if (repository.policyText !== undefined) {
        await ecr.send(
          new SetRepositoryPolicyCommand({
            repositoryName: repository.name,
            policyText: repository.policyText,
          })
        );
      }
      if (created.repository?.repositoryArn !== undefined && repository.tags !== undefined) {
        await ecr.send(
          new TagResourceCommand({
            resourceArn: created.repository.repositoryArn,
            tags: Object.entries(repository.tags).map(([Key, Value]) => ({ Key, Value })),
          })
        );
      }
    },
    async policyOf(repository) {
      const ecr = await ecrIn(repository.account, repository.region);
      try {
        const found = await ecr.send(
          new GetRepositoryPolicyCommand({ repositoryName: repository.name })
        );
        return found.policyText ?? null;
      } catch (error) {
        if ((error as Error).name === 'RepositoryPolicyNotFoundException') return null;
        throw error;
      }
    },
    takeMessages: () => published.splice(0),
    async auditCount() {
      const scanned = await clients.dynamodb.send(
        new ScanCommand({ TableName: tableName, Select: 'COUNT' })
      );
      return scanned.Count ?? 0;
    },
    close: () => server.stop(),
  };
}

function inMemoryWorld(config: Config, telemetry: Telemetry): DemoWorld {
  const registry = new InMemoryRegistry({
    fixerAccountId: FIXER_ACCOUNT,
    accountsWithRole: ['111111111111', '222222222222', '444444444444'],
    registryRoleName: config.registryRoleName,
  });
  const notifier = new InMemoryNotifier();
  const audit = new InMemoryAuditLog();
  const clock = new FixedClock(new Date());
  let taken = 0;
  const pipeline = new FixPipeline({
    config,
    fixer: { roleArns: [`arn:aws:iam::${FIXER_ACCOUNT}:role/LambdaEcrAutofixFixer`] },
    registry,
    notifier,
    audit,
    locks: new InMemoryRepositoryLocks(clock),
    clock,
    telemetry,
  });
  const inventories = new Map<string, InMemoryFunctionInventory>();
  const inventoryOf = (account: string, region: string): InMemoryFunctionInventory => {
    const key = `${account}/${region}`;
    let found = inventories.get(key);
    if (found === undefined) {
      found = new InMemoryFunctionInventory(account, region);
      inventories.set(key, found);
    }
    return found;
  };
  return {
    description:
      'in-memory stand-ins of the same adapter interfaces (moto_server is not on the PATH; install it with pip install "moto[server]" to run the demo against the real SDK clients)',
    pipeline,
    registry,
    inventory(account, region) {
      registry.assertAccess(account, region);
      return Promise.resolve(inventoryOf(account, region));
    },
    createFunction(fn) {
      inventoryOf(fn.account, fn.region).add({
        functionName: fn.name,
        functionArn: `arn:${partitionOfRegion(fn.region)}:lambda:${fn.region}:${fn.account}:function:${fn.name}`,
        account: fn.account,
        region: fn.region,
        imageUri: fn.imageUri,
        resolvedImageUri: null,
        state: 'Active',
        stateReasonCode: null,
        stateReason: null,
        lastUpdateStatus: 'Successful',
        lastUpdateStatusReasonCode: null,
        lastUpdateStatusReason: null,
      });
      return Promise.resolve();
    },
    createRepository(repository) {
      registry.addRepository(
        {
          registryAccount: repository.account,
          region: repository.region,
          repositoryName: repository.name,
        },
        {
          policyText: repository.policyText ?? null,
          tags: { ...repository.tags },
        }
      );
      return Promise.resolve();
    },
    policyOf(repository) {
      const found = registry.repository({
        registryAccount: repository.account,
        region: repository.region,
        repositoryName: repository.name,
      });
      return Promise.resolve(found?.policyText ?? null);
    },
    takeMessages() {
      const fresh = notifier.messages.slice(taken);
      taken = notifier.messages.length;
      return fresh.map(({ subject, message }) => ({ subject, message }));
    },
    auditCount: () => Promise.resolve(audit.records.length),
    close: () => Promise.resolve(),
  };
}

/**
 * An execution role for the demo's functions: moto's CreateFunction wants one that exists. IAM is not a dependency
 * of the product (its SDK client is not bundled), so this one Query call goes to the local moto_server directly; moto
 * takes the account from the access key and does not check the signature.
 */
async function createExecutionRole(endpoint: string, accessKeyId: string): Promise<string> {
  const response = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: 'demo-function-role',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
    }).toString(),
  });
  const text = await response.text();
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  if (!response.ok || arn === undefined)
    throw new Error(`moto CreateRole failed: ${text.slice(0, 200)}`);
  return arn;
}
