/**
 * Finds a function's ARN and image URI with `lambda:GetFunction`, in the function's own account. For accounts other
 * than the fixer's the call goes through the same member role as the registry access, so that role needs
 * `lambda:GetFunction` besides its ECR actions.
 * https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html
 */
import { GetFunctionCommand, type LambdaClient } from '@aws-sdk/client-lambda';

import type { Partition } from '../domain/decision';
import type { FunctionLookup } from '../application/ports';
import type { AwsCredentialsInput } from './aws-clients';
import { partitionOfRegion } from '../domain/partition';
import { sdkErrorName } from '../application/errors';
import type { AccountCredentials } from './registry-access';

/** A Lambda client acting in `account` and `region`; `sessionName` names an assumed-role session if one is needed. */
export type LambdaClientFactory = (
  account: string,
  region: string,
  sessionName: string
) => Promise<LambdaClient>;

export class LambdaFunctionLookup implements FunctionLookup {
  constructor(private readonly clientFor: LambdaClientFactory) {}

  async getFunction(
    input: { readonly functionName: string; readonly region: string; readonly account: string },
    sessionName: string
  ): Promise<{ functionArn: string; imageUri: string | null } | null> {
    const client = await this.clientFor(input.account, input.region, sessionName);
    let output;
    try {
      output = await client.send(new GetFunctionCommand({ FunctionName: input.functionName }));
    } catch (error) {
      if (sdkErrorName(error) === 'ResourceNotFoundException') return null;
      throw error;
    }
    const functionArn = output.Configuration?.FunctionArn;
    if (functionArn === undefined) {
      throw new Error(
        `GetFunction for ${input.functionName} returned no Configuration.FunctionArn.`
      );
    }
    return { functionArn, imageUri: output.Code?.ImageUri ?? null };
  }
}

/**
 * A `LambdaClientFactory` that reaches other accounts with the credentials of a `RegistryAccess` (its member role)
 * and caches one client per account and region.
 */
export function lambdaClientFactory(
  access: {
    credentialsFor(
      account: string,
      partition: Partition,
      sessionName: string
    ): Promise<AccountCredentials>;
  },
  createLambdaClient: (region: string, credentials?: AwsCredentialsInput) => LambdaClient
): LambdaClientFactory {
  const clients = new Map<string, LambdaClient>();
  return async (account, region, sessionName) => {
    const credentials = await access.credentialsFor(
      account,
      partitionOfRegion(region),
      sessionName
    );
    const key = `${account}/${region}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = createLambdaClient(region, credentials);
      clients.set(key, client);
    }
    return client;
  };
}
