/**
 * The credentials of the fixer Lambda: its execution role's, which the Lambda runtime puts in the environment.
 *
 * The Lambda bundle maps `@aws-sdk/credential-provider-node` (the SDK clients' default chain: environment, SSO,
 * profiles, web identity, process, container and instance metadata) to this module. In Lambda only the environment
 * applies, and the rest of the chain would add about 90 KB of code (including nested STS/SSO clients) to every cold
 * start. The CLI and the tests keep the full chain.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** Same name and shape as `@aws-sdk/credential-provider-node`'s export, which the SDK clients import. */
export const defaultProvider: typeof fromEnv = (init) => fromEnv(init);
