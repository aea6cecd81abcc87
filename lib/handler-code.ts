/**
 * Where a handler's code comes from: the bundle prebuilt into the installed package, or the sources of this
 * repository (bundled at synth time by the local esbuild).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  BUNDLE_FILE,
  HANDLER_ENTRIES,
  handlerModuleAliases,
  type HandlerName,
} from './handler-bundling';

/** A directory holding `index.mjs` (and its source map), deployed as it is. */
export interface PrebuiltHandlerCode {
  readonly prebuiltDirectory: string;
}

/** A TypeScript entry point, bundled by `NodejsFunction` with the local esbuild. */
export interface SourceHandlerCode {
  /** Path of the TypeScript handler file; it must export `handler`. */
  readonly entry: string;
  /** Path of the lock file that pins the bundled dependencies; its directory is the project root. */
  readonly depsLockFilePath: string;
  /**
   * Modules the bundler replaces by others (esbuild `alias`), as absolute paths of the replacements.
   * @default - none
   */
  readonly moduleAliases?: Readonly<Record<string, string>>;
}

export type HandlerCode = PrebuiltHandlerCode | SourceHandlerCode;

export class HandlerCodeMissingError extends Error {
  constructor(name: string, prebuilt: string, source: string) {
    super(
      `lambda-ecr-autofix: the ${name} handler has neither a prebuilt bundle (${prebuilt}) nor its sources ` +
        `(${source}). Reinstall the package (its bundle is built when it is packed), or run \`npm ci\` in a clone.`
    );
    this.name = 'HandlerCodeMissingError';
  }
}

/**
 * The code of handler `name`. The package build bundles the library into `dist/lib/index.js` and the handlers into
 * `dist/handlers/NAME/`, so from the installed package `<this module>/../handlers/NAME/index.mjs` exists and is used as
 * it is. From the sources (`lib/handler-code.ts`) that path is `<repository>/handlers/…`, which never exists: the
 * handler is bundled from `lambda/handlers/` with the repository's lock file, as before.
 *
 * @param moduleDirectory the directory of the running library module (`__dirname`); a parameter for the tests.
 */
export function handlerCode(name: HandlerName, moduleDirectory: string = __dirname): HandlerCode {
  const prebuilt = path.join(moduleDirectory, '..', 'handlers', name);
  if (fs.existsSync(path.join(prebuilt, BUNDLE_FILE))) return { prebuiltDirectory: prebuilt };
  const root = path.join(moduleDirectory, '..');
  const entry = path.join(root, HANDLER_ENTRIES[name]);
  if (!fs.existsSync(entry)) throw new HandlerCodeMissingError(name, prebuilt, entry);
  return {
    entry,
    depsLockFilePath: path.join(root, 'package-lock.json'),
    moduleAliases: handlerModuleAliases(root),
  };
}
