import { parseConfig, type ConfigInput } from '../../lambda/domain/config';
import {
  assessDrift,
  findDrift,
  repositoryDeleted,
  respondToDrift,
} from '../../lambda/domain/drift';
import type { PolicyCall } from '../../lambda/domain/grant-decision';
import type { LedgerRecord } from '../../lambda/domain/grant-ledger';
import { liveGrants } from '../../lambda/domain/grant-ledger';
import { ACCOUNTS_SID, SERVICE_SID } from '../../lambda/domain/planner';

const REPOSITORY = {
  partition: 'aws' as const,
  region: 'eu-west-1',
  registryAccount: '111111111111',
  repositoryName: 'platform/payments-worker',
  repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
};
const CALL: PolicyCall = {
  envelopeId: 'envelope',
  eventId: 'e1',
  eventName: 'SetRepositoryPolicy',
  eventTime: '2026-03-10T09:15:42Z',
  repository: REPOSITORY,
  caller: {
    arn: 'arn:aws:sts::111111111111:assumed-role/platform-admin/jane',
    type: 'AssumedRole',
    principalArn: 'arn:aws:iam::111111111111:role/platform-admin',
    invokedBy: null,
  },
  userAgent: null,
};
const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const fn = (account: string, rest: string) =>
  `arn:aws:lambda:eu-west-1:${account}:function:${rest}`;
const root = (account: string) => `arn:aws:iam::${account}:root`;
const CI = {
  Sid: 'CiPublish',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::111111111111:role/ci' },
  Action: ['ecr:PutImage'],
};
const policy = (...statements: unknown[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });
const service = (...patterns: string[]) => ({
  Sid: SERVICE_SID,
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: PULL,
  Condition: { StringLike: { 'aws:SourceArn': patterns } },
});
const accounts = (...roots: string[]) => ({
  Sid: ACCOUNTS_SID,
  Effect: 'Allow',
  Principal: { AWS: roots },
  Action: PULL,
});

function fixRecord(
  consumer: string,
  values: { service?: string[]; root?: boolean },
  decidedAt = '2026-03-01T10:00:00.000Z'
): LedgerRecord {
  return {
    kind: 'fix',
    state: 'applied',
    outcome: 'fix',
    reason: 'repository-policy-missing-grant',
    eventId: `fix-${consumer}-${decidedAt}`,
    eventTime: '2026-03-01T10:00:00Z',
    decidedAt,
    functionArn: fn(consumer, 'orders'),
    grants: [
      ...(values.service === undefined ? [] : [{ sid: SERVICE_SID, added: values.service }]),
      ...(values.root === true ? [{ sid: ACCOUNTS_SID, added: [root(consumer)] }] : []),
    ],
    removed: [],
  };
}

const config = (input: ConfigInput = {}) =>
  parseConfig({ organizationId: 'o-a1b2c3d4e5', ...input }, 'test');
const SHARED = { 'lambda-ecr-autofix:share': '222222222222 444444444444' };
const RECORDS = [
  fixRecord('222222222222', { service: [fn('222222222222', '*')], root: true }),
  fixRecord('444444444444', {
    service: [fn('444444444444', 'reconciler'), fn('444444444444', 'reconciler:*')],
    root: true,
  }),
];
const WHOLE = policy(
  CI,
  service(
    fn('222222222222', '*'),
    fn('444444444444', 'reconciler'),
    fn('444444444444', 'reconciler:*')
  ),
  accounts(root('222222222222'), root('444444444444'))
);

