import { main } from '../../bin/cli';

/** Runs the CLI in-process and collects its exit code and output. */
export async function runCli(
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (text) => out.push(text),
    (text) => err.push(text)
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}
