import { Annotations, Stack, Stage, Token } from 'aws-cdk-lib';
import type { CfnStackSet } from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';

import { parseConfig } from '../lambda/domain/config';
import { ConfigError } from '../lambda/domain/config-error';
import { MemberStackSet, isCallAs, isPercentage } from './constructs/member-stack-set';
import type { LambdaEcrAutofix } from './lambda-ecr-autofix';
import { LambdaEcrAutofixMemberStack, MEMBER_PARAMETERS } from './lambda-ecr-autofix-member-stack';
import { MEMBER_STACK_NAME, validateNames } from './names';

/** Properties of `LambdaEcrAutofixMemberDeployment`. */
export interface LambdaEcrAutofixMemberDeploymentProps {
  /**
   * The central installation. It must live in another stack than this construct; this construct's stack then depends
   * on that one, and takes its account and region as the central account and region.
   */
  readonly autofix: LambdaEcrAutofix;
  /**
   * Organizational units (`ou-…`) or the organization root (`r-…`) whose accounts get the member stack, now and when
   * they join later.
   */
  readonly organizationalUnitIds: string[];
  /** Regions to install the member stack in, in each account. Include the central region. */
  readonly regions: string[];
  /**
   * The one region (one of `regions`) whose stack instances create the account-global registry role. Set it once and
   * never change it.
   */
  readonly registryRoleRegion: string;
  /**
   * Whether the StackSet is managed from the management account (`SELF`) or from a delegated administrator account
   * (`DELEGATED_ADMIN`). May be a parameter reference.
   * @default 'DELEGATED_ADMIN'
   */
  readonly callAs?: string;
  /**
   * Name of the StackSet.
   * @default - the `stackSetName` of `autofix` ('lambda-ecr-autofix-member')
   */
  readonly stackSetName?: string;
  /**
   * Percentage of stack instances, per region, that may fail before CloudFormation stops the operation and fails
   * this stack. With 100 the operation always completes; failed instances stay `OUTDATED` with their reason and are
   * deployed again by the next StackSet operation (`update-stack-instances`: docs/deployment.md, "Updating the
   * member deployment").
   * @default 100
   */
  readonly failureTolerancePercentage?: number;
}

/**
 * The service-managed StackSet that installs `LambdaEcrAutofixMember` (as `LambdaEcrAutofixMemberStack`) in every
 * account of some organizational units, in some regions, and in accounts that join them later. Put it in a stack of
 * its own, deployed into the central account after the central installation's stack (this construct adds that
 * dependency; `cdk deploy --all` deploys both in order):
 *
 * - The central resources never depend on the members. A StackSet operation that fails (trusted access withdrawn,
 *   an operation CloudFormation cannot queue) rolls back this stack only, never the bus, the queue or the fixer; and
 *   a central update (a new fixer) never waits for a roll-out to hundreds of accounts. Hence synth refuses this
 *   construct in the central installation's stack.
 * - The members depend on the central resources, which exist first: every registry role names the fixer's role as
 *   its trusted principal, which IAM refuses while that role does not exist, and every forwarder puts events on the
 *   central bus, which must admit them.
 * - Failed member accounts do not fail the operation (`failureTolerancePercentage` 100): they are listed by
 *   `aws cloudformation list-stack-instances` and deployed again by the next StackSet operation.
 *
 * The member stacks learn the central account and region from the central installation's stack: with an
 * environment-agnostic central stack that is this stack's own account and region, so deploy this stack where the
 * central one is (or give both an explicit `env`). Nothing is exported from the central stack: the two stacks share
 * names, not CloudFormation exports, so neither blocks the other's updates.
 *
 * Service-managed StackSets never deploy to the management account; deploy `LambdaEcrAutofixMemberStack` there by hand.
 *
 * @example
 * const members = new Stack(app, 'LambdaEcrAutofixMembers', { env });
 * new LambdaEcrAutofixMemberDeployment(members, 'Members', {
 *   autofix,
 *   organizationalUnitIds: ['r-ab12'],
 *   regions: ['eu-west-1', 'us-east-1'],
 *   registryRoleRegion: 'eu-west-1',
 * });
 */
