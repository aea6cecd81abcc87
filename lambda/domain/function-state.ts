/**
 * What a function's own state says about its image: Lambda reports `State` + `StateReasonCode` and `LastUpdateStatus`
 * + `LastUpdateStatusReasonCode` (GetFunction; ListFunctions omits them). Every value below is one Lambda documents:
 * https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html (the same enums as
 * `@aws-sdk/client-lambda` 3.1164.0, `StateReasonCode` and `LastUpdateStatusReasonCode`), with their meaning from
 * https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html and
 * https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-images.html.
 *
 * Only three codes mean that Lambda cannot pull or use the image; a repository policy can fix one of them
 * (`ImageAccessDenied`). Every other failure code (KMS keys, VPC and EFS, the execution role, runtime init errors,
 * capacity) is the function's own matter: a repository policy cannot fix it, so the scan says so instead of guessing.
 */

/** The function's state, as GetFunction returns it (null: field absent). */
export interface FunctionStateFacts {
  readonly state: string | null;
  readonly stateReasonCode: string | null;
  readonly stateReason: string | null;
  readonly lastUpdateStatus: string | null;
  readonly lastUpdateStatusReasonCode: string | null;
  readonly lastUpdateStatusReason: string | null;
}

/** Lambda's `State` values. */
export const FUNCTION_STATES = [
  'Active',
  'ActiveNonInvocable',
  'Deactivated',
  'Deactivating',
  'Deleting',
  'Failed',
  'Inactive',
  'Pending',
] as const;

/** Lambda's `LastUpdateStatus` values. */
export const LAST_UPDATE_STATUSES = ['Failed', 'InProgress', 'Successful'] as const;

export type ImageFailure = 'image-access-denied' | 'image-deleted' | 'image-invalid';

/** The codes that say the image cannot be pulled or used, and what each means. */
export const IMAGE_CODES: Readonly<Record<string, { reason: ImageFailure; meaning: string }>> = {
  ImageAccessDenied: {
    reason: 'image-access-denied',
    meaning: 'Lambda may not pull the image from Amazon ECR',
  },
  ImageDeleted: {
    reason: 'image-deleted',
    meaning: 'the image was deleted from its Amazon ECR repository',
  },
  InvalidImage: { reason: 'image-invalid', meaning: 'the image is not a valid Lambda image' },
};

/** Codes that describe normal life: creating, restoring, idle, draining. Not a failure. */
export const NORMAL_CODES: readonly string[] = [
  'Creating',
  'Restoring',
  'Idle',
  'DrainingDurableExecutions',
];

/** Failure codes that have nothing to do with the image repository, by what a person has to look at. */
const OTHER_FAILURES: Readonly<Record<string, readonly string[]>> = {
  'the KMS key of the function': [
    'KMSKeyAccessDenied',
    'KMSKeyNotFound',
    'InvalidStateKMSKey',
    'DisabledKMSKey',
  ],
  'the function’s VPC networking': [
    'EniLimitExceeded',
    'SubnetOutOfIPAddresses',
    'InvalidSubnet',
    'InvalidSecurityGroup',
    'DisallowedByVpcEncryptionControl',
    'EC2RequestLimitExceeded',
  ],
  'the function’s EFS file system': [
    'EFSIOError',
    'EFSMountConnectivityError',
    'EFSMountFailure',
    'EFSMountTimeout',
  ],
  'the function’s execution role': ['InsufficientRolePermissions'],
  'the function’s configuration': ['InvalidConfiguration', 'InvalidRuntime'],
  'the function’s code package': ['InvalidZipFileException'],
  'the function’s initialization code': [
    'FunctionError',
    ...[
      'ExtensionInitError',
      'InitResourceExhausted',
      'InitTimeout',
      'InvalidEntryPoint',
      'InvalidWorkingDirectory',
      'PermissionDenied',
      'RuntimeInitError',
      'TooManyExtensions',
    ].map((detail) => `FunctionError.${detail}`),
  ],
  'the function’s capacity': [
    'CapacityProviderScalingLimitExceeded',
    'InsufficientCapacity',
    'ServiceQuotaExceededException',
    'VcpuLimitExceeded',
  ],
  'Lambda itself (an internal error)': ['InternalError'],
  'a service the function depends on': ['DependencyError'],
};

