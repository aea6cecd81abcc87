/**
 * This repository's own CDK app, for `bin/app.ts` and the infrastructure tests alike. It uses the construct library
 * exactly as another app would, through the package root (`./index`):
 * - `LambdaEcrAutofix`, the central stack, holding a `LambdaEcrAutofix` (and its outputs);
 * - `LambdaEcrAutofixMemberDeployment`, with `memberDeployment`: the stack `LambdaEcrAutofix` adds for the StackSet,
 *   deployed after the central stack (`cdk deploy --all` deploys both, in that order);
 * - `Member/LambdaEcrAutofixMember`, a `LambdaEcrAutofixMemberStack` in its own stage, when `organizationId` is set.
 *   Being in a stage keeps it out of `cdk deploy --all` (which deploys top-level stacks only); deploy it by name into
 *   member accounts that StackSets do not reach.
 */
import { Aws, CfnOutput, Fn, Stack, Stage, type App, type Environment } from 'aws-cdk-lib';

import { parseConfig, type Config } from '../lambda/domain/config';
import {
  ConfigError,
  LambdaEcrAutofix,
  LambdaEcrAutofixMemberStack,
  type LambdaEcrAutofixMemberDeployment,
} from './index';
import { CENTRAL_STACK_NAME, CONTEXT_KEY, MEMBER_STACK_NAME, MEMBER_STAGE_ID } from './names';

export interface LambdaEcrAutofixStacks {
  /** The central stack. */
  readonly central: Stack;
  /** The central construct in it. */
  readonly autofix: LambdaEcrAutofix;
  /** The standalone member stack; absent when `organizationId` is not set. */
  readonly member?: LambdaEcrAutofixMemberStack;
  /** The StackSet's stack; present when `memberDeployment` is set. */
  readonly memberDeployment?: Stack;
  /** The member stack the StackSet embeds (in a stage inside the StackSet's stack). */
  readonly memberTemplate?: LambdaEcrAutofixMemberStack;
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
  const context: unknown = app.node.tryGetContext(CONTEXT_KEY);
  // A string comes from the command line: the message must not send the reader to cdk.json.
  const source =
    typeof context === 'string' ? `-c ${CONTEXT_KEY}` : `cdk.json context "${CONTEXT_KEY}"`;
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
  const central = new Stack(app, CENTRAL_STACK_NAME, {
    description:
      'lambda-ecr-autofix central: fixes ECR repository policies when Lambda may not pull a container image',
    env: options.env,
  });
  // Id "Default": the construct adds nothing to the logical ids, which stay those of the stacks deployed before the
  // construct library existed. A new logical id would replace the audit table (retained, so its records would be
  // left behind), the queues and every named resource.
  const autofix = new LambdaEcrAutofix(central, 'Default', config);
  addCentralOutputs(central, autofix);

  const member =
    autofix.memberSettings === undefined
      ? undefined
      : new LambdaEcrAutofixMemberStack(new Stage(app, MEMBER_STAGE_ID), MEMBER_STACK_NAME, {
          ...autofix.memberSettings,
          stackName: MEMBER_STACK_NAME,
        });
  const deployment: LambdaEcrAutofixMemberDeployment | undefined = autofix.memberDeployment;
  return {
    central,
    autofix,
    member,
    memberDeployment: deployment === undefined ? undefined : Stack.of(deployment),
    memberTemplate: deployment?.memberStack,
  };
}

/** What an operator needs from the central stack, as outputs (docs/operations.md refers to them by name). */
function addCentralOutputs(stack: Stack, autofix: LambdaEcrAutofix): void {
  new CfnOutput(stack, 'EventBusArn', {
    description: 'Central bus the member accounts forward to',
    value: autofix.eventBus.eventBusArn,
  });
  new CfnOutput(stack, 'FixerRoleArn', {
    description: 'Role the member registry roles trust (by its ARN)',
    value: autofix.fixerRole.roleArn,
  });
  new CfnOutput(stack, 'TopicArn', {
    description: 'Notifications (subscribe more endpoints here)',
    value: autofix.topic.topicArn,
  });
  new CfnOutput(stack, 'QueueArn', { value: autofix.queue.queueArn });
  new CfnOutput(stack, 'DeadLetterQueueArn', {
    description:
      'Replay (as ReplayRoleArn): aws sqs start-message-move-task --source-arn <DeadLetterQueueArn> ' +
      '--destination-arn <QueueArn>; the ReplayCommand output has both filled in',
    value: autofix.deadLetterQueue.queueArn,
  });
  new CfnOutput(stack, 'ReplayRoleArn', {
    description:
      'The only principal besides the rules that may send to the work queue: assume it to replay dead letters',
    value: autofix.replayRole.roleArn,
  });
  new CfnOutput(stack, 'ReplayCommand', {
    description:
      'Replays the dead letters into the work queue; run it as ReplayRoleArn (docs/operations.md)',
    value: Fn.join('', [
      'aws sqs start-message-move-task --source-arn ',
      autofix.deadLetterQueue.queueArn,
      ' --destination-arn ',
      autofix.queue.queueArn,
      ' --max-number-of-messages-per-second 10',
    ]),
  });
  new CfnOutput(stack, 'AuditTableName', { value: autofix.table.tableName });
  if (autofix.sweepQueue !== undefined && autofix.sweepDeadLetterQueue !== undefined) {
    new CfnOutput(stack, 'SweepQueueArn', {
      description:
        'Sweep requests and continuations (replay sweeps from the sweep dead-letter queue here)',
      value: autofix.sweepQueue.queueArn,
    });
    new CfnOutput(stack, 'SweepDeadLetterQueueArn', {
      description: 'Sweeps that failed 5 times; replay as ReplayRoleArn into SweepQueueArn',
      value: autofix.sweepDeadLetterQueue.queueArn,
    });
  }
  new CfnOutput(stack, 'DashboardUrl', {
    value: Fn.join('', [
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/`,
      autofix.dashboard.dashboardName,
    ]),
  });
}
