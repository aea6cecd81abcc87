import fc from 'fast-check';

import {
  MAX_FACT_LENGTH,
  fact,
  head,
  shorten,
  tail,
  toAscii,
  truncateToBytes,
} from '../../lambda/domain/notification-text';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const EMOJI = '\u{1F600}';

describe('cuts on whole characters', () => {
  it('head and tail never split a surrogate pair', () => {
    const text = `a${EMOJI}${EMOJI}b`;

    expect(head(text, 2)).toBe('a');
    expect(head(text, 3)).toBe(`a${EMOJI}`);
    expect(head(text, 0)).toBe('');
    expect(tail(text, 2)).toBe('b');
    expect(tail(text, 3)).toBe(`${EMOJI}b`);
    expect(tail(text, 0)).toBe('');
    expect(tail(text, 10)).toBe(text);
  });

  it('fact cuts a long text between characters', () => {
    const text = `a${EMOJI.repeat(MAX_FACT_LENGTH)}`;

    const cut = fact(text);

    expect(cut.endsWith('... (cut)')).toBe(true);
    expect(cut).not.toMatch(LONE_SURROGATE);
    expect(cut.length).toBeLessThanOrEqual(MAX_FACT_LENGTH + '... (cut)'.length);
    expect(fact('short')).toBe('short');
  });

  it('shorten keeps both ends whole', () => {
    const text = `${EMOJI.repeat(20)}x${EMOJI.repeat(20)}`;

    const short = shorten(text, 10);

    expect(short).not.toMatch(LONE_SURROGATE);
    expect(short).toContain('...');
    expect(short.length).toBeLessThanOrEqual(10);
    expect(shorten('abc', 10)).toBe('abc');
  });

  it('toAscii replaces a character outside ASCII with one question mark', () => {
    expect(toAscii(`caf\u00e9 ${EMOJI}!`)).toBe('caf? ?!');
  });

  it('truncateToBytes stays within the budget and decodes whole characters', () => {
    const text = `a${EMOJI.repeat(100)}`;

    const cut = truncateToBytes(text, 120);

    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(120);
    expect(cut).not.toContain('\uFFFD');
    expect(cut).toContain('shortened to fit');
  });

  it('never leaves a lone surrogate, whatever the text and the room', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.integer({ min: 0, max: 70 }),
        (text, room) => {
          for (const cut of [head(text, room), tail(text, room), shorten(text, room)]) {
            expect(LONE_SURROGATE.test(cut) && !LONE_SURROGATE.test(text)).toBe(false);
          }
        }
      )
    );
  });
});
