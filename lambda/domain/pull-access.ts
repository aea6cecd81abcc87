/**
 * The requests a working image pull consists of, and their evaluation against a policy's statements: Lambda's service
 * principal pulling for one function (`aws:SourceArn`), and an arbitrary IAM principal of a consumer account. The
 * planner asks "is a grant missing?", `revoke` "does the consumer still have access?" and the drift guard "is an
 * audited grant still in force?"; all three ask it with these requests, so they can never disagree.
 */
import type { Partition } from './decision';
import type { AccessRequest, Evaluation, RequestContext, Tri } from './policy-evaluator';
import { anyOf, evaluateActions } from './policy-evaluator';
import type { JsonObject } from './policy-document';

export const LAMBDA_SERVICE = 'lambda.amazonaws.com';
/** The two actions Lambda needs to pull an image: https://docs.aws.amazon.com/lambda/latest/dg/images-create.html */
export const PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] as const;

/** Lambda pulling `resource` for the function `sourceArn`. */
export function servicePullRequests(resource: string, sourceArn: string): AccessRequest[] {
  const context: RequestContext = {
    // Lambda pulls over HTTPS, as does every ECR client: a TLS-only Deny never applies to a pull.
    'aws:SecureTransport': 'true',
    'aws:SourceArn': sourceArn,
    'aws:PrincipalIsAWSService': 'true',
    'aws:PrincipalServiceName': LAMBDA_SERVICE,
    // Service principals carry no principal account, ARN or organization:
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalisawsservice
    'aws:PrincipalOrgID': null,
    'aws:PrincipalAccount': null,
    'aws:PrincipalArn': null,
  };
  return PULL_ACTIONS.map((action) => ({
    principal: { kind: 'service', service: LAMBDA_SERVICE },
    action,
    resource,
    context,
  }));
}

/**
 * An arbitrary principal of `accountId` pulling `resource`: only keys whose value is the same for all of them are
 * known, so a condition on anything else (aws:PrincipalArn, aws:userid, tags…) stays `unknown`.
 */
export function accountPullRequests(
  resource: string,
  account: {
    readonly accountId: string;
    readonly partition: Partition;
    readonly organizationId?: string | undefined;
    /** The identities known to make the call: only a Deny naming them applies for that reason. */
    readonly callerArns?: readonly string[] | undefined;
  }
): AccessRequest[] {
  const context: Record<string, string | null> = {
    'aws:SecureTransport': 'true',
    'aws:PrincipalAccount': account.accountId,
    'aws:PrincipalIsAWSService': 'false',
    'aws:PrincipalServiceName': null,
    'aws:SourceArn': null,
    'aws:SourceAccount': null,
  };
  if (account.organizationId !== undefined) context['aws:PrincipalOrgID'] = account.organizationId;
  return PULL_ACTIONS.map((action) => ({
    principal: {
      kind: 'account',
      accountId: account.accountId,
      partition: account.partition,
      callerArns: account.callerArns ?? [],
    },
    action,
    resource,
    context,
  }));
}

/**
 * Evaluates one access (its requests differ only in the action) and combines the results: allowed only when every
 * action is allowed, denied when any is.
 */
export function evaluatePull(
  statements: readonly JsonObject[],
  requests: readonly AccessRequest[]
): Evaluation {
  const [first] = requests as [AccessRequest];
  const results = evaluateActions(
    statements,
    first,
    requests.map((request) => request.action)
  );
  const allowed: Tri = results.every((r) => r.allowed === 'yes')
    ? 'yes'
    : results.some((r) => r.allowed === 'no')
      ? 'no'
      : 'unknown';
  return {
    allowed,
    denied: anyOf(results.map((r) => r.denied)),
    allowedBy: unique(results.flatMap((r) => r.allowedBy)),
    deniedBy: unique(results.flatMap((r) => r.deniedBy)),
  };
}

/** Allowed for certain and not denied: the pull works as far as this policy is concerned. */
export function pullWorks(evaluation: Evaluation): boolean {
  return evaluation.allowed === 'yes' && evaluation.denied === 'no';
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
