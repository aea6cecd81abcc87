/**
 * The glob dialect of the configuration (`excludeRepositories`): `*` matches any run of characters, `/` included;
 * `?` matches exactly one character; every other character matches itself. Matching is case-sensitive (ECR
 * repository names are lower-case anyway) and anchored: the glob must match the whole name.
 *
 * Implemented as a two-pointer matcher rather than a regular expression, so that a glob like `*a*a*a*b` costs at
 * most (glob length × name length) steps instead of exponential backtracking.
 */

/** Whether `text` matches `glob` as a whole (`*` = any run, `/` included; `?` = one character; case-sensitive). */
export function matchesGlob(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  // Where the last `*` was seen in the glob, and the text position it currently stands for.
  let starAt = -1;
  let starText = 0;
  while (t < text.length) {
    const wanted = glob[g];
    if (wanted === '*') {
      starAt = g;
      starText = t;
      g += 1;
    } else if (wanted !== undefined && (wanted === '?' || wanted === text[t])) {
      g += 1;
      t += 1;
    } else if (starAt >= 0) {
      // Let the last `*` swallow one more character and retry from just after it.
      starText += 1;
      t = starText;
      g = starAt + 1;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g += 1;
  return g === glob.length;
}
