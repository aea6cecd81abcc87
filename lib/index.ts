/**
 * lambda-ecr-autofix as a construct library, for CDK apps of your own (README, "Use it in your own CDK app"):
 *
 * - `LambdaEcrAutofix`: everything in the central account (and, with `memberDeployment`, the StackSet in a stack of
 *   its own);
 * - `LambdaEcrAutofixMemberDeployment`: the StackSet, in a stack you choose;
 * - `LambdaEcrAutofixMember`: what a member account needs, for member accounts deployed by your own pipelines;
 * - `LambdaEcrAutofixMemberStack`: that as a parameterized stack needing no CDK bootstrap (the StackSet's template).
 *
 * The package ships the fixer prebuilt: no esbuild, no lock file and no Docker at synth time.
 */
export {
  LambdaEcrAutofix,
  type LambdaEcrAutofixProps,
  type LambdaEcrAutofixMemberDeploymentOptions,
} from './lambda-ecr-autofix';
export {
  LambdaEcrAutofixMember,
  type LambdaEcrAutofixMemberProps,
  type LambdaEcrAutofixMemberSettings,
} from './lambda-ecr-autofix-member';
export {
  LambdaEcrAutofixMemberDeployment,
  type LambdaEcrAutofixMemberDeploymentProps,
} from './lambda-ecr-autofix-member-deployment';
export {
  LambdaEcrAutofixMemberStack,
  MEMBER_PARAMETERS,
  type LambdaEcrAutofixMemberStackProps,
} from './lambda-ecr-autofix-member-stack';
export { ConfigError } from '../lambda/domain/config-error';