/** Each failure code and what a person has to look at. */
export const OTHER_FAILURE_CODES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(OTHER_FAILURES).flatMap(([about, codes]) => codes.map((code) => [code, about]))
);

export type FunctionHealth =
  /** The state or the last update says the image cannot be pulled or used. */
  | {
      readonly kind: 'image-failure';
      readonly reason: ImageFailure;
      readonly explanation: string;
    }
  /** The function is failing for a reason a repository policy does not touch. */
  | { readonly kind: 'other-failure'; readonly explanation: string }
  /** Being deleted: nothing to judge. */
  | { readonly kind: 'deleting'; readonly explanation: string }
  /** Nothing wrong that the state shows; `note` tells when Lambda will pull the image next, if that is soon. */
  | { readonly kind: 'healthy'; readonly note: string | null };

/** Reads the function's state fields (see the module comment for the sources). */
export function assessFunctionState(facts: FunctionStateFacts): FunctionHealth {
  if (isImageCode(facts.stateReasonCode)) {
    return imageFailure('state', facts.state, facts.stateReasonCode, facts.stateReason);
  }
  const updateFailed = facts.lastUpdateStatus === 'Failed';
  if (updateFailed && isImageCode(facts.lastUpdateStatusReasonCode)) {
    return imageFailure(
      'last update',
      'Failed',
      facts.lastUpdateStatusReasonCode,
      facts.lastUpdateStatusReason
    );
  }
  if (facts.state === 'Deleting') {
    return { kind: 'deleting', explanation: 'Lambda is deleting the function.' };
  }
  const stateFailure = failureCode(facts.stateReasonCode) || facts.state === 'Failed';
  if (stateFailure) {
    return otherFailure('state', facts.state, facts.stateReasonCode, facts.stateReason);
  }
  if (updateFailed) {
    return otherFailure(
      'last update',
      'Failed',
      facts.lastUpdateStatusReasonCode,
      facts.lastUpdateStatusReason
    );
  }
  return { kind: 'healthy', note: healthyNote(facts) };
}

function isImageCode(code: string | null): code is string {
  return code !== null && Object.hasOwn(IMAGE_CODES, code);
}

/** A code that is neither an image code nor a normal one: a failure (unknown codes included, to be safe). */
function failureCode(code: string | null): boolean {
  return code !== null && !NORMAL_CODES.includes(code);
}

function imageFailure(
  where: 'state' | 'last update',
  value: string | null,
  code: string,
  reason: string | null
): FunctionHealth {
  const found = IMAGE_CODES[code] as { reason: ImageFailure; meaning: string };
  return {
    kind: 'image-failure',
    reason: found.reason,
    explanation: `The function's ${where} is ${value ?? 'unknown'} with reason ${code} (${found.meaning})${quoted(reason)}.`,
  };
}

function otherFailure(
  where: 'state' | 'last update',
  value: string | null,
  code: string | null,
  reason: string | null
): FunctionHealth {
  const about =
    code === null
      ? 'Lambda gives no reason code'
      : Object.hasOwn(OTHER_FAILURE_CODES, code)
        ? `look at ${OTHER_FAILURE_CODES[code] as string}`
        : 'a reason code lambda-ecr-autofix does not know';
  return {
    kind: 'other-failure',
    explanation: `The function's ${where} is ${value ?? 'unknown'}${code === null ? '' : ` with reason ${code}`}${quoted(reason)}: not an Amazon ECR repository-policy matter (${about}).`,
  };
}

function healthyNote(facts: FunctionStateFacts): string | null {
  if (facts.state === 'Inactive') {
    return 'The function is Inactive (idle): Lambda pulls its image again at the next invocation.';
  }
  if (facts.state === 'Pending') {
    return 'The function is Pending: Lambda is pulling its image now.';
  }
  if (facts.lastUpdateStatus === 'InProgress') {
    return 'An update of the function is in progress: Lambda is pulling its image now.';
  }
  return null;
}

function quoted(reason: string | null): string {
  if (reason === null || reason === '') return '';
  const clipped = reason.length > 200 ? `${reason.slice(0, 197)}...` : reason;
  return `: "${clipped}"`;
}
