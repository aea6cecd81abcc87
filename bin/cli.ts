/**
 * The lambda-ecr-autofix command line: argument parsing only. Commands live in bin/commands/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { closestMatch } from '../lambda/domain/suggestion';

import { APPLY_HELP, ApplyError, runApply } from './commands/apply';
import { DEMO_HELP, runDemo } from './commands/demo';
import { HISTORY_HELP, runHistory } from './commands/history';
import { invocationDirectory, resolveInputPath } from './commands/inputs';
import { PLAN_HELP, runPlan } from './commands/plan';
import type { ScanResult } from './commands/scan';
import { SCAN_HELP, runScan } from './commands/scan';
import { REVOKE_HELP, runRevoke } from './commands/revoke';
import { UsageError } from './commands/usage-error';

const HELP = `Usage: lambda-ecr-autofix <command> [options]

Fixes Amazon ECR repository policies when Lambda cannot pull a container image.

Commands:
  plan     decide offline what would be done for one event and policy (no AWS call)
  apply    run the fixer for one event against AWS (or a local moto_server)
  scan     check every container-image function of the account (--fix: fix what may be fixed)
  revoke   take one consumer back out of lambda-ecr-autofix's statements of a repository
  history  print the audit records (fixes, revokes, drift), newest first
  demo     replay the bundled example events end to end, with no AWS account

Options:
  -h, --help      show this help
  -v, --version   print the version

Run "lambda-ecr-autofix <command> --help" for a command's options.
Relative paths are read from the directory the command was typed in (also through "npm run cli").`;

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

interface Command {
  readonly help: string;
  readonly options: Options;
  /** Returns what to print on stdout; `out` prints progress, `note` a note or warning on stderr. */
  run(
    values: Values,
    out: (text: string) => void,
    note: (text: string) => void
  ): Promise<string | ScanResult> | string;
}

/** Options whose value is a file: relative paths are resolved against the directory the user typed the command in. */
const PATH_OPTIONS: readonly string[] = ['event', 'policy', 'config', 'tags', 'audit'];

