/**
 * How a Lambda handler of this project is bundled, in one place for both builds of the same code:
 * - `FixerFunction` from the sources (`NodejsFunction` with the local esbuild), in this repository;
 * - `scripts/build-package.ts`, which bundles the handlers into `dist/handlers/` when the package is packed, so an
 *   installed package deploys the same bytes without esbuild, a lock file or Docker (test/infra/bundling.test.ts
 *   compares the two).
 */
import * as path from 'node:path';

/** The repository root, from this file (`lib/`). Only meaningful when running from the sources. */
export const REPOSITORY_ROOT = path.join(__dirname, '..');

/**
 * The handlers, by name: the name is also the directory of the prebuilt bundle (`dist/handlers/NAME/index.mjs`). A
 * new entry point (another Lambda function) is added here; the package build and `handlerCode` pick it up.
 */
export const HANDLER_ENTRIES = {
  fixer: 'lambda/handlers/sqs-fixer.ts',
  sweeper: 'lambda/handlers/sweep-handler.ts',
} as const;

export type HandlerName = keyof typeof HANDLER_ENTRIES;

/** The file the bundle is written to, and that Lambda loads (`index.handler`). */
export const BUNDLE_FILE = 'index.mjs';

/**
 * An ESM bundle still meets `require()` in CommonJS dependencies; esbuild calls the global `require` when one exists.
 * https://github.com/evanw/esbuild/issues/1921
 */
export const ESM_REQUIRE_SHIM =
  "import { createRequire as __lambdaEcrAutofixCreateRequire } from 'node:module';" +
  'const require = __lambdaEcrAutofixCreateRequire(import.meta.url);';

/**
 * The esbuild options, as `NodejsFunction`'s `bundling` names them:
 * - ESM for the Node.js 24 runtime (`node24`), minified;
 * - every dependency bundled, the AWS SDK v3 included (the versions the lock file pins, not whatever the runtime
 *   ships), tree-shaken; `module` before `main` so packages offer their tree-shakable ES build;
 * - a source map beside the code, with mappings only (a stack trace needs no sources; the map stays small).
 */
export const HANDLER_BUNDLING = {
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_SHIM,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
} as const;

/**
 * Modules replaced in the bundle (esbuild `alias`), as absolute paths of the replacements. In Lambda the execution
 * role's credentials are in the environment: the SDK's full default chain (SSO, profiles, web identity, IMDS, with
 * their nested clients) would only add code to every cold start.
 */
export function handlerModuleAliases(root: string = REPOSITORY_ROOT): Record<string, string> {
  return {
    '@aws-sdk/credential-provider-node': path.join(root, 'lambda/adapters/lambda-credentials.ts'),
  };
}
