/**
 * The whole product as CDK stacks, for `bin/app.ts` and the infrastructure tests alike:
 * - `LambdaEcrAutofix`, the central stack (`cdk deploy --all` deploys it, and through its StackSet the members);
 * - `Member/LambdaEcrAutofixMember`, the member stack in its own stage, when `organizationId` is set. Being in a stage
 *   keeps it out of `cdk deploy --all` (which deploys top-level stacks only); deploy it by name into member accounts
 *   that StackSets do not reach.
 */
import { Stage, type App } from 'aws-cdk-lib';

import { ConfigError, parseConfig, type Config } from '../lambda/domain/config';
import { CentralStack } from './central-stack';
import { MemberStack } from './member-stack';
import { CENTRAL_STACK_NAME, CONTEXT_KEY, MEMBER_STACK_NAME, MEMBER_STAGE_ID } from './names';

export interface LambdaEcrAutofixStacks {
  /** The central stack. */
  readonly central: CentralStack;
  /** The standalone member stack; absent when `organizationId` is not set. */
  readonly member?: MemberStack;
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
export function defineLambdaEcrAutofix(app: App, config: Config): LambdaEcrAutofixStacks {
  const member =
    config.organizationId === undefined
      ? undefined
      : new MemberStack(new Stage(app, MEMBER_STAGE_ID), MEMBER_STACK_NAME, {
          config,
          stackName: MEMBER_STACK_NAME,
        });
  const central = new CentralStack(app, CENTRAL_STACK_NAME, { config, memberStack: member });
  return { central, member };
}
