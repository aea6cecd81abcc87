/**
 * The functions of one account and Region over the Lambda API: `ListFunctions` pages (50 functions each, the most
 * Lambda returns) and `GetFunction` for the image and the state, which ListFunctions omits.
 * https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
 * https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html
 *
 * Throttling and 5xx answers are retried by the client (standard retry mode, aws-clients.ts); what still fails
 * propagates, and the scan reports that function as `unknown`.
 */
import {
  GetFunctionCommand,
  ListFunctionsCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';

import type { ScannedFunction } from '../domain/scan-call';
import type { FunctionInventory, FunctionPage, FunctionSummary } from '../application/scan-ports';
import { sdkErrorName } from '../application/errors';

/** The largest page ListFunctions returns. */
export const LIST_PAGE_SIZE = 50;

const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})$/;

export class LambdaFunctionInventory implements FunctionInventory {
  /**
   * @param client a Lambda client in `region` acting in `account` (its own credentials, or the registry role's)
   */
  constructor(
    private readonly client: LambdaClient,
    readonly account: string,
    readonly region: string
  ) {}

  async listFunctions(marker: string | null): Promise<FunctionPage> {
    const output = await this.client.send(
      new ListFunctionsCommand({
        MaxItems: LIST_PAGE_SIZE,
        ...(marker === null ? {} : { Marker: marker }),
      })
    );
    const functions: FunctionSummary[] = [];
    for (const fn of output.Functions ?? []) {
      if (fn.FunctionName === undefined || fn.FunctionArn === undefined) continue;
      functions.push({
        functionName: fn.FunctionName,
        functionArn: fn.FunctionArn,
        packageType: fn.PackageType ?? null,
      });
    }
    return { functions, nextMarker: output.NextMarker ?? null };
  }

  async describe(summary: FunctionSummary): Promise<ScannedFunction | null> {
    let output;
    try {
      output = await this.client.send(
        new GetFunctionCommand({ FunctionName: summary.functionArn })
      );
    } catch (error) {
      // Deleted since it was listed.
      if (sdkErrorName(error) === 'ResourceNotFoundException') return null;
      throw error;
    }
    const configuration = output.Configuration ?? {};
    const functionArn = configuration.FunctionArn ?? summary.functionArn;
    const match = FUNCTION_ARN.exec(functionArn);
    if (match === null || match[1] !== this.region || match[2] !== this.account) {
      throw new Error(
        `GetFunction returned ${functionArn}, which is not a function of account ${this.account} in ${this.region}.`
      );
    }
    return {
      functionName: match[3] as string,
      functionArn,
      account: this.account,
      region: this.region,
      imageUri: output.Code?.ImageUri ?? null,
      resolvedImageUri: output.Code?.ResolvedImageUri ?? null,
      state: configuration.State ?? null,
      stateReasonCode: configuration.StateReasonCode ?? null,
      stateReason: configuration.StateReason ?? null,
      lastUpdateStatus: configuration.LastUpdateStatus ?? null,
      lastUpdateStatusReasonCode: configuration.LastUpdateStatusReasonCode ?? null,
      lastUpdateStatusReason: configuration.LastUpdateStatusReason ?? null,
    };
  }
}
