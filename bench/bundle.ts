/**
 * The deployable bundle: its size as `cdk synth` produces it, and how long Node.js takes to load it, against a naive
 * bundle of the ECR, STS and SNS clients and a bare `node -e 0`, measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { App } from 'aws-cdk-lib';
import { build } from 'esbuild';

import { parseConfig } from '../lambda/domain/config';
import { defineLambdaEcrAutofix } from '../lib/lambda-ecr-autofix-app';
import type { Summary } from './stats';
import { summarize } from './stats';

/** The fixer bundled by esbuild with FixerFunction's options, without and with the Powertools Tracer. */
export interface TracerVariant {
  readonly withoutBytes: number;
  readonly withoutGzipBytes: number;
  readonly withBytes: number;
  readonly withGzipBytes: number;
}

export interface BundleResult {
  readonly codeBytes: number;
  readonly codeGzipBytes: number;
  readonly mapBytes: number;
  readonly mapGzipBytes: number;
  readonly naiveBytes: number;
  /** The sweeper's bundle (the fixer's second entry point, its own asset). */
  readonly sweeperBytes: number;
  readonly sweeperGzipBytes: number;
  readonly naiveGzipBytes: number;
  readonly load: Readonly<
    Record<
      'bare' | 'naive' | 'fixer' | 'fixerWithSourceMaps' | 'variantWithout' | 'variantWithTracer',
      Summary
    >
  >;
  /** What adding `@aws-lambda-powertools/tracer` (SDK clients captured) would cost; tracing is off because of it. */
  readonly tracer: TracerVariant;
  readonly runs: number;
  /** Creating the fixer's dependencies (configuration, Powertools, SDK clients), no AWS call: first invocation. */
  readonly init: Summary;
}

const ROOT = join(__dirname, '..');

/**
 * Synthesizes the central stack with real bundling (local esbuild) and returns the asset directories of the fixer and
 * of the sweeper (each function's code names its asset).
 */
function synthesizeBundle(outdir: string): { fixer: string; sweeper: string } {
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const { central } = defineLambdaEcrAutofix(
    app,
    parseConfig({ notificationEmails: ['ops@example.com'] }, 'bench')
  );
  app.synth();
  const template = JSON.parse(
    readFileSync(join(outdir, `${central.artifactId}.template.json`), 'utf8')
  ) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const assetOf = (prefix: string): string => {
    const found = Object.entries(template.Resources).find(
      ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.startsWith(prefix)
    );
    const key = (found?.[1].Properties?.['Code'] as { S3Key?: string } | undefined)?.S3Key;
    if (key === undefined) throw new Error(`no ${prefix} function in ${outdir}`);
    const directory = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    if (!readdirSync(directory).includes('index.mjs')) throw new Error(`no bundle in ${directory}`);
    return directory;
  };
  return { fixer: assetOf('Fixer'), sweeper: assetOf('Sweeper') };
}

/** What a first attempt looks like: the aggregated clients, CommonJS, no minification, no aliasing. */
async function naiveBundle(directory: string): Promise<string> {
  const entry = join(directory, 'naive.ts');
  writeFileSync(
    entry,
    [
      "import { ECR } from '@aws-sdk/client-ecr';",
      "import { STS } from '@aws-sdk/client-sts';",
      "import { SNS } from '@aws-sdk/client-sns';",
      'export const clients = [ECR, STS, SNS];',
    ].join('\n')
  );
  const outfile = join(directory, 'naive.cjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'error',
    nodePaths: [join(ROOT, 'node_modules')],
  });
  return outfile;
}

/**
 * The fixer as FixerFunction bundles it (lib/constructs/fixer-function.ts: ESM, minified, node24, the `module` field
 * first, the require shim, the environment-only credential provider), once as it is and once with the Powertools
 * Tracer wrapping its SDK clients, as `tracer.captureAWSv3Client(client)` would in aws-clients.ts.
 */
