/**
 * Text from an event that ends up in a key, a log line or an e-mail: bounded in length without ever splitting a
 * character, made well-formed (no lone UTF-16 surrogate, which `encodeURIComponent` and SNS refuse), and, for free
 * text, without control characters that could forge lines in a message body ("\nRevoke with: …").
 */

/** Marks a cut text. Not a character of any ARN, image URI or name grammar, so a cut value never parses as one. */
export const CUT_MARK = '\u2026';

/**
 * C0/C1 control characters (newlines, tabs, escape sequences), the Unicode line and paragraph separators, and the
 * bidirectional embedding/override/isolate controls (which reorder what a reader sees).
 */
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;
const CONTROLS = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]+/gu;
/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one (code units, no `u`). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SURROGATE = /[\uD800-\uDFFF]/;

/** Replaces every lone surrogate with U+FFFD; well-formed text comes back unchanged (the same string). */
export function wellFormed(text: string): string {
  return SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

/**
 * At most `max` UTF-16 code units (`max` ≥ 2), cut on a code point boundary: a cut text keeps as much as fits and ends
 * with `…`. The input must be well-formed (see `wellFormed`); the result then is too.
 */
export function boundText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - CUT_MARK.length;
  const last = text.charCodeAt(end - 1);
  // A high surrogate right before the cut loses its low half: drop it too.
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${CUT_MARK}`;
}

/**
 * Any character `cleanText` may have to change: the controls above (`\p{Cc}` is U+0000–U+001F and U+007F–U+009F) and
 * any surrogate (paired ones included: a code-unit class, cheaper than a Unicode one, for the common plain text).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is what this expression is for
const SUSPECT = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;

/** Free text from an event (a user agent, an error message, an ARN as displayed): one line, well-formed, bounded. */
export function cleanText(text: string, max: number): string {
  // Most event text is plain: one scan, then at most a cut (no surrogate to care about).
  if (!SUSPECT.test(text)) return text.length <= max ? text : boundText(text, max);
  const oneLine = CONTROL.test(text) ? text.replace(CONTROLS, ' ') : text;
  return boundText(wellFormed(oneLine), max);
}
