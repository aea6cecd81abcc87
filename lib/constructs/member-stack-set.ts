import { Lazy, Stage, Token, type Stack } from 'aws-cdk-lib';
import { CfnStackSet } from 'aws-cdk-lib/aws-cloudformation';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

/**
 * CloudFormation's limit for a template passed inline (`TemplateBody`).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 */
export const TEMPLATE_BODY_LIMIT_BYTES = 51_200;

const CALL_AS = ['SELF', 'DELEGATED_ADMIN'];

export interface MemberStackSetProps {
  /**
   * The stack to deploy, synthesized on its own (it must live in another `Stage` than this construct, and hold no
   * assets). Its template is embedded as `TemplateBody`.
   */
  readonly memberStack: Stack;
  /** Organizational units (or the root `r-…`) whose accounts get the stack, now and when they join later. */
  readonly organizationalUnitIds: readonly string[];
  /** Regions to deploy to in each account. */
  readonly regions: readonly string[];
  /**
   * Values for the member stack's parameters.
   * @default - none
   */
  readonly parameters?: Readonly<Record<string, string>>;
  /**
   * Whether the StackSet is managed from the management account (`SELF`) or from a delegated administrator account
   * (`DELEGATED_ADMIN`). May be a parameter reference.
   * @default 'DELEGATED_ADMIN'
   */
  readonly callAs?: string;
  /**
   * Name of the StackSet.
   * @default 'lambda-ecr-autofix-member'
   */
  readonly stackSetName?: string;
  /**
   * Percentage of stack instances, per region, that may fail before CloudFormation stops the operation and reports
   * it failed (which fails the stack that holds this StackSet). An organization always has accounts that cannot take
   * the stack (a Region-deny SCP, a suspended account, a quota): with 100, the operation always completes, failed
   * instances stay `OUTDATED` with their reason, and the next StackSet operation on them deploys them again.
   * @default 100
   */
  readonly failureTolerancePercentage?: number;
}

/**
 * A service-managed StackSet that deploys a CDK stack to every account of some organizational units, in some regions,
 * and to accounts that join those units later (automatic deployment; stacks are removed from accounts that leave).
 *
 * The template is the member stack's own synthesized template, embedded inline: no bucket, no assets, no bootstrap
 * in the member accounts. Synth fails if it holds assets or grows past CloudFormation's 51,200-byte `TemplateBody`
 * limit. Service-managed StackSets never deploy to the management account, even when it sits in a targeted unit.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html
 *
 * @example
 * new MemberStackSet(this, 'Members', {
 *   memberStack,
 *   organizationalUnitIds: ['ou-ab12-cdef3456'],
 *   regions: ['eu-west-1', 'us-east-1'],
 *   parameters: { CentralAccountId: Aws.ACCOUNT_ID },
 * });
 */
export class MemberStackSet extends Construct {
  /** The StackSet. */
  public readonly stackSet: CfnStackSet;

