/**
 * findJsonStructureProblem: what JSON.parse hides (a repeated key) or chokes on later (nesting too deep).
 */
import fc from 'fast-check';

import {
  MAX_JSON_DEPTH,
  findDuplicateKey,
  findJsonStructureProblem,
} from '../../lambda/domain/json-structure';

/** The function as the policy parser calls it: on text JSON.parse accepted. */
const problemOf = (text: string, maxDepth?: number) =>
  findJsonStructureProblem(text, JSON.parse(text) as unknown, maxDepth);

describe('findJsonStructureProblem', () => {
  it.each([
    ['a policy', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["a","b"]}]}'],
    ['the same key in sibling objects', '[{"a":1},{"a":2}]'],
    ['the same key at different depths', '{"a":{"a":{"a":1}}}'],
    ['a key-like value', '{"a":"a","b":"a"}'],
    ['escaped quotes and braces in strings', '{"a\\"{":"}]\\\\","b":"[\\"a\\":"}'],
    ['values after a nested object', '{"a":{"x":1},"b":[{"x":2}],"c":3}'],
    ['scalars', '42'],
    ['nesting exactly at the limit', `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`],
  ])('finds nothing wrong with %s', (_what, text) => {
    expect(problemOf(text)).toBeNull();
  });

  it.each([
    ['a repeated key', '{"Effect":"Allow","Effect":"Deny"}', 'Effect', 18],
    ['one written with an escape', '{"Effect":"Allow","\\u0045ffect":"Deny"}', 'Effect', 18],
    [
      'in a nested statement',
      '{"Statement":[{"Sid":"A"},{"Action":"x","Sid":"B","Action":"y"}]}',
      'Action',
      50,
    ],
    ['after a nested object', '{"a":{"b":1},"a":2}', 'a', 13],
  ])('finds %s', (_what, text, key, offset) => {
    expect(problemOf(text)).toEqual({ kind: 'duplicate-key', key, offset });
  });

  it('finds nesting deeper than the limit, without recursion', () => {
    const text = `{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;

    expect(problemOf(text)).toEqual({ kind: 'too-deep', maxDepth: MAX_JSON_DEPTH });
    expect(problemOf('[[[]]]', 2)).toEqual({ kind: 'too-deep', maxDepth: 2 });
    expect(problemOf('{"a":[{"b":1}]}', 2)).toEqual({ kind: 'too-deep', maxDepth: 2 });
    expect(problemOf(`${'['.repeat(65)}${']'.repeat(65)}`)).toEqual({
      kind: 'too-deep',
      maxDepth: MAX_JSON_DEPTH,
    });
  });

  it('scans text that is not JSON without failing', () => {
    expect(findDuplicateKey('{"a')).toBeNull();
    expect(findDuplicateKey('{"a":1,"b":[1,{"a":2}]} trailing')).toBeNull();
    // An escape JSON.parse would refuse: compared as written.
    expect(findDuplicateKey('{"a\\x":1,"a\\x":2}')).toEqual({
      kind: 'duplicate-key',
      key: 'a\\x',
      offset: 9,
    });
  });

  it('agrees with JSON.parse on which objects repeat a key', () => {
    const keys = fc.constantFrom('a', 'b', 'c', 'Effect', '\\u0061');
    const value: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom('1', '"x"', 'null', '"{\\"a\\":["'),
        fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
        fc
          .array(fc.tuple(keys, tie('value')), { maxLength: 3 })
          .map((entries) => `{${entries.map(([k, v]) => `"${k}":${v}`).join(',')}}`)
      ),
    })).value;
    fc.assert(
      fc.property(value, (text) => {
        const problem = problemOf(text);
        // Re-serializing a parsed value drops repeated keys: shorter text means some key was repeated.
        const parsed = JSON.parse(text) as unknown;
        const lost = countKeys(text) !== countParsedKeys(parsed);
        expect(problem?.kind === 'duplicate-key').toBe(lost);
      }),
      { numRuns: 1000 }
    );
  });
});

/** Keys written in the text (every string directly followed by a colon), repeated ones included. */
function countKeys(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue;
    let j = i + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (text[j + 1] === ':') count++;
    i = j;
  }
  return count;
}

function countParsedKeys(value: unknown): number {
  if (Array.isArray(value))
    return value.reduce((sum: number, item) => sum + countParsedKeys(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  return Object.values(value).reduce((sum: number, item) => sum + 1 + countParsedKeys(item), 0);
}