describe('findDrift', () => {
  const live = liveGrants(RECORDS);

  it('finds nothing while the policy allows every audited value', () => {
    expect(findDrift(WHOLE, live, REPOSITORY, 'o-a1b2c3d4e5')).toEqual([]);
  });

  it('is not fooled by a grant that moved to another statement, or is covered by a wider one', () => {
    const moved = policy(
      { ...service(fn('222222222222', '*'), fn('444444444444', '*')), Sid: 'TeamGrants' },
      { ...accounts(root('222222222222'), root('444444444444')), Sid: 'TeamAccounts' }
    );

    expect(findDrift(moved, live, REPOSITORY, 'o-a1b2c3d4e5')).toEqual([]);
  });

  it('finds the values of each consumer the policy no longer allows, evaluated, per account', () => {
    const without444 = policy(CI, service(fn('222222222222', '*')), accounts(root('222222222222')));

    expect(findDrift(without444, live, REPOSITORY, 'o-a1b2c3d4e5')).toEqual([
      {
        consumerAccount: '444444444444',
        functionArn: fn('444444444444', 'orders'),
        missing: [
          { sid: ACCOUNTS_SID, values: [root('444444444444')] },
          {
            sid: SERVICE_SID,
            values: [fn('444444444444', 'reconciler'), fn('444444444444', 'reconciler:*')],
          },
        ],
        alreadyReported: false,
      },
    ]);
  });

  it('counts a Deny that blocks the pull as drift', () => {
    const denied = JSON.stringify({
      Statement: [
        ...(JSON.parse(WHOLE) as { Statement: unknown[] }).Statement,
        {
          Sid: 'NoLambda',
          Effect: 'Deny',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: 'ecr:*',
        },
      ],
    });

    expect(findDrift(denied, live, REPOSITORY, undefined).map((d) => d.consumerAccount)).toEqual([
      '222222222222',
      '444444444444',
    ]);
  });

  it('names no function when no record of the grant named one', () => {
    const noFunction = [{ ...(RECORDS[0] as LedgerRecord), functionArn: null }];

    expect(
      findDrift(null, liveGrants(noFunction), REPOSITORY, undefined)[0]?.functionArn
    ).toBeNull();
    expect(repositoryDeleted(CALL, liveGrants(noFunction))[0]?.functionArn).toBeNull();
  });

  it('counts every grant as missing when the policy cannot be read, or is gone', () => {
    expect(findDrift('{', live, REPOSITORY, undefined)).toHaveLength(2);
    expect(findDrift(null, live, REPOSITORY, undefined)).toHaveLength(2);
  });
});

describe('assessDrift', () => {
  it('is off with driftAction "off"', () => {
    expect(assessDrift(CALL, RECORDS, null, config({ driftAction: 'off' }))).toEqual(
      expect.objectContaining({ kind: 'ignored', reason: 'drift-guard-off' })
    );
  });

  it('finds no drift without live grants, or when all are still allowed', () => {
    expect(assessDrift(CALL, [], null, config())).toEqual(
      expect.objectContaining({ kind: 'ignored', reason: 'no-drift' })
    );
    expect(assessDrift(CALL, RECORDS, WHOLE, config())).toEqual(
      expect.objectContaining({ kind: 'ignored', reason: 'no-drift' })
    );
  });

  it('reports a loss once with notify, and tries the restore again with restore', () => {
    const report: LedgerRecord = {
      ...fixRecord('222222222222', {}),
      kind: 'drift',
      state: 'recorded',
      outcome: 'needs-human',
      reason: 'grant-removed',
      decidedAt: '2026-03-05T00:00:00.000Z',
      removed: [
        { sid: SERVICE_SID, values: [fn('222222222222', '*')] },
        { sid: ACCOUNTS_SID, values: [root('222222222222')] },
      ],
    };
    const records = [RECORDS[0] as LedgerRecord, report];

    expect(assessDrift(CALL, records, policy(CI), config())).toEqual(
      expect.objectContaining({ kind: 'ignored', reason: 'drift-already-reported' })
    );
    const retried = assessDrift(CALL, records, policy(CI), config({ driftAction: 'restore' }));
    expect(retried).toEqual(expect.objectContaining({ kind: 'drift' }));
    const response = respondToDrift(
      CALL,
      retried.kind === 'drift' ? retried.drifts : [],
      { policyText: policy(CI), tags: { 'lambda-ecr-autofix': 'off' } },
      config({ driftAction: 'restore' })
    );
    // Still not restorable (opted out): the report is not repeated.
    expect(response.decisions).toEqual([]);
    expect(
      respondToDrift(
        CALL,
        retried.kind === 'drift' ? retried.drifts : [],
        { policyText: policy(CI), tags: null },
        config()
      ).decisions
    ).toEqual([]);
  });

  it('turns DeleteRepository into one report per consumer, never reading a policy', () => {
    const assessed = assessDrift(
      { ...CALL, eventName: 'DeleteRepository' },
      RECORDS,
      null,
      config()
    );

    expect(assessed.kind).toBe('deleted');
    const decisions = assessed.kind === 'deleted' ? assessed.decisions : [];
    expect(decisions.map((d) => [d.consumerAccount, d.outcome, d.reason])).toEqual([
      ['222222222222', 'needs-human', 'repository-deleted'],
      ['444444444444', 'needs-human', 'repository-deleted'],
    ]);
    expect(decisions[0]?.explanation).toContain('deleted repository platform/payments-worker');
    expect(
      repositoryDeleted({ ...CALL, caller: { ...CALL.caller, arn: null } }, liveGrants(RECORDS))[0]
        ?.explanation
    ).toMatch(/^An unknown caller deleted/);
  });
});

