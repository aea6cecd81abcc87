/**
 * The permissions the fixer needs on one account's ECR repositories and Lambda functions. The same statements go to
 * the fixer's own role (for the central account, as far as the configuration lets it patch repositories there) and
 * to the registry role in every member account, so the two can never drift apart.
 */
import { Aws } from 'aws-cdk-lib';
import { Effect, PolicyStatement, type Conditions } from 'aws-cdk-lib/aws-iam';

import { optOutTagParts, type Config } from '../lambda/domain/config';

/** Every ECR repository of the account the policy lives in, in any region (the role is global, repositories are not). */
export const ACCOUNT_REPOSITORIES_ARN = `arn:${Aws.PARTITION}:ecr:*:${Aws.ACCOUNT_ID}:repository/*`;

/** Every Lambda function of the account the policy lives in, in any region. */
export const ACCOUNT_FUNCTIONS_ARN = `arn:${Aws.PARTITION}:lambda:*:${Aws.ACCOUNT_ID}:function:*`;

/** The cdk-nag acknowledgement of `lambda:ListFunctions` on `*`, for every policy that carries it. */
export const LIST_FUNCTIONS_ACKNOWLEDGEMENT = {
  id: 'AwsSolutions-IAM5[Resource::*]',
  reason:
    'lambda:ListFunctions (read-only, for the scheduled sweep) supports no resource-level permissions ' +
    '(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html) and lists only the ' +
    'functions of the role\'s own account; the tests assert that no other statement uses Resource "*".',
} as const;

/** The ECR actions on repositories. `ecr:SetRepositoryPolicy` only in `enforce` mode: `dry-run` never writes. */
export function repositoryActions(mode: Config['mode']): string[] {
  const actions = ['ecr:GetRepositoryPolicy', 'ecr:ListTagsForResource'];
  return mode === 'enforce' ? [...actions, 'ecr:SetRepositoryPolicy'] : actions;
}

/** Read (and in `enforce` mode write) repository policies and read repository tags, under `conditions` if given. */
export function repositoryAccessStatement(
  config: Pick<Config, 'mode'>,
  conditions?: Conditions
): PolicyStatement {
  return new PolicyStatement({
    sid: 'RepositoryPolicies',
    actions: repositoryActions(config.mode),
    resources: [ACCOUNT_REPOSITORIES_ARN],
    conditions,
  });
}

/**
 * In `enforce` mode, an explicit deny of `ecr:SetRepositoryPolicy` on repositories carrying the opt-out tag, so the
 * opt-out holds even if the handler's own check were wrong (tag-based access control:
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-supported-iam-actions-tagging.html). In `dry-run` mode
 * nothing may write, so there is nothing to deny.
 */
export function optOutDenyStatements(
  config: Pick<Config, 'mode' | 'optOutTag'>
): PolicyStatement[] {
  if (config.mode !== 'enforce') return [];
  const { key, value } = optOutTagParts(config);
  const tagKey = `aws:ResourceTag/${key}`;
  return [
    new PolicyStatement({
      sid: 'RespectOptOutTag',
      effect: Effect.DENY,
      actions: ['ecr:SetRepositoryPolicy'],
      resources: [ACCOUNT_REPOSITORIES_ARN],
      // "key" alone opts out whatever the value; "key=value" only for that value.
      conditions:
        value === null ? { Null: { [tagKey]: 'false' } } : { StringEquals: { [tagKey]: value } },
    }),
  ];
}

/** `lambda:GetFunction` on the account's functions (read-only), under `conditions` if given. */
export function functionLookupStatement(conditions?: Conditions): PolicyStatement {
  return new PolicyStatement({
    sid: 'FunctionLookup',
    actions: ['lambda:GetFunction'],
    resources: [ACCOUNT_FUNCTIONS_ARN],
    conditions,
  });
}

/**
 * Everything the registry role of a member account may do: repositories, the opt-out deny, the function lookup and,
 * with sweeps on, the function inventory.
 */
export function registryPermissionStatements(
  config: Pick<Config, 'mode' | 'optOutTag'> & {
    /** Whether the scheduled sweep lists this account's functions. @default false */
    readonly listFunctions?: boolean;
  }
): PolicyStatement[] {
  return [
    repositoryAccessStatement(config),
    functionLookupStatement(),
    ...(config.listFunctions === true ? [functionInventoryStatement()] : []),
    ...optOutDenyStatements(config),
  ];
}

/**
 * `lambda:ListFunctions`, for the scheduled sweep, under `conditions` if given. ListFunctions has no resource type, so
 * it takes `*` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html) and can only
 * ever list the functions of the role's own account.
 */
export function functionInventoryStatement(conditions?: Conditions): PolicyStatement {
  return new PolicyStatement({
    sid: 'FunctionInventory',
    actions: ['lambda:ListFunctions'],
    resources: ['*'],
    conditions,
  });
}