export class LambdaEcrAutofixMemberDeployment extends Construct {
  /** The StackSet. */
  public readonly stackSet: CfnStackSet;
  /**
   * The member stack whose template the StackSet embeds, in a `Stage` of its own inside this construct (never
   * deployed by itself: `cdk deploy --all` deploys top-level stacks only).
   */
  public readonly memberStack: LambdaEcrAutofixMemberStack;

  constructor(scope: Construct, id: string, props: LambdaEcrAutofixMemberDeploymentProps) {
    super(scope, id);
    const source = `LambdaEcrAutofixMemberDeployment "${this.node.path}"`;
    const { autofix, organizationalUnitIds, regions, registryRoleRegion } = props;
    const settings = autofix.memberSettings;
    if (settings === undefined) {
      throw new ConfigError(source, [
        `"autofix" must have "organizationId" (${autofix.node.path} has none): the central bus admits the member ` +
          'accounts by organization, and the registry roles trust the fixer only from inside it',
      ]);
    }
    // The same keys, validated by the same schema as the central configuration's "memberDeployment": the same messages.
    parseConfig(
      {
        organizationId: settings.organizationId,
        memberDeployment: { organizationalUnitIds, regions, registryRoleRegion },
      },
      source
    );
    const stackSetName = props.stackSetName ?? autofix.stackSetName;
    validateNames({ stackSetName }, source);
    const operationProblems = operationOptionProblems(props);
    if (operationProblems.length > 0) throw new ConfigError(source, operationProblems);

    const here = topLevelStack(this);
    const central = topLevelStack(autofix);
    if (here === central) {
      throw new ConfigError(source, [
        `it must be in another stack than its LambdaEcrAutofix (both are in "${central.node.path}"): a failed ` +
          'StackSet operation would roll back the central resources. Put it in a stack of its own, e.g. ' +
          "new LambdaEcrAutofixMemberDeployment(new Stack(app, 'LambdaEcrAutofixMemberDeployment', { env }), 'Members', { autofix, … })",
      ]);
    }
    here.addStackDependency(
      central,
      "member registry roles trust the central fixer role by ARN, and forwarders need the central bus's policy"
    );

    // The template: the member stack synthesized on its own, in a stage of its own (MemberStackSet embeds it).
    this.memberStack = new LambdaEcrAutofixMemberStack(
      new Stage(this, 'MemberTemplate'),
      MEMBER_STACK_NAME,
      { ...settings, stackName: MEMBER_STACK_NAME }
    );
    const memberStackSet = new MemberStackSet(this, 'Members', {
      memberStack: this.memberStack,
      stackSetName,
      organizationalUnitIds,
      regions,
      callAs: props.callAs,
      failureTolerancePercentage: props.failureTolerancePercentage,
      parameters: {
        [MEMBER_PARAMETERS.centralAccountId]: central.account,
        [MEMBER_PARAMETERS.centralRegion]: central.region,
        // The registry role is global: only this region's stack instances create it. Never derived from the order of
        // `regions`: a different region in one update would have two regions create and delete it at once.
        [MEMBER_PARAMETERS.registryRoleRegion]: registryRoleRegion,
      },
    });
    this.stackSet = memberStackSet.stackSet;

    const region = central.region;
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

/** Problems of the StackSet's own options, in the words of a configuration problem (README: bad props throw ConfigError). */
function operationOptionProblems(props: LambdaEcrAutofixMemberDeploymentProps): string[] {
  const problems: string[] = [];
  const { callAs, failureTolerancePercentage } = props;
  if (failureTolerancePercentage !== undefined && !isPercentage(failureTolerancePercentage)) {
    problems.push(
      `"failureTolerancePercentage" must be a whole number from 0 to 100 (got ${String(failureTolerancePercentage)})`
    );
  }
  if (callAs !== undefined && !isCallAs(callAs)) {
    problems.push(
      `"callAs" must be "SELF" (from the management account) or "DELEGATED_ADMIN" (got ${JSON.stringify(callAs)})`
    );
  }
  return problems;
}

/** The stack that CloudFormation deploys `scope` with: its stack, or that stack's top-level parent. */
function topLevelStack(scope: Construct): Stack {
  let stack = Stack.of(scope);
  while (stack.nestedStackParent !== undefined) stack = stack.nestedStackParent;
  return stack;
}
