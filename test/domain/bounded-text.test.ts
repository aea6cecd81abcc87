/**
 * Bounded, well-formed, one-line text: what every event string becomes before it reaches a key, a log or an e-mail.
 */
import fc from 'fast-check';

import { CUT_MARK, boundText, cleanText, wellFormed } from '../../lambda/domain/bounded-text';

/** `String.prototype.isWellFormed` (Node 20; not in the ES2023 typings the project compiles against). */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

const EMOJI = '\u{1F600}'; // two UTF-16 code units

describe('wellFormed', () => {
  it.each([
    ['a lone high surrogate', 'a\uD83Db', 'a\uFFFDb'],
    ['a lone low surrogate', 'a\uDE00b', 'a\uFFFDb'],
    ['a high surrogate at the end', 'ab\uD83D', 'ab\uFFFD'],
    ['two high surrogates', '\uD83D\uD83D\uDE00', `\uFFFD${EMOJI}`],
  ])('replaces %s with U+FFFD', (_what, text, expected) => {
    expect(wellFormed(text)).toBe(expected);
  });

  it('returns well-formed text unchanged', () => {
    const text = `plain ${EMOJI} text`;

    expect(wellFormed(text)).toBe(text);
  });
});

describe('boundText', () => {
  it('keeps text that fits', () => {
    expect(boundText('abc', 3)).toBe('abc');
  });

  it('cuts to the bound, marking the cut', () => {
    const cut = boundText('abcdef', 4);

    expect(cut).toBe(`abc${CUT_MARK}`);
    expect(cut).toHaveLength(4);
  });

  it('never splits a surrogate pair', () => {
    // 'ab' + emoji: a cut after 3 code units would keep only the emoji's high half.
    const cut = boundText(`ab${EMOJI}cd`, 4);

    expect(cut).toBe(`ab${CUT_MARK}`);
    expect(isWellFormed(cut)).toBe(true);
  });

  it('stays within the bound and well-formed for any well-formed text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 60 }),
        fc.integer({ min: 2, max: 40 }),
        (text, max) => {
          const cut = boundText(text, max);

          expect(cut.length).toBeLessThanOrEqual(max);
          expect(isWellFormed(cut)).toBe(true);
          // Unchanged when it fits; otherwise a prefix of the text followed by the cut mark.
          expect(cut === text).toBe(text.length <= max);
          expect(text.startsWith(cut === text ? cut : cut.slice(0, -CUT_MARK.length))).toBe(true);
        }
      ),
      { numRuns: 1000 }
    );
  });
});

describe('cleanText', () => {
  it.each([
    ['newlines', 'ok\r\nRevoke: aws ecr delete-repository', 'ok Revoke: aws ecr delete-repository'],
    ['a tab and an escape sequence', 'a\tb\u001b[31mc', 'a b [31mc'],
    ['C1 controls', 'a\u0085b', 'a b'],
    ['Unicode line and paragraph separators', 'a\u2028b\u2029c', 'a b c'],
    ['bidirectional overrides', 'invoice\u202Efdp.exe', 'invoice fdp.exe'],
  ])('puts %s on one line', (_what, text, expected) => {
    expect(cleanText(text, 100)).toBe(expected);
  });

  it('makes text well-formed, then bounds it', () => {
    const text = `\uD83D${EMOJI.repeat(100)}`;

    const cleaned = cleanText(text, 11);

    expect(cleaned).toBe(`\uFFFD${EMOJI.repeat(4)}${CUT_MARK}`);
    expect(isWellFormed(cleaned)).toBe(true);
  });

  it('gives one well-formed line within the bound for any text at all', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.integer({ min: 2, max: 60 }),
        (text, max) => {
          const cleaned = cleanText(text, max);

          expect(cleaned.length).toBeLessThanOrEqual(max);
          expect(isWellFormed(cleaned)).toBe(true);
          expect(cleaned).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}]/u);
        }
      ),
      { numRuns: 1000 }
    );
  });
});
