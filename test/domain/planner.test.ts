import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { AccountConsent } from '../../lambda/domain/consent';
import type { Plan, PlanInput } from '../../lambda/domain/planner';
import {
  ACCOUNTS_SID,
  MAX_POLICY_LENGTH,
  SERVICE_SID,
  describeRepository,
  planPolicy,
} from '../../lambda/domain/planner';
import { makeTarget } from '../support/targets';

const policyFixture = (name: string): string =>
  readFileSync(join(__dirname, '..', 'fixtures', 'policies', name), 'utf8');

const crossAccount = makeTarget();
const sameAccount = makeTarget({ registryAccount: '222222222222', region: 'us-east-1' });

/** The owner's consent by tag: most tests are about the policy, not about sharing. */
const CONSENTED: AccountConsent = {
  given: true,
  form: 'share-tag',
  reason: "the repository's lambda-ecr-autofix:share tag names account 222222222222",
};
const REFUSED: AccountConsent = {
  given: false,
  explanation: 'The owner of platform/payments-worker has not consented.',
  nextSteps: ['Ask account 111111111111 to tag the repository.'],
};

function plan(overrides: Partial<PlanInput> = {}): Plan {
  return planPolicy({
    policyText: null,
    target: crossAccount,
    grantScope: 'account',
    consent: CONSENTED,
    ...overrides,
  });
}

function statementsOf(text: string): Record<string, unknown>[] {
  return (JSON.parse(text) as { Statement: Record<string, unknown>[] }).Statement;
}

function expectFix(result: Plan): Extract<Plan, { outcome: 'fix' }> {
  expect(result.outcome).toBe('fix');
  return result as Extract<Plan, { outcome: 'fix' }>;
}

function expectNeedsHuman(result: Plan): Extract<Plan, { outcome: 'needs-human' }> {
  expect(result.outcome).toBe('needs-human');
  return result as Extract<Plan, { outcome: 'needs-human' }>;
}

