import { lineDiff } from '../../lambda/domain/text-diff';

describe('lineDiff', () => {
  it('marks added and removed lines and keeps context around them', () => {
    // Arrange
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].join('\n');
    const after = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h', 'i', 'j'].join('\n');

    // Act
    const diff = lineDiff(before, after, 1);

    // Assert
    expect(diff.split('\n')).toEqual(['  d', '- e', '+ E', '  f', '  ...', '  i', '+ j']);
  });

  it('shows everything as added when there was nothing before', () => {
    expect(lineDiff('', 'x\ny')).toBe('+ x\n+ y');
  });

  it('shows everything as removed when nothing is left', () => {
    expect(lineDiff('x\ny', '')).toBe('- x\n- y');
  });

  it('is empty for equal texts', () => {
    expect(lineDiff('same\ntext', 'same\ntext')).toBe('');
  });
});
