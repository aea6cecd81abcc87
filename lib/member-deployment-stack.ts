import { Annotations, Aws, CfnParameter, Stack, Token, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

import type { Config } from '../lambda/domain/config';
import type { CentralStack } from './central-stack';
import { MemberStackSet } from './constructs/member-stack-set';
import { MEMBER_PARAMETERS, type MemberStack } from './member-stack';
import { MEMBER_STACK_SET_NAME } from './names';

export interface MemberDeploymentStackProps extends StackProps {
  /** The member deployment settings (`config.memberDeployment`). */
  readonly memberDeployment: NonNullable<Config['memberDeployment']>;
  /** The standalone member stack (in its own stage); its template becomes the StackSet's template. */
  readonly memberStack: MemberStack;
  /** The central stack. This stack is deployed after it, into the same account and region. */
  readonly central: CentralStack;
}

/**
 * The StackSet that installs the member stack across the organization, in a stack of its own, deployed after the
 * central stack by `cdk deploy --all`:
 *
 * - The central resources never depend on the members. A StackSet operation that fails (trusted access withdrawn,
 *   an operation CloudFormation cannot queue) rolls back this stack only, never the bus, the queue or the fixer; and
 *   a central update (a new fixer) never waits for a roll-out to hundreds of accounts.
 * - The members depend on the central resources, which exist first (the stack dependency): every registry role names
 *   the fixer's role as its trusted principal, which IAM refuses while that role does not exist, and every forwarder
 *   puts events on the central bus, which must admit them.
 * - Failed member accounts do not fail the operation (`failureTolerancePercentage` 100): they are listed by
 *   `aws cloudformation list-stack-instances` (docs/deployment.md) and retried by the next update.
 *
 * The member stacks learn the central account and region from this stack's own account and region: deploy it where
 * the central stack is (`cdk deploy --all` does).
 */
export class MemberDeploymentStack extends Stack {
  /** The StackSet. */
  public readonly memberStackSet: MemberStackSet;

  constructor(scope: Construct, id: string, props: MemberDeploymentStackProps) {
    const { memberDeployment, memberStack, central, ...stackProps } = props;
    super(scope, id, {
      description:
        'lambda-ecr-autofix member deployment: the StackSet that installs the member stack across the organization',
      ...stackProps,
    });
    this.addStackDependency(
      central,
      "member registry roles trust the central fixer role by ARN, and forwarders need the central bus's policy"
    );

    const callAs = new CfnParameter(this, 'StackSetCallAs', {
      type: 'String',
      default: 'DELEGATED_ADMIN',
      allowedValues: ['DELEGATED_ADMIN', 'SELF'],
      description:
        'DELEGATED_ADMIN when this account is a delegated administrator for StackSets, SELF in the management account',
    });
    const { organizationalUnitIds, regions, registryRoleRegion } = memberDeployment;
    this.memberStackSet = new MemberStackSet(this, 'Members', {
      memberStack,
      stackSetName: MEMBER_STACK_SET_NAME,
      organizationalUnitIds,
      regions,
      callAs: callAs.valueAsString,
      parameters: {
        [MEMBER_PARAMETERS.centralAccountId]: Aws.ACCOUNT_ID,
        [MEMBER_PARAMETERS.centralRegion]: Aws.REGION,
        // The registry role is global: only this region's stack instances create it. Never derived from the order of
        // `regions`: a different region in one update would have two regions create and delete it at once.
        [MEMBER_PARAMETERS.registryRoleRegion]: registryRoleRegion,
      },
    });

    const region = this.region;
    if (!Token.isUnresolved(region) && !regions.includes(region)) {
      Annotations.of(this).addWarningV2(
        'lambda-ecr-autofix:central-region-not-covered',
        `The central region ${region} is not in memberDeployment.regions (${regions.join(', ')}): failed deploys ` +
          `in ${region} of the other accounts are not forwarded, so nobody fixes them. Add "${region}" to ` +
          'memberDeployment.regions.'
      );
    }
  }
}
