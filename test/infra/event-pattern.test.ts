import * as fs from 'node:fs';
import * as path from 'node:path';

import { Template } from 'aws-cdk-lib/assertions';

import { WITHOUT_SWEEPS, buildApp, memberOf, resourcesOf } from './app-fixture';
import { UnsupportedPatternError, matchesPattern, type JsonValue } from './event-pattern-matcher';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
/** Deliberately not JSON (the handler's parse test uses it). */
const NOT_JSON = 'malformed-truncated-event.json';
/** Fixtures of calls that succeeded: the rule must not forward them. */
const SUCCESSES = new Set(['create-function-success-image.json']);

const fixtureFiles = fs
  .readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.json') && file !== NOT_JSON)
  .sort();

function fixture(file: string): JsonValue {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as JsonValue;
}

/** A failure fixture with some fields replaced, for near misses. */
function variant(
  detail: Record<string, JsonValue | undefined>,
  top: Record<string, JsonValue> = {}
): JsonValue {
  const event = structuredClone(fixture('update-function-code-ecr-denied.json')) as Record<
    string,
    JsonValue
  >;
  const eventDetail = event.detail as Record<string, JsonValue>;
  for (const [key, value] of Object.entries(detail)) {
    if (value === undefined) delete eventDetail[key];
    else eventDetail[key] = value;
  }
  return { ...event, ...top };
}

describe('the failed-deploy event pattern, as synthesized', () => {
  let rawPatterns: JsonValue[];

  beforeAll(() => {
    const built = buildApp(WITHOUT_SWEEPS);
    rawPatterns = [
      ...resourcesOf(Template.fromStack(built.stacks.central), 'AWS::Events::Rule'),
      ...resourcesOf(Template.fromStack(memberOf(built)), 'AWS::Events::Rule'),
    ]
      .map(([, rule]) => rule.Properties?.EventPattern as JsonValue)
      .filter(
        (pattern) =>
          JSON.stringify((pattern as Record<string, JsonValue>).source) === '["aws.lambda"]'
      );
  });

  /**
   * The three rules' patterns as deployed in the account the event comes from: the central default-bus rule matches
   * only its own account's events (provenance.test.ts shows it refuses another account's).
   */
  function patternsFor(event: JsonValue): JsonValue[] {
    const account = (event as Record<string, JsonValue>).account ?? null;
    return rawPatterns.map(
      (pattern) =>
        JSON.parse(
          JSON.stringify(pattern).replace('{"Ref":"AWS::AccountId"}', JSON.stringify(account))
        ) as JsonValue
    );
  }

  it('is the same in all three rules (central bus, central default bus, member forwarding)', () => {
    // Arrange
    const [organization, local, member] = rawPatterns as Array<Record<string, JsonValue>>;

    // Assert: the local rule adds only its own account.
    expect(rawPatterns).toHaveLength(3);
    expect(member).toEqual(organization);
    expect(local).toEqual({ ...organization, account: [{ Ref: 'AWS::AccountId' }] });
  });

  it('has fixtures to test against', () => {
    // Assert
    expect(fixtureFiles.length).toBeGreaterThan(10);
    expect(fixtureFiles.filter((file) => SUCCESSES.has(file))).toHaveLength(SUCCESSES.size);
  });

  it.each(fixtureFiles.filter((file) => !SUCCESSES.has(file)))(
    'forwards the failed call in %s',
    (file) => {
      // Act
      const matched = patternsFor(fixture(file)).map((pattern) =>
        matchesPattern(pattern, fixture(file))
      );

      // Assert
      expect(matched).toEqual([true, true, true]);
    }
  );

  it.each([...SUCCESSES])('does not forward the successful call in %s', (file) => {
    // Act
    const matched = patternsFor(fixture(file)).map((pattern) =>
      matchesPattern(pattern, fixture(file))
    );

    // Assert
    expect(matched).toEqual([false, false, false]);
  });

  it.each<[string, JsonValue]>([
    [
      'a successful UpdateFunctionCode (no errorCode)',
      variant({ errorCode: undefined, errorMessage: undefined }),
    ],
    [
      'a failed UpdateFunctionConfiguration',
      variant({ eventName: 'UpdateFunctionConfiguration20150331v2' }),
    ],
    ['a failed GetFunction', variant({ eventName: 'GetFunction20150331v2' })],
    ['a failed DeleteFunction', variant({ eventName: 'DeleteFunction20150331' })],
    ['another event source', variant({ eventSource: 'ecr.amazonaws.com' })],
    ['another source', variant({}, { source: 'aws.ecr' })],
    ['another detail-type', variant({}, { 'detail-type': 'AWS Service Event via CloudTrail' })],
    ['a lower-case event name', variant({ eventName: 'createfunction20150331' })],
  ])('does not forward %s', (_what, event) => {
    // Assert
    for (const pattern of patternsFor(event)) expect(matchesPattern(pattern, event)).toBe(false);
  });

  it.each<[string, JsonValue]>([
    ['CreateFunction without a version suffix', variant({ eventName: 'CreateFunction' })],
    ['a future API version', variant({ eventName: 'UpdateFunctionCode20990101' })],
    ['an errorCode of any value', variant({ errorCode: 'ThrottlingException' })],
  ])('forwards %s', (_what, event) => {
    // Assert
    for (const pattern of patternsFor(event)) expect(matchesPattern(pattern, event)).toBe(true);
  });

  it('also forwards failed CreateFunctionUrlConfig calls, which the handler answers with "ignored"', () => {
    // Arrange: a plain prefix cannot exclude them; filtering in the handler is cheaper than a second rule.
    const event = variant({ eventName: 'CreateFunctionUrlConfig20211031' });

    // Assert
    for (const pattern of patternsFor(event)) expect(matchesPattern(pattern, event)).toBe(true);
  });
});

