import {
  Aws,
  CfnCondition,
  Fn,
  Stack,
  Token,
  Validations,
  type ICfnConditionExpression,
} from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { Policy, PolicyStatement, type Conditions, type IRole } from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

import type { Config } from '../../lambda/domain/config';
import {
  functionLookupStatement,
  optOutDenyStatements,
  repositoryAccessStatement,
} from '../registry-permissions';
import type { NotificationTopic } from './notification-topic';

export interface FixerPermissionsProps {
  /** The fixer's execution role. */
  readonly role: IRole;
  /** ARN of the fixer function: the only function whose code may use these permissions. */
  readonly functionArn: string;
  /** The validated configuration; `registryAccounts`, `registryRoleName`, `organizationId`, `mode`, `optOutTag`. */
  readonly config: Config;
  /** The topic the fixer publishes to. */
  readonly notifications: NotificationTopic;
  /** The audit table. */
  readonly auditTable: ITable;
  /** The DynamoDB actions the fixer uses on the audit table. */
  readonly auditTableActions: readonly string[];
  /**
   * The central bus, on which the fixer puts its decision events (`events:PutEvents` on that bus only).
   * @default - no decision events (`decisionEvents: false`)
   */
  readonly decisionEventBusArn?: string;
}

/**
 * What the fixer's role may do beyond logging, tracing and consuming its queue (those are in the role's default
 * policy), in three policies that read as units:
 *
 * - `RegistryAccess`: `sts:AssumeRole` on the registry role only (every account's, or only the `registryAccounts`'),
 *   inside the organization (`aws:ResourceOrgID`); `lambda:GetFunction` in this account.
 * - `CentralRepositories`: the same ECR statements the member accounts' registry role carries, for this account's
 *   repositories, which the fixer reaches with its own role. Only when this account may be patched: always with
 *   `registryAccounts` `["*"]`; with a list, only if it names this account (decided at synth time when the stack's
 *   account is known, else by a CloudFormation condition on the policy).
 * - `NotificationsAndAudit`: publish to the topic (and the two KMS actions, only through SNS), and the audit table.
 * - `DecisionEvents` (with `decisionEventBusArn`): `events:PutEvents` on the central bus, nothing else.
 *
 * Every `Allow` that acts for the fixer carries `lambda:SourceFunctionArn` = the fixer function: Lambda puts the ARN
 * of the function whose code makes a request into the request context, so a function that was handed this role by
 * `iam:PassRole` (IAM cannot limit to which function a role is passed) gets none of these permissions, nor does code
 * using the role's credentials outside that function. The SQS permissions of the event source mapping cannot carry
 * it: Lambda reads the queue outside the function's execution environment, without that key.
 * https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html
 */
export class FixerPermissions extends Construct {
  /** `sts:AssumeRole` on the registry roles and `lambda:GetFunction`. */
  public readonly registryAccess: Policy;
  /** ECR in this account; absent when `registryAccounts` excludes this account (known at synth time). */
  public readonly centralRepositories?: Policy;
  /** The CloudFormation condition of `centralRepositories`, when the decision waits for deploy time. */
  public readonly centralRepositoriesCondition?: CfnCondition;
  /** SNS, KMS (through SNS), DynamoDB. */
  public readonly notificationsAndAudit: Policy;
  /** `events:PutEvents` on the central bus, for decision events; absent without `decisionEventBusArn`. */
  public readonly decisionEvents?: Policy;
  /**
   * The policies that always exist, for a `DependsOn` (CloudFormation refuses one on a resource whose condition may
   * be false).
   */
  public readonly unconditionalPolicies: Policy[];

