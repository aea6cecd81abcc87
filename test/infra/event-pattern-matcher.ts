/**
 * A small EventBridge pattern matcher for the tests: enough of the documented semantics to evaluate the synthesized
 * rule patterns against the fixture events, and nothing more. An operator it does not know makes it throw, so a
 * pattern that starts using one fails the tests instead of being evaluated wrongly.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 *
 * Supported: nested fields; leaf arrays (any matcher may match); exact strings, numbers, booleans and null; `prefix`;
 * `suffix`; `exists`; `anything-but` with exact values. An array in the event matches when any element matches.
 */

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

export class UnsupportedPatternError extends Error {
  constructor(operator: string) {
    super(
      `The test matcher does not support the EventBridge operator ${operator}; extend it first.`
    );
    this.name = 'UnsupportedPatternError';
  }
}

/** Whether `event` matches `pattern` (both plain JSON, the pattern as synthesized into the template). */
export function matchesPattern(pattern: JsonValue, event: JsonValue): boolean {
  if (!isObject(pattern)) throw new Error('An event pattern must be a JSON object.');
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') throw new UnsupportedPatternError('$or');
    const value = event[key];
    if (Array.isArray(sub)) return matchesLeaf(sub, value);
    if (isObject(sub)) return value !== undefined && matchesPattern(sub, value);
    throw new Error(`Pattern field "${key}" must be an array of matchers or an object.`);
  });
}

function matchesLeaf(matchers: JsonValue[], value: JsonValue | undefined): boolean {
  if (matchers.length === 0)
    throw new Error('An empty matcher array matches nothing; EventBridge rejects it.');
  return matchers.some((matcher) => {
    if (isObject(matcher)) return matchesOperator(matcher, value);
    if (value === undefined) return false;
    return candidates(value).some((candidate) => candidate === matcher);
  });
}

function matchesOperator(operator: JsonObject, value: JsonValue | undefined): boolean {
  const entries = Object.entries(operator);
  const [name, argument] = entries[0] ?? [];
  if (entries.length !== 1 || name === undefined || argument === undefined) {
    throw new Error(`An operator object has exactly one key, got ${JSON.stringify(operator)}.`);
  }
  switch (name) {
    case 'exists':
      if (typeof argument !== 'boolean') throw new Error('"exists" takes true or false.');
      // Exists matching works on leaf nodes only.
      return argument === (value !== undefined && !isObject(value));
    case 'prefix':
      return stringCandidates(value).some((s) => s.startsWith(stringArgument(name, argument)));
    case 'suffix':
      return stringCandidates(value).some((s) => s.endsWith(stringArgument(name, argument)));
    case 'anything-but': {
      if (value === undefined) return false;
      const excluded = Array.isArray(argument) ? argument : [argument];
      if (excluded.some(isObject))
        throw new UnsupportedPatternError('anything-but with an operator');
      return candidates(value).some((candidate) => !excluded.includes(candidate));
    }
    default:
      throw new UnsupportedPatternError(name);
  }
}

function candidates(value: JsonValue): JsonValue[] {
  return Array.isArray(value) ? value : [value];
}

function stringCandidates(value: JsonValue | undefined): string[] {
  if (value === undefined) return [];
  return candidates(value).filter((v): v is string => typeof v === 'string');
}

function stringArgument(name: string, argument: JsonValue): string {
  if (typeof argument !== 'string')
    throw new UnsupportedPatternError(`${name} with a non-string argument`);
  return argument;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