describe('the test matcher itself', () => {
  it.each<[string, JsonValue, JsonValue, boolean]>([
    ['exact string', { a: ['x'] }, { a: 'x' }, true],
    ['exact string, other value', { a: ['x'] }, { a: 'y' }, false],
    ['exact number', { a: [5] }, { a: 5 }, true],
    ['number is not a string', { a: ['5'] }, { a: 5 }, false],
    ['exact null', { a: [null] }, { a: null }, true],
    ['any element of an event array', { a: ['x'] }, { a: ['y', 'x'] }, true],
    ['missing field', { a: ['x'] }, { b: 'x' }, false],
    ['nested', { a: { b: ['x'] } }, { a: { b: 'x', c: 1 } }, true],
    ['nested, missing', { a: { b: ['x'] } }, { a: 'b' }, false],
    ['prefix', { a: [{ prefix: 'Create' }] }, { a: 'CreateFunction' }, true],
    ['prefix is case-sensitive', { a: [{ prefix: 'Create' }] }, { a: 'createFunction' }, false],
    ['prefix on a number', { a: [{ prefix: '1' }] }, { a: 12 }, false],
    ['suffix', { a: [{ suffix: 'v2' }] }, { a: 'UpdateFunctionCode20150331v2' }, true],
    ['exists true, present', { a: [{ exists: true }] }, { a: 'x' }, true],
    ['exists true, absent', { a: [{ exists: true }] }, {}, false],
    ['exists true, object (not a leaf)', { a: [{ exists: true }] }, { a: { b: 1 } }, false],
    ['exists false, absent', { a: [{ exists: false }] }, {}, true],
    ['exists false, present', { a: [{ exists: false }] }, { a: 'x' }, false],
    ['anything-but', { a: [{ 'anything-but': ['x'] }] }, { a: 'y' }, true],
    ['anything-but, excluded', { a: [{ 'anything-but': ['x'] }] }, { a: 'x' }, false],
    ['all fields must match', { a: ['x'], b: ['y'] }, { a: 'x', b: 'z' }, false],
    ['any matcher of a field may match', { a: ['x', { prefix: 'y' }] }, { a: 'yes' }, true],
  ])('%s', (_what, pattern, event, expected) => {
    // Assert
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it('refuses operators it does not implement', () => {
    // Assert
    expect(() => matchesPattern({ a: [{ wildcard: 'x*' }] }, { a: 'x' })).toThrow(
      UnsupportedPatternError
    );
    expect(() => matchesPattern({ $or: [{ a: ['x'] }] }, { a: 'x' })).toThrow(
      UnsupportedPatternError
    );
  });
});
