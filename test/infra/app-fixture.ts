/**
 * Builds the CDK app the way bin/app.ts does, for the infrastructure tests: bundling skipped (unless asked for), the
 * built-in CloudFormation validation off (cfn-lint checks every template in cfn-lint.test.ts; the built-in engine would
 * add about 20 s to each app), and cdk-nag's acknowledgements written into the templates as bin/app.ts writes them.
 */
import { App, Aspects, type Environment, type Stack } from 'aws-cdk-lib';
import { Annotations, type Template } from 'aws-cdk-lib/assertions';
import { WriteNagSuppressionsToCloudFormationAspect } from 'cdk-nag';

import { parseConfig, type ConfigInput } from '../../lambda/domain/config';
import type { LambdaEcrAutofixProps } from '../../lib';
import {
  defineLambdaEcrAutofix,
  type LambdaEcrAutofixStacks,
} from '../../lib/lambda-ecr-autofix-app';

/** An organization-wide installation: what `npx cdk deploy --all` would install with a complete cdk.json. */
export const ORGANIZATION_CONFIG: ConfigInput = {
  notificationEmails: ['ops@example.com', 'platform-team@example.com'],
  organizationId: 'o-a1b2c3d4e5',
  memberDeployment: {
    organizationalUnitIds: ['ou-ab12-cdef3456', 'ou-ab12-ghij7890'],
    regions: ['eu-west-1', 'us-east-1'],
    registryRoleRegion: 'eu-west-1',
  },
};

/**
 * The same installation without the scheduled sweep: the tests of the event intake, the fixer and the member stack
 * check it resource by resource; test/infra/sweep.test.ts checks exactly what the sweep adds to it.
 */
export const WITHOUT_SWEEPS: ConfigInput = { ...ORGANIZATION_CONFIG, sweepSchedule: 'off' };

/** Every name prop of `LambdaEcrAutofix`, changed from its default. */
export const CUSTOM_NAMES = {
  eventBusName: 'platform-autofix-bus',
  fixerRoleName: 'platform-autofix-fixer',
  registryRoleName: 'platform-autofix-registry',
  queueName: 'platform-autofix-work',
  deadLetterQueueName: 'platform-autofix-dead-letters',
  sweepQueueName: 'platform-autofix-sweeps',
  auditTableName: 'platform-autofix-audit',
  topicName: 'platform-autofix-notices',
  dashboardName: 'platform-autofix',
  stackSetName: 'platform-autofix-members',
} as const satisfies Partial<LambdaEcrAutofixProps>;

export interface BuiltApp {
  readonly app: App;
  readonly stacks: LambdaEcrAutofixStacks;
}

export interface BuildOptions {
  /** Bundle the fixer with esbuild (slow; one test does it). */
  readonly bundling?: boolean;
  /** Cloud assembly directory. */
  readonly outdir?: string;
  /** Account and region of the central and member deployment stacks (default: environment-agnostic). */
  readonly env?: Environment;
}