  constructor(scope: Construct, id: string, props: MemberStackSetProps) {
    super(scope, id);
    const { memberStack, organizationalUnitIds, regions } = props;
    const memberStage = Stage.of(memberStack);
    if (memberStage === undefined || memberStage === Stage.of(this)) {
      throw new Error(
        `MemberStackSet: memberStack "${memberStack.node.path}" must live in its own Stage (new Stage(app, 'Member')) ` +
          'so that its template is synthesized before this one embeds it.'
      );
    }
    if (organizationalUnitIds.length === 0) {
      throw new Error(
        'MemberStackSet: organizationalUnitIds must name at least one organizational unit, e.g. ["ou-ab12-cdef3456"].'
      );
    }
    if (regions.length === 0) {
      throw new Error('MemberStackSet: regions must name at least one region, e.g. ["eu-west-1"].');
    }
    const callAs = props.callAs ?? 'DELEGATED_ADMIN';
    if (!isCallAs(callAs)) {
      throw new Error(
        `MemberStackSet: callAs must be "SELF" (management account) or "DELEGATED_ADMIN", got "${callAs}".`
      );
    }
    const parameters = props.parameters ?? {};
    const failureTolerancePercentage = props.failureTolerancePercentage ?? 100;
    // An Integer in CloudFormation's schema: 12.5 or NaN would only fail at deploy time.
    if (!isPercentage(failureTolerancePercentage)) {
      throw new Error(
        `MemberStackSet: failureTolerancePercentage must be a whole number between 0 and 100, got ${failureTolerancePercentage}.`
      );
    }

    this.stackSet = new CfnStackSet(this, 'StackSet', {
      stackSetName: props.stackSetName ?? 'lambda-ecr-autofix-member',
      description: memberStack.templateOptions.description,
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs,
      capabilities: ['CAPABILITY_NAMED_IAM'],
      // Lets CloudFormation queue overlapping operations instead of failing the deploy.
      managedExecution: { Active: true },
      // Regions run in parallel: safe because the member template's one global resource, the registry role, lives in
      // exactly one configured region per account (a parameter that never changes), so no two regions of an account
      // ever create and delete it at the same time. SOFT_FAILURE_TOLERANCE keeps the concurrency at its maximum
      // whatever fails. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html
      operationPreferences: {
        regionConcurrencyType: 'PARALLEL',
        concurrencyMode: 'SOFT_FAILURE_TOLERANCE',
        maxConcurrentPercentage: 100,
        failureTolerancePercentage,
      },
      parameters: Object.entries(parameters).map(([parameterKey, parameterValue]) => ({
        parameterKey,
        parameterValue,
      })),
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: [...organizationalUnitIds] },
          regions: [...regions],
        },
      ],
      templateBody: Lazy.string({
        produce: () => renderTemplateBody(memberStack, Object.keys(parameters)),
      }),
    });
  }
}

/**
 * Whether `value` may be a StackSet percentage (`FailureTolerancePercentage`, an Integer from 0 to 100).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html
 */
export function isPercentage(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 100;
}

/** Whether `value` is a valid literal `CallAs` (a token is checked by CloudFormation). */
export function isCallAs(value: string): boolean {
  return Token.isUnresolved(value) || CALL_AS.includes(value);
}

/**
 * The member stack's template as compact JSON. Runs during synthesis, after the member's stage was synthesized
 * (nested stages are synthesized first, and `Stage.synth()` returns that cached assembly).
 */
function renderTemplateBody(memberStack: Stack, parameterKeys: readonly string[]): string {
  const stage = Stage.of(memberStack);
  if (stage === undefined) throw new Error('MemberStackSet: memberStack is not inside a Stage.');
  const artifact = stage.synth().getStackArtifact(memberStack.artifactId);
  const hasAssets =
    artifact.assets.length > 0 ||
    artifact.dependencies.some((dependency) => dependency instanceof AssetManifestArtifact);
  if (hasAssets) {
    throw new Error(
      `MemberStackSet: "${memberStack.node.path}" holds assets, which a StackSet template cannot carry. ` +
        'Remove the assets (Lambda code belongs in the central stack).'
    );
  }
  const template = artifact.template as { Parameters?: Record<string, unknown> };
  const declared = Object.keys(template.Parameters ?? {});
  const unknown = parameterKeys.filter((key) => !declared.includes(key));
  if (unknown.length > 0) {
    throw new Error(
      `MemberStackSet: parameters ${unknown.join(', ')} are not declared by "${memberStack.node.path}" ` +
        `(it declares ${declared.join(', ') || 'none'}).`
    );
  }
  const body = JSON.stringify(template);
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > TEMPLATE_BODY_LIMIT_BYTES) {
    throw new Error(
      `MemberStackSet: the template of "${memberStack.node.path}" is ${bytes} bytes; CloudFormation accepts at most ` +
        `${TEMPLATE_BODY_LIMIT_BYTES} bytes inline. Make the member stack smaller.`
    );
  }
  return body;
}
