/**
 * A configuration that cannot be used, with every problem in words (the key, the value received and the fix). Its own
 * module, free of the schema, so that the construct library's type declarations can export it without zod's types.
 */
export class ConfigError extends Error {
  constructor(
    /** Where the configuration came from, e.g. `cdk.json context "lambda-ecr-autofix"`. */
    readonly source: string,
    /** One sentence per problem. */
    readonly problems: readonly string[]
  ) {
    super(`Invalid configuration in ${source}: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}
