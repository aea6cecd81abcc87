/**
 * Starts and stops a local `moto_server` (for the demo and the integration tests): on 127.0.0.1, on a free port, in
 * its own process group (the `moto_server` on the PATH is often a pyenv shim that execs Python, so killing one pid is
 * not enough).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface MotoServer {
  /** `http://127.0.0.1:PORT`: pass it as `endpoint` to every SDK client. */
  readonly endpoint: string;
  /** Forgets every resource of every account and region (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Stops the server and every process of its group; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** @default the `moto_server` found on the PATH */
  readonly executable?: string;
  /** How long to wait for the server to answer. @default 30000 */
  readonly timeoutMs?: number;
}

/** Fake credentials of moto's default account 123456789012 (any access key moto does not know maps to it). */
export const MOTO_CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
} as const;
export const MOTO_DEFAULT_ACCOUNT = '123456789012';

/** The first executable `name` on `path`, or null. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  for (const directory of path.split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

export const MOTO_SERVER = findExecutable('moto_server');

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('No port assigned.'))));
    });
  });
}

/** Every server this process started and has not stopped yet: killed on exit if `stop` never ran. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(exited(child)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  killGroup(child, 'SIGTERM');
  if (!(await waitForExit(child, 5_000))) {
    killGroup(child, 'SIGKILL');
    await waitForExit(child, 5_000);
  }
  running.delete(child);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `moto_server` and resolves once it answers; on any failure the process group is killed first. */
export async function startMotoServer(options: StartOptions = {}): Promise<MotoServer> {
  const executable = options.executable ?? MOTO_SERVER;
  if (executable === null) throw new Error('moto_server is not on the PATH.');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;

  // MOTO_ACCOUNT_ID would pin every request to one account and defeat the cross-account tests.
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
  delete env.MOTO_ACCOUNT_ID;
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  running.add(child);
  // Keep the last output for error messages; reading also keeps the pipes from filling up.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const server: MotoServer = {
    endpoint,
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop: () => stopChild(child),
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (spawnError !== undefined || exited(child)) break;
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      await response.arrayBuffer();
      if (response.ok) return server;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stopChild(child);
  const why =
    spawnError?.message ??
    (child.exitCode !== null ? `it exited with code ${child.exitCode}` : `timeout ${timeoutMs} ms`);
  throw new Error(`moto_server did not start on ${endpoint} (${why}). Its output:\n${output}`);
}
