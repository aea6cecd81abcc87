/**
 * The lambda-ecr-autofix command line: argument parsing only. Commands live in bin/commands/.
 */
import { parseArgs } from 'node:util';

import { APPLY_HELP, ApplyError, runApply } from './commands/apply';
import { DEMO_HELP, runDemo } from './commands/demo';
import { PLAN_HELP, runPlan } from './commands/plan';
import { UsageError } from './commands/usage-error';

const HELP = `Usage: lambda-ecr-autofix <command> [options]

Fixes Amazon ECR repository policies when Lambda cannot pull a container image.

Commands:
  plan    decide offline what would be done for one event and policy (no AWS call)
  apply   run the fixer for one event against AWS (or a local moto_server)
  demo    replay the bundled example events end to end, with no AWS account

Run "lambda-ecr-autofix <command> --help" for a command's options.`;

interface Command {
  readonly help: string;
  readonly options: NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  run(
    values: Record<string, string | boolean | undefined>,
    out: (text: string) => void
  ): Promise<string> | string;
}

const COMMANDS: Record<string, Command> = {
  plan: {
    help: PLAN_HELP,
    options: {
      event: { type: 'string' },
      policy: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    run: (values) =>
      runPlan({
        event: required(values, 'event'),
        policy: optionalString(values, 'policy'),
        config: optionalString(values, 'config'),
        json: values['json'] === true,
      }),
  },
  apply: {
    help: APPLY_HELP,
    options: {
      event: { type: 'string' },
      config: { type: 'string' },
      'topic-arn': { type: 'string' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    run: (values) =>
      runApply({
        event: required(values, 'event'),
        config: optionalString(values, 'config'),
        topicArn: optionalString(values, 'topic-arn'),
        region: optionalString(values, 'region'),
        endpointUrl: optionalString(values, 'endpoint-url'),
        dryRun: values['dry-run'] === true,
        json: values['json'] === true,
      }),
  },
  demo: {
    help: DEMO_HELP,
    options: { brief: { type: 'boolean', default: false } },
    run: (values, out) => runDemo({ brief: values['brief'] === true }, out),
  },
};

/** Runs the CLI; returns the exit code. */
export async function main(
  argv: readonly string[],
  out: (text: string) => void,
  err: (text: string) => void
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    err(
      `lambda-ecr-autofix: unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(', ')} (see --help)`
    );
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: true,
    });
    if (values['help'] === true) {
      out(command.help);
      return 0;
    }
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"`);
    }
    out(await command.run(values, out));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      err(`lambda-ecr-autofix ${name}: ${oneLine((error as Error).message)} (see --help)`);
      return 2;
    }
    if (error instanceof ApplyError) {
      err(`lambda-ecr-autofix ${name}: ${oneLine(error.message)}`);
      return 1;
    }
    throw error;
  }
}

function required(values: Record<string, string | boolean | undefined>, key: string): string {
  const value = values[key];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${key} FILE is required`);
  return value;
}

function optionalString(
  values: Record<string, string | boolean | undefined>,
  key: string
): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
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
    (text) => process.stdout.write(`${text}\n`),
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
