/**
 * Reading the CLI's input files. Each failure becomes a `UsageError` that names the option, the file and the problem.
 */
import { readFileSync } from 'node:fs';

import type { Config } from '../../lambda/domain/config';
import { ConfigError, parseConfig } from '../../lambda/domain/config';
import { isJsonObject } from '../../lambda/domain/policy-document';
import { UsageError } from './usage-error';

/** Reads a file (or standard input for `-`) as text. */
export function readText(option: string, path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    throw new UsageError(`cannot read ${option} ${path}: ${why}`);
  }
}

/** Reads and parses a JSON file. */
export function readJson(option: string, path: string): unknown {
  return parseJson(option, path, readText(option, path));
}

function parseJson(option: string, path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${option} ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a repository policy file, returning the policy text as written. Accepts the policy document itself or the
 * output of `aws ecr get-repository-policy` (`{"policyText": "..."}`).
 */
export function readPolicy(path: string): string {
  const text = readText('--policy', path);
  const value = parseJson('--policy', path, text);
  if (isJsonObject(value) && typeof value['policyText'] === 'string' && !('Statement' in value)) {
    return value['policyText'];
  }
  return text;
}

/** Reads and validates the configuration file; no file gives the defaults. */
export function readConfig(path: string | undefined): Config {
  if (path === undefined) return parseConfig({}, 'the defaults');
  const value = readJson('--config', path);
  try {
    return parseConfig(value, path);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}
