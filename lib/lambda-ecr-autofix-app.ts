/**
 * The whole product as CDK stacks, for `bin/app.ts` and the infrastructure tests alike:
 * - `LambdaEcrAutofix`, the central stack;
 * - `LambdaEcrAutofixMemberDeployment`, with `memberDeployment`: the StackSet that installs the member stack, deployed
 *   after the central stack (`cdk deploy --all` deploys both, in that order);
 * - `Member/LambdaEcrAutofixMember`, the member stack in its own stage, when `organizationId` is set. Being in a stage
 *   keeps it out of `cdk deploy --all` (which deploys top-level stacks only); deploy it by name into member accounts
 *   that StackSets do not reach.
 */
import { Stage, type App, type Environment } from 'aws-cdk-lib';

import { ConfigError, parseConfig, type Config } from '../lambda/domain/config';
import { CentralStack } from './central-stack';
import { MemberDeploymentStack } from './member-deployment-stack';
import { MemberStack } from './member-stack';
import {
  CENTRAL_STACK_NAME,
  CONTEXT_KEY,
  MEMBER_DEPLOYMENT_STACK_NAME,
  MEMBER_STACK_NAME,
  MEMBER_STAGE_ID,
} from './names';

export interface LambdaEcrAutofixStacks {
  /** The central stack. */
  readonly central: CentralStack;
  /** The standalone member stack; absent when `organizationId` is not set. */
  readonly member?: MemberStack;
  /** The StackSet's stack; present when `memberDeployment` is set. */
  readonly memberDeployment?: MemberDeploymentStack;
}

export interface DefineOptions {
  /**
   * Account and region of the central stack and the member deployment stack (both must share them), usually
   * `CDK_DEFAULT_ACCOUNT` / `CDK_DEFAULT_REGION` from the CLI. With a known region, synth warns when the central
   * region is missing from `memberDeployment.regions`.
   * @default - environment-agnostic: wherever `cdk deploy` deploys
   */
  readonly env?: Environment;
}

/**
 * Reads and validates the `lambda-ecr-autofix` context (`cdk.json`, or `-c lambda-ecr-autofix='{…}'` on the command
 * line, which arrives as a string). Throws `ConfigError` naming each bad key, the value and the fix.
 */
export function readConfig(app: App): Config {
  const source = `cdk.json context "${CONTEXT_KEY}"`;
  const context: unknown = app.node.tryGetContext(CONTEXT_KEY);
  let value = context;
  if (typeof context === 'string') {
    try {
      value = JSON.parse(context);
    } catch {
      throw new ConfigError(source, [
        `expected a JSON object, got ${JSON.stringify(context.slice(0, 77))}: quote the whole object, e.g. ` +
          `-c ${CONTEXT_KEY}='{"organizationId":"o-a1b2c3d4e5"}'`,
      ]);
    }
  }
  return parseConfig(value, source);
}

/** Declares the stacks of lambda-ecr-autofix in `app`. */
export function defineLambdaEcrAutofix(
  app: App,
  config: Config,
  options: DefineOptions = {}
): LambdaEcrAutofixStacks {
  const member =
    config.organizationId === undefined
      ? undefined
      : new MemberStack(new Stage(app, MEMBER_STAGE_ID), MEMBER_STACK_NAME, {
          config,
          stackName: MEMBER_STACK_NAME,
        });
  const central = new CentralStack(app, CENTRAL_STACK_NAME, { config, env: options.env });
  const memberDeployment =
    config.memberDeployment === undefined || member === undefined
      ? undefined
      : new MemberDeploymentStack(app, MEMBER_DEPLOYMENT_STACK_NAME, {
          memberDeployment: config.memberDeployment,
          memberStack: member,
          central,
          env: options.env,
        });
  return { central, member, memberDeployment };
}
