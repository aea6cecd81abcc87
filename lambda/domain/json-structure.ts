/**
 * What `JSON.parse` hides about a JSON text: a key repeated in one object (the parser silently keeps the last one, so
 * a policy rewritten from the parsed value would drop the other, and AWS may have read it differently), and nesting
 * so deep that walking or serializing the value exhausts the stack. One linear pass over the text, no allocation per
 * character: it runs on every repository policy the fixer reads.
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
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const COMMA = 0x2c; // ,

/**
 * The first structural problem of a JSON text, or null. Meant for text `JSON.parse` accepts; for anything else it
 * still ends (and may answer null: the parse error is the better message). Keys are compared after unescaping, so
 * `"Effect"` and `"\u0045ffect"` are the same key, as they are to every JSON reader.
 */
export function findJsonStructureProblem(
  text: string,
  maxDepth: number = MAX_JSON_DEPTH
): JsonStructureProblem | null {
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
      if (open.length >= maxDepth) return { kind: 'too-deep', maxDepth };
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
