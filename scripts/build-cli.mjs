// Bundles the command line into dist/cli.js so the package's `bin` entry runs without a TypeScript loader.
import { build } from 'esbuild';

await build({
  entryPoints: ['bin/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
