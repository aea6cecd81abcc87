import { ownedGrantsPresent } from '../../lambda/domain/owned-grants';
import { ACCOUNTS_SID, SERVICE_SID } from '../../lambda/domain/planner';

const SOURCE = 'arn:aws:lambda:eu-west-1:222222222222:function:*';
const ROOT = 'arn:aws:iam::222222222222:root';

function policy(...statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

const service = (...sources: string[]) => ({
  Sid: SERVICE_SID,
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  Condition: { StringLike: { 'aws:SourceArn': sources } },
});
const accounts = (...roots: string[]) => ({
  Sid: ACCOUNTS_SID,
  Effect: 'Allow',
  Principal: { AWS: roots },
  Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
});

describe('ownedGrantsPresent', () => {
  it('recognises the values a write added to the owned statements, among others', () => {
    const text = policy(
      { Sid: 'Theirs', Effect: 'Allow', Principal: '*', Action: 'ecr:*' },
      service('arn:aws:lambda:eu-west-1:444444444444:function:*', SOURCE),
      accounts('arn:aws:iam::444444444444:root', ROOT)
    );

    expect(
      ownedGrantsPresent(text, [
        { sid: SERVICE_SID, added: [SOURCE] },
        { sid: ACCOUNTS_SID, added: [ROOT] },
      ])
    ).toBe(true);
  });

  it('is false when one value is gone (the write did not happen, or was undone)', () => {
    const text = policy(service(SOURCE), accounts('arn:aws:iam::444444444444:root'));

    expect(
      ownedGrantsPresent(text, [
        { sid: SERVICE_SID, added: [SOURCE] },
        { sid: ACCOUNTS_SID, added: [ROOT] },
      ])
    ).toBe(false);
  });

  it('never takes a grant in someone else’s statement, or in a Deny, for the fixer’s write', () => {
    const theirs = { ...service(SOURCE), Sid: 'LambdaPull' };
    const deny = { ...service(SOURCE), Effect: 'Deny' };

    expect(ownedGrantsPresent(policy(theirs), [{ sid: SERVICE_SID, added: [SOURCE] }])).toBe(false);
    expect(ownedGrantsPresent(policy(deny), [{ sid: SERVICE_SID, added: [SOURCE] }])).toBe(false);
  });

  it.each([
    ['no grants', policy(service(SOURCE)), []],
    ['a grant that added nothing', policy(service(SOURCE)), [{ sid: SERVICE_SID, added: [] }]],
    ['no policy', null, [{ sid: SERVICE_SID, added: [SOURCE] }]],
    ['an unreadable policy', '{"Statement": 7}', [{ sid: SERVICE_SID, added: [SOURCE] }]],
  ])('is false for %s', (_, text, grants) => {
    expect(ownedGrantsPresent(text, grants)).toBe(false);
  });

  it('looks no deeper than an owned statement goes', () => {
    const nested = {
      ...service(),
      Condition: { StringLike: { 'aws:SourceArn': [[[SOURCE]]] } },
    };

    expect(ownedGrantsPresent(policy(nested), [{ sid: SERVICE_SID, added: [SOURCE] }])).toBe(false);
    expect(
      ownedGrantsPresent(policy({ ...service(SOURCE), Principal: 42 }), [
        { sid: SERVICE_SID, added: [SOURCE] },
      ])
    ).toBe(true);
  });
});
