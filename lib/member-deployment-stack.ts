import { CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

import type {
  LambdaEcrAutofix,
  LambdaEcrAutofixMemberDeploymentOptions,
} from './lambda-ecr-autofix';
import { LambdaEcrAutofixMemberDeployment } from './lambda-ecr-autofix-member-deployment';

export interface MemberDeploymentStackProps
  extends StackProps, LambdaEcrAutofixMemberDeploymentOptions {
  /** The central installation, in another stack. */
  readonly autofix: LambdaEcrAutofix;
}

/**
 * The stack `LambdaEcrAutofix` adds next to its own for `memberDeployment`: a `LambdaEcrAutofixMemberDeployment` and
 * the parameter `StackSetCallAs` (`DELEGATED_ADMIN` by default, `SELF` in the management account), because
 * CloudFormation cannot tell at deploy time which of the two the deploying account is.
 */
export class MemberDeploymentStack extends Stack {
  /** The StackSet and its template. */
  public readonly memberDeployment: LambdaEcrAutofixMemberDeployment;

  constructor(scope: Construct, id: string, props: MemberDeploymentStackProps) {
    const { autofix, organizationalUnitIds, regions, registryRoleRegion, ...stackProps } = props;
    super(scope, id, {
      description:
        'lambda-ecr-autofix member deployment: the StackSet that installs the member stack across the organization',
      ...stackProps,
    });
    const callAs = new CfnParameter(this, 'StackSetCallAs', {
      type: 'String',
      default: 'DELEGATED_ADMIN',
      allowedValues: ['DELEGATED_ADMIN', 'SELF'],
      description:
        'DELEGATED_ADMIN when this account is a delegated administrator for StackSets, SELF in the management account',
    });
    // Id "Default": the construct adds nothing to the logical ids, which stay those of the StackSet deployed before it
    // was a construct (a new logical id would delete and re-create every member stack).
    this.memberDeployment = new LambdaEcrAutofixMemberDeployment(this, 'Default', {
      autofix,
      organizationalUnitIds,
      regions,
      registryRoleRegion,
      callAs: callAs.valueAsString,
    });
  }
}
