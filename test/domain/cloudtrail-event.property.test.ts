/**
 * Property-based tests of parseDeployEvent: it never throws, whatever the value, and whatever it accepts has the
 * types the rest of the core relies on.
 */
import fc from 'fast-check';

import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import type { DeployCall } from '../../lambda/domain/decision';
import { eventFixtureNames, loadEvent } from '../support/events';

const RUNS = { numRuns: 1000 };
const FIXTURES = eventFixtureNames().filter((name) => name !== 'malformed-truncated-event.json');
const KEYS = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    'detail',
    'detail-type',
    'source',
    'eventSource',
    'eventName',
    'requestParameters',
    'code',
    'imageUri',
    'tags'
  )
);

/** Every path to a value inside a JSON value, the root excluded. */
function pathsOf(value: unknown, prefix: readonly string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [
    [...prefix, key],
    ...pathsOf(child, [...prefix, key]),
  ]);
}

/** A copy of `event` with the value at `path` replaced (or deleted when `replacement` is undefined). */
function replaced(event: Record<string, unknown>, path: readonly string[], replacement: unknown) {
  const copy = structuredClone(event);
  let parent: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (replacement === undefined) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** The invariants every accepted call keeps. */
function expectWellTyped(call: DeployCall): void {
  expect(call.consumerAccount).toMatch(/^\d{12}$/);
  expect(['CreateFunction', 'UpdateFunctionCode']).toContain(call.api);
  expect(call.eventName.startsWith(call.api)).toBe(true);
  expect(typeof call.region).toBe('string');
  expect(typeof call.errorMessage).toBe('string');
  for (const field of [call.requestImageUri, call.functionName, call.errorCode, call.packageType]) {
    expect(field === null || typeof field === 'string').toBe(true);
  }
  expect(Object.values(call.requestTags).every((value) => typeof value === 'string')).toBe(true);
  expect(Object.getPrototypeOf(call.requestTags)).toBe(Object.prototype);
  // Every kept string is well-formed, one line and bounded: safe in a key, a log line and an e-mail.
  const texts = [
    call.envelopeId,
    call.eventId,
    call.eventTime,
    call.region,
    call.errorCode,
    call.errorMessage,
    call.functionName,
    call.requestImageUri,
    call.packageType,
    call.caller.arn,
    call.caller.type,
    call.caller.principalArn,
    call.caller.invokedBy,
    call.userAgent,
    call.sourceIpAddress,
    ...Object.entries(call.requestTags).flat(),
  ].filter((text): text is string => text !== null);
  for (const text of texts) {
    expect(isWellFormed(text)).toBe(true);
    expect(text).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}]/u);
    expect(text.length).toBeLessThanOrEqual(2_000);
  }
  expect(Object.keys(call.requestTags).length).toBeLessThanOrEqual(50);
}

/** `String.prototype.isWellFormed` (Node 20; not in the ES2023 typings the project compiles against). */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function expectAnswer(input: unknown): void {
  const result = parseDeployEvent(input);
  if (result.ok) {
    expectWellTyped(result.call);
  } else {
    expect(['invalid-event', 'inconsistent-event', 'not-a-lambda-deploy']).toContain(result.reason);
    expect(result.explanation).toMatch(/\.$/);
    expect(result.explanation.length).toBeLessThan(400);
    expect(isWellFormed(result.explanation)).toBe(true);
    expect(result.explanation).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}]/u);
  }
}

describe('parseDeployEvent properties', () => {
  it('answers any value at all without throwing', () => {
    fc.assert(
      fc.property(
        fc.anything({
          key: KEYS,
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
          withTypedArray: true,
        }),
        (input) => expectAnswer(input)
      ),
      RUNS
    );
  });

  it('answers any JSON value without throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 20 }), (input) => expectAnswer(input)),
      RUNS
    );
  });

  it('answers any fixture with one field replaced by arbitrary JSON', () => {
    const cases = fc
      .constantFrom(...FIXTURES)
      .map(loadEvent)
      .chain((event) =>
        fc.tuple(
          fc.constant(event),
          fc.constantFrom(...pathsOf(event)),
          fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constant(undefined))
        )
      );
    fc.assert(
      fc.property(cases, ([event, path, value]) => expectAnswer(replaced(event, path, value))),
      RUNS
    );
  });

  it('answers any bare fixture record with several fields replaced', () => {
    const cases = fc
      .constantFrom(...FIXTURES)
      .map((name) => loadEvent(name)['detail'] as Record<string, unknown>)
      .chain((record) =>
        fc.tuple(
          fc.constant(record),
          fc.array(fc.tuple(fc.constantFrom(...pathsOf(record)), fc.jsonValue({ maxDepth: 3 })), {
            maxLength: 4,
          })
        )
      );
    fc.assert(
      fc.property(cases, ([record, changes]) => {
        let mutated: unknown = record;
        for (const [path, value] of changes) {
          try {
            mutated = replaced(mutated as Record<string, unknown>, path, value);
          } catch {
            // An earlier change removed the path's parent; keep what we have.
          }
        }
        expectAnswer(mutated);
      }),
      RUNS
    );
  });

  it('keeps accepting a valid fixture whatever unknown fields are added', () => {
    // Keys the parser reads are excluded: replacing those is what the other properties do.
    const read = new Set([
      '__proto__',
      'constructor',
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'detail',
      'functionName',
      'packageType',
      'runtime',
      'handler',
      'code',
      'imageUri',
      's3Bucket',
      'zipFile',
      'tags',
    ]);
    const cases = fc.tuple(
      fc.constantFrom(...FIXTURES.filter((name) => !name.startsWith('malformed'))),
      fc.dictionary(
        fc.string().filter((key) => !read.has(key)),
        fc.jsonValue({ maxDepth: 3 })
      )
    );
    fc.assert(
      fc.property(cases, ([name, extra]) => {
        const event = loadEvent(name);
        const detail = event['detail'] as Record<string, unknown>;
        const request = detail['requestParameters'] as Record<string, unknown>;
        for (const [key, value] of Object.entries(extra)) {
          request[key] = value;
          event[key] = value;
        }
        const result = parseDeployEvent(event);
        expect(result.ok).toBe(true);
      }),
      RUNS
    );
  });

  it('keeps free text from any field well-formed, on one line and bounded, whatever it holds', () => {
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'binary', minLength: 1_990, maxLength: 2_100 }),
      fc.constantFrom(
        '\uD83D',
        '\uDE00',
        'a\uD83D\uDE00'.repeat(700),
        'ok\r\nSubject: forged',
        '\u202Eevil'
      )
    );
    const fields = [
      ['detail', 'userAgent'],
      ['detail', 'errorMessage'],
      ['detail', 'errorCode'],
      ['detail', 'sourceIPAddress'],
      ['detail', 'userIdentity', 'arn'],
      ['detail', 'userIdentity', 'type'],
      ['detail', 'userIdentity', 'invokedBy'],
      ['detail', 'requestParameters', 'functionName'],
      ['detail', 'requestParameters', 'packageType'],
      ['detail', 'requestParameters', 'code', 'imageUri'],
      ['detail', 'requestParameters', 'tags', 'team'],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...fields), hostile, (path, text) => {
        const event = replaced(
          loadEvent('create-function-cross-account-ecr-denied.json'),
          path,
          text
        );
        const result = parseDeployEvent(event);
        if (result.ok) expectWellTyped(result.call);
        else expectAnswer(event);
      }),
      RUNS
    );
  });
});