/** Declares the app from a configuration input (validated like cdk.json's). */
export function buildApp(input: ConfigInput, options: BuildOptions = {}): BuiltApp {
  const app = new App({
    context: options.bundling === true ? {} : { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
    outdir: options.outdir,
  });
  const stacks = defineLambdaEcrAutofix(app, parseConfig(input, 'test'), { env: options.env });
  for (const scope of [app, stacks.member, stacks.memberTemplate]) {
    if (scope) Aspects.of(scope).add(new WriteNagSuppressionsToCloudFormationAspect());
  }
  return { app, stacks };
}

/** The member stack, or a failed expectation when the configuration produced none. */
export function memberOf(built: BuiltApp): Stack {
  if (built.stacks.member === undefined) throw new Error('This configuration has no member stack.');
  return built.stacks.member;
}

/** The member stack the StackSet embeds, or a failed expectation when the configuration produced none. */
export function memberTemplateOf(built: BuiltApp): Stack {
  const stack = built.stacks.memberTemplate;
  if (stack === undefined) throw new Error('This configuration has no member deployment stack.');
  return stack;
}

/** The member deployment stack (the StackSet), or a failed expectation when the configuration produced none. */
export function memberDeploymentOf(built: BuiltApp): Stack {
  const stack = built.stacks.memberDeployment;
  if (stack === undefined) throw new Error('This configuration has no member deployment stack.');
  return stack;
}

/** A synthesized resource. */
export interface CfnResourceJson {
  readonly Type: string;
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly Properties?: Record<string, unknown>;
}

/** A synthesized template, typed as far as the tests read it. */
export interface CfnTemplateJson {
  readonly Resources: Record<string, CfnResourceJson>;
  readonly Parameters?: Record<string, unknown>;
  readonly Conditions?: Record<string, unknown>;
  readonly Rules?: Record<string, unknown>;
}

/** The template as typed JSON. */
export function templateJson(template: Template): CfnTemplateJson {
  return template.toJSON() as CfnTemplateJson;
}

/** One resource by logical id. */
export function resourceById(template: Template, logicalId: string): CfnResourceJson {
  const resource = templateJson(template).Resources[logicalId];
  if (resource === undefined) throw new Error(`No resource ${logicalId} in the template.`);
  return resource;
}

/** Every resource of a type, as `[logicalId, resource]` pairs. */
export function resourcesOf(template: Template, type: string): Array<[string, CfnResourceJson]> {
  return Object.entries(templateJson(template).Resources).filter(([, r]) => r.Type === type);
}

// Named assert*, which the lint rule jest/expect-expect counts as assertions.

/** `template.hasResourceProperties`. */
export function assertResourceProperties(template: Template, type: string, props: unknown): void {
  template.hasResourceProperties(type, props);
}

/** `template.hasResource` (properties and resource attributes such as DeletionPolicy). */
export function assertResource(template: Template, type: string, props: unknown): void {
  template.hasResource(type, props);
}

/** `template.resourceCountIs`. */
export function assertResourceCount(template: Template, type: string, count: number): void {
  template.resourceCountIs(type, count);
}

/** `template.hasParameter`. */
export function assertParameter(template: Template, logicalId: string, props: unknown): void {
  template.hasParameter(logicalId, props);
}

/** `Annotations.hasNoWarning` on a stack. */
export function assertNoWarning(stack: Stack, constructPath: string, message: unknown): void {
  Annotations.fromStack(stack).hasNoWarning(constructPath, message);
}

/** `Annotations.hasWarning` on a stack. */
export function assertWarning(stack: Stack, constructPath: string, message: unknown): void {
  Annotations.fromStack(stack).hasWarning(constructPath, message);
}

/** One IAM policy statement as synthesized. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
}

/** Every identity-policy statement that applies to a role: its inline policies and the policies attached to it. */
export function statementsOfRole(template: Template, roleLogicalId: string): Statement[] {
  const role = resourceById(template, roleLogicalId).Properties as {
    Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }>;
  };
  const inline = (role.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement);
  const attached = resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      (policy.Properties?.Roles as unknown[]).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleLogicalId })
      )
    )
    .flatMap(
      ([, policy]) => (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement
    );
  return [...inline, ...attached];
}

/** A statement's actions as a list. */
export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** A statement's resources rendered as strings (see `render`). */
export function resourcesOfStatement(statement: Statement): string[] {
  const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
  return resources.map(render);
}

/**
 * Renders a CloudFormation value as a readable string: `{Ref: X}` → `${X}`, `Fn::GetAtt [X, Arn]` → `${X.Arn}`,
 * `Fn::Join` joined. Good enough to compare ARNs built by CDK.
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return `\${${object.Ref}}`;
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `\${${getAtt.join('.')}}`;
    const join = object['Fn::Join'];
    if (Array.isArray(join)) {
      const [separator, parts] = join as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  return JSON.stringify(value);
}
