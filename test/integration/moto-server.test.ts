/** The moto_server harness itself: finding, skipping, failing to start, and stopping a whole process group. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describeWithMoto, findExecutable, freePort, startMotoServer } from './moto-server';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'moto-harness-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function waitForPid(file: string): Promise<number> {
  for (let i = 0; i < 100; i += 1) {
    try {
      return Number(readFileSync(file, 'utf8').trim());
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`${file} never appeared`);
}

async function stopsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (running(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Running (a zombie waiting for its reaper is not: in containers PID 1 may never reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) STATE ...
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('findExecutable', () => {
  it('finds the first executable of that name on the path, skipping non-executables', () => {
    const other = mkdtempSync(join(tmpdir(), 'moto-harness-other-'));
    writeFileSync(join(other, 'tool'), 'not executable');
    const tool = script('tool', 'exit 0');

    expect(findExecutable('tool', ['', other, dir].join(':'))).toBe(tool);
    expect(findExecutable('missing-tool', dir)).toBeNull();
    rmSync(other, { recursive: true, force: true });
  });
});

describe('describeWithMoto', () => {
  it('runs the suites when moto_server is there', () => {
    expect(describeWithMoto('/usr/bin/moto_server', {})).toBe(describe);
  });

  it('skips them with a visible notice when it is not', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);

    expect(describeWithMoto(null, {})).toBe(describe.skip);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('SKIPPING moto_server integration'));
    warn.mockRestore();
  });

  it('fails the run when REQUIRE_MOTO=1', () => {
    expect(() => describeWithMoto(null, { REQUIRE_MOTO: '1' })).toThrow(
      'REQUIRE_MOTO=1 but moto_server is not on the PATH'
    );
  });
});

describe('startMotoServer', () => {
  it('finds a free port on 127.0.0.1', async () => {
    const port = await freePort();

    expect(port).toBeGreaterThan(0);
  });

  it('reports a server that exits at once, with its output', async () => {
    const failing = script('exits', 'echo "Address already in use" >&2; exit 3');

    await expect(startMotoServer({ executable: failing })).rejects.toThrow(
      /did not start .*exited with code 3.*\n.*Address already in use/s
    );
  });

  it('kills the whole process group of a server that never answers', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const hanging = script('hangs', `sleep 60 & echo $! > ${pidFile}; wait`);

    const started = startMotoServer({ executable: hanging, timeoutMs: 3_000 }).catch(
      (e: unknown) => e
    );
    const grandchild = await waitForPid(pidFile);
    expect(running(grandchild)).toBe(true);

    const error = await started;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('timeout 3000 ms');
    // The group got its signal before startMotoServer gave up; under load the grandchild may take a moment to die.
    expect(await stopsWithin(grandchild, 5_000)).toBe(true);
  });
});

describeWithMoto()('a real moto_server', () => {
  it('answers after start, and stops for good (twice is harmless)', async () => {
    const moto = await startMotoServer();
    try {
      expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await expect(moto.reset()).resolves.toBeUndefined();
    } finally {
      await moto.stop();
    }
    await moto.stop();

    await expect(fetch(`${moto.endpoint}/moto-api/data.json`)).rejects.toThrow();
    await expect(moto.reset()).rejects.toThrow();
  });
});
