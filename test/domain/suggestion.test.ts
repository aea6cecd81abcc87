import fc from 'fast-check';

import { closestMatch, editDistance } from '../../lambda/domain/suggestion';

const OPTIONS = ['event', 'policy', 'config', 'json', 'help'];

describe('closestMatch', () => {
  it.each<[string, string | null]>([
    ['event', 'event'],
    ['Event', 'event'],
    ['evnt', 'event'],
    ['evnet', 'event'],
    ['events', 'event'],
    ['conf', 'config'],
    ['polcy', 'policy'],
    ['jsn', 'json'],
    ['bogus', null],
    ['x', null],
    ['', null],
    ['verbose', null],
  ])('corrects %j to %j', (typed, expected) => {
    expect(closestMatch(typed, OPTIONS)).toBe(expected);
  });

  it('prefers the closest candidate and, on a tie, the earlier one', () => {
    expect(closestMatch('cat', ['cart', 'cast'])).toBe('cart');
    expect(closestMatch('cast', ['cart', 'cast'])).toBe('cast');
    expect(closestMatch('topic', ['topic-arn', 'region'])).toBe('topic-arn');
  });

  it('finds nothing among no candidates', () => {
    expect(closestMatch('event', [])).toBeNull();
  });
});

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['evnet', 'event', 1],
    ['ca', 'abc', 3],
  ])('between %j and %j is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });

  it('is symmetric, zero only for equal strings, and at most the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(editDistance(b, a)).toBe(d);
        expect(d === 0).toBe(a === b);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      })
    );
  });
});
