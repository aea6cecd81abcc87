import { CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

import { AssetFreeSynthesizer } from './asset-free-synthesizer';
import {
  LambdaEcrAutofixMember,
  type LambdaEcrAutofixMemberSettings,
} from './lambda-ecr-autofix-member';

/** Names of the member stack's CloudFormation parameters (the StackSet passes them). */
export const MEMBER_PARAMETERS = {
  centralAccountId: 'CentralAccountId',
  centralRegion: 'CentralRegion',
  registryRoleRegion: 'RegistryRoleRegion',
} as const;

/** Properties of `LambdaEcrAutofixMemberStack`: the stack's, and what it must know of the central installation. */
export interface LambdaEcrAutofixMemberStackProps
  extends Omit<StackProps, 'synthesizer'>, LambdaEcrAutofixMemberSettings {}

/**
 * One template for every member account and region: a `LambdaEcrAutofixMember` whose central account, central region
 * and registry role region are CloudFormation parameters (`CentralAccountId`, `CentralRegion`, `RegistryRoleRegion`,
 * the last one empty by default: the region of the stack). It holds no assets and needs no CDK bootstrap in the
 * accounts it goes to (`AssetFreeSynthesizer`): the template is passed inline and CloudFormation runs with the
 * deployer's credentials.
 *
 * It is the template of the StackSet (`LambdaEcrAutofixMemberDeployment`), and deployable by hand where StackSets do
 * not reach (the management account, accounts outside the chosen units):
 * `cdk deploy <path> --parameters CentralAccountId=… --parameters CentralRegion=…`. Put it into a `Stage` of its own so
 * that `cdk deploy --all` (top-level stacks only) leaves it alone.
 *
 * @example
 * new LambdaEcrAutofixMemberStack(new Stage(app, 'Member'), 'LambdaEcrAutofixMember', {
 *   ...autofix.memberSettings!,
 *   stackName: 'LambdaEcrAutofixMember',
 * });
 */
export class LambdaEcrAutofixMemberStack extends Stack {
  /** The central account id (parameter). */
  public readonly centralAccountId: CfnParameter;
  /** The central region (parameter). */
  public readonly centralRegion: CfnParameter;
  /** The region in which to create the global registry role (parameter). */
  public readonly registryRoleRegion: CfnParameter;
  /** The member resources. */
  public readonly member: LambdaEcrAutofixMember;

  constructor(scope: Construct, id: string, props: LambdaEcrAutofixMemberStackProps) {
    const {
      organizationId,
      registryRoleName,
      optOutTag,
      mode,
      eventBusName,
      fixerRoleName,
      sweepSchedule,
      driftAction,
      ...stackProps
    } = props;
    const settings = {
      organizationId,
      registryRoleName,
      optOutTag,
      mode,
      eventBusName,
      fixerRoleName,
      sweepSchedule,
      driftAction,
    };
    super(scope, id, {
      description:
        'lambda-ecr-autofix member: forwards failed Lambda image deploys to the central account and lets the fixer ' +
        'patch ECR repository policies here',
      ...stackProps,
      synthesizer: new AssetFreeSynthesizer(),
      analyticsReporting: false,
    });

    this.centralAccountId = new CfnParameter(this, MEMBER_PARAMETERS.centralAccountId, {
      type: 'String',
      description: 'Account id of the lambda-ecr-autofix central stack',
      allowedPattern: '^\\d{12}$',
      constraintDescription: 'must be a 12-digit AWS account id',
    });
    this.centralRegion = new CfnParameter(this, MEMBER_PARAMETERS.centralRegion, {
      type: 'String',
      description: 'Region of the lambda-ecr-autofix central stack',
      allowedPattern: '^[a-z]{2}(-[a-z]+)+-\\d$',
      constraintDescription: 'must be an AWS region such as eu-west-1',
    });
    this.registryRoleRegion = new CfnParameter(this, MEMBER_PARAMETERS.registryRoleRegion, {
      type: 'String',
      default: '',
      description:
        'The one region per account in which to create the (global) registry role; empty: the region of this ' +
        'stack; none: no region (only while moving the role, docs/deployment.md)',
      // "none" deletes the role everywhere: the first of the two updates that move it to another region without two
      // regions creating and deleting it at once (a StackSet with auto-deployment does not follow a RegionOrder).
      allowedPattern: '^(none|[a-z]{2}(-[a-z]+)+-\\d)?$',
      constraintDescription: 'must be empty, none or an AWS region such as eu-west-1',
    });

    // Id "Default": the construct adds nothing to the logical ids, which stay those of the member stacks deployed
    // before it was a construct (a new logical id would replace the named registry role, which CloudFormation cannot).
    this.member = new LambdaEcrAutofixMember(this, 'Default', {
      ...settings,
      centralAccountId: this.centralAccountId.valueAsString,
      centralRegion: this.centralRegion.valueAsString,
      registryRoleRegion: this.registryRoleRegion.valueAsString,
    });
  }
}
