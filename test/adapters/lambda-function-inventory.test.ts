import {
  GetFunctionCommand,
  LambdaClient,
  ListFunctionsCommand,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import {
  ECRClient,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  RepositoryPolicyNotFoundException,
} from '@aws-sdk/client-ecr';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

import { createAwsClients } from '../../lambda/adapters/aws-clients';
import { InMemoryRegistry } from '../../lambda/adapters/in-memory';
import { StsRegistryAccess } from '../../lambda/adapters/registry-access';
import { LambdaFunctionInventory } from '../../lambda/adapters/lambda-function-inventory';
import { createLimiter } from '../../lambda/application/concurrency';
import { Scanner } from '../../lambda/application/scanner';
import { CONFIG, SCAN_CONTEXT } from '../support/scan';

const lambdaMock = mockClient(LambdaClient);
const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const arnOf = (name: string): string => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const imageOf = (repository: string): string =>
  `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}:1.0.0`;

function inventory(): LambdaFunctionInventory {
  return new LambdaFunctionInventory(new LambdaClient({ region: REGION }), ACCOUNT, REGION);
}

function getFunctionOutput(name: string, repository = 'app') {
  return {
    Configuration: {
      FunctionName: name,
      FunctionArn: arnOf(name),
      PackageType: 'Image' as const,
      State: 'Active' as const,
      LastUpdateStatus: 'Successful' as const,
    },
    Code: {
      RepositoryType: 'ECR',
      ImageUri: imageOf(repository),
      ResolvedImageUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}@sha256:${'b'.repeat(64)}`,
    },
  };
}

beforeEach(() => {
  lambdaMock.reset();
});

describe('LambdaFunctionInventory', () => {
  it('lists one page of at most 50 functions, passing the marker on', async () => {
    lambdaMock.on(ListFunctionsCommand).resolves({
      Functions: [
        { FunctionName: 'a', FunctionArn: arnOf('a'), PackageType: 'Image' },
        { FunctionName: 'z', FunctionArn: arnOf('z'), PackageType: 'Zip' },
        { FunctionName: 'old', FunctionArn: arnOf('old') },
        { FunctionName: 'no-arn' },
      ],
      NextMarker: 'm2',
    });

    const page = await inventory().listFunctions('m1');

    expect(page).toEqual({
      functions: [
        { functionName: 'a', functionArn: arnOf('a'), packageType: 'Image' },
        { functionName: 'z', functionArn: arnOf('z'), packageType: 'Zip' },
        { functionName: 'old', functionArn: arnOf('old'), packageType: null },
      ],
      nextMarker: 'm2',
    });
    expect(lambdaMock).toHaveReceivedCommandWith(ListFunctionsCommand, {
      MaxItems: 50,
      Marker: 'm1',
    });
  });

  it('starts without a marker and ends on a page without one', async () => {
    lambdaMock.on(ListFunctionsCommand).resolves({});

    await expect(inventory().listFunctions(null)).resolves.toEqual({
      functions: [],
      nextMarker: null,
    });
    expect(lambdaMock.commandCalls(ListFunctionsCommand)[0]?.args[0].input).toEqual({
      MaxItems: 50,
    });
  });

  it('describes a function: image, pinned digest and every state field', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({
      ...getFunctionOutput('a'),
      Configuration: {
        ...getFunctionOutput('a').Configuration,
        State: 'Inactive',
        StateReasonCode: 'ImageAccessDenied',
        StateReason: 'The function does not have permission to access the specified image.',
        LastUpdateStatus: 'Failed',
        LastUpdateStatusReasonCode: 'ImageAccessDenied',
        LastUpdateStatusReason: 'denied',
      },
    });

    const fn = await inventory().describe({
      functionName: 'a',
      functionArn: arnOf('a'),
      packageType: 'Image',
    });

    expect(fn).toEqual({
      functionName: 'a',
      functionArn: arnOf('a'),
      account: ACCOUNT,
      region: REGION,
      imageUri: imageOf('app'),
      resolvedImageUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/app@sha256:${'b'.repeat(64)}`,
      state: 'Inactive',
      stateReasonCode: 'ImageAccessDenied',
      stateReason: 'The function does not have permission to access the specified image.',
      lastUpdateStatus: 'Failed',
      lastUpdateStatusReasonCode: 'ImageAccessDenied',
      lastUpdateStatusReason: 'denied',
    });
    expect(lambdaMock).toHaveReceivedCommandWith(GetFunctionCommand, { FunctionName: arnOf('a') });
  });

  it('reads absent fields as null', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({});

    await expect(
      inventory().describe({ functionName: 'a', functionArn: arnOf('a'), packageType: 'Image' })
    ).resolves.toEqual(
      expect.objectContaining({
        imageUri: null,
        resolvedImageUri: null,
        state: null,
        lastUpdateStatus: null,
      })
    );
  });

  it('answers null for a function deleted since it was listed', async () => {
    lambdaMock
      .on(GetFunctionCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }));

    await expect(
      inventory().describe({ functionName: 'a', functionArn: arnOf('a'), packageType: 'Image' })
    ).resolves.toBeNull();
  });

  it('lets other errors through, and refuses a function of another account', async () => {
    lambdaMock
      .on(GetFunctionCommand, { FunctionName: arnOf('a') })
      .rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} }))
      .on(GetFunctionCommand, { FunctionName: arnOf('b') })
      .resolves({
        Configuration: { FunctionArn: 'arn:aws:lambda:eu-west-1:999999999999:function:b' },
      });

    await expect(
      inventory().describe({ functionName: 'a', functionArn: arnOf('a'), packageType: 'Image' })
    ).rejects.toBeInstanceOf(TooManyRequestsException);
    await expect(
      inventory().describe({ functionName: 'b', functionArn: arnOf('b'), packageType: 'Image' })
    ).rejects.toThrow(
      'GetFunction returned arn:aws:lambda:eu-west-1:999999999999:function:b, which is not a function of account 222222222222 in eu-west-1.'
    );
  });
});

