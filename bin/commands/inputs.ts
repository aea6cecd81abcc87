/**
 * Reading the CLI's input files. Each failure becomes a `UsageError` that names the option, the file (as resolved)
 * and the problem.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import type { Config } from '../../lambda/domain/config';
import { ConfigError, parseConfig } from '../../lambda/domain/config';
import { isJsonObject } from '../../lambda/domain/policy-document';
import { UsageError } from './usage-error';

/** The package name npm puts in `npm_package_name` while it runs one of this package's own scripts. */
const PACKAGE_NAME = 'lambda-ecr-autofix';

/**
 * The directory relative paths are meant from: the one the user typed the command in. `npm run` starts a script in
 * the package root and keeps the user's directory in `INIT_CWD`
 * (https://docs.npmjs.com/cli/v10/commands/npm-run-script), so `npm run --silent cli -- plan --event ../x.json` typed
 * in `docs/` means `docs/../x.json`. Only this package's own scripts are treated so: when another project's npm
 * script runs the installed command, its paths are written relative to that project's root, where npm runs it.
 */
export function invocationDirectory(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string
): string {
  const initial = env['INIT_CWD'];
  return initial !== undefined && initial !== '' && env['npm_package_name'] === PACKAGE_NAME
    ? initial
    : cwd;
}

/** An input path resolved against `base`; `-` (standard input) and absolute paths stay as they are. */
export function resolveInputPath(path: string, base: string): string {
  return path === '-' || isAbsolute(path) ? path : resolve(base, path);
}

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

/** A repository policy as read from a file, with the repository it says it belongs to, when it says so. */
export interface PolicyInput {
  /** The policy text as written, or null for "no policy" (never from a file). */
  readonly text: string;
  /** `registryId` of `aws ecr get-repository-policy` output, else null. */
  readonly registryId: string | null;
  /** `repositoryName` of `aws ecr get-repository-policy` output, else null. */
  readonly repositoryName: string | null;
}

/**
 * Reads a repository policy file. Accepts the policy document itself, the output of `aws ecr get-repository-policy`
 * (`{"registryId", "repositoryName", "policyText": "..."}`), and the output of the same command with
 * `--query policyText` (a JSON string holding the policy document).
 */
export function readPolicy(path: string): PolicyInput {
  const text = readText('--policy', path);
  const value = parseJson('--policy', path, text);
  if (typeof value === 'string') {
    if (!isJsonObject(parseOrNull(value))) {
      throw new UsageError(
        `--policy ${path} holds a JSON string that is not a policy document (expected the output of aws ecr get-repository-policy --query policyText)`
      );
    }
    return { text: value, registryId: null, repositoryName: null };
  }
  if (isJsonObject(value) && typeof value['policyText'] === 'string' && !('Statement' in value)) {
    return {
      text: value['policyText'],
      registryId: typeof value['registryId'] === 'string' ? value['registryId'] : null,
      repositoryName: typeof value['repositoryName'] === 'string' ? value['repositoryName'] : null,
    };
  }
  if (!isJsonObject(value)) {
    throw new UsageError(
      `--policy ${path} is not a repository policy (${value === null ? 'null' : Array.isArray(value) ? 'a JSON array' : `a JSON ${typeof value}`}); expected the policy document or the output of aws ecr get-repository-policy`
    );
  }
  // A policy ECR would hold has a statement list (or at least a version); package.json has neither. A malformed
  // policy is still planned (policy-invalid), as the fixer would decide it.
  if (!['Statement', 'Version', 'Id'].some((key) => Object.hasOwn(value, key))) {
    throw new UsageError(
      `--policy ${path} is not a repository policy (an object without "Statement", "Version" or "policyText"); expected the policy document or the output of aws ecr get-repository-policy`
    );
  }
  return { text, registryId: null, repositoryName: null };
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** Reads and validates the configuration file; no file gives the defaults. */
export function readConfig(path: string | undefined): Config {
  if (path === undefined) return parseConfig({}, 'the defaults');
  const value = readJson('--config', path);
  // parseConfig takes a missing context (undefined) for the defaults; a file holding null is a mistake.
  if (value === null) {
    throw new UsageError(`Invalid configuration in ${path}: expected a JSON object, got null`);
  }
  try {
    return parseConfig(value, path);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The repository's tags for `plan`: `--tags FILE` (the output of `aws ecr list-tags-for-resource`,
 * `{"tags":[{"Key":..,"Value":..}]}`; or a bare `[{"Key":..,"Value":..}]` list; or a `{"key":"value"}` map), then each
 * `--tag KEY=VALUE`, which wins for its key.
 */
export function readTags(
  file: string | undefined,
  pairs: readonly string[]
): Record<string, string> {
  // A map without a prototype: tag keys such as "__proto__" or "constructor" stay plain keys.
  const tags: Record<string, string> = Object.create(null) as Record<string, string>;
  if (file !== undefined) Object.assign(tags, tagsFromJson(file, readJson('--tags', file)));
  for (const pair of pairs) {
    const index = pair.indexOf('=');
    if (index <= 0) {
      throw new UsageError(
        `--tag must be KEY=VALUE (e.g. lambda-ecr-autofix:share=222222222222), got ${JSON.stringify(pair)}`
      );
    }
    tags[pair.slice(0, index)] = pair.slice(index + 1);
  }
  return { ...tags };
}

function tagsFromJson(file: string, value: unknown): Record<string, string> {
  const bad = (why: string): UsageError =>
    new UsageError(
      `--tags ${file} ${why}; expected the output of "aws ecr list-tags-for-resource" ({"tags":[{"Key":"k","Value":"v"}]}), a [{"Key":"k","Value":"v"}] list or a {"k":"v"} map`
    );
  const list = isJsonObject(value) && Object.hasOwn(value, 'tags') ? value['tags'] : value;
  if (Array.isArray(list)) {
    const tags: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [index, entry] of list.entries()) {
      if (!isJsonObject(entry) || typeof entry['Key'] !== 'string' || entry['Key'] === '') {
        throw bad(`has a tag without a "Key" string at position ${index + 1}`);
      }
      if (typeof entry['Value'] !== 'string') {
        throw bad(`has a tag ${JSON.stringify(entry['Key'])} without a "Value" string`);
      }
      if (Object.hasOwn(tags, entry['Key'])) {
        throw bad(`names the tag ${JSON.stringify(entry['Key'])} twice`);
      }
      tags[entry['Key']] = entry['Value'];
    }
    return tags;
  }
  if (!isJsonObject(list) || Object.hasOwn(value as object, 'tags')) {
    throw bad('is not a list of tags');
  }
  for (const [key, tagValue] of Object.entries(list)) {
    if (typeof tagValue !== 'string') {
      throw bad(`gives the tag ${JSON.stringify(key)} a value that is not a string`);
    }
  }
  return list as Record<string, string>;
}
