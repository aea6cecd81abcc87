/**
 * The moto_server harness of the integration tests: the server itself comes from bin/commands/moto-server.ts (the
 * demo uses it too).
 *
 * A machine without `moto_server` skips the suites that use `describeWithMoto` with a visible notice; with
 * `REQUIRE_MOTO=1` (set in CI) a missing `moto_server` fails the run instead.
 */
import { MOTO_SERVER } from '../../bin/commands/moto-server';

export * from '../../bin/commands/moto-server';

/**
 * `describe` when `moto_server` is available, else a skipping describe after a notice, or an error when
 * `REQUIRE_MOTO=1`. The skip is returned, never written as a literal `describe.skip(...)` in a test file, so
 * jest/no-disabled-tests keeps guarding against forgotten skips.
 */
export function describeWithMoto(
  executable: string | null = MOTO_SERVER,
  env: NodeJS.ProcessEnv = process.env
): jest.Describe {
  if (executable !== null) return describe;
  if (env.REQUIRE_MOTO === '1') {
    throw new Error(
      'REQUIRE_MOTO=1 but moto_server is not on the PATH. Install it (pip install "moto[server]==5.2.1") ' +
        'or unset REQUIRE_MOTO to skip the integration tests.'
    );
  }
  console.warn(
    'SKIPPING moto_server integration tests: moto_server is not on the PATH ' +
      '(pip install "moto[server]==5.2.1"; set REQUIRE_MOTO=1 to make this a failure).'
  );
  return describe.skip;
}
