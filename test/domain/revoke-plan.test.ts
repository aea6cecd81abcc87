import type { RepositoryTarget } from '../../lambda/domain/grant-decision';
import { ACCOUNTS_SID, SERVICE_SID } from '../../lambda/domain/planner';
import { planRevoke, type RevokeInput } from '../../lambda/domain/revoke-plan';

const REPOSITORY: RepositoryTarget = {
  partition: 'aws',
  region: 'eu-west-1',
  registryAccount: '111111111111',
  repositoryName: 'platform/payments-worker',
  repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
};
const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const CI = {
  Sid: 'CiPublish',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::111111111111:role/ci-publisher' },
  Action: ['ecr:PutImage'],
};

function service(...patterns: string[]) {
  return {
    Sid: SERVICE_SID,
    Effect: 'Allow',
    Principal: { Service: 'lambda.amazonaws.com' },
    Action: PULL,
    Condition: { StringLike: { 'aws:SourceArn': patterns } },
  };
}

function accounts(...roots: string[]) {
  return { Sid: ACCOUNTS_SID, Effect: 'Allow', Principal: { AWS: roots }, Action: PULL };
}

function policy(...statements: unknown[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

const fn = (account: string, rest: string) =>
  `arn:aws:lambda:eu-west-1:${account}:function:${rest}`;
const root = (account: string) => `arn:aws:iam::${account}:root`;

function revoke(overrides: Partial<RevokeInput>) {
  return planRevoke({
    policyText: null,
    repository: REPOSITORY,
    consumerAccount: '222222222222',
    functionName: null,
    ...overrides,
  });
}

describe('planRevoke', () => {
  it('takes a cross-account consumer out of both statements and keeps the other consumer', () => {
    const plan = revoke({
      policyText: policy(
        CI,
        service(fn('222222222222', '*'), fn('444444444444', '*')),
        accounts(root('222222222222'), root('444444444444'))
      ),
    });

    expect(plan).toEqual(
      expect.objectContaining({
        outcome: 'revoke',
        reason: 'consumer-revoked',
        deletesPolicy: false,
        removed: [
          { sid: SERVICE_SID, values: [fn('222222222222', '*')] },
          { sid: ACCOUNTS_SID, values: [root('222222222222')] },
        ],
      })
    );
    const after = JSON.parse((plan as { policyAfter: string }).policyAfter) as {
      Statement: unknown[];
    };
    expect(after.Statement).toEqual([
      CI,
      service(fn('444444444444', '*')),
      accounts(root('444444444444')),
    ]);
  });

  it('removes a statement left empty, and deletes the policy when nothing else is in it', () => {
    const plan = revoke({
      policyText: policy(service(fn('222222222222', '*')), accounts(root('222222222222'))),
    });

    expect(plan).toEqual(
      expect.objectContaining({
        reason: 'consumer-revoked',
        deletesPolicy: true,
        policyAfter: null,
      })
    );
    expect(plan.explanation).toContain('the repository policy is deleted');
  });

  it('keeps the policy when a foreign statement is left', () => {
    const plan = revoke({ policyText: policy(service(fn('222222222222', '*')), CI) });

    expect(plan).toEqual(
      expect.objectContaining({ reason: 'consumer-revoked', deletesPolicy: false })
    );
    expect(JSON.parse((plan as { policyAfter: string }).policyAfter)).toEqual({
      Version: '2012-10-17',
      Statement: [CI],
    });
  });

  it('removes only the function patterns with --function, and the root once no pattern of the account is left', () => {
    const text = policy(
      service(
        fn('222222222222', 'orders-api'),
        fn('222222222222', 'orders-api:*'),
        fn('222222222222', 'payments'),
        fn('222222222222', 'payments:*')
      ),
      accounts(root('222222222222'))
    );

    const first = revoke({ policyText: text, functionName: 'orders-api' });
    const second = revoke({
      policyText: (first as { policyAfter: string }).policyAfter,
      functionName: 'payments',
    });

    expect(first).toEqual(
      expect.objectContaining({
        reason: 'consumer-revoked',
        removed: [
          {
            sid: SERVICE_SID,
            values: [fn('222222222222', 'orders-api'), fn('222222222222', 'orders-api:*')],
          },
        ],
      })
    );
    expect(first.explanation).toContain('function orders-api of account 222222222222');
    expect(second).toEqual(
      expect.objectContaining({
        reason: 'consumer-revoked',
        deletesPolicy: true,
        removed: [
          {
            sid: SERVICE_SID,
            values: [fn('222222222222', 'payments'), fn('222222222222', 'payments:*')],
          },
          { sid: ACCOUNTS_SID, values: [root('222222222222')] },
        ],
      })
    );
  });

  it.each([
    ['the whole account', fn('222222222222', '*')],
    ['a prefix pattern', fn('222222222222', 'orders-*')],
    ['a one-character wildcard', fn('222222222222', 'orders-ap?')],
  ])('needs a human when %s covers the function (granted at account scope)', (_, pattern) => {
    const plan = revoke({
      policyText: policy(service(pattern, fn('222222222222', 'orders-api'))),
      functionName: 'orders-api',
    });

    expect(plan).toEqual(
      expect.objectContaining({ outcome: 'needs-human', reason: 'granted-at-account-scope' })
    );
    expect((plan as { nextSteps: readonly string[] }).nextSteps[0]).toContain(
      `revoke --repository ${REPOSITORY.repositoryArn} --consumer 222222222222 --audit-table`
    );
  });

  it('leaves values of the service statement alone that name no function ARN', () => {
    const plan = revoke({ policyText: policy(service('*', fn('222222222222', '*'))) });

    expect(plan).toEqual(
      expect.objectContaining({
        reason: 'consumer-revoked',
        removed: [{ sid: SERVICE_SID, values: [fn('222222222222', '*')] }],
      })
    );
  });

  it('does not take a pattern for the function that only shares its prefix', () => {
    const plan = revoke({
      policyText: policy(
        service(fn('222222222222', 'orders-api-v2'), fn('222222222222', 'orders.api'))
      ),
      functionName: 'orders-api',
    });

    expect(plan).toEqual(expect.objectContaining({ outcome: 'revoke', reason: 'already-revoked' }));
  });

  it('does not remove the account root for --function when the function has no pattern of its own', () => {
    const plan = revoke({
      policyText: policy(accounts(root('222222222222'))),
      functionName: 'orders-api',
    });

    expect(plan).toEqual(expect.objectContaining({ outcome: 'revoke', reason: 'already-revoked' }));
  });

  it('says which statement grants the consumer when the grant is not the fixer\u2019s', () => {
    const lambdas = {
      Sid: 'LambdaECRImageRetrievalPolicy',
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: PULL,
      Condition: { StringLike: { 'aws:sourceArn': fn('222222222222', '*') } },
    };

    const plan = revoke({ policyText: policy(lambdas, service(fn('444444444444', '*'))) });

    expect(plan).toEqual(
      expect.objectContaining({ outcome: 'needs-human', reason: 'not-granted-by-autofix' })
    );
    expect(plan.explanation).toContain('statement LambdaECRImageRetrievalPolicy lets it pull');
    expect((plan as { nextSteps: readonly string[] }).nextSteps[0]).toContain(
      'aws ecr get-repository-policy --region eu-west-1 --registry-id 111111111111'
    );
  });

  it('names several granting statements, the account principal of another account among them', () => {
    const readers = {
      Sid: 'Readers',
      Effect: 'Allow',
      Principal: { AWS: '222222222222' },
      Action: 'ecr:*',
    };
    const lambdas = { ...service(fn('222222222222', '*')), Sid: 'Lambdas' };

    const plan = revoke({ policyText: policy(readers, lambdas), organizationId: 'o-a1b2c3d4e5' });

    expect(plan.explanation).toContain('statements Lambdas, Readers let it pull');
  });

  it('revokes what it owns and says what still grants the consumer', () => {
    const readers = {
      Sid: 'Readers',
      Effect: 'Allow',
      Principal: { AWS: root('222222222222') },
      Action: 'ecr:*',
    };

    const plan = revoke({ policyText: policy(readers, accounts(root('222222222222'))) });

    expect(plan).toEqual(expect.objectContaining({ reason: 'consumer-revoked' }));
    expect(plan.explanation).toContain('Account 222222222222 can still pull through Readers');
    expect((plan as { nextSteps: readonly string[] }).nextSteps).toHaveLength(1);
  });

  it('does not call a consumer revoked while a foreign statement lets one of its roles pull', () => {
    // A grant to one role is not the account's consent (policy-evaluator.ts), but it is still access of that account
    // which the person asking for the revoke must hear about: never "nothing grants it".
    const puller = {
      Sid: 'HandRole',
      Effect: 'Allow',
      Principal: {
        AWS: ['arn:aws:iam::999999999999:role/other', 'arn:aws:iam::222222222222:role/puller'],
      },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
    };
    const session = {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:sts::222222222222:assumed-role/ci/build' },
      Action: 'ecr:*',
    };

    const plan = revoke({ policyText: policy(CI, puller, session) });

    expect(plan).toEqual(
      expect.objectContaining({ outcome: 'needs-human', reason: 'not-granted-by-autofix' })
    );
    expect(plan.explanation).toContain(
      'statements HandRole, #3 let principals of account 222222222222 pull'
    );
    expect((plan as { nextSteps: readonly string[] }).nextSteps[0]).toContain(
      'Review statements HandRole, #3 of'
    );
  });

  it('says a role of the consumer can still pull after its account is taken out of the fixer\u2019s statements', () => {
    const puller = {
      Sid: 'HandRole',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::222222222222:role/puller' },
      Action: PULL,
    };

    const plan = revoke({
      policyText: policy(puller, service(fn('222222222222', '*')), accounts(root('222222222222'))),
    });

    expect(plan).toEqual(expect.objectContaining({ reason: 'consumer-revoked' }));
    expect(plan.explanation).toContain(
      'Principals of account 222222222222 can still pull through HandRole'
    );
  });

  it('does not count a role grant that cannot pull, names another account, or is a Deny', () => {
    const statements = [
      // one pull action only
      {
        Sid: 'Half',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::222222222222:role/a' },
        Action: 'ecr:BatchGetImage',
      },
      // another repository
      {
        Sid: 'Elsewhere',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::222222222222:role/a' },
        Action: PULL,
        Resource: 'arn:aws:ecr:eu-west-1:111111111111:repository/other',
      },
      // a condition the role's requests never meet
      {
        Sid: 'NeverTrue',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::222222222222:role/a' },
        Action: PULL,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      // a role of another account, a service, and the account itself through a Deny
      {
        Sid: 'Other',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::999999999999:role/a' },
        Action: PULL,
      },
      {
        Sid: 'Svc',
        Effect: 'Allow',
        Principal: { Service: 'codebuild.amazonaws.com' },
        Action: PULL,
      },
      { Sid: 'Everyone', Effect: 'Allow', Principal: '*', Action: 'ecr:DescribeImages' },
      {
        Sid: 'Deny',
        Effect: 'Deny',
        Principal: { AWS: 'arn:aws:iam::222222222222:role/a' },
        Action: PULL,
      },
    ];

    expect(revoke({ policyText: policy(...statements) })).toEqual(
      expect.objectContaining({ outcome: 'revoke', reason: 'already-revoked' })
    );
    // For one function, only Lambda's pull for it counts: a role of the account is not the function.
    expect(
      revoke({
        policyText: policy({ ...statements[0], Sid: 'Role', Action: PULL }),
        functionName: 'orders-api',
      })
    ).toEqual(expect.objectContaining({ outcome: 'revoke', reason: 'already-revoked' }));
  });

  it('is already revoked when nothing grants the consumer (also without a policy)', () => {
    expect(revoke({ policyText: null })).toEqual(
      expect.objectContaining({ outcome: 'revoke', reason: 'already-revoked' })
    );
    expect(
      revoke({
        policyText: policy(CI),
        repository: { ...REPOSITORY },
        consumerAccount: '111111111111',
      })
    ).toEqual(expect.objectContaining({ reason: 'already-revoked' }));
  });

  it.each([
    ['not JSON', '{', 'policy-invalid'],
    ['ambiguous', '{"Statement":[],"Statement":[]}', 'policy-not-understood'],
  ])('needs a human for a policy that is %s', (_, text, reason) => {
    expect(revoke({ policyText: text })).toEqual(
      expect.objectContaining({ outcome: 'needs-human', reason })
    );
  });

  it('leaves an owned statement alone that was changed by hand, or appears twice', () => {
    const edited = { ...service(fn('222222222222', '*')), Action: 'ecr:*' };

    const handEdited = revoke({ policyText: policy(edited) });
    const twice = revoke({
      policyText: policy(service(fn('222222222222', '*')), service(fn('444444444444', '*'))),
    });

    expect(handEdited).toEqual(expect.objectContaining({ reason: 'policy-not-understood' }));
    expect(handEdited.explanation).not.toContain('more than once');
    expect(twice.explanation).toContain('(it appears more than once)');
  });
});
