/**
 * Issue 11: the package as a platform team installs it. `npm pack` (which builds it), then, in a fresh directory outside
 * the repository and offline (from the npm cache that `npm ci` filled): a CDK app with aws-cdk-lib and constructs gets
 * the tarball installed, uses both constructs from the package root, type-checks and synthesizes; the command line runs
 * through npx and from a global install. Nothing in that directory refers back to the repository: no path, no
 * environment variable (the commands run with a minimal environment), no symlink.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';

import { parseConfig, type ConfigError } from '../../lambda/domain/config';

const ROOT = resolve(__dirname, '..', '..');
const CENTRAL = { account: '111111111111', region: 'eu-west-1' };
const MEMBER_ACCOUNT = '222222222222';
const MB = 1024 * 1024;
/** What the app needs besides the package, at the repository's versions: the npm cache holds exactly those. */
const APP_DEPENDENCIES = ['aws-cdk-lib', 'constructs', 'typescript'] as const;

interface PackedFile {
  readonly path: string;
  readonly size: number;
}

interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly inBundle?: boolean;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly peer?: boolean;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** A minimal environment: the PATH without the repository's `node_modules/.bin`, HOME (the npm cache), offline npm. */
function isolatedEnvironment(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => entry !== '' && !resolve(entry).startsWith(ROOT));
  return {
    PATH: [dirname(process.execPath), ...path].join(delimiter),
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    LANG: 'C.UTF-8',
    ...(process.env.npm_config_cache === undefined
      ? {}
      : { npm_config_cache: process.env.npm_config_cache }),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = isolatedEnvironment()
): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${String(result.status)}:\n${result.stderr}\n${result.stdout}`
    );
  }
  return result;
}

/**
 * The lock file entries of `roots` and everything they depend on, from the repository's lock file: the versions the
 * npm cache holds after `npm ci`. Resolved as Node.js does, from the nearest `node_modules` outwards.
 */
function lockEntriesFor(roots: readonly string[]): Record<string, LockEntry> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const all = lock.packages;
  const picked: Record<string, LockEntry> = {};
  const locate = (from: string, name: string): string | undefined => {
    for (let base = from; ;) {
      const key = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (all[key] !== undefined) return key;
      if (base === '') return undefined;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut < 0 ? '' : base.slice(0, cut);
    }
  };
  const add = (key: string) => {
    const entry = all[key];
    if (entry === undefined || picked[key] !== undefined) return;
    // Whether a package was a development dependency of the repository means nothing to the app.
    picked[key] = Object.fromEntries(
      Object.entries(entry).filter(([field]) => !['dev', 'devOptional', 'peer'].includes(field))
    );
    for (const nested of Object.keys(all))
      if (nested.startsWith(`${key}/node_modules/`)) add(nested);
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const found = locate(key, name);
      if (found !== undefined) add(found);
    }
  };
  for (const name of roots) add(`node_modules/${name}`);
  return picked;
}

/** Bytes of the files under `path` (symlinks not followed). */
function sizeOf(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

/** Every file under `directory`, relative to it. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' }).filter((entry) =>
    statSync(join(directory, entry)).isFile()
  );
}

function templateOf(cdkOut: string, stack: string): CfnTemplate {
  return JSON.parse(readFileSync(join(cdkOut, `${stack}.template.json`), 'utf8')) as CfnTemplate;
}

function resourcesOf(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/**
 * The app: the TypeScript examples of the README's "Use it in your own CDK app", as they are written there, and a
 * stack for the member example. What the README shows is what this test synthesizes.
 */
function appSource(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Use it in your own CDK app'),
    readme.indexOf('\n## ', readme.indexOf('## Use it in your own CDK app') + 1)
  );
  const [central, member] = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  if (central === undefined || member === undefined) {
    throw new Error(
      'The README section "Use it in your own CDK app" must hold two TypeScript examples.'
    );
  }
  return [
    central,
    "import { LambdaEcrAutofixMember } from 'lambda-ecr-autofix';",
    `const memberStack = new Stack(app, 'Member', { env: { account: '${MEMBER_ACCOUNT}', region: 'eu-west-1' } });`,
    member,
  ].join('\n');
}

/** Bad props, as a JavaScript user could pass them: the error a user sees, and whether it is the exported class. */
const BAD_PROPS_SOURCE = `const { App, Stack } = require('aws-cdk-lib');
const { ConfigError, LambdaEcrAutofix } = require('lambda-ecr-autofix');
try {
  new LambdaEcrAutofix(new Stack(new App(), 'Central'), 'Autofix', { organizationId: 'org-1', mode: 'fix' });
} catch (error) {
  console.log(JSON.stringify({ isConfigError: error instanceof ConfigError, message: error.message }));
}
`;

describe('the npm package, installed into a CDK app of its own (offline)', () => {
  let work: string;
  let app: string;
  let tarball: string;
  let packed: PackedFile[];
  let installed: string;
  let cdkOut: string;
  let manifest: Record<string, unknown>;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-package-'));

    // npm pack runs prepack (npm run build) in the repository: the one step with the repository's environment.
    const pack = run('npm', ['pack', '--json', '--pack-destination', work], ROOT, {
      ...process.env,
      npm_config_update_notifier: 'false',
    });
    const [report] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
      filename: string;
      files: PackedFile[];
    }>;
    if (report === undefined) throw new Error(`npm pack printed no report: ${pack.stdout}`);
    tarball = join(work, report.filename);
    packed = report.files;

    // A CDK app with aws-cdk-lib and constructs (and TypeScript) at the repository's versions, installed offline.
    app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    const entries = lockEntriesFor(APP_DEPENDENCIES);
    const dependencies = Object.fromEntries(
      APP_DEPENDENCIES.map((name) => [name, entries[`node_modules/${name}`]?.version ?? ''])
    );
    const packageJson = { name: 'platform-app', version: '1.0.0', private: true, dependencies };
    writeFileSync(join(app, 'package.json'), JSON.stringify(packageJson, null, 2));
    writeFileSync(
      join(app, 'package-lock.json'),
      JSON.stringify(
        {
          ...packageJson,
          lockfileVersion: 3,
          requires: true,
          packages: { '': packageJson, ...entries },
        },
        null,
        2
      )
    );
    run('npm', ['ci'], app);

    // The package, from the tarball. Its peer dependencies are already there.
    run('npm', ['install', relative(app, tarball)], app);
    installed = join(app, 'node_modules', 'lambda-ecr-autofix');

    writeFileSync(join(app, 'src', 'app.ts'), appSource());
    writeFileSync(join(app, 'bad-props.js'), BAD_PROPS_SOURCE);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          skipLibCheck: true,
          types: [],
          outDir: 'build',
        },
        include: ['src'],
      })
    );
    run(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
    // As the CDK CLI runs an app: CDK_OUTDIR set, and the app synthesizes when it ends.
    run(process.execPath, [join('build', 'app.js')], app, {
      ...isolatedEnvironment(),
      CDK_OUTDIR: 'cdk.out',
    });
    cdkOut = join(app, 'cdk.out');
    manifest = JSON.parse(readFileSync(join(cdkOut, 'manifest.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  }, 300_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  describe('the tarball', () => {
    it('holds the built package only: no TypeScript sources, no tests, no lock file', () => {
      // Arrange
      const paths = packed.map((file) => file.path);

      // Assert
      expect(paths.filter((path) => !/^(dist|docs|examples)\//.test(path)).sort()).toEqual([
        'BENCHMARKS.md',
        'CHANGELOG.md',
        'LICENSE',
        'README.md',
        'package.json',
      ]);
      expect(
        paths.filter((path) => path.startsWith('dist/') && !path.startsWith('dist/types/'))
      ).toEqual(
        expect.arrayContaining([
          'dist/cli.js',
          'dist/lib/index.js',
          'dist/handlers/fixer/index.mjs',
          'dist/handlers/fixer/index.mjs.map',
          'dist/handlers/sweeper/index.mjs',
          'dist/handlers/sweeper/index.mjs.map',
        ])
      );
      expect(paths).toContain('dist/types/lib/index.d.ts');
      expect(paths.filter((path) => /\.ts$/.test(path) && !/\.d\.ts$/.test(path))).toEqual([]);
    });

    it('never holds @cloud-copilot/iam-simulate (AGPL), neither as files nor bundled into the code', () => {
      // Arrange: every bundle and source map as installed.
      const code = filesUnder(join(installed, 'dist'))
        .filter((file) => /\.(js|mjs|map)$/.test(file))
        .map((file) => ({ file, text: readFileSync(join(installed, 'dist', file), 'utf8') }));

      // Assert
      expect(packed.filter((file) => /iam-simulate|cloud-copilot/i.test(file.path))).toEqual([]);
      expect(code.map(({ file }) => file)).toEqual(
        expect.arrayContaining([
          'cli.js',
          'lib/index.js',
          'handlers/fixer/index.mjs',
          'handlers/sweeper/index.mjs',
        ])
      );
      expect(
        code.filter(({ text }) => /iam-simulate|cloud-copilot/i.test(text)).map(({ file }) => file)
      ).toEqual([]);
      expect(existsSync(join(app, 'node_modules', '@cloud-copilot'))).toBe(false);
    });

    it('is described file by file in docs/packaging.md', () => {
      // Arrange: the paths the document names in code spans; a name ending in "/" covers a directory.
      const doc = readFileSync(join(ROOT, 'docs', 'packaging.md'), 'utf8');
      const table = doc.slice(
        doc.indexOf('| Path |'),
        doc.indexOf('\n\n', doc.indexOf('| Path |'))
      );
      const named = [...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((row) =>
        [...(row[1] ?? '').matchAll(/`([^`]+)`/g)].map((code) => code[1] ?? '')
      );

      // Act
      const undocumented = packed
        .map((file) => file.path)
        .filter(
          (path) =>
            !named.some((name) => (name.endsWith('/') ? path.startsWith(name) : path === name))
        );

      // Assert
      expect(named.length).toBeGreaterThan(10);
      expect(undocumented).toEqual([]);
    });

    it('carries the Apache-2.0 license text and the project links', () => {
      // Arrange
      const license = readFileSync(join(installed, 'LICENSE'), 'utf8');
      const manifestJson = JSON.parse(
        readFileSync(join(installed, 'package.json'), 'utf8')
      ) as Record<string, unknown>;

      // Assert
      expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
      expect(license).toContain('END OF TERMS AND CONDITIONS');
      expect(manifestJson).toEqual(
        expect.objectContaining({
          license: 'Apache-2.0',
          homepage: expect.stringMatching(
            /^https:\/\/github\.com\/lambda-ecr-autofix\/lambda-ecr-autofix/
          ) as unknown,
          bugs: { url: 'https://github.com/lambda-ecr-autofix/lambda-ecr-autofix/issues' },
          repository: {
            type: 'git',
            url: 'git+https://github.com/lambda-ecr-autofix/lambda-ecr-autofix.git',
          },
          main: 'dist/lib/index.js',
          types: 'dist/types/lib/index.d.ts',
        })
      );
    });

    it('depends at run time on nothing but its peers, aws-cdk-lib and constructs', () => {
      // Arrange
      const manifestJson = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };

      // Act: npm ls fails on a missing or unmet peer dependency.
      const tree = run('npm', ['ls', '--all', '--json'], app);

      // Assert
      expect(manifestJson.dependencies ?? {}).toEqual({});
      expect(Object.keys(manifestJson.peerDependencies ?? {}).sort()).toEqual([
        'aws-cdk-lib',
        'constructs',
      ]);
      expect(
        (JSON.parse(tree.stdout) as { dependencies: Record<string, unknown> }).dependencies
      ).toHaveProperty('lambda-ecr-autofix');
    });

    it('adds less than 15 MB to node_modules besides aws-cdk-lib, constructs and their own dependencies', () => {
      // Arrange: what the app had before the package (and TypeScript, only there to compile the app).
      const before = new Set(Object.keys(lockEntriesFor(APP_DEPENDENCIES)));
      const hidden = JSON.parse(
        readFileSync(join(app, 'node_modules', '.package-lock.json'), 'utf8')
      ) as { packages: Record<string, LockEntry> };

      // Act
      const added = Object.keys(hidden.packages).filter((key) => !before.has(key));
      const addedTopLevel = added.filter(
        (key) => !added.some((other) => other !== key && key.startsWith(`${other}/`))
      );
      const bytes = addedTopLevel.reduce((sum, key) => sum + sizeOf(join(app, key)), 0);

      // Assert
      expect(addedTopLevel).toEqual(['node_modules/lambda-ecr-autofix']);
      expect(bytes).toBeLessThan(15 * MB);
      console.info(
        `lambda-ecr-autofix adds ${(bytes / MB).toFixed(1)} MB to node_modules (tarball ${(statSync(tarball).size / MB).toFixed(1)} MB)`
      );
    });

    it('publishes type declarations that import nothing but aws-cdk-lib and constructs', () => {
      // Arrange
      const types = join(installed, 'dist', 'types');
      const imports = filesUnder(types).flatMap((file) =>
        [
          ...readFileSync(join(types, file), 'utf8').matchAll(
            /\bfrom\s+'([^']+)'|\bimport\('([^']+)'\)/g
          ),
        ].map((match) => match[1] ?? match[2] ?? '')
      );

      // Assert
      expect(imports.length).toBeGreaterThan(0);
      expect(
        imports.filter((specifier) => !/^(\.|aws-cdk-lib(\/|$)|constructs$)/.test(specifier))
      ).toEqual([]);
    });
  });

  describe('a CDK app using both constructs from the package root', () => {
    it('synthesizes the central, member deployment and member stacks, the deployment after the central one', () => {
      // Arrange
      const artifacts = manifest.artifacts as Record<
        string,
        { type: string; dependencies?: string[] }
      >;

      // Assert
      expect(
        Object.entries(artifacts)
          .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
          .map(([id]) => id)
          .sort()
      ).toEqual(['Autofix', 'AutofixMembers', 'Member']);
      expect(artifacts.AutofixMembers?.dependencies).toContain('Autofix');
      expect(resourcesOf(templateOf(cdkOut, 'Autofix'), 'AWS::CloudFormation::StackSet')).toEqual(
        []
      );
      expect(
        resourcesOf(templateOf(cdkOut, 'AutofixMembers'), 'AWS::CloudFormation::StackSet')
      ).toHaveLength(1);
    });

    it("passes aws-cdk-lib's built-in CloudFormation validation without a warning", () => {
      // Arrange
      const report = JSON.parse(readFileSync(join(cdkOut, 'validation-report.json'), 'utf8')) as {
        pluginReports: Array<{ pluginName: string; violations?: Array<{ description: string }> }>;
      };

      // Assert
      expect(
        report.pluginReports.flatMap((r) => r.violations ?? []).map((v) => v.description)
      ).toEqual([]);
    });

    it('deploys the fixer from the bundle shipped in the package, not from a source build', () => {
      // Arrange
      const central = templateOf(cdkOut, 'Autofix');
      const [[, fixer] = ['', undefined]] = resourcesOf(central, 'AWS::Lambda::Function');
      const assets = JSON.parse(readFileSync(join(cdkOut, 'Autofix.assets.json'), 'utf8')) as {
        files: Record<string, { source: { path: string; packaging: string } }>;
      };
      const code = fixer?.Properties?.Code as { S3Key: string };
      const asset = assets.files[code.S3Key.replace(/\.zip$/, '')];
      const assetDirectory = join(cdkOut, asset?.source.path ?? 'missing');

      // Assert
      expect(fixer?.Properties).toEqual(
        expect.objectContaining({
          Handler: 'index.handler',
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
        })
      );
      expect(asset?.source.packaging).toBe('zip');
      expect(readdirSync(assetDirectory).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      expect(
        readFileSync(join(assetDirectory, 'index.mjs')).equals(
          readFileSync(join(installed, 'dist', 'handlers', 'fixer', 'index.mjs'))
        )
      ).toBe(true);
      expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    });

    it('has the work queue, redriving to its dead-letter queue (and the sweep queue, to its own)', () => {
      // Arrange
      const queues = resourcesOf(templateOf(cdkOut, 'Autofix'), 'AWS::SQS::Queue');
      const named = (name: string) =>
        queues.find(([, queue]) => queue.Properties?.QueueName === name);
      const redrive = (name: string) =>
        named(name)?.[1].Properties?.RedrivePolicy as
          | { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] }; maxReceiveCount: number }
          | undefined;
      const unnamed = queues.filter(([, queue]) => queue.Properties?.QueueName === undefined);

      // Assert: four queues, each named queue redriving to its own unnamed dead-letter queue.
      expect(queues).toHaveLength(4);
      expect(redrive('lambda-ecr-autofix-work')?.maxReceiveCount).toBe(5);
      expect(
        ['lambda-ecr-autofix-work', 'lambda-ecr-autofix-sweep']
          .map((name) => redrive(name)?.deadLetterTargetArn['Fn::GetAtt'][0])
          .sort()
      ).toEqual(unnamed.map(([id]) => id).sort());
    });

    it('lets the organization, and only it, put events on the central bus (decision events: the fixer only)', () => {
      // Arrange
      const statements = resourcesOf(
        templateOf(cdkOut, 'Autofix'),
        'AWS::Events::EventBusPolicy'
      ).map(([, policy]) => policy.Properties?.Statement as { Effect: string });
      const policies = statements.filter((statement) => statement.Effect === 'Allow');

      const fixerDenies = resourcesOf(templateOf(cdkOut, 'Autofix'), 'AWS::IAM::Policy')
        .flatMap(
          ([, policy]) =>
            (policy.Properties?.PolicyDocument as { Statement: Array<Record<string, unknown>> })
              .Statement
        )
        .filter(
          (statement) => statement.Effect === 'Deny' && statement.Action === 'events:PutEvents'
        );

      // Assert: the bus denies decision events to all but the fixer role, the role's policy outside the fixer's code
      // (lambda:SourceFunctionArn is documented for identity-based policies only).
      expect(statements.filter((statement) => statement.Effect === 'Deny')).toHaveLength(1);
      expect(JSON.stringify(fixerDenies)).toContain('lambda:SourceFunctionArn');
      expect(policies).toHaveLength(1);
      expect(policies[0]).toEqual(
        expect.objectContaining({
          Action: 'events:PutEvents',
          Effect: 'Allow',
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
        })
      );
    });

    it('gives the member account the registry role, trusting the central fixer role', () => {
      // Arrange
      const roles = resourcesOf(templateOf(cdkOut, 'Member'), 'AWS::IAM::Role').filter(
        ([, role]) => role.Properties?.RoleName === 'LambdaEcrAutofixRegistryAccess'
      );

      // Assert
      expect(roles).toHaveLength(1);
      expect(JSON.stringify(roles[0]?.[1].Properties?.AssumeRolePolicyDocument)).toContain(
        `:iam::${CENTRAL.account}:role/LambdaEcrAutofixFixer`
      );
    });

    it('refuses bad props with a ConfigError naming each key, as for cdk.json', () => {
      // Arrange: what `cdk.json` with the same keys gets (the repository's own validation).
      let expected: readonly string[] = [];
      try {
        parseConfig({ organizationId: 'org-1', mode: 'fix' }, 'cdk.json');
      } catch (error) {
        expected = (error as ConfigError).problems;
      }

      // Act
      const { stdout } = run(process.execPath, ['bad-props.js'], app);
      const result = JSON.parse(stdout) as { isConfigError: boolean; message: string };

      // Assert
      expect(expected).toHaveLength(2);
      expect(result.isConfigError).toBe(true);
      expect(result.message).toBe(
        `Invalid configuration in LambdaEcrAutofix "Central/Autofix": ${expected.join('; ')}`
      );
    });

    it('leaves no path back into the repository in the app or its cloud assembly', () => {
      // Arrange
      const texts = [
        ...filesUnder(cdkOut)
          .filter((file) => file.endsWith('.json'))
          .map((file) => join(cdkOut, file)),
        join(app, 'package.json'),
        join(app, 'package-lock.json'),
        join(app, 'node_modules', '.package-lock.json'),
      ];

      // Assert
      expect(texts.filter((file) => readFileSync(file, 'utf8').includes(ROOT))).toEqual([]);
      expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    });
  });

  describe('the command line', () => {
    it('runs through npx from the installed package: --version and plan', () => {
      // Arrange
      const event = join(
        'node_modules',
        'lambda-ecr-autofix',
        'examples',
        'events',
        'create-function-same-account-ecr-denied.json'
      );
      const version = (
        JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string }
      ).version;

      // Act
      const shown = run('npx', ['lambda-ecr-autofix', '--version'], app);
      const plan = run('npx', ['lambda-ecr-autofix', 'plan', '--event', event, '--json'], app);

      // Assert
      expect(shown.stdout).toBe(`lambda-ecr-autofix ${version}\n`);
      expect(JSON.parse(plan.stdout)).toEqual(
        expect.objectContaining({ outcome: 'fix', reason: 'repository-policy-missing-grant' })
      );
    });

    it('installs globally without aws-cdk-lib or constructs, and runs', () => {
      // Arrange
      const prefix = join(work, 'global');

      // Act
      run('npm', ['install', '--global', '--prefix', prefix, tarball], work);
      const shown = run(join(prefix, 'bin', 'lambda-ecr-autofix'), ['--version'], work);

      // Assert
      expect(shown.stdout).toMatch(/^lambda-ecr-autofix \d+\.\d+\.\d+\n$/);
      expect(readdirSync(join(prefix, 'lib', 'node_modules'))).toEqual(['lambda-ecr-autofix']);
      expect(sizeOf(join(prefix, 'lib', 'node_modules')) / MB).toBeLessThan(15);
    });
  });
});
