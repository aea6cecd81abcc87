import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';

import { Template } from 'aws-cdk-lib/assertions';

import { bundleHandler } from '../../scripts/package-build';
import { buildApp } from './app-fixture';

/** The one test that bundles the fixer for real: with the local esbuild, never Docker. */
describe('fixer bundle', () => {
  let outdir: string;
  let code: string;
  let sourceMap: { sources: string[] };
  let template: Template;
  let directory: string;

  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-bundle-'));
    const { stacks } = buildApp({}, { bundling: true, outdir });
    template = Template.fromStack(stacks.central);
    // The fixer's asset (the sweeper has its own): the one its function's code points to.
    const fixer = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (fn) =>
        (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties
          .Environment.Variables['MAX_RECEIVE_COUNT'] !== undefined
    ) as { Properties: { Code: { S3Key: string } } };
    directory = path.join(outdir, `asset.${fixer.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    code = fs.readFileSync(path.join(directory, 'index.mjs'), 'utf8');
    sourceMap = JSON.parse(fs.readFileSync(path.join(directory, 'index.mjs.map'), 'utf8')) as {
      sources: string[];
    };
  });

  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  // The bundle is about 1 MB on one line: assertions compute booleans so a failure does not print it.

  it('is an ES module exporting handler, loaded as index.handler', () => {
    // Assert
    expect(/export\s*\{[^}]*\bas handler\b[^}]*\}|export\s*\{\s*handler\s*\}/.test(code)).toBe(
      true
    );
    expect(/\bmodule\.exports\s*=|\bexports\.handler\s*=/.test(code)).toBe(false);
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler' });
  });

  it('defines require for CommonJS dependencies bundled into the ES module', () => {
    // Assert
    expect(code.slice(0, 120)).toMatch(
      /^import \{ createRequire as __lambdaEcrAutofixCreateRequire \} from 'node:module';const require =/
    );
  });

  it('is minified, with a source map back to the TypeScript handler', () => {
    // Arrange: esbuild keeps line breaks only inside template literals.
    const averageLineLength = code.length / code.split('\n').length;

    // Assert
    expect(averageLineLength).toBeGreaterThan(1000);
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
    expect(
      sourceMap.sources.filter((source) => source.endsWith('lambda/handlers/sqs-fixer.ts'))
    ).toHaveLength(1);
  });

  it('bundles every dependency, the AWS SDK included: it imports Node.js built-ins only', () => {
    // Arrange
    const statements =
      /\bimport\s*(?:\{[^}]*\}|\*\s*as\s+[\w$]+|[\w$]+)\s*from\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
    const imported = [...code.matchAll(statements)].map((match) => match[1] ?? match[2] ?? '');
    const builtins = new Set(builtinModules);

    // Assert
    expect(imported.length).toBeGreaterThan(0);
    expect(
      imported.filter((specifier) => !specifier.startsWith('node:') && !builtins.has(specifier))
    ).toEqual([]);
    expect(code.includes('@aws-sdk/client-ecr') || code.includes('SetRepositoryPolicy')).toBe(true);
  });

  it('stays within its size goal of 150 KB gzip (BENCHMARKS.md)', () => {
    // Assert
    expect(gzipSync(code).length).toBeLessThanOrEqual(150 * 1024);
  });

  it('is byte for byte the bundle the package ships (scripts/package-build.ts, run when it is packed)', async () => {
    // Arrange
    const packed = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-packed-'));

    try {
      // Act
      const file = await bundleHandler('fixer', packed);
      const packedCode = fs.readFileSync(file, 'utf8');
      const packedMap = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as { mappings: string };
      const deployedMap = JSON.parse(
        fs.readFileSync(path.join(directory, 'index.mjs.map'), 'utf8')
      ) as { mappings: string };

      // Assert: the code, and the map's mappings (its source paths are relative to each output directory).
      expect(packedCode === code).toBe(true);
      expect(packedMap.mappings === deployedMap.mappings).toBe(true);
    } finally {
      fs.rmSync(packed, { recursive: true, force: true });
    }
  });
});

/** The sweeper is the fixer's second entry point: bundled the same way, as its own asset. */
describe('sweeper bundle', () => {
  let outdir: string;
  let code: string;
  let sources: string[];
  let directory: string;

  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-sweeper-bundle-'));
    const { stacks } = buildApp({}, { bundling: true, outdir });
    const sweeper = Object.entries(
      Template.fromStack(stacks.central).findResources('AWS::Lambda::Function')
    ).find(([id]) => id.startsWith('Sweeper'))?.[1] as { Properties: { Code: { S3Key: string } } };
    directory = path.join(outdir, `asset.${sweeper.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    code = fs.readFileSync(path.join(directory, 'index.mjs'), 'utf8');
    sources = (
      JSON.parse(fs.readFileSync(path.join(directory, 'index.mjs.map'), 'utf8')) as {
        sources: string[];
      }
    ).sources;
  });

  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  it('exports the sweep handler, not the deploy-event handler, and imports Node.js built-ins only', () => {
    const imported = [
      ...code.matchAll(
        /\bimport\s*(?:\{[^}]*\}|\*\s*as\s+[\w$]+|[\w$]+)\s*from\s*["']([^"']+)["']/g
      ),
    ].map((match) => match[1] ?? '');
    const builtins = new Set(builtinModules);

    expect(/export\s*\{[^}]*\bas handler\b[^}]*\}|export\s*\{\s*handler\s*\}/.test(code)).toBe(
      true
    );
    expect(
      sources.filter((source) => source.endsWith('lambda/handlers/sweep-handler.ts'))
    ).toHaveLength(1);
    expect(
      sources.filter((source) => source.endsWith('lambda/handlers/sqs-fixer.ts'))
    ).toHaveLength(0);
    expect(
      imported.filter((specifier) => !specifier.startsWith('node:') && !builtins.has(specifier))
    ).toEqual([]);
  });

  it('is byte for byte the sweeper bundle the package ships', async () => {
    // Arrange
    const packed = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-packed-sweeper-'));

    try {
      // Act
      const file = await bundleHandler('sweeper', packed);

      // Assert
      expect(fs.readFileSync(file, 'utf8') === code).toBe(true);
    } finally {
      fs.rmSync(packed, { recursive: true, force: true });
    }
  });
});
