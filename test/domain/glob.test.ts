/**
 * The configuration's glob dialect: `*` spans any run (slashes included), `?` one character, case-sensitive, whole
 * name.
 */
import { matchesGlob } from '../../lambda/domain/glob';

describe('matchesGlob', () => {
  it.each([
    ['prod/*', 'prod/api', true],
    ['prod/*', 'prod/team/api', true],
    ['prod/*', 'prod/', true],
    ['prod/*', 'prod', false],
    ['prod/*', 'nonprod/api', false],
    ['*', '', true],
    ['*', 'anything/at/all', true],
    ['', '', true],
    ['', 'a', false],
    ['a', '', false],
    ['orders-api', 'orders-api', true],
    ['orders-api', 'orders-api-v2', false],
    ['orders-api', 'my-orders-api', false],
    ['Orders-Api', 'orders-api', false],
    ['app-?', 'app-1', true],
    ['app-?', 'app-12', false],
    ['app-?', 'app-', false],
    ['*-assets-*', 'cdk-hnb659fds-container-assets-222222222222-us-east-1', true],
    ['*a*a*b', 'xaxaxb', true],
    ['*a*a*b', 'xaxaxa', false],
    ['**', 'abc', true],
    ['a*', 'a', true],
    ['a.b', 'axb', false],
    ['[ab]', '[ab]', true],
    ['[ab]', 'a', false],
  ])('%j against %j is %p', (glob, text, expected) => {
    // Act
    const matched = matchesGlob(glob, text);

    // Assert
    expect(matched).toBe(expected);
  });

  it('stays fast on pathological globs', () => {
    // Arrange
    const glob = `${'*a'.repeat(30)}*b`;
    const text = 'a'.repeat(256);

    // Act
    const matched = matchesGlob(glob, text);

    // Assert
    expect(matched).toBe(false);
  });
});
