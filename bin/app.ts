#!/usr/bin/env node
/**
 * CDK app: reads the `lambda-ecr-autofix` context, declares the stacks with the project's own construct library and
 * checks them with cdk-nag. Wiring only.
 */
import { App, Aspects, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, WriteNagSuppressionsToCloudFormationAspect } from 'cdk-nag';

import { ConfigError } from '../lib';
import { defineLambdaEcrAutofix, readConfig } from '../lib/lambda-ecr-autofix-app';

const app = new App();
try {
  const { member, memberTemplate } = defineLambdaEcrAutofix(app, readConfig(app), {
    // Where the CLI deploys (its profile or AWS_REGION); unset offline, which keeps the stacks environment-agnostic.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // Synth fails on any unacknowledged finding; acknowledgements are written into the templates as an audit trail.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true })
  );
  // Aspects stop at stage boundaries: the member stages (the standalone stack, the StackSet's template) need their own.
  for (const stack of [member, memberTemplate]) {
    if (stack) Aspects.of(stack).add(new WriteNagSuppressionsToCloudFormationAspect());
  }
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