  constructor(scope: Construct, id: string, props: FixerPermissionsProps) {
    super(scope, id);
    const { config, role } = props;
    const onlyTheFixer: Conditions = {
      ArnLike: { 'lambda:SourceFunctionArn': [props.functionArn, `${props.functionArn}:*`] },
    };

    this.registryAccess = new Policy(this, 'RegistryAccess', {
      roles: [role],
      statements: [assumeRegistryRole(config, onlyTheFixer), functionLookupStatement(onlyTheFixer)],
    });
    const registryAccess = this.registryAccess.node.defaultChild as IConstruct;
    Validations.of(registryAccess).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:<AWS::AccountId>:function:*]',
      reason:
        'lambda:GetFunction (read-only) on the central-account function named by a failed UpdateFunctionCode call, ' +
        'known only when the event arrives; only from the fixer function (lambda:SourceFunctionArn).',
    });
    if (config.registryAccounts.includes('*')) {
      Validations.of(registryAccess).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${config.registryRoleName}]`,
        reason:
          'registryAccounts is ["*"]: the registry role of any account of the organization (aws:ResourceOrgID), and ' +
          'only that role name; each role in turn trusts only this fixer role, by its ARN.',
      });
    }

    const patchesThisAccount = thisAccountIsARegistry(this, config.registryAccounts);
    if (patchesThisAccount !== false) {
      this.centralRepositories = new Policy(this, 'CentralRepositories', {
        roles: [role],
        statements: [
          repositoryAccessStatement(config, onlyTheFixer),
          ...optOutDenyStatements(config),
        ],
      });
      const policy = this.centralRepositories.node.defaultChild as CfnPolicy;
      if (patchesThisAccount !== true) {
        this.centralRepositoriesCondition = new CfnCondition(this, 'ThisAccountIsARegistry', {
          expression: patchesThisAccount,
        });
        policy.cfnOptions.condition = this.centralRepositoriesCondition;
      }
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/*]',
        reason:
          'Repositories in the central account: the failing repository is known only when an event arrives. ' +
          'Limited to reading/writing repository policies and reading tags, only from the fixer function; ' +
          'repositories with the opt-out tag are denied SetRepositoryPolicy.',
      });
    }

    this.notificationsAndAudit = new Policy(this, 'NotificationsAndAudit', {
      roles: [role],
      statements: [
        ...props.notifications.publishStatements(onlyTheFixer),
        new PolicyStatement({
          sid: 'AuditTable',
          actions: [...props.auditTableActions],
          resources: [props.auditTable.tableArn],
          conditions: onlyTheFixer,
        }),
      ],
    });
    this.unconditionalPolicies = [this.registryAccess, this.notificationsAndAudit];
    if (props.decisionEventBusArn !== undefined) {
      // Decision events (DESIGN.md, "After the fix"): the central bus only, from the fixer function only.
      this.decisionEvents = new Policy(this, 'DecisionEvents', {
        roles: [role],
        statements: [
          new PolicyStatement({
            sid: 'PutDecisionEvents',
            actions: ['events:PutEvents'],
            resources: [props.decisionEventBusArn],
            conditions: onlyTheFixer,
          }),
        ],
      });
      this.unconditionalPolicies.push(this.decisionEvents);
    }
    if (this.centralRepositories !== undefined && this.centralRepositoriesCondition === undefined) {
      this.unconditionalPolicies.push(this.centralRepositories);
    }
  }
}

/** `sts:AssumeRole` on the registry role of the `registryAccounts` (or any account), inside the organization. */
function assumeRegistryRole(config: Config, onlyTheFixer: Conditions): PolicyStatement {
  const roleArns = config.registryAccounts.includes('*')
    ? [`arn:${Aws.PARTITION}:iam::*:role/${config.registryRoleName}`]
    : config.registryAccounts.map(
        (account) => `arn:${Aws.PARTITION}:iam::${account}:role/${config.registryRoleName}`
      );
  return new PolicyStatement({
    sid: 'AssumeRegistryRole',
    actions: ['sts:AssumeRole'],
    resources: roleArns,
    conditions:
      config.organizationId === undefined
        ? onlyTheFixer
        : { ...onlyTheFixer, StringEquals: { 'aws:ResourceOrgID': config.organizationId } },
  });
}

/**
 * Whether the configuration lets the fixer patch this account's repositories: `true`/`false` when that is known at
 * synth time, else the CloudFormation condition expression that decides at deploy time.
 */
function thisAccountIsARegistry(
  scope: Construct,
  registryAccounts: readonly string[]
): boolean | ICfnConditionExpression {
  if (registryAccounts.includes('*')) return true;
  const account = Stack.of(scope).account;
  if (!Token.isUnresolved(account)) return registryAccounts.includes(account);
  return anyOf(registryAccounts.map((listed) => Fn.conditionEquals(Aws.ACCOUNT_ID, listed)));
}

/** `Fn::Or` over any number of conditions (CloudFormation takes 2 to 10 at a time). */
function anyOf(conditions: ICfnConditionExpression[]): ICfnConditionExpression {
  if (conditions.length === 1 && conditions[0] !== undefined) return conditions[0];
  if (conditions.length <= 10) return Fn.conditionOr(...conditions);
  const groups: ICfnConditionExpression[] = [];
  for (let i = 0; i < conditions.length; i += 10) groups.push(anyOf(conditions.slice(i, i + 10)));
  return anyOf(groups);
}
