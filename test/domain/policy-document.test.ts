import {
  EMPTY_POLICY,
  parsePolicy,
  policyFromJson,
  policyToJson,
  serializePolicy,
} from '../../lambda/domain/policy-document';

describe('parsePolicy', () => {
  it.each([null, '', '   '])('reads %j as the empty policy of a repository without one', (text) => {
    expect(parsePolicy(text)).toEqual({ ok: true, policy: EMPTY_POLICY });
  });

  it('keeps top-level keys in order and remembers where Statement stood', () => {
    const text = '{"Id":"x","Statement":[{"Sid":"A"}],"Version":"2008-10-17"}';

    const parsed = parsePolicy(text);

    expect(parsed.ok && JSON.stringify(policyToJson(parsed.policy))).toBe(text);
  });

  it('keeps a single statement object as an object', () => {
    const text = '{"Version":"2012-10-17","Statement":{"Sid":"Only"}}';

    const parsed = parsePolicy(text);

    expect(parsed.ok && JSON.stringify(policyToJson(parsed.policy))).toBe(text);
    expect(parsed.ok && parsed.policy.singleStatement).toBe(true);
  });

  it('writes a single statement that gained company as a list', () => {
    const parsed = parsePolicy('{"Statement":{"Sid":"Only"}}');
    if (!parsed.ok) throw new Error(parsed.problem);

    const grown = { ...parsed.policy, statements: [...parsed.policy.statements, { Sid: 'New' }] };

    expect(policyToJson(grown)).toEqual({ Statement: [{ Sid: 'Only' }, { Sid: 'New' }] });
  });

  it.each([
    ['{', /^the policy is not valid JSON \(/],
    ['"text"', /^the policy is not a JSON object$/],
    ['{"Version":"2012-10-17"}', /^the policy has no "Statement" list$/],
    ['{"Statement":"x"}', /^the policy has no "Statement" list$/],
    ['{"Statement":[{},[]]}', /^statement 2 is not a JSON object$/],
  ])('explains why %s is not a policy', (text, problem) => {
    const parsed = parsePolicy(text);

    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem).toMatch(problem);
  });

  it('keeps a "__proto__" key as plain data', () => {
    const parsed = policyFromJson(JSON.parse('{"__proto__":{"x":1},"Statement":[]}'));

    expect(parsed.ok && Object.keys(policyToJson(parsed.policy))).toEqual([
      '__proto__',
      'Statement',
    ]);
  });
});

describe('serializePolicy', () => {
  it('indents when the result fits, and falls back to compact JSON when it does not', () => {
    const parsed = parsePolicy('{"Version":"2012-10-17","Statement":[{"Sid":"A"}]}');
    if (!parsed.ok) throw new Error(parsed.problem);

    expect(serializePolicy(parsed.policy, 1_000)).toContain('\n  "Statement": [');
    expect(serializePolicy(parsed.policy, 20)).toBe(
      '{"Version":"2012-10-17","Statement":[{"Sid":"A"}]}'
    );
  });
});