const COMMANDS: Record<string, Command> = {
  plan: {
    help: PLAN_HELP,
    options: {
      event: { type: 'string' },
      'event-id': { type: 'string' },
      policy: { type: 'string' },
      config: { type: 'string' },
      tag: { type: 'string', multiple: true },
      tags: { type: 'string' },
      audit: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    run: (values, _out, note) =>
      runPlan(
        {
          event: required(values, 'event'),
          eventId: optionalString(values, 'event-id'),
          policy: optionalString(values, 'policy'),
          config: optionalString(values, 'config'),
          tag: strings(values, 'tag'),
          tags: optionalString(values, 'tags'),
          audit: optionalString(values, 'audit'),
          json: values['json'] === true,
        },
        note
      ),
  },
  apply: {
    help: APPLY_HELP,
    options: {
      event: { type: 'string' },
      'event-id': { type: 'string' },
      config: { type: 'string' },
      'topic-arn': { type: 'string' },
      'audit-table': { type: 'string' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    run: (values, _out, note) =>
      runApply(
        {
          event: required(values, 'event'),
          eventId: optionalString(values, 'event-id'),
          config: optionalString(values, 'config'),
          topicArn: optionalString(values, 'topic-arn'),
          auditTable: optionalString(values, 'audit-table'),
          region: optionalString(values, 'region'),
          endpointUrl: optionalString(values, 'endpoint-url'),
          dryRun: values['dry-run'] === true,
          json: values['json'] === true,
        },
        process.env,
        note
      ),
  },
  scan: {
    help: SCAN_HELP,
    options: {
      region: { type: 'string', multiple: true },
      'endpoint-url': { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      csv: { type: 'boolean', default: false },
      fix: { type: 'boolean', default: false },
      'topic-arn': { type: 'string' },
      'audit-table': { type: 'string' },
      concurrency: { type: 'string' },
      'exit-code': { type: 'boolean', default: false },
    },
    run: async (values, _out, note) => {
      const progress = terminalProgress();
      try {
        return await runScan(
          {
            regions: strings(values, 'region'),
            endpointUrl: optionalString(values, 'endpoint-url'),
            config: optionalString(values, 'config'),
            json: values['json'] === true,
            csv: values['csv'] === true,
            fix: values['fix'] === true,
            topicArn: optionalString(values, 'topic-arn'),
            auditTable: optionalString(values, 'audit-table'),
            concurrency: optionalString(values, 'concurrency'),
            exitCode: values['exit-code'] === true,
          },
          {
            progress: progress?.report ?? null,
            // On its own line, not after a progress line.
            note: (text) => {
              progress?.clear();
              note(text);
            },
          }
        );
      } finally {
        progress?.clear();
      }
    },
  },
  revoke: {
    help: REVOKE_HELP,
    options: {
      repository: { type: 'string' },
      consumer: { type: 'string' },
      function: { type: 'string' },
      'audit-table': { type: 'string' },
      'topic-arn': { type: 'string' },
      'event-bus': { type: 'string' },
      config: { type: 'string' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
      'registry-profile': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    run: (values, _out, note) =>
      runRevoke(
        {
          repository: required(values, 'repository', 'ARN'),
          consumer: required(values, 'consumer', 'ACCOUNT'),
          function: optionalString(values, 'function'),
          auditTable: optionalString(values, 'audit-table'),
          topicArn: optionalString(values, 'topic-arn'),
          eventBus: optionalString(values, 'event-bus'),
          config: optionalString(values, 'config'),
          region: optionalString(values, 'region'),
          endpointUrl: optionalString(values, 'endpoint-url'),
          registryProfile: optionalString(values, 'registry-profile'),
          dryRun: values['dry-run'] === true,
          json: values['json'] === true,
        },
        process.env,
        note
      ),
  },
  history: {
    help: HISTORY_HELP,
    options: {
      'audit-table': { type: 'string' },
      repository: { type: 'string' },
      consumer: { type: 'string' },
      since: { type: 'string' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    run: (values) =>
      runHistory(
        {
          auditTable: optionalString(values, 'audit-table'),
          repository: optionalString(values, 'repository'),
          consumer: optionalString(values, 'consumer'),
          since: optionalString(values, 'since'),
          region: optionalString(values, 'region'),
          endpointUrl: optionalString(values, 'endpoint-url'),
          json: values['json'] === true,
        },
        process.env
      ),
  },
  demo: {
    help: DEMO_HELP,
    options: {
      verbose: { type: 'boolean', default: false },
      brief: { type: 'boolean', default: false },
    },
    run: (values, out) => runDemo({ verbose: values['verbose'] === true }, out),
  },
};

/** Where the CLI runs: the environment and working directory (tests hand in their own). */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Runs the CLI; returns the exit code. */
export async function main(
  argv: readonly string[],
  out: (text: string) => void,
  err: (text: string) => void,
  context: CliContext = { env: process.env, cwd: process.cwd() }
): Promise<number> {
  const [name, ...rest] = argv;
  const commands = Object.keys(COMMANDS);
  if (name === undefined) {
    err(`lambda-ecr-autofix: missing command; expected one of ${commands.join(', ')} (see --help)`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    out(HELP);
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    out(`lambda-ecr-autofix ${packageVersion()}`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    err(`lambda-ecr-autofix: ${unknownFirstArgument(name, commands)} (see --help)`);
    return 2;
  }
  try {
    const options: Options = {
      ...command.options,
      help: { type: 'boolean', short: 'h', default: false },
    };
    checkTokens([...rest], options);
    const { values } = parseArgs({
      args: [...rest],
      options,
      strict: true,
      allowPositionals: true,
    });
    if (values['help'] === true) {
      out(command.help);
      return 0;
    }
    const base = invocationDirectory(context.env, context.cwd);
    const resolved: Values = { ...values };
    for (const key of PATH_OPTIONS) {
      const value = resolved[key];
      if (typeof value === 'string') resolved[key] = resolveInputPath(value, base);
      if (Array.isArray(value)) {
        resolved[key] = value.map((v) => (typeof v === 'string' ? resolveInputPath(v, base) : v));
      }
    }
    const note = (text: string): void => err(`lambda-ecr-autofix ${name}: ${oneLine(text)}`);
    const result = await command.run(resolved, out, note);
    if (typeof result === 'string') {
      out(result);
      return 0;
    }
    out(result.output);
    if (result.error !== undefined) err(`lambda-ecr-autofix ${name}: ${oneLine(result.error)}`);
    return result.exitCode;
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      err(`lambda-ecr-autofix ${name}: ${oneLine((error as Error).message)} (see --help)`);
      return 2;
    }
    if (error instanceof ApplyError) {
      if (error.output !== null) out(error.output);
      err(`lambda-ecr-autofix ${name}: ${oneLine(error.message)}`);
      return error.exitCode;
    }
    throw error;
  }
}

/** What is wrong with a first argument that is no command, with the closest command or global option. */
function unknownFirstArgument(name: string, commands: readonly string[]): string {
  if (name.startsWith('-')) {
    const close = closestMatch(name.replace(/^-+/, ''), ['help', 'version']);
    return `unknown option ${name}; ${close === null ? `expected a command first: ${commands.join(', ')}` : `did you mean --${close}?`}`;
  }
  const close = closestMatch(name, commands);
  return `unknown command "${name}"; ${close === null ? `expected one of ${commands.join(', ')}` : `did you mean ${close}?`}`;
}

/**
 * Refuses, in one line each, what Node's `parseArgs` reports in its own words: an unknown option (with the closest
 * known one), a missing value, a value for a flag, and a stray argument.
 */
function checkTokens(args: string[], options: Options): void {
  const { tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const known = Object.keys(options);
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind === 'positional') throw new UsageError(`unexpected argument "${token.value}"`);
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (option === undefined) {
      if (token.name === 'version' || token.rawName === '-v') {
        throw new UsageError(
          `${token.rawName} is an option of the command itself: lambda-ecr-autofix --version`
        );
      }
      const close = closestMatch(token.name, known);
      throw new UsageError(
        `unknown option ${token.rawName}${close === null ? '' : `; did you mean --${close}?`}`
      );
    }
    // parseArgs keeps the last of a repeated single-value option: `--event a --event b` would silently use b.
    if (option.multiple !== true) {
      if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once`);
      seen.add(token.name);
    }
    if (option.type === 'boolean' && token.inlineValue === true) {
      throw new UsageError(`${token.rawName} takes no value`);
    }
    const value = token.value;
    if (
      option.type === 'string' &&
      (value === undefined ||
        (token.inlineValue !== true && value.startsWith('-') && value !== '-'))
    ) {
      throw new UsageError(`${token.rawName} needs a value`);
    }
  }
}

/** The version in the package.json beside bin/ (run from the sources) or dist/ (the installed, bundled command). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function required(values: Values, key: string, what = 'FILE'): string {
  const value = values[key];
  if (typeof value !== 'string' || value === '')
    throw new UsageError(`--${key} ${what} is required`);
  return value;
}

function optionalString(values: Values, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string option (`--tag A --tag B`), in the order given. */
function strings(values: Values, key: string): string[] {
  const value = values[key];
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}

/** Progress on one rewritten line of stderr, only when stderr is a terminal (never in pipes, logs or tests). */
function terminalProgress(): { report: (text: string) => void; clear: () => void } | null {
  if (process.stderr.isTTY !== true) return null;
  let last = 0;
  return {
    report: (text) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      process.stderr.write(`\r\x1b[2K${text}`);
    },
    clear: () => process.stderr.write('\r\x1b[2K'),
  };
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

if (require.main === module) {
  // The SDK warns on every run under Node.js 20 (still supported by this tool); the Lambda runs on Node.js 22.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  main(
    process.argv.slice(2),
    // One line each; output that ends its own lines (scan --csv ends every row with CRLF) gets no extra, empty one.
    (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    (text) => process.stderr.write(`${text}\n`)
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`lambda-ecr-autofix: unexpected error: ${oneLine(String(error))}\n`);
      process.exitCode = 1;
    }
  );
}
