import { parseConfig, type Config } from '../../lambda/domain/config';
import { decideForPolicy } from '../../lambda/domain/decide';
import type { ScanContext, ScannedFunction } from '../../lambda/domain/scan-call';
import { scanCall } from '../../lambda/domain/scan-call';
import { locateFunction } from '../../lambda/domain/scan';

export const SCAN_CONTEXT: ScanContext = {
  runId: '20260101T000000Z-test',
  time: '2026-01-01T00:00:00.000Z',
  by: 'scan by arn:aws:iam::222222222222:user/alice',
};

export const CONFIG: Config = parseConfig({}, 'test');

/** An Active container-image function of 222222222222 in eu-west-1 pulling from 111111111111's repository. */
export function makeFunction(overrides: Partial<ScannedFunction> = {}): ScannedFunction {
  const name = overrides.functionName ?? 'payments-worker';
  const account = overrides.account ?? '222222222222';
  const region = overrides.region ?? 'eu-west-1';
  return {
    functionName: name,
    functionArn: `arn:aws:lambda:${region}:${account}:function:${name}`,
    account,
    region,
    imageUri: `111111111111.dkr.ecr.${region}.amazonaws.com/platform/payments-worker:1.4.2`,
    resolvedImageUri: `111111111111.dkr.ecr.${region}.amazonaws.com/platform/payments-worker@sha256:${'a'.repeat(64)}`,
    state: 'Active',
    stateReasonCode: null,
    stateReason: null,
    lastUpdateStatus: 'Successful',
    lastUpdateStatusReasonCode: null,
    lastUpdateStatusReason: null,
    ...overrides,
  };
}

/** The repository owner's consent to share with the function's account (the `shareTag`, DESIGN.md "Sharing"). */
export function consentTags(fn: Pick<ScannedFunction, 'account'>): Record<string, string> {
  return { 'lambda-ecr-autofix:share': fn.account };
}

/** The policy the fixer would write for this function on top of `policyText` (with the owner's consent). */
export function grantedPolicy(
  fn: ScannedFunction,
  policyText: string | null = null,
  config: Config = CONFIG
): string {
  const located = locateFunction(fn, SCAN_CONTEXT);
  if (!located.ok) throw new Error(located.explanation);
  const decision = decideForPolicy(
    scanCall(fn, SCAN_CONTEXT),
    located.target,
    { policyText, tags: consentTags(fn) },
    config
  );
  if (decision.policyAfter === null) throw new Error(`no fix: ${decision.explanation}`);
  return decision.policyAfter;
}

/** A repository policy whose Deny blocks every pull by Lambda. */
export const DENY_LAMBDA_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'NoLambda',
      Effect: 'Deny',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: 'ecr:BatchGetImage',
    },
  ],
});