describe('respondToDrift', () => {
  const drifts = findDrift(policy(CI), liveGrants(RECORDS), REPOSITORY, 'o-a1b2c3d4e5');

  it('reports each consumer with what is missing and both ways forward (notify)', () => {
    const response = respondToDrift(CALL, drifts, { policyText: policy(CI), tags: null }, config());

    expect(response.policyAfter).toBeNull();
    expect(response.decisions.map((d) => [d.kind, d.outcome, d.reason, d.consumerAccount])).toEqual(
      [
        ['drift', 'needs-human', 'grant-removed', '222222222222'],
        ['drift', 'needs-human', 'grant-removed', '444444444444'],
      ]
    );
    const [first] = response.decisions;
    expect(first?.explanation).toContain(
      "arn:aws:sts::111111111111:assumed-role/platform-admin/jane's SetRepositoryPolicy at 2026-03-10T09:15:42Z"
    );
    expect(first?.nextSteps[0]).toContain('set driftAction to "restore"');
    expect(first?.nextSteps[1]).toContain(
      `lambda-ecr-autofix revoke --repository ${REPOSITORY.repositoryArn} --consumer 222222222222`
    );
  });

  it('gives commands a person can run as written: the audit table and region revoke needs, the policy saved to edit', () => {
    const undo = { auditTableName: 'LambdaEcrAutofixAudit', region: 'us-east-1' };

    const [reported] = respondToDrift(
      CALL,
      drifts,
      { policyText: policy(CI), tags: null },
      config(),
      undo
    ).decisions;
    const [restored] = respondToDrift(
      CALL,
      drifts,
      { policyText: policy(CI), tags: SHARED },
      config({ driftAction: 'restore' }),
      undo
    ).decisions;
    const [offline] = respondToDrift(
      CALL,
      drifts,
      { policyText: policy(CI), tags: null },
      config()
    ).decisions;

    const revoke = `lambda-ecr-autofix revoke --repository ${REPOSITORY.repositoryArn} --consumer 222222222222 --audit-table LambdaEcrAutofixAudit --region us-east-1`;
    expect(reported?.nextSteps[1]).toContain(revoke);
    expect(restored?.nextSteps[0]).toContain(revoke);
    expect(offline?.nextSteps[1]).toContain(
      '--consumer 222222222222 --audit-table <AuditTableName output of the central stack>'
    );
    expect(reported?.nextSteps[0]).toContain(
      `aws ecr get-repository-policy --region eu-west-1 --registry-id 111111111111 --repository-name ${REPOSITORY.repositoryName} --query policyText --output text > policy.json, edit policy.json, aws ecr set-repository-policy`
    );
  });

  it('puts exactly the audited values back with restore, both consumers in one policy', () => {
    const response = respondToDrift(
      CALL,
      drifts,
      { policyText: policy(CI), tags: SHARED },
      config({ driftAction: 'restore' })
    );

    expect(response.decisions.map((d) => [d.outcome, d.reason])).toEqual([
      ['fix', 'grant-removed'],
      ['fix', 'grant-removed'],
    ]);
    const restored = JSON.parse(response.policyAfter as string) as { Statement: unknown[] };
    expect(restored.Statement).toEqual([
      CI,
      service(
        fn('222222222222', '*'),
        fn('444444444444', 'reconciler'),
        fn('444444444444', 'reconciler:*')
      ),
      {
        ...accounts(root('222222222222'), root('444444444444')),
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
      },
    ]);
    expect(response.decisions[0]?.explanation).toContain('puts');
    expect(
      findDrift(response.policyAfter, liveGrants(RECORDS), REPOSITORY, 'o-a1b2c3d4e5')
    ).toEqual([]);
  });

  it('restores only the missing account root when Lambda is still allowed', () => {
    const onlyRoot = findDrift(
      policy(service(fn('222222222222', '*'))),
      liveGrants([RECORDS[0] as LedgerRecord]),
      REPOSITORY,
      undefined
    );

    const response = respondToDrift(
      CALL,
      onlyRoot,
      { policyText: policy(service(fn('222222222222', '*'))), tags: SHARED },
      parseConfig({ driftAction: 'restore' }, 'test')
    );

    expect(response.decisions[0]?.grants.map((grant) => [grant.sid, grant.added])).toEqual([
      [ACCOUNTS_SID, [root('222222222222')]],
    ]);
  });

  it.each([
    ['the consent is gone', {}, {}, 'It is not put back automatically'],
    ['the repository opted out', { ...SHARED, 'lambda-ecr-autofix': 'off' }, {}, 'opts it out'],
    [
      'the consumer is not in consumerAccounts',
      SHARED,
      { consumerAccounts: ['999999999999'] },
      'consumerAccounts',
    ],
  ])('reports instead of restoring when %s', (_, tags, extra, words) => {
    const response = respondToDrift(
      CALL,
      drifts,
      { policyText: policy(CI), tags },
      config({ driftAction: 'restore', ...extra })
    );

    expect(response.policyAfter).toBeNull();
    expect(response.decisions.every((d) => d.outcome === 'needs-human')).toBe(true);
    expect(response.decisions[0]?.explanation).toContain(words);
  });

  it('reports when putting the grant back would add more than was audited', () => {
    const serviceOnly = [fixRecord('222222222222', { service: [fn('222222222222', '*')] })];
    const lost = findDrift(policy(CI), liveGrants(serviceOnly), REPOSITORY, undefined);

    const response = respondToDrift(
      CALL,
      lost,
      { policyText: policy(CI), tags: SHARED },
      parseConfig({ driftAction: 'restore' }, 'test')
    );

    expect(response.decisions[0]?.outcome).toBe('needs-human');
    expect(response.decisions[0]?.explanation).toContain(
      `would also add ${root('222222222222')}, which lambda-ecr-autofix never granted here`
    );
  });

  it('reports when the planner cannot put a value back exactly', () => {
    // Only the qualified pattern is missing: the planner sees the function allowed and adds nothing.
    const qualified = [
      fixRecord('111111111111', {
        service: [fn('111111111111', 'orders'), fn('111111111111', 'orders:*')],
      }),
    ];
    const text = policy(service(fn('111111111111', 'orders')));
    const lost = findDrift(text, liveGrants(qualified), REPOSITORY, undefined);

    const response = respondToDrift(
      CALL,
      lost,
      { policyText: text, tags: {} },
      parseConfig({ driftAction: 'restore' }, 'test')
    );

    expect(lost).toHaveLength(1);
    expect(response.decisions[0]?.explanation).toContain('finds nothing to add');
  });

  it('reports when the restored policy would still miss a value', () => {
    // Two missing patterns of one function: the planner adds both, but a Deny keeps one of them from working.
    const qualified = [
      fixRecord('111111111111', {
        service: [fn('111111111111', 'orders'), fn('111111111111', 'orders:*')],
      }),
    ];
    const deny = {
      Sid: 'NoAliases',
      Effect: 'Deny',
      Principal: '*',
      Action: 'ecr:*',
      Condition: { StringLike: { 'aws:SourceArn': fn('111111111111', 'orders:*') } },
    };
    const text = policy(deny);
    const lost = findDrift(text, liveGrants(qualified), REPOSITORY, undefined);

    const response = respondToDrift(
      CALL,
      lost,
      { policyText: text, tags: {} },
      parseConfig({ driftAction: 'restore' }, 'test')
    );

    expect(response.decisions[0]?.outcome).toBe('needs-human');
    expect(response.decisions[0]?.explanation).toContain('cannot put');
  });
});
