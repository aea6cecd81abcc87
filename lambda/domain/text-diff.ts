/**
 * A small line diff (longest common subsequence) for showing policy changes to people. Policies are at most
 * 10,240 characters, so the quadratic table stays small.
 */

/** A unified-style diff of two texts: changed lines with `+`/`-`, `context` unchanged lines around them. */
export function lineDiff(before: string, after: string, context = 3): string {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  const ops = diffOps(a, b);
  const keep = new Set<number>();
  ops.forEach((op, index) => {
    if (op.kind === ' ') return;
    for (
      let k = Math.max(0, index - context);
      k <= Math.min(ops.length - 1, index + context);
      k++
    ) {
      keep.add(k);
    }
  });
  const lines: string[] = [];
  let skipped = false;
  ops.forEach((op, index) => {
    if (!keep.has(index)) {
      skipped = true;
      return;
    }
    if (skipped && lines.length > 0) lines.push('  ...');
    skipped = false;
    lines.push(`${op.kind} ${op.line}`);
  });
  return lines.join('\n');
}

interface Op {
  readonly kind: ' ' | '+' | '-';
  readonly line: string;
}

function diffOps(a: readonly string[], b: readonly string[]): Op[] {
  const rows = a.length + 1;
  const cols = b.length + 1;
  // lengths[i * cols + j] = LCS length of a[i..] and b[j..]
  const lengths = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * cols + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * cols + j + 1] as number) + 1
          : Math.max(lengths[(i + 1) * cols + j] as number, lengths[i * cols + j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] as string });
      i++;
      j++;
    } else if (
      i < a.length &&
      (j === b.length ||
        (lengths[(i + 1) * cols + j] as number) >= (lengths[i * cols + j + 1] as number))
    ) {
      // Removals before additions, as unified diffs show them.
      ops.push({ kind: '-', line: a[i] as string });
      i++;
    } else {
      ops.push({ kind: '+', line: b[j] as string });
      j++;
    }
  }
  return ops;
}
