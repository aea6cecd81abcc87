/**
 * Plain-text layout for notices: sections, numbered steps, indentation, and the cuts that keep a notice within SNS's
 * limits. Every cut ends on a whole character (a whole UTF-16 code point): a lone surrogate would reach the reader as
 * a replacement character, or make the subject invalid.
 */

/** Facts longer than this (only a hostile or broken event has them) are cut so that the message still fits. */
export const MAX_FACT_LENGTH = 2_000;

/** A section: its title line, then its lines. */
export function renderSection(section: readonly string[]): string {
  return section.join('\n');
}

export function numbered(steps: readonly string[]): string[] {
  return steps.length === 0
    ? ['Review the failure above.']
    : steps.map((step, index) => `${index + 1}. ${step}`);
}

export function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** A fact from the event, cut when it is absurdly long. */
export function fact(text: string): string {
  return text.length <= MAX_FACT_LENGTH ? text : `${head(text, MAX_FACT_LENGTH)}... (cut)`;
}

/** At most `room` characters: the start and the end of `text` around `...`. */
export function shorten(text: string, room: number): string {
  if (text.length <= room) return text;
  // Subjects always leave room for a name: the other parts are short (an account id, an API, a region).
  const keep = Math.max(0, room - 3);
  const start = Math.ceil(keep / 2);
  return `${head(text, start)}...${tail(text, keep - start)}`;
}

/** Replaces each character outside printable ASCII (SNS alters such subjects) with `?`. */
export function toAscii(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, '?');
}

/** The first `units` UTF-16 units of `text`, one fewer when the last would be the first half of a surrogate pair. */
export function head(text: string, units: number): string {
  if (text.length <= units) return text;
  const end = isHighSurrogate(text.charCodeAt(units - 1)) ? units - 1 : units;
  return text.slice(0, Math.max(0, end));
}

/** The last `units` UTF-16 units of `text`, one fewer when the first would be the second half of a surrogate pair. */
export function tail(text: string, units: number): string {
  if (units <= 0) return '';
  if (text.length <= units) return text;
  const start = text.length - units;
  return text.slice(isLowSurrogate(text.charCodeAt(start)) ? start + 1 : start);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

const encoder = new TextEncoder();

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** At most `budget` bytes of UTF-8, with a marker when cut. */
export function truncateToBytes(text: string, budget: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= budget) return text;
  const marker = '\n... (shortened to fit the 256 KB SNS limit)';
  const end = Math.max(0, budget - utf8Length(marker));
  // Cutting bytes may split a character; `stream: true` holds back the incomplete bytes instead of decoding them.
  const cut = new TextDecoder().decode(bytes.subarray(0, end), { stream: true });
  return `${cut}${marker}`;
}
