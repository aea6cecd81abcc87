import type { CliContext } from '../../bin/cli';
import { main } from '../../bin/cli';

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the CLI in-process and collects its exit code and output. */
export function runCli(...argv: string[]): Promise<CliRun> {
  return runCliIn(undefined, ...argv);
}

/** Runs the CLI in-process in the given environment and working directory. */
export async function runCliIn(
  context: CliContext | undefined,
  ...argv: string[]
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (text) => out.push(text),
    (text) => err.push(text),
    context
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}
