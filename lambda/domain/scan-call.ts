/**
 * The question a scan asks about one function, put the way the decision core already understands it: "Lambda pulls
 * this function's image at the next deploy or cold start — would the repository policy let it?" is exactly what a
 * failed deploy asks. So a scanned function becomes a `DeployCall` (an `UpdateFunctionCode` that Lambda refused with
 * error A), and, for `scan --fix` and the sweep, the EventBridge event of that call, which the fix pipeline takes like
 * any forwarded event. Nothing in either is guessed: every field comes from GetFunction or from the scan itself.
 */
import type { DeployCall } from './decision';
import type { FunctionStateFacts } from './function-state';

/** One container-image function, as ListFunctions and GetFunction describe it. */
export interface ScannedFunction extends FunctionStateFacts {
  readonly functionName: string;
  readonly functionArn: string;
  /** The function's account (from its ARN). */
  readonly account: string;
  readonly region: string;
  /** `Code.ImageUri`: the image as deployed (tag or digest). */
  readonly imageUri: string | null;
  /** `Code.ResolvedImageUri`: the digest Lambda pinned at deploy time. */
  readonly resolvedImageUri: string | null;
}

/** One scan run: when it ran and who ran it. */
export interface ScanContext {
  /** Unique per run, e.g. `20260101T000000Z-3f9a`: keys the calls' event ids. */
  readonly runId: string;
  /** ISO 8601 time of the run. */
  readonly time: string;
  /** Who or what scanned (shown as the call's user agent), e.g. `scan by arn:aws:iam::…:user/alice`. */
  readonly by: string;
}

/** The API error Lambda answers when the repository policy refuses its pull (error A of classify.ts). */
export const SCAN_ERROR_CODE = 'AccessDeniedException';
export const SCAN_ERROR_MESSAGE =
  'Lambda does not have permission to access the ECR image. Check the ECR permissions. ' +
  '(Found by lambda-ecr-autofix scan: the repository policy would refuse the pull at the next deploy or cold start.)';
const MAX_USER_AGENT = 256;
const SCAN_USER_AGENT_PREFIX = 'lambda-ecr-autofix ';
const SCAN_EVENT_ID_PREFIX = 'scan-';

/** The image the function runs: `ImageUri`, else the pinned `ResolvedImageUri` (same repository either way). */
export function imageOf(fn: ScannedFunction): string | null {
  return fn.imageUri ?? fn.resolvedImageUri;
}

/** The deploy call a scan stands for; `parseDeployEvent(scanDeployEvent(fn, c))` gives back exactly this. */
export function scanCall(fn: ScannedFunction, context: ScanContext): DeployCall {
  const eventId = scanEventId(fn, context);
  return {
    envelopeId: eventId,
    eventId,
    eventName: 'UpdateFunctionCode',
    api: 'UpdateFunctionCode',
    eventTime: context.time,
    region: fn.region,
    consumerAccount: fn.account,
    errorCode: SCAN_ERROR_CODE,
    errorMessage: SCAN_ERROR_MESSAGE,
    functionName: fn.functionArn,
    requestImageUri: imageOf(fn),
    packageType: null,
    looksLikeZip: false,
    // Nobody called: at a cold start only Lambda pulls, and the next deployer is not known.
    caller: { arn: null, type: null, principalArn: null, invokedBy: null },
    userAgent: userAgentOf(context),
    sourceIpAddress: null,
    requestTags: {},
  };
}

/**
 * The EventBridge event of `scanCall`: an "AWS API Call via CloudTrail" envelope whose account is the function's, so
 * the pipeline's provenance checks hold for it as for a forwarded event.
 */
export function scanDeployEvent(
  fn: ScannedFunction,
  context: ScanContext
): Record<string, unknown> {
  const eventId = scanEventId(fn, context);
  const requestParameters: Record<string, unknown> = { functionName: fn.functionArn };
  const image = imageOf(fn);
  if (image !== null) requestParameters['imageUri'] = image;
  return {
    version: '0',
    id: eventId,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.lambda',
    account: fn.account,
    time: context.time,
    region: fn.region,
    resources: [],
    detail: {
      eventVersion: '1.09',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode',
      eventID: eventId,
      eventTime: context.time,
      awsRegion: fn.region,
      recipientAccountId: fn.account,
      errorCode: SCAN_ERROR_CODE,
      errorMessage: SCAN_ERROR_MESSAGE,
      userIdentity: null,
      userAgent: userAgentOf(context),
      requestParameters,
    },
  };
}

function userAgentOf(context: ScanContext): string {
  return `${SCAN_USER_AGENT_PREFIX}${context.by}`.slice(0, MAX_USER_AGENT);
}

/**
 * Who found it, when the call is one a scan or a sweep stood for (`scanCall`, or its event through the pipeline);
 * null for a deploy that really failed. Notices say "a scan found" instead of "the deploy failed" for these.
 */
export function scanFinder(call: DeployCall): string | null {
  if (
    call.errorMessage !== SCAN_ERROR_MESSAGE ||
    !call.eventId.startsWith(SCAN_EVENT_ID_PREFIX) ||
    call.userAgent?.startsWith(SCAN_USER_AGENT_PREFIX) !== true
  ) {
    return null;
  }
  return call.userAgent.slice(SCAN_USER_AGENT_PREFIX.length);
}

/** `scan-RUN-HASH`: stable for a function within a run, different across runs. */
function scanEventId(fn: ScannedFunction, context: ScanContext): string {
  return `${SCAN_EVENT_ID_PREFIX}${context.runId}-${fnv1a(fn.functionArn)}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable tag for a function ARN (not a security measure). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
