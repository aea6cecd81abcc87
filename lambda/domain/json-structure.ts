/**
 * What `JSON.parse` hides about a JSON text: a key repeated in one object (the parser silently keeps the last one, so
 * a policy rewritten from the parsed value would drop the other, and AWS may have read it differently), and nesting
 * so deep that walking or serializing the value exhausts the stack.
 *
 * It runs on every repository policy the fixer reads, so the common case is cheap: the parsed value's keys are counted
 * (depth-limited), and so are the keys written in the text (a string followed by a colon, found by jumping from quote
 * to quote). Only when the two counts differ, which means a key was repeated, does a character-by-character scan
 * find which one.
 */

/** Far deeper than any IAM policy (a policy nests 5 or 6 levels), far shallower than what overflows the stack. */
export const MAX_JSON_DEPTH = 64;

export type JsonStructureProblem =
  | { readonly kind: 'too-deep'; readonly maxDepth: number }
  | {
      readonly kind: 'duplicate-key';
      readonly key: string;
      /** Zero-based position of the repeated key in the text. */
      readonly offset: number;
    };

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const COLON = 0x3a; // :
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const COMMA = 0x2c; // ,

/**
 * The first structural problem of a JSON text, or null. `value` must be `JSON.parse(text)`. Keys are compared after
 * unescaping, so `"Effect"` and `"\u0045ffect"` are the same key, as they are to every JSON reader.
 */
export function findJsonStructureProblem(
  text: string,
  value: unknown,
  maxDepth: number = MAX_JSON_DEPTH
): JsonStructureProblem | null {
  const parsedKeys = countKeys(value, maxDepth);
  if (parsedKeys < 0) return { kind: 'too-deep', maxDepth };
  // Parsing keeps one of each repeated key: fewer keys parsed than written means a repetition.
  return keysWritten(text) === parsedKeys ? null : findDuplicateKey(text);
}

/** The keys of every object in a parsed JSON value; -1 when it nests more than `maxDepth` containers deep. */
function countKeys(value: unknown, maxDepth: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (maxDepth === 0) return -1;
  let keys = 0;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      const inner = countKeys(item, maxDepth - 1);
      if (inner < 0) return -1;
      keys += inner;
    }
    return keys;
  }
  // JSON.parse makes plain objects: `for…in` sees exactly their own keys, without allocating a list of them.
  for (const key in value) {
    const inner = countKeys((value as Record<string, unknown>)[key], maxDepth - 1);
    if (inner < 0) return -1;
    keys += 1 + inner;
  }
  return keys;
}

/** The keys written in a valid JSON text: strings followed (after any white space) by a colon. */
function keysWritten(text: string): number {
  let keys = 0;
  for (let start = text.indexOf('"'); start >= 0;) {
    // Valid JSON: every string is closed.
    const end = closingQuote(text, start + 1);
    let next = end + 1;
    while (isWhiteSpace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === COLON) keys++;
    start = text.indexOf('"', end + 1);
  }
  return keys;
}

/**
 * The first key repeated within one object, scanning the text character by character (strings are skipped whole).
 * Meant for text `JSON.parse` accepts; for anything else it still ends, and may answer null.
 */
export function findDuplicateKey(text: string): JsonStructureProblem | null {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (string[] | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      const end = closingQuote(text, i + 1);
      if (end < 0) return null;
      if (expectingKey) {
        const keys = open[open.length - 1] as string[];
        const key = unescapeKey(text.slice(i + 1, end));
        if (keys.includes(key)) return { kind: 'duplicate-key', key, offset: i };
        keys.push(key);
        expectingKey = false;
      }
      i = end;
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      open.push(char === OPEN_OBJECT ? [] : null);
      expectingKey = char === OPEN_OBJECT;
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      open.pop();
      expectingKey = false;
    } else if (char === COMMA) {
      // After a comma inside an object comes the next key; inside an array, a value.
      expectingKey = open.length > 0 && open[open.length - 1] !== null;
    }
  }
  return null;
}

/** JSON white space: https://www.rfc-editor.org/rfc/rfc8259#section-2 */
function isWhiteSpace(char: number): boolean {
  return char === 0x20 || char === 0x0a || char === 0x0d || char === 0x09;
}

/** The index of the quote that ends the string starting at `from`, or -1 when the text ends first. */
function closingQuote(text: string, from: number): number {
  let end = text.indexOf('"', from);
  while (end >= 0 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
  return end;
}

/** Whether the character at `index` is escaped: preceded by an odd number of backslashes. */
function isEscaped(text: string, index: number): boolean {
  let backslashes = 0;
  for (let i = index - 1; i >= 0 && text.charCodeAt(i) === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 1;
}

function unescapeKey(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    // Not a valid JSON string body; then the text is not JSON and the parser reports that.
    return raw;
  }
}
