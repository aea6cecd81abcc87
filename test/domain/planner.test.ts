import { readFileSync } from 'node:fs';
import { join } from 'node:path';

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

function plan(overrides: Partial<PlanInput> = {}): Plan {
  return planPolicy({
    policyText: null,
    target: crossAccount,
    grantScope: 'account',
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

    it("accepts a grant naming the caller's role instead of the account", () => {
      const callerRole = 'arn:aws:iam::222222222222:role/platform-deployer';
      const policy = {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: callerRole },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          },
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          },
        ],
      };

      const result = plan({ policyText: JSON.stringify(policy), callerArns: [callerRole] });

      expect(result.outcome).toBe('already-allowed');
      expect(result.explanation).toContain('#1');
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

  it('describes a repository by name, account and region', () => {
    expect(describeRepository(crossAccount)).toBe(
      'repository platform/payments-worker (account 111111111111, eu-west-1)'
    );
  });
});

function sameAccountIn(region: string) {
  return makeTarget({ registryAccount: '222222222222', region });
}
