/**
 * How the command is started (issue 12): relative paths mean the directory the user typed the command in — also
 * through `npm run`, which runs scripts in the package root — and `--version` reads the installed package.json, from
 * the sources (tsx) as from the bundled `dist/cli.js`.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

import { resolveInputPath } from '../../bin/commands/inputs';
import { runCliIn } from '../support/cli';
import { EVENTS_DIR } from '../support/events';

const ROOT = join(__dirname, '..', '..');
const DOCS = join(ROOT, 'docs');
const EVENT = 'create-function-same-account-ecr-denied.json';
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
const exec = promisify(execFile);

/** This process's environment without what npm set for the test run itself. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key !== 'INIT_CWD' && !key.toLowerCase().startsWith('npm_')) env[key] = value;
  }
  return { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

async function spawn(
  file: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv }
): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(file, [...args], { cwd: options.cwd, env: options.env ?? cleanEnv() }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error
  );
}

describe('relative paths, in process', () => {
  const relativeEvent = join('..', relative(ROOT, EVENTS_DIR), EVENT);

  it('are read from INIT_CWD when npm runs this package’s script there', async () => {
    const npm = { INIT_CWD: DOCS, npm_package_name: 'lambda-ecr-autofix' };

    const { code, out } = await runCliIn({ env: npm, cwd: ROOT }, 'plan', '--event', relativeEvent);

    expect(code).toBe(0);
    expect(out).toMatch(/^Decision: {4}fix/);
  });

  it('are read from the working directory without npm, or under another package’s npm script', async () => {
    const other = { INIT_CWD: '/somewhere/else', npm_package_name: 'their-project' };

    const fromCwd = await runCliIn({ env: {}, cwd: DOCS }, 'plan', '--event', relativeEvent);
    const underOther = await runCliIn({ env: other, cwd: DOCS }, 'plan', '--event', relativeEvent);
    const emptyInit = await runCliIn(
      { env: { INIT_CWD: '', npm_package_name: 'lambda-ecr-autofix' }, cwd: DOCS },
      'plan',
      '--event',
      relativeEvent
    );

    expect([fromCwd.code, underOther.code, emptyInit.code]).toEqual([0, 0, 0]);
  });

  it('are shown resolved when a file is missing', async () => {
    const npm = { INIT_CWD: DOCS, npm_package_name: 'lambda-ecr-autofix' };

    const { code, err } = await runCliIn(
      { env: npm, cwd: ROOT },
      'plan',
      '--event',
      'missing.json',
      '--config',
      'missing-config.json'
    );

    expect(code).toBe(2);
    expect(err).toBe(
      `lambda-ecr-autofix plan: cannot read --config ${join(DOCS, 'missing-config.json')}: no such file (see --help)`
    );
  });

  it('leave "-" (standard input) and absolute paths alone', async () => {
    const absolute = join(EVENTS_DIR, EVENT);

    const { code } = await runCliIn({ env: {}, cwd: '/' }, 'plan', '--event', absolute);

    expect(code).toBe(0);
    expect(resolveInputPath('-', DOCS)).toBe('-');
    expect(resolveInputPath(absolute, DOCS)).toBe(absolute);
    expect(resolveInputPath('a/../b.json', DOCS)).toBe(join(DOCS, 'b.json'));
  });
});

describe('npm run --silent cli -- … typed in a subdirectory', () => {
  it('reads ../examples/events/… from there', async () => {
    const { code, stdout, stderr } = await spawn(
      'npm',
      ['run', '--silent', 'cli', '--', 'plan', '--event', `../examples/events/${EVENT}`, '--json'],
      { cwd: DOCS }
    );

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { outcome: string }).outcome).toBe('fix');
  });

  it('names the resolved path of a missing file, and prints the version', async () => {
    const missing = await spawn(
      'npm',
      ['run', '--silent', 'cli', '--', 'plan', '--event', 'x.json'],
      {
        cwd: DOCS,
      }
    );
    const version = await spawn('npm', ['run', '--silent', 'cli', '--', '--version'], {
      cwd: DOCS,
    });

    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(
      `lambda-ecr-autofix plan: cannot read --event ${join(DOCS, 'x.json')}: no such file (see --help)`
    );
    expect(version.stdout.trim()).toBe(`lambda-ecr-autofix ${VERSION}`);
  });
});

describe('the installed command (dist/cli.js bundled by scripts/build-cli.mjs)', () => {
  let installed: string;
  let cli: string;
  let elsewhere: string;

  beforeAll(async () => {
    // Lay the package out as npm installs it: dist/, examples/, docs/ and package.json, and nothing of the clone.
    installed = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-installed-'));
    cli = join(installed, 'dist', 'cli.js');
    await exec(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), cli], { cwd: ROOT });
    for (const entry of ['package.json', 'README.md', 'examples', 'docs']) {
      cpSync(join(ROOT, entry), join(installed, entry), { recursive: true });
    }
    elsewhere = join(installed, 'work');
    mkdirSync(elsewhere);
    cpSync(join(EVENTS_DIR, EVENT), join(elsewhere, EVENT));
  }, 60_000);

  afterAll(() => rmSync(installed, { recursive: true, force: true }));

  it('prints the version of its own package.json', async () => {
    const { code, stdout } = await spawn(process.execPath, [cli, '--version'], { cwd: elsewhere });

    expect(code).toBe(0);
    expect(stdout).toBe(`lambda-ecr-autofix ${VERSION}\n`);
  });

  it('reads relative paths from the working directory', async () => {
    const { code, stdout } = await spawn(process.execPath, [cli, 'plan', '--event', EVENT], {
      cwd: elsewhere,
    });

    expect(code).toBe(0);
    expect(stdout).toMatch(/^Decision: {4}fix/);
  });

  it('ends its demo with a next step that works outside a clone', async () => {
    // Without moto_server on the PATH the demo uses its in-memory stand-ins.
    const env = cleanEnv({ PATH: dirname(process.execPath) });

    const { code, stdout } = await spawn(process.execPath, [cli, 'demo', '--brief'], {
      cwd: elsewhere,
      env,
    });

    expect(code).toBe(0);
    const last = stdout.trimEnd().split('\n').at(-1) ?? '';
    expect(last).toBe(
      `Next: \`lambda-ecr-autofix plan --event FILE\` decides offline for one of your own failed deploys (how to get the event: ${join(installed, 'docs', 'operations.md')}); how to deploy the fixer to an AWS Organization: ${join(installed, 'README.md')}.`
    );
    expect(last).not.toContain('npm');
    expect(existsSync(join(installed, 'docs', 'operations.md'))).toBe(true);
  });

  it('prints a one-line usage error and exits 2 without arguments', async () => {
    const { code, stdout, stderr } = await spawn(process.execPath, [cli], { cwd: elsewhere });

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'lambda-ecr-autofix: missing command; expected one of plan, apply, scan, revoke, history, demo (see --help)\n'
    );
  });
});