describe('a scan over the Lambda API (aws-sdk-client-mock)', () => {
  it('follows every page, skips a function deleted mid-scan and reports a throttled one as unknown', async () => {
    const registry = new InMemoryRegistry({ fixerAccountId: ACCOUNT });
    registry.addRepository({ registryAccount: ACCOUNT, region: REGION, repositoryName: 'app' });
    lambdaMock
      .on(ListFunctionsCommand, { Marker: undefined })
      .resolves({
        Functions: [
          { FunctionName: 'a', FunctionArn: arnOf('a'), PackageType: 'Image' },
          { FunctionName: 'gone', FunctionArn: arnOf('gone'), PackageType: 'Image' },
        ],
        NextMarker: 'p2',
      })
      .on(ListFunctionsCommand, { Marker: 'p2' })
      .resolves({
        Functions: [
          { FunctionName: 'busy', FunctionArn: arnOf('busy'), PackageType: 'Image' },
          { FunctionName: 'zip', FunctionArn: arnOf('zip'), PackageType: 'Zip' },
        ],
      })
      .on(GetFunctionCommand, { FunctionName: arnOf('a') })
      .resolves(getFunctionOutput('a'))
      .on(GetFunctionCommand, { FunctionName: arnOf('gone') })
      .rejects(new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }))
      .on(GetFunctionCommand, { FunctionName: arnOf('busy') })
      .rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} }));
    const scanner = new Scanner({
      config: CONFIG,
      registry,
      limiter: createLimiter(4),
      context: SCAN_CONTEXT,
      sessionName: 's',
    });

    const result = await scanner.scanRegion(inventory());

    expect(result.pages).toBe(2);
    expect(result.deleted).toBe(1);
    expect(
      result.entries.map(({ finding }) => [finding.functionName, finding.status, finding.reason])
    ).toEqual([
      ['a', 'at-risk', 'repository-policy-missing-grant'],
      ['busy', 'unknown', 'function-lookup-failed'],
    ]);
    expect(lambdaMock.commandCalls(GetFunctionCommand)).toHaveLength(3);
  });
});

describe('a scan over the SDK with a repository it may not read (aws-sdk-client-mock)', () => {
  const sts = mockClient(STSClient);
  const ecr = mockClient(ECRClient);

  beforeEach(() => {
    sts.reset();
    ecr.reset();
  });

  it('reports the functions of a repository in an account without the registry role as unknown, and the rest', async () => {
    // The shared registry 111111111111 has no member stack: STS answers AccessDenied.
    sts.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: {},
        message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/alice/cli is not authorized to perform: sts:AssumeRole`,
      })
    );
    ecr
      .on(GetRepositoryPolicyCommand)
      .rejects(new RepositoryPolicyNotFoundException({ message: 'no policy', $metadata: {} }))
      .on(ListTagsForResourceCommand)
      .resolves({ tags: [] });
    lambdaMock
      .on(ListFunctionsCommand)
      .resolves({
        Functions: [
          { FunctionName: 'own', FunctionArn: arnOf('own'), PackageType: 'Image' },
          { FunctionName: 'shared', FunctionArn: arnOf('shared'), PackageType: 'Image' },
        ],
      })
      .on(GetFunctionCommand, { FunctionName: arnOf('own') })
      .resolves(getFunctionOutput('own', 'own-repo'))
      .on(GetFunctionCommand, { FunctionName: arnOf('shared') })
      .resolves({
        ...getFunctionOutput('shared'),
        Code: { ImageUri: `111111111111.dkr.ecr.${REGION}.amazonaws.com/platform/shared:1` },
      });
    const clients = createAwsClients({ region: REGION });
    const registry = new StsRegistryAccess({
      fixerAccountId: ACCOUNT,
      registryRoleName: 'LambdaEcrAutofixRegistryAccess',
      stsClient: clients.sts,
      createEcrClient: (region, credentials) => clients.createEcrClient(region, credentials),
      clock: { now: () => new Date() },
    });
    const scanner = new Scanner({
      config: CONFIG,
      registry,
      limiter: createLimiter(4),
      context: SCAN_CONTEXT,
      sessionName: 'lambda-ecr-autofix-scan-test',
    });

    const result = await scanner.scanRegion(inventory());

    expect(
      result.entries.map(({ finding }) => [finding.functionName, finding.status, finding.reason])
    ).toEqual([
      ['own', 'at-risk', 'repository-policy-missing-grant'],
      ['shared', 'unknown', 'registry-role-unavailable'],
    ]);
    expect(result.entries[1]?.finding.explanation).toMatch(
      /^Cannot assume arn:aws:iam::111111111111:role\/LambdaEcrAutofixRegistryAccess in account 111111111111\./
    );
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(ecr).toHaveReceivedCommandWith(GetRepositoryPolicyCommand, {
      registryId: ACCOUNT,
      repositoryName: 'own-repo',
    });
  });
});
