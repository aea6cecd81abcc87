import { Token, Validations } from 'aws-cdk-lib';
import { ArnPrincipal, PolicyDocument, Role } from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

import type { Config } from '../../lambda/domain/config';
import {
  LIST_FUNCTIONS_ACKNOWLEDGEMENT,
  registryPermissionStatements,
} from '../registry-permissions';

export interface RegistryAccessRoleProps {
  /** Name of the role; the fixer assumes `arn:PARTITION:iam::ACCOUNT:role/NAME` in every account. */
  readonly roleName: string;
  /**
   * ARN of the fixer's role, the only principal that may assume this role. A string, not an `IRole`: the role lives
   * in another account. It must exist when this role is created (IAM checks a role principal at that moment).
   */
  readonly trustedRoleArn: string;
  /**
   * Organization the fixer's account must belong to (`aws:PrincipalOrgID`).
   * @default - no organization condition
   */
  readonly organizationId?: string;
  /** `enforce` lets the role write repository policies; `dry-run` only read them. */
  readonly mode: Config['mode'];
  /** Repositories carrying this tag (`key` or `key=value`) may never have their policy written by this role. */
  readonly optOutTag: string;
  /**
   * Whether the fixer may list this account's functions (`lambda:ListFunctions`), for the scheduled sweep.
   * @default false
   */
  readonly listFunctions?: boolean;
}

/**
 * The role the fixer assumes in a registry (or consumer) account: read and write repository policies, read
 * repository tags, look up functions. Nothing else.
 *
 * Trust: the fixer's role by its ARN as the principal, inside the organization (`aws:PrincipalOrgID`). IAM binds a role
 * principal to the role's unique id when the policy is saved, so a role deleted and re-created under the same name is
 * not trusted (the trust policy then shows the old unique id). Two consequences, both documented in
 * docs/deployment.md: the fixer's role must exist before this role is created (the member deployment stack depends on
 * the central stack), and after the central stack is re-created the member stacks must be re-created too.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles
 *
 * @example
 * new RegistryAccessRole(this, 'RegistryRole', {
 *   roleName: 'LambdaEcrAutofixRegistryAccess',
 *   trustedRoleArn: 'arn:aws:iam::111111111111:role/LambdaEcrAutofixFixer',
 *   organizationId: 'o-a1b2c3d4e5',
 *   mode: 'enforce',
 *   optOutTag: 'lambda-ecr-autofix=off',
 * });
 */
export class RegistryAccessRole extends Construct {
  /** The role. */
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: RegistryAccessRoleProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.roleName) && !/^[\w+=,.@-]{1,64}$/.test(props.roleName)) {
      throw new Error(
        `RegistryAccessRole: roleName must be an IAM role name (1-64 of letters, digits and +=,.@_-), got "${props.roleName}".`
      );
    }
    const principal = new ArnPrincipal(props.trustedRoleArn);
    this.role = new Role(this, 'Role', {
      roleName: props.roleName,
      description:
        'lambda-ecr-autofix: lets the central fixer read and patch ECR repository policies here',
      assumedBy:
        props.organizationId === undefined
          ? principal
          : principal.withConditions({
              StringEquals: { 'aws:PrincipalOrgID': props.organizationId },
            }),
      inlinePolicies: {
        RegistryAccess: new PolicyDocument({ statements: registryPermissionStatements(props) }),
      },
    });
    Validations.of(this.role.node.defaultChild as IConstruct).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/*]',
        reason:
          'The failing repository is known only when an event arrives: any repository of this account, in any ' +
          'region, limited to reading/writing its policy and reading its tags; repositories with the opt-out tag are ' +
          'denied SetRepositoryPolicy.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:<AWS::AccountId>:function:*]',
        reason:
          'lambda:GetFunction on the function named by a failed UpdateFunctionCode call, which is known only when the ' +
          'event arrives; read-only.',
      }
    );
    if (props.listFunctions === true) {
      Validations.of(this.role.node.defaultChild as IConstruct).acknowledge(
        LIST_FUNCTIONS_ACKNOWLEDGEMENT
      );
    }
  }
}
