/**
 * The build of the npm package (`npm run build:package`, run by `prepack`): everything an installed package needs,
 * under `dist/`, so a consumer needs neither TypeScript, esbuild, a lock file nor Docker:
 *
 * - `dist/lib/index.js`: the construct library (`lib/index.ts`), one CommonJS file with everything but its peer
 *   dependencies (`aws-cdk-lib`, `constructs`) inlined: the configuration schema and zod, so it has no runtime
 *   dependency of its own;
 * - `dist/types/`: its type declarations, only those reachable from `lib/index.d.ts`, which import nothing but the
 *   peer dependencies (checked here);
 * - `dist/handlers/NAME/index.mjs` (+ `.map`): each Lambda handler, bundled with exactly the options `FixerFunction`
 *   gives `NodejsFunction` (`HANDLER_BUNDLING`);
 * - `dist/cli.js`: the command line (`scripts/build-cli.mjs`), with its dependencies inlined.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

import { build } from 'esbuild';

import {
  BUNDLE_FILE,
  HANDLER_BUNDLING,
  HANDLER_ENTRIES,
  handlerModuleAliases,
  type HandlerName,
} from '../lib/handler-bundling';

const ROOT = join(__dirname, '..');

/** The modules the library leaves to the app that installs it (`peerDependencies`). */
export const PEER_MODULES = ['aws-cdk-lib', 'constructs'] as const;

/** Bundles handler `name` into `outdir/index.mjs` (and its source map), as `NodejsFunction` would. */
export async function bundleHandler(name: HandlerName, outdir: string): Promise<string> {
  const outfile = join(outdir, BUNDLE_FILE);
  await build({
    entryPoints: [join(ROOT, HANDLER_ENTRIES[name])],
    outfile,
    bundle: true,
    platform: 'node',
    format: HANDLER_BUNDLING.format,
    target: HANDLER_BUNDLING.target,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    banner: { js: HANDLER_BUNDLING.banner },
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    alias: handlerModuleAliases(ROOT),
    logLevel: 'warning',
  });
  return outfile;
}

/** Bundles the construct library into `outfile`, its peer dependencies left out. */
export async function bundleLibrary(outfile: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, 'lib', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // The app that synthesizes runs on the Node.js of its developer or pipeline, 20 or later (package.json engines).
    target: 'node20',
    external: PEER_MODULES.flatMap((name) => [name, `${name}/*`]),
    logLevel: 'warning',
  });
}

/** A module specifier the public type declarations may import. */
function allowedInDeclarations(specifier: string): boolean {
  return (
    specifier.startsWith('.') ||
    PEER_MODULES.some((peer) => specifier === peer || specifier.startsWith(`${peer}/`))
  );
}

/**
 * Emits the type declarations of `lib/index.ts` into `outdir`, keeps only those reachable from `lib/index.d.ts`, and
 * fails when one of them imports a module the consumer does not have (zod, the AWS SDK): its types would silently be
 * `any`, or fail to compile.
 */
export function emitDeclarations(outdir: string): string[] {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.package.json'],
    { cwd: ROOT, stdio: 'inherit' }
  );
  const entry = join(outdir, 'lib', 'index.d.ts');
  const reachable = new Set<string>();
  const problems: string[] = [];
  const visit = (file: string) => {
    if (reachable.has(file)) return;
    reachable.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g
    )) {
      const specifier = match[1] ?? match[2] ?? '';
      if (!allowedInDeclarations(specifier)) {
        problems.push(`${relative(outdir, file)} imports "${specifier}"`);
      } else if (specifier.startsWith('.')) {
        visit(resolve(dirname(file), `${specifier}.d.ts`));
      }
    }
  };
  visit(entry);
  if (problems.length > 0) {
    throw new Error(
      `The public type declarations must import only ${PEER_MODULES.join(' and ')}: ${problems.join('; ')}. ` +
        'Keep such types out of the public API (lib/index.ts).'
    );
  }
  for (const file of filesUnder(outdir)) {
    if (!reachable.has(file)) rmSync(file);
  }
  removeEmptyDirectories(outdir);
  return [...reachable].map((file) => relative(outdir, file)).sort();
}

/** Removes the directories under `directory` that hold no file (deepest first). */
function removeEmptyDirectories(directory: string): void {
  const directories = readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(directory, entry))
    .filter((path) => statSync(path).isDirectory())
    .sort((a, b) => b.length - a.length);
  for (const path of directories) {
    if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
  }
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(directory, entry))
    .filter((path) => statSync(path).isFile());
}

async function main(): Promise<void> {
  const dist = join(ROOT, 'dist');
  rmSync(dist, { recursive: true, force: true });

  await bundleLibrary(join(dist, 'lib', 'index.js'));
  const declarations = emitDeclarations(join(dist, 'types'));
  for (const name of Object.keys(HANDLER_ENTRIES) as HandlerName[]) {
    const file = await bundleHandler(name, join(dist, 'handlers', name));
    const gzip = gzipSync(readFileSync(file)).length;
    console.error(`dist/handlers/${name}/${BUNDLE_FILE}: ${(gzip / 1024).toFixed(1)} KB gzip`);
  }
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  for (const file of ['lib/index.js', 'cli.js']) {
    if (!existsSync(join(dist, file))) throw new Error(`dist/${file} was not built.`);
  }
  console.error(`dist/types: ${declarations.length} declaration files`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
