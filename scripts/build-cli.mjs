// Bundles the command line into dist/cli.js (or the file given as the first argument) so the package's `bin` entry
// runs without a TypeScript loader. The bundle reads package.json, examples/ and docs/ beside its own folder.
import { build } from 'esbuild';

await build({
  entryPoints: ['bin/cli.ts'],
  outfile: process.argv[2] ?? 'dist/cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