describe('planPolicy', () => {
  describe('a repository without a policy', () => {
    it('grants the Lambda service and the consumer account for a cross-account registry', () => {
      // Act
      const result = expectFix(plan());

      // Assert
      expect(JSON.parse(result.policyAfter)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: SERVICE_SID,
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
            Condition: {
              StringLike: { 'aws:SourceArn': ['arn:aws:lambda:eu-west-1:222222222222:function:*'] },
            },
          },
          {
            Sid: ACCOUNTS_SID,
            Effect: 'Allow',
            Principal: { AWS: ['arn:aws:iam::222222222222:root'] },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          },
        ],
      });
      expect(result.grants.map((grant) => [grant.sid, grant.change])).toEqual([
        [SERVICE_SID, 'created'],
        [ACCOUNTS_SID, 'created'],
      ]);
      expect(result.explanation).toContain('account 222222222222');
    });

    it('grants only the Lambda service for a same-account repository', () => {
      const result = expectFix(plan({ target: sameAccount }));

      expect(statementsOf(result.policyAfter).map((s) => s['Sid'])).toEqual([SERVICE_SID]);
    });

    it('scopes the grant to the function and its versions with grantScope "function"', () => {
      const result = expectFix(plan({ grantScope: 'function' }));

      expect(statementsOf(result.policyAfter)[0]?.['Condition']).toEqual({
        StringLike: {
          'aws:SourceArn': [
            'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
            'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker:*',
          ],
        },
      });
    });

    it('uses the partition of the target in every ARN it writes', () => {
      const target = makeTarget({ partition: 'aws-cn', region: 'cn-north-1' });

      const result = expectFix(plan({ target }));

      expect(result.policyAfter).toContain('arn:aws-cn:lambda:cn-north-1:222222222222:function:*');
      expect(result.policyAfter).toContain('arn:aws-cn:iam::222222222222:root');
    });
  });

  describe('already allowed', () => {
    it("recognises Lambda's own auto-added statement, whatever the key casing", () => {
      const target = makeTarget({ registryAccount: '222222222222', region: 'us-east-1' });

      const result = plan({ policyText: policyFixture('lambda-auto-added.json'), target });

      expect(result.outcome).toBe('already-allowed');
      expect(result.explanation).toContain('LambdaECRImageRetrievalPolicy');
    });

    it('recognises the cross-account statements of the AWS documentation', () => {
      const result = plan({ policyText: policyFixture('cross-account-seed.json') });

      expect(result.outcome).toBe('already-allowed');
    });

    it('recognises a grant with a wildcard action, a service list and ArnLike', () => {
      const target = makeTarget({ consumerAccount: '444444444444' });

      const result = plan({ policyText: policyFixture('ecr-wildcard-other-account.json'), target });

      expect(result.outcome).toBe('already-allowed');
    });

    it('is idempotent: planning the planned policy changes nothing', () => {
      const first = expectFix(plan({ grantScope: 'function' }));

      const second = plan({ policyText: first.policyAfter, grantScope: 'function' });

      expect(second.outcome).toBe('already-allowed');
    });
  });

  describe('whose permission counts (a grant to the caller is not a grant to the account)', () => {
    const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
    const lambdaGrant = {
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: PULL,
    };
    const policyGranting = (principal: unknown): string =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'CallerPull', Effect: 'Allow', Principal: principal, Action: PULL },
          lambdaGrant,
        ],
      });

    // The finding (fuzzing 3,200 policies against iam-simulate, 27 cases): a grant to the caller's role or session
    // was taken as "account 222222222222 may pull", so the account statement was never added.
    it.each([
      [
        "the caller's role in the consumer account",
        'arn:aws:iam::222222222222:role/platform-deployer',
        [
          'arn:aws:sts::222222222222:assumed-role/platform-deployer/ci',
          'arn:aws:iam::222222222222:role/platform-deployer',
        ],
      ],
      [
        "the caller's session",
        'arn:aws:sts::222222222222:assumed-role/platform-deployer/ci',
        [
          'arn:aws:sts::222222222222:assumed-role/platform-deployer/ci',
          'arn:aws:iam::222222222222:role/platform-deployer',
        ],
      ],
      [
        "the caller's role in a CI account that deploys into the consumer account",
        'arn:aws:iam::333333333333:role/ci-deployer',
        [
          'arn:aws:sts::333333333333:assumed-role/ci-deployer/run-1',
          'arn:aws:iam::333333333333:role/ci-deployer',
        ],
      ],
      [
        'the CI account itself',
        'arn:aws:iam::333333333333:root',
        [
          'arn:aws:sts::333333333333:assumed-role/ci-deployer/run-1',
          'arn:aws:iam::333333333333:role/ci-deployer',
        ],
      ],
    ])(
      'still adds the account statement when the policy grants %s',
      (_what, granted, callerArns) => {
        const result = expectFix(
          plan({ policyText: policyGranting({ AWS: granted }), callerArns })
        );

        expect(result.grants.map((grant) => [grant.sid, grant.added])).toEqual([
          [ACCOUNTS_SID, ['arn:aws:iam::222222222222:root']],
        ]);
      }
    );

    it("needs the owner's consent in that case, and writes nothing without it", () => {
      const callerRole = 'arn:aws:iam::222222222222:role/platform-deployer';

      const result = expectNeedsHuman(
        plan({
          policyText: policyGranting({ AWS: callerRole }),
          callerArns: [callerRole],
          consent: REFUSED,
        })
      );

      expect(result.reason).toBe('sharing-not-consented');
      expect(result.explanation).toBe(REFUSED.given ? '' : REFUSED.explanation);
      expect(result.grants.map((grant) => grant.sid)).toEqual([ACCOUNTS_SID]);
    });

    it("counts a grant to the account (root ARN or bare id) or to everyone as the account's", () => {
      for (const principal of [
        { AWS: 'arn:aws:iam::222222222222:root' },
        { AWS: ['222222222222'] },
        { AWS: '*' },
        '*',
      ]) {
        const result = plan({ policyText: policyGranting(principal), consent: REFUSED });

        expect([principal, result.outcome]).toEqual([principal, 'already-allowed']);
      }
    });

    it("refuses when a Deny names the caller's role, wherever the caller comes from", () => {
      const callerRole = 'arn:aws:iam::333333333333:role/ci-deployer';
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'NoCi', Effect: 'Deny', Principal: { AWS: callerRole }, Action: 'ecr:*' },
        ],
      });

      const result = expectNeedsHuman(plan({ policyText: policy, callerArns: [callerRole] }));

      expect(result.reason).toBe('explicit-deny');
      expect(result.explanation).toContain('NoCi');
    });

    it('fixes when a Deny names another role of the consumer account than the caller', () => {
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'NoIntern',
            Effect: 'Deny',
            Principal: { AWS: 'arn:aws:iam::222222222222:role/intern' },
            Action: 'ecr:*',
          },
        ],
      });

      const result = plan({
        policyText: policy,
        callerArns: ['arn:aws:iam::222222222222:role/platform-deployer'],
      });

      expect(result.outcome).toBe('fix');
    });

    it('cannot tell when such a Deny exists and the caller is unknown', () => {
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'NoIntern',
            Effect: 'Deny',
            Principal: { AWS: 'arn:aws:iam::222222222222:role/intern' },
            Action: 'ecr:*',
          },
        ],
      });

      const result = expectNeedsHuman(plan({ policyText: policy, callerArns: [] }));

      expect(result.reason).toBe('policy-not-understood');
    });
  });

  describe('merging into existing policies', () => {
    it('keeps foreign statements, their order, Version and Id, and adds only what is missing', () => {
      const before = policyFixture('ci-push-only.json');

      const result = expectFix(plan({ policyText: before, organizationId: 'o-a1b2c3d4e5' }));

      const parsedBefore = JSON.parse(before) as { Statement: unknown[] };
      const parsedAfter = JSON.parse(result.policyAfter) as Record<string, unknown> & {
        Statement: unknown[];
      };
      expect(Object.keys(parsedAfter)).toEqual(['Version', 'Id', 'Statement']);
      expect(parsedAfter.Statement.slice(0, 2)).toEqual(parsedBefore.Statement);
      // The organization statement already admits account 222222222222: only the service grant is missing.
      expect(result.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID]);
    });

    it('adds the account grant when the organization id is unknown and nothing else admits it', () => {
      const result = expectFix(plan({ policyText: policyFixture('ci-push-only.json') }));

      expect(result.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID, ACCOUNTS_SID]);
    });

    it('extends its own statements with new consumers, sorted, keeping their position', () => {
      const first = expectFix(plan());
      const other = makeTarget({ consumerAccount: '333333333333' });

      const second = expectFix(plan({ policyText: first.policyAfter, target: other }));

      const statements = statementsOf(second.policyAfter);
      expect(statements).toHaveLength(2);
      expect(statements[0]?.['Condition']).toEqual({
        StringLike: {
          'aws:SourceArn': [
            'arn:aws:lambda:eu-west-1:222222222222:function:*',
            'arn:aws:lambda:eu-west-1:333333333333:function:*',
          ],
        },
      });
      expect(statements[1]?.['Principal']).toEqual({
        AWS: ['arn:aws:iam::222222222222:root', 'arn:aws:iam::333333333333:root'],
      });
      expect(second.grants.map((grant) => [grant.change, grant.added])).toEqual([
        ['extended', ['arn:aws:lambda:eu-west-1:333333333333:function:*']],
        ['extended', ['arn:aws:iam::333333333333:root']],
      ]);
    });

    it('gives the same bytes whatever order two consumers arrive in', () => {
      const a = makeTarget({ consumerAccount: '333333333333' });
      const b = makeTarget({ consumerAccount: '444444444444' });

      const viaA = expectFix(
        plan({ policyText: expectFix(plan({ target: a })).policyAfter, target: b })
      );
      const viaB = expectFix(
        plan({ policyText: expectFix(plan({ target: b })).policyAfter, target: a })
      );

      expect(viaA.policyAfter).toBe(viaB.policyAfter);
    });

    it('keeps the condition key spelling of its own statement when extending it', () => {
      const policy = {
        Statement: [
          {
            Sid: SERVICE_SID,
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
            Condition: {
              StringLike: { 'aws:sourceARN': 'arn:aws:lambda:eu-west-1:999999999999:function:*' },
            },
          },
        ],
      };

      const result = expectFix(
        plan({ policyText: JSON.stringify(policy), target: sameAccountIn('eu-west-1') })
      );

      expect(statementsOf(result.policyAfter)[0]?.['Condition']).toEqual({
        StringLike: {
          'aws:sourceARN': [
            'arn:aws:lambda:eu-west-1:222222222222:function:*',
            'arn:aws:lambda:eu-west-1:999999999999:function:*',
          ],
        },
      });
    });

    it('writes a single statement object as a list once it has company', () => {
      const policy = {
        Version: '2012-10-17',
        Statement: {
          Sid: 'Other',
          Effect: 'Allow',
          Principal: { AWS: '999999999999' },
          Action: 'ecr:ListImages',
        },
      };

      const result = expectFix(plan({ policyText: JSON.stringify(policy), target: sameAccount }));

      const statements = statementsOf(result.policyAfter);
      expect(statements[0]).toEqual(policy.Statement);
      expect(statements).toHaveLength(2);
    });

    it('writes compact JSON when the indented form would exceed the limit', () => {
      const filler = Array.from({ length: 60 }, (_, index) => ({
        Sid: `Reader${index}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${String(100000000000 + index)}:root` },
        Action: ['ecr:BatchGetImage', 'ecr:DescribeImages'],
      }));
      const before = JSON.stringify({ Version: '2012-10-17', Statement: filler });

      const result = expectFix(plan({ policyText: before, target: sameAccount }));

      expect(result.policyAfter).not.toContain('\n');
      expect(result.policyAfter.length).toBeLessThanOrEqual(MAX_POLICY_LENGTH);
    });
  });

  describe('needs a human', () => {
    it('refuses to work around a Deny that blocks the Lambda service', () => {
      const result = expectNeedsHuman(
        plan({ policyText: policyFixture('org-deny-guard.json'), organizationId: 'o-a1b2c3d4e5' })
      );

      expect(result.reason).toBe('explicit-deny');
      expect(result.explanation).toContain('DenyOutsideOrg');
      expect(result.explanation).toContain('Lambda');
      expect(result.explanation).not.toContain('and account');
    });

    it('is not blocked by a Deny that exempts AWS services and the organization', () => {
      const result = plan({
        policyText: policyFixture('org-deny-guard-service-exempt.json'),
        organizationId: 'o-a1b2c3d4e5',
      });

      expect(result.outcome).toBe('fix');
    });

    it('does not guess about a Deny whose condition it cannot evaluate', () => {
      const result = expectNeedsHuman(
        plan({ policyText: policyFixture('unknown-operator-deny.json') })
      );

      expect(result.reason).toBe('policy-not-understood');
      expect(result.explanation).toContain('DenyOutsideCorporateNetwork');
    });

    it.each([
      ['not JSON', '{"Version":'],
      ['not an object', '[]'],
      ['without a Statement list', policyFixture('not-a-policy.json')],
      ['with a statement that is not an object', '{"Statement":["x"]}'],
    ])('reports a policy that is %s as invalid', (_label, policyText) => {
      const result = expectNeedsHuman(plan({ policyText }));

      expect(result.reason).toBe('policy-invalid');
      expect(result.nextSteps[0]).toContain(crossAccount.repositoryArn);
    });

    it('leaves alone an owned statement that was edited by hand', () => {
      const policy = {
        Statement: [
          {
            Sid: SERVICE_SID,
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:PutImage'],
            Condition: {
              StringLike: { 'aws:SourceArn': 'arn:aws:lambda:eu-west-1:999999999999:function:*' },
            },
          },
        ],
      };

      const result = expectNeedsHuman(plan({ policyText: JSON.stringify(policy) }));

      expect(result.reason).toBe('policy-not-understood');
      expect(result.explanation).toContain('changed by hand');
    });

    it.each([
      [
        'a second condition',
        {
          Condition: {
            StringLike: { 'aws:SourceArn': 'x:*' },
            Bool: { 'aws:SecureTransport': 'true' },
          },
        },
      ],
      ['a non-object condition', { Condition: 'x' }],
      [
        'StringEquals instead of StringLike',
        { Condition: { StringEquals: { 'aws:SourceArn': 'x' } } },
      ],
      [
        'another condition key',
        { Condition: { StringLike: { 'aws:SourceAccount': '222222222222' } } },
      ],
      ['non-string values', { Condition: { StringLike: { 'aws:SourceArn': [1] } } }],
      ['another principal', { Principal: { Service: 'ecs.amazonaws.com' } }],
      ['two principal kinds', { Principal: { Service: 'lambda.amazonaws.com', AWS: '*' } }],
      ['a string principal', { Principal: '*' }],
      ['an extra key', { Resource: '*' }],
      ['a Deny effect', { Effect: 'Deny' }],
      ['non-string actions', { Action: [1, 2] }],
    ])('treats an owned service statement with %s as hand-edited', (_label, change) => {
      const statement = {
        Sid: SERVICE_SID,
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Condition: {
          StringLike: { 'aws:SourceArn': 'arn:aws:lambda:eu-west-1:999999999999:function:*' },
        },
        ...change,
      };

      const result = plan({
        policyText: JSON.stringify({ Statement: [statement] }),
        target: sameAccount,
      });

      expect(result.outcome).not.toBe('fix');
    });

    it.each([
      ['a service principal', { Principal: { Service: 'lambda.amazonaws.com' } }],
      ['a role principal', { Principal: { AWS: 'arn:aws:iam::999999999999:role/x' } }],
      [
        'two principal kinds',
        { Principal: { AWS: 'arn:aws:iam::999999999999:root', Service: 'x' } },
      ],
      ['a missing AWS list', { Principal: { AWS: [] } }],
      ['a condition', { Condition: { Bool: { 'aws:SecureTransport': 'true' } } }],
      ['an extra key', { Resource: '*' }],
      ['a Deny effect', { Effect: 'Deny' }],
    ])('treats an owned accounts statement with %s as hand-edited', (_label, change) => {
      const statement = {
        Sid: ACCOUNTS_SID,
        Effect: 'Allow',
        Principal: { AWS: ['arn:aws:iam::999999999999:root'] },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        ...change,
      };

      const result = expectNeedsHuman(
        plan({ policyText: JSON.stringify({ Statement: [statement] }) })
      );

      expect(result.reason).toBe('policy-not-understood');
    });

    it('leaves alone an owned statement that appears twice', () => {
      const first = expectFix(plan());
      const parsed = JSON.parse(first.policyAfter) as { Statement: unknown[] };
      const other = makeTarget({ consumerAccount: '333333333333' });
      const doubled = { Statement: [...parsed.Statement, ...parsed.Statement] };

      const result = expectNeedsHuman(plan({ policyText: JSON.stringify(doubled), target: other }));

      expect(result.explanation).toContain('more than once');
    });

    it('gives the statements to add by hand when the policy would exceed 10,240 characters', () => {
      const filler = Array.from({ length: 80 }, (_, index) => ({
        Sid: `Reader${index}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${String(100000000000 + index)}:root` },
        Action: ['ecr:BatchGetImage', 'ecr:DescribeImages'],
      }));

      const result = expectNeedsHuman(
        plan({ policyText: JSON.stringify({ Version: '2012-10-17', Statement: filler }) })
      );

      expect(result.reason).toBe('policy-too-large');
      expect(result.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID, ACCOUNTS_SID]);
      expect(result.explanation).toMatch(/\d+ characters long, over ECR's limit of 10240/);
    });

    it.each(['account', 'function'] as const)(
      'cannot judge or scope a grant (%s scope) for a function the event does not name',
      (grantScope) => {
        const target = makeTarget({ functionName: null });

        const result = expectNeedsHuman(plan({ target, grantScope }));

        expect(result.reason).toBe('function-name-unknown');
      }
    );

    it('does not claim success for an Allow with an Effect ECR would not accept', () => {
      const policy = {
        Statement: [{ Sid: 'Odd', Effect: 'Maybe', Principal: '*', Action: 'ecr:*' }],
      };

      const result = expectNeedsHuman(
        plan({ policyText: JSON.stringify(policy), target: sameAccount })
      );

      expect(result.reason).toBe('policy-not-understood');
    });

    it('writes nothing when the planned grant would not cover the function', () => {
      // A target whose function ARN disagrees with its region: the grant written for the region would not match.
      const target = {
        ...sameAccount,
        functionArn: 'arn:aws:lambda:eu-north-1:222222222222:function:x',
      };

      const result = expectNeedsHuman(plan({ target }));

      expect(result.reason).toBe('policy-not-understood');
      expect(result.explanation).toContain('would still not let');
      expect(result.grants).toHaveLength(1);
    });
  });

  describe('hostile policy text', () => {
    it("refuses a policy that repeats a key in another owner's statement, rewriting nothing", () => {
      // JSON.parse keeps the last "Action": the policy would be rewritten with one of the two silently dropped.
      const policyText =
        '{"Version":"2012-10-17","Statement":[{"Sid":"CiPush","Effect":"Allow",' +
        '"Principal":{"AWS":"arn:aws:iam::111111111111:role/ci"},"Action":"ecr:PutImage","Action":"ecr:*"}]}';

      const result = expectNeedsHuman(plan({ policyText }));

      expect(result.reason).toBe('policy-not-understood');
      expect(result.explanation).toContain('the key "Action" appears twice in one JSON object');
      expect(result.nextSteps[0]).toContain('Remove the repeated key');
    });

    it('refuses a policy nested 5,000 levels deep as invalid, without overflowing the stack', () => {
      const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
      const policyText = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"StringEquals":{"aws:x":${deep}}}}]}`;

      const result = expectNeedsHuman(plan({ policyText }));

      expect(result.reason).toBe('policy-invalid');
      expect(result.explanation).toContain('nests JSON more than 64 levels deep');
    });

    it('is not stopped by a TLS-only guard: every pull is made over HTTPS', () => {
      const policyText = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 'ecr:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      });

      const result = expectFix(plan({ policyText }));

      expect(result.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID, ACCOUNTS_SID]);
    });
  });

  describe('organization condition on the account statement', () => {
    const ORG = 'o-a1b2c3d4e5';
    const accountsStatement = (condition?: unknown): Record<string, unknown> => ({
      Sid: ACCOUNTS_SID,
      Effect: 'Allow',
      Principal: { AWS: ['arn:aws:iam::333333333333:root'] },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      ...(condition === undefined ? {} : { Condition: condition }),
    });
    const withStatements = (...statements: unknown[]): string =>
      JSON.stringify({ Version: '2012-10-17', Statement: statements });

    it('conditions a new account statement on aws:PrincipalOrgID', () => {
      const result = expectFix(plan({ organizationId: ORG }));

      expect(statementsOf(result.policyAfter)[1]).toEqual({
        Sid: ACCOUNTS_SID,
        Effect: 'Allow',
        Principal: { AWS: ['arn:aws:iam::222222222222:root'] },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
      });
      expect(result.explanation).toContain(`while the account belongs to organization ${ORG}`);
    });

    it('extends a statement with the same condition, keeping its spelling', () => {
      const condition = { StringEquals: { 'aws:principalorgid': [ORG] } };

      const result = expectFix(
        plan({ policyText: withStatements(accountsStatement(condition)), organizationId: ORG })
      );

      expect(statementsOf(result.policyAfter)[0]).toEqual({
        ...accountsStatement(condition),
        Principal: {
          AWS: ['arn:aws:iam::222222222222:root', 'arn:aws:iam::333333333333:root'],
        },
      });
    });

    it('extends both of its statements for a second consumer', () => {
      const first = expectFix(plan({ organizationId: ORG }));
      const second = makeTarget({ consumerAccount: '444444444444' });

      const result = expectFix(
        plan({ policyText: first.policyAfter, target: second, organizationId: ORG })
      );

      expect(result.grants.map((grant) => [grant.sid, grant.change, grant.added])).toEqual([
        [SERVICE_SID, 'extended', ['arn:aws:lambda:eu-west-1:444444444444:function:*']],
        [ACCOUNTS_SID, 'extended', ['arn:aws:iam::444444444444:root']],
      ]);
      expect(statementsOf(result.policyAfter)[1]?.['Condition']).toEqual({
        StringEquals: { 'aws:PrincipalOrgID': ORG },
      });
    });

    it('does not add an account to an unconditioned statement once organizationId is set', () => {
      const policyText = withStatements(accountsStatement());

      const result = expectNeedsHuman(plan({ policyText, organizationId: ORG }));

      expect(result.reason).toBe('policy-not-understood');
      expect(result.explanation).toContain(
        'grants its accounts without an aws:PrincipalOrgID condition'
      );
      expect(result.nextSteps[0]).toContain(
        `"Condition": {"StringEquals": {"aws:PrincipalOrgID": "${ORG}"}}`
      );
      // The grant for this account, with the condition, to add by hand under another Sid.
      expect(result.grants.map((grant) => grant.statement['Condition'])).toEqual([
        { StringEquals: { 'aws:PrincipalOrgID': ORG } },
      ]);
    });

    it.each([
      [undefined, `Set organizationId to ${ORG}`],
      ['o-zz9y8x7w6v', 'Once every account listed'],
    ])(
      "does not extend a statement conditioned on %s's organization with organizationId %s",
      (configured, step) => {
        const policyText = withStatements(
          accountsStatement({ StringEquals: { 'aws:PrincipalOrgID': ORG } })
        );

        const result = expectNeedsHuman(plan({ policyText, organizationId: configured }));

        expect(result.reason).toBe('policy-not-understood');
        expect(result.explanation).toContain(`limits its grants to organization ${ORG}`);
        expect(result.nextSteps[0]).toContain(step);
      }
    );

    it("counts an unconditioned grant that already lists the account as the owner's consent", () => {
      const policyText = withStatements({
        ...accountsStatement(),
        Principal: { AWS: ['arn:aws:iam::222222222222:root'] },
      });

      const result = expectFix(plan({ policyText, organizationId: ORG, consent: REFUSED }));

      expect(result.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID]);
    });

    it.each([
      ['two organizations', { StringEquals: { 'aws:PrincipalOrgID': [ORG, 'o-zz9y8x7w6v'] } }],
      ['another operator', { StringLike: { 'aws:PrincipalOrgID': ORG } }],
      ['another key', { StringEquals: { 'aws:PrincipalAccount': '333333333333' } }],
      ['two keys', { StringEquals: { 'aws:PrincipalOrgID': ORG, 'aws:SourceIp': 'x' } }],
      ['a second operator', { StringEquals: { 'aws:PrincipalOrgID': ORG }, Bool: { a: 'true' } }],
      ['a non-object operator', { StringEquals: ORG }],
    ])(
      'treats an owned accounts statement conditioned on %s as hand-edited',
      (_what, condition) => {
        const result = expectNeedsHuman(
          plan({ policyText: withStatements(accountsStatement(condition)), organizationId: ORG })
        );

        expect(result.reason).toBe('policy-not-understood');
        expect(result.explanation).toContain('changed by hand');
      }
    );
  });

  describe('sharing and consent', () => {
    it('adds no account statement when the policy already lets the account pull (form 1)', () => {
      const policyText = policyFixture('cross-account-seed.json');
      const parsed = JSON.parse(policyText) as { Statement: Record<string, unknown>[] };
      // Keep only the account grant of the seed policy, so Lambda's statement is missing.
      const accountOnly = JSON.stringify({
        ...parsed,
        Statement: parsed.Statement.filter(
          (statement) => statement['Sid'] === 'CrossAccountPermission'
        ),
      });

      const result = expectFix(plan({ policyText: accountOnly, consent: REFUSED }));

      expect(result.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID]);
      expect(result.explanation).toContain(
        "The policy already lets account 222222222222 pull (statement CrossAccountPermission), which is the owner's consent, so no account statement is added."
      );
    });

    it('reads an organization-wide grant as consent only when organizationId is known', () => {
      const policyText = policyFixture('ci-push-only.json');

      const known = expectFix(
        plan({ policyText, organizationId: 'o-a1b2c3d4e5', consent: REFUSED })
      );
      const unknown = expectNeedsHuman(plan({ policyText, consent: REFUSED }));

      expect(known.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID]);
      expect(unknown.reason).toBe('sharing-not-consented');
    });

    it('without consent, writes nothing and gives both statements to add by hand', () => {
      const result = expectNeedsHuman(plan({ consent: REFUSED }));

      expect(result).toEqual({
        outcome: 'needs-human',
        reason: 'sharing-not-consented',
        explanation: REFUSED.given ? '' : REFUSED.explanation,
        nextSteps: REFUSED.given ? [] : REFUSED.nextSteps,
        grants: [
          expect.objectContaining({ sid: SERVICE_SID, change: 'created' }),
          expect.objectContaining({ sid: ACCOUNTS_SID, change: 'created' }),
        ],
      });
    });

    it('without consent, gives fresh statements when its own were edited by hand', () => {
      const edited = {
        Sid: ACCOUNTS_SID,
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::333333333333:role/x' },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      };

      const result = expectNeedsHuman(
        plan({ policyText: JSON.stringify({ Statement: [edited] }), consent: REFUSED })
      );

      expect(result.reason).toBe('sharing-not-consented');
      expect(result.grants.map((grant) => [grant.sid, grant.change])).toEqual([
        [SERVICE_SID, 'created'],
        [ACCOUNTS_SID, 'created'],
      ]);
    });

    it('says on what consent it shares, and who may pull afterwards', () => {
      const result = expectFix(plan());

      expect(result.explanation).toContain(
        "Shared with account 222222222222 because the repository's lambda-ecr-autofix:share tag names account 222222222222: every principal of account 222222222222 whose own IAM policy allows it may pull images of platform/payments-worker, and Lambda may pull them for the functions of account 222222222222."
      );
    });

    it('needs no consent for a same-account repository', () => {
      const result = expectFix(plan({ target: sameAccount, consent: REFUSED }));

      expect(result.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID]);
      expect(result.explanation).not.toContain('Shared with');
    });
  });

  it('describes a repository by name, account and region', () => {
    expect(describeRepository(crossAccount)).toBe(
      'repository platform/payments-worker (account 111111111111, eu-west-1)'
    );
  });
});

function sameAccountIn(region: string) {
  return makeTarget({ registryAccount: '222222222222', region });
}