async function tracerVariants(directory: string): Promise<{ without: string; with: string }> {
  const handler = join(ROOT, 'lambda', 'handlers', 'sqs-fixer.ts');
  const entries = {
    without: [`export { handler } from ${JSON.stringify(handler)};`],
    with: [
      `export { handler } from ${JSON.stringify(handler)};`,
      "import { Tracer } from '@aws-lambda-powertools/tracer';",
      "import { ECRClient } from '@aws-sdk/client-ecr';",
      "const tracer = new Tracer({ serviceName: 'lambda-ecr-autofix' });",
      'export const ecr = tracer.captureAWSv3Client(new ECRClient({}));',
    ],
  };
  const outputs = { without: '', with: '' };
  for (const [name, lines] of Object.entries(entries) as [keyof typeof entries, string[]][]) {
    const entry = join(directory, `variant-${name}.ts`);
    writeFileSync(entry, lines.join('\n'));
    const outfile = join(directory, `variant-${name}.mjs`);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      mainFields: ['module', 'main'],
      minify: true,
      banner: {
        js: "import { createRequire as __r } from 'node:module';const require = __r(import.meta.url);",
      },
      alias: {
        '@aws-sdk/credential-provider-node': join(
          ROOT,
          'lambda',
          'adapters',
          'lambda-credentials.ts'
        ),
      },
      nodePaths: [join(ROOT, 'node_modules')],
      logLevel: 'error',
    });
    outputs[name] = outfile;
  }
  return outputs;
}

/** Wall time of each command, interleaved so that machine noise hits all of them alike. */
function interleaved(
  commands: Readonly<Record<string, readonly string[]>>,
  runs: number
): Record<string, number[]> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(commands)) samples[name] = [];
  for (let run = 0; run < runs; run++) {
    for (const [name, args] of Object.entries(commands)) {
      const start = process.hrtime.bigint();
      const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr.slice(0, 500)}`);
      samples[name]?.push(elapsed);
    }
  }
  return samples;
}

export async function measureBundle(runs: number): Promise<BundleResult> {
  const work = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-bench-'));
  const assets = synthesizeBundle(join(work, 'cdk.out'));
  const code = join(assets.fixer, 'index.mjs');
  const map = join(assets.fixer, 'index.mjs.map');
  const sweeperCode = join(assets.sweeper, 'index.mjs');
  const naive = await naiveBundle(work);
  const variants = await tracerVariants(work);

  const initScript = join(work, 'init.mjs');
  writeFileSync(
    initScript,
    [
      `const m = await import(${JSON.stringify(code)});`,
      'const start = performance.now();',
      'm.defaultDependencies();',
      'process.stdout.write(String(performance.now() - start));',
    ].join('\n')
  );
  const samples = interleaved(
    {
      bare: ['-e', '0'],
      naive: [naive],
      fixer: [code],
      fixerWithSourceMaps: ['--enable-source-maps', code],
      variantWithout: [variants.without],
      variantWithTracer: [variants.with],
    },
    runs
  );
  const initEnv = {
    ...process.env,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    FIXER_ROLE_ARN: 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer',
    TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix',
    AUDIT_TABLE_NAME: 'lambda-ecr-autofix-audit',
  };
  const init: number[] = [];
  for (let run = 0; run < runs; run++) {
    const result = spawnSync(process.execPath, [initScript], { encoding: 'utf8', env: initEnv });
    if (result.status !== 0) throw new Error(`init failed: ${result.stderr.slice(0, 500)}`);
    init.push(Number(result.stdout));
  }
  const gz = (path: string): number => gzipSync(readFileSync(path)).length;
  return {
    codeBytes: statSync(code).size,
    codeGzipBytes: gz(code),
    mapBytes: statSync(map).size,
    mapGzipBytes: gz(map),
    naiveBytes: statSync(naive).size,
    naiveGzipBytes: gz(naive),
    sweeperBytes: statSync(sweeperCode).size,
    sweeperGzipBytes: gz(sweeperCode),
    load: {
      bare: summarize(samples['bare'] ?? []),
      naive: summarize(samples['naive'] ?? []),
      fixer: summarize(samples['fixer'] ?? []),
      fixerWithSourceMaps: summarize(samples['fixerWithSourceMaps'] ?? []),
      variantWithout: summarize(samples['variantWithout'] ?? []),
      variantWithTracer: summarize(samples['variantWithTracer'] ?? []),
    },
    tracer: {
      withoutBytes: statSync(variants.without).size,
      withoutGzipBytes: gz(variants.without),
      withBytes: statSync(variants.with).size,
      withGzipBytes: gz(variants.with),
    },
    runs,
    init: summarize(init),
  };
}
