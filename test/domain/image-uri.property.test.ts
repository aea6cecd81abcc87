/**
 * Property-based tests of image URIs: every URI Lambda accepts round-trips through parseImageUri, in every supported
 * partition, and nothing makes the parser or the message scanner throw.
 */
import fc from 'fast-check';

import { findImageUriInMessage, parseImageUri } from '../../lambda/domain/image-uri';

const RUNS = { numRuns: 1000 };

const account = fc.stringMatching(/^\d{12}$/);
const regionTail = fc.stringMatching(
  /^(?:north|south|east|west|central|northeast|southeast)-[1-9]$/
);
/** A Region and the partition and DNS suffix it implies. */
const location = fc.oneof(
  fc
    .tuple(fc.constantFrom('us', 'eu', 'ap', 'ca', 'sa', 'me', 'af', 'il', 'mx'), regionTail)
    .map(([area, tail]) => ({
      region: `${area}-${tail}`,
      partition: 'aws',
      suffix: 'amazonaws.com',
    })),
  regionTail.map((tail) => ({
    region: `cn-${tail}`,
    partition: 'aws-cn',
    suffix: 'amazonaws.com.cn',
  })),
  regionTail.map((tail) => ({
    region: `us-gov-${tail}`,
    partition: 'aws-us-gov',
    suffix: 'amazonaws.com',
  }))
);
const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,3}$/);
const repositoryName = fc
  .array(component, { minLength: 1, maxLength: 5 })
  .map((parts) => parts.join('/'))
  .filter((name) => name.length >= 2 && name.length <= 256);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`);
const reference = fc.oneof(
  tag.map((t) => ({ tag: t, digest: null })),
  digest.map((d) => ({ tag: null, digest: d })),
  fc.tuple(tag, digest).map(([t, d]) => ({ tag: t, digest: d }))
);
const image = fc
  .record({ account, location, repositoryName, reference })
  .map(({ account: registryAccount, location: where, repositoryName: name, reference: ref }) => ({
    uri:
      `${registryAccount}.dkr.ecr.${where.region}.${where.suffix}/${name}` +
      (ref.tag === null ? '' : `:${ref.tag}`) +
      (ref.digest === null ? '' : `@${ref.digest}`),
    expected: {
      registryAccount,
      region: where.region,
      partition: where.partition,
      repositoryName: name,
      tag: ref.tag,
      digest: ref.digest,
    },
  }));

describe('parseImageUri properties', () => {
  it('round-trips every valid URI in every partition', () => {
    fc.assert(
      fc.property(image, ({ uri, expected }) => {
        const result = parseImageUri(uri);
        expect(result).toEqual({ ok: true, image: { uri, ...expected } });
      }),
      RUNS
    );
  });

  it('refuses a valid URI once its host is made a FIPS endpoint', () => {
    fc.assert(
      fc.property(image, ({ uri }) => {
        const result = parseImageUri(uri.replace('.dkr.ecr.', '.dkr.ecr-fips.'));
        expect(result.ok).toBe(false);
        expect(!result.ok && result.problem).toContain('FIPS');
      }),
      RUNS
    );
  });

  it('refuses a valid URI once its repository name has an upper-case letter', () => {
    fc.assert(
      fc.property(image, fc.constantFrom(...'ABCXYZ'), ({ uri }, letter) => {
        const slash = uri.indexOf('/');
        const result = parseImageUri(`${uri.slice(0, slash + 1)}${letter}${uri.slice(slash + 1)}`);
        expect(result.ok).toBe(false);
      }),
      RUNS
    );
  });

  it('answers any string without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 400 })), (uri) => {
        const result = parseImageUri(uri);
        expect(result.ok ? result.image.uri === uri : result.problem.length > 0).toBe(true);
      }),
      RUNS
    );
  });

  it('answers strings made of URI fragments without throwing', () => {
    const fragment = fc.constantFrom(
      '111111111111',
      '.',
      '/',
      ':',
      '@',
      'sha256:',
      'dkr',
      'ecr',
      'ecr-fips',
      'dkr-ecr',
      'us-east-1',
      'cn-north-1',
      'amazonaws.com',
      'amazonaws.com.cn',
      'on.aws',
      'a',
      'A',
      '-',
      '_',
      ' ',
      'https://'
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 20 }), (parts) => {
        const result = parseImageUri(parts.join(''));
        expect(typeof result.ok).toBe('boolean');
      }),
      RUNS
    );
  });
});

describe('findImageUriInMessage properties', () => {
  it('finds the URI in every message template Lambda uses', () => {
    const template = fc.constantFrom(
      (uri: string) => `Source image ${uri} does not exist. Provide a valid source image.`,
      (uri: string) => `Source image ${uri} is not valid. Provide a valid source image.`,
      (uri: string) =>
        `The image manifest, config or layer media type for the source image ${uri} is not supported.`,
      (uri: string) =>
        `The image manifest or layer media type for the source image ${uri} is not supported.`
    );
    fc.assert(
      fc.property(image, template, ({ uri }, message) => {
        expect(findImageUriInMessage(message(uri))).toBe(uri);
      }),
      RUNS
    );
  });

  it('answers any message without throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (message) => {
        const found = findImageUriInMessage(message);
        expect(found === null || message.includes(found)).toBe(true);
      }),
      RUNS
    );
  });
});
