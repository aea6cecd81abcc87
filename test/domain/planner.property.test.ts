/**
 * Property-based tests of the planner over generated policies and targets: what it keeps, what it adds, and what it
 * must never allow.
 */
import fc from 'fast-check';

import type { AccountConsent } from '../../lambda/domain/consent';
import type { Partition, Target } from '../../lambda/domain/decision';
import type { AccessRequest, RequestPrincipal } from '../../lambda/domain/policy-evaluator';
import { evaluatePolicy, wildcardMatch } from '../../lambda/domain/policy-evaluator';
import type { JsonObject, PolicyDocument } from '../../lambda/domain/policy-document';
import { parsePolicy } from '../../lambda/domain/policy-document';
import type { GrantScope, Plan } from '../../lambda/domain/planner';
import {
  ACCOUNTS_SID,
  MAX_POLICY_LENGTH,
  PULL_ACTIONS,
  SERVICE_SID,
  planPolicy,
} from '../../lambda/domain/planner';
import { makeTarget } from '../support/targets';

const RUNS = { numRuns: 1000 };
const CONSENTED: AccountConsent = { given: true, form: 'share-tag', reason: 'tagged' };
const REFUSED: AccountConsent = { given: false, explanation: 'Not consented.', nextSteps: [] };
const ACCOUNTS = ['111111111111', '222222222222', '333333333333', '444444444444'] as const;
const REGIONS = ['us-east-1', 'eu-west-1'] as const;
const FUNCTIONS = ['orders-api', 'payments-worker', 'thumbnailer'] as const;
const ORG = 'o-a1b2c3d4e5';

const account = fc.constantFrom(...ACCOUNTS);
const region = fc.constantFrom(...REGIONS);

const principalValue = fc.oneof(
  fc.constant<unknown>('*'),
  fc.record({ AWS: fc.constantFrom<unknown>('*', ...ACCOUNTS) }),
  fc.record({
    AWS: fc
      .uniqueArray(
        account.chain((a) =>
          fc.constantFrom(`arn:aws:iam::${a}:root`, a, `arn:aws:iam::${a}:role/deployer`)
        ),
        { minLength: 1, maxLength: 3 }
      )
      .map((values): unknown => values),
  }),
  fc.record({
    Service: fc.constantFrom<unknown>('lambda.amazonaws.com', 'ecs-tasks.amazonaws.com', [
      'lambda.amazonaws.com',
      'codebuild.amazonaws.com',
    ]),
  })
);

const actionValue = fc.oneof(
  fc.constantFrom<unknown>(
    'ecr:*',
    '*',
    'ecr:BatchGetImage',
    'ecr:GetDownloadUrlForLayer',
    'ecr:BatchGet*',
    'ECR:getdownloadurlforlayer',
    'ecr:PutImage',
    'ecr:DescribeImages'
  ),
  fc.constant<unknown>(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']),
  fc.constant<unknown>(['ecr:BatchGetImage', 'ecr:BatchCheckLayerAvailability'])
);

const conditionValue = fc.oneof(
  fc.constant<unknown>(undefined),
  fc
    .tuple(region, account, fc.constantFrom('StringLike', 'ArnLike', 'StringEquals', 'ArnEquals'))
    .map(([r, a, op]): unknown => ({
      [op]: { 'aws:SourceArn': `arn:aws:lambda:${r}:${a}:function:*` },
    })),
  fc.constantFrom<unknown>(
    { StringEquals: { 'aws:PrincipalOrgID': ORG } },
    { StringNotEquals: { 'aws:PrincipalOrgID': ORG } },
    {
      StringNotEqualsIfExists: { 'aws:PrincipalOrgID': ORG },
      BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
    },
    { StringEquals: { 'aws:SourceAccount': '222222222222' } },
    { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
    { Bool: { 'aws:SecureTransport': 'false' } }
  )
);

const foreignStatement: fc.Arbitrary<JsonObject> = fc
  .record({
    sid: fc.option(fc.stringMatching(/^[A-Za-z0-9]{1,12}$/), { nil: undefined }),
    effect: fc.constantFrom('Allow', 'Allow', 'Allow', 'Deny'),
    principal: principalValue,
    action: actionValue,
    condition: conditionValue,
  })
  .map(({ sid, effect, principal, action, condition }) => {
    const statement: JsonObject = {};
    if (sid !== undefined) statement['Sid'] = `Foreign${sid}`;
    statement['Effect'] = effect;
    statement['Principal'] = principal;
    statement['Action'] = action;
    if (condition !== undefined) statement['Condition'] = condition;
    return statement;
  });

const target: fc.Arbitrary<Target> = fc
  .record({
    registryAccount: account,
    consumerAccount: account,
    region,
    partition: fc.constantFrom<Partition>('aws', 'aws', 'aws-us-gov'),
    functionName: fc.constantFrom(...FUNCTIONS),
  })
  .map(({ partition, region: r, ...rest }) =>
    makeTarget({ ...rest, partition, region: partition === 'aws-us-gov' ? 'us-gov-west-1' : r })
  );

const grantScope = fc.constantFrom<GrantScope>('account', 'function');

/** A policy text: none, foreign statements only, or foreign statements plus grants planned for earlier targets. */
const policyText: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  fc
    .record({
      statements: fc.array(foreignStatement, { maxLength: 6 }),
      version: fc.constantFrom<string | undefined>('2012-10-17', '2008-10-17', undefined),
      id: fc.option(fc.constant('policy-id'), { nil: undefined }),
      earlier: fc.array(
        fc.tuple(target, grantScope, fc.option(fc.constant(ORG), { nil: undefined })),
        { maxLength: 3 }
      ),
      filler: fc.nat({ max: 90 }),
    })
    .map(({ statements, version, id, earlier, filler }) => {
      const document: JsonObject = {};
      if (version !== undefined) document['Version'] = version;
      if (id !== undefined) document['Id'] = id;
      const padding = Array.from({ length: filler > 70 ? filler : 0 }, (_, index) => ({
        Sid: `Reader${index}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${String(500000000000 + index)}:root` },
        Action: ['ecr:DescribeImages'],
      }));
      document['Statement'] = [...statements, ...padding];
      let text = JSON.stringify(document);
      for (const [earlierTarget, scope, organizationId] of earlier) {
        const planned = planPolicy({
          policyText: text,
          target: earlierTarget,
          grantScope: scope,
          organizationId,
          consent: CONSENTED,
        });
        if (planned.outcome === 'fix') text = planned.policyAfter;
      }
      return text;
    })
);

const input = fc.record({
  policyText,
  target,
  grantScope,
  organizationId: fc.option(fc.constant(ORG), { nil: undefined }),
  consent: fc.constantFrom(CONSENTED, CONSENTED, REFUSED),
});

function parse(text: string | null): PolicyDocument {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.policy;
}

function isOwned(statement: JsonObject): boolean {
  return statement['Sid'] === SERVICE_SID || statement['Sid'] === ACCOUNTS_SID;
}

/** Requests that probe who may do what, across principals, actions, accounts and regions. */
function probes(t: Target): AccessRequest[] {
  const requests: AccessRequest[] = [];
  const actions = [...PULL_ACTIONS, 'ecr:PutImage', 'ecr:DeleteRepository', 'ecr:DescribeImages'];
  const principals: RequestPrincipal[] = [
    { kind: 'service', service: 'lambda.amazonaws.com' },
    { kind: 'service', service: 'ecs-tasks.amazonaws.com' },
    ...ACCOUNTS.map((a): RequestPrincipal => ({
      kind: 'account',
      accountId: a,
      partition: t.partition,
      callerArns: [],
    })),
  ];
  for (const principal of principals) {
    for (const action of actions) {
      for (const a of ACCOUNTS) {
        for (const r of new Set([t.region, 'eu-central-1'])) {
          for (const fn of [t.functionName ?? 'orders-api', 'other']) {
            requests.push({
              principal,
              action,
              resource: t.repositoryArn,
              context:
                principal.kind === 'service'
                  ? {
                      'aws:SourceArn': `arn:${t.partition}:lambda:${r}:${a}:function:${fn}`,
                      'aws:PrincipalIsAWSService': 'true',
                      'aws:SecureTransport': 'true',
                      'aws:PrincipalServiceName': principal.service,
                      'aws:PrincipalOrgID': null,
                      'aws:PrincipalAccount': null,
                      'aws:PrincipalArn': null,
                    }
                  : {
                      'aws:PrincipalAccount': principal.accountId,
                      'aws:PrincipalIsAWSService': 'false',
                      'aws:SecureTransport': 'true',
                      'aws:PrincipalServiceName': null,
                      'aws:SourceArn': null,
                      'aws:SourceAccount': null,
                      'aws:PrincipalOrgID': ORG,
                    },
            });
          }
        }
      }
      if (principal.kind === 'account') break; // the source ARN does not matter for accounts
    }
  }
  return requests;
}

/** What the fix is meant to allow: the Lambda service for the consumer's functions, and the consumer account. */
function intended(request: AccessRequest, t: Target, scope: GrantScope): boolean {
  if (!(PULL_ACTIONS as readonly string[]).includes(request.action)) return false;
  if (request.principal.kind === 'account') {
    return t.crossAccount && request.principal.accountId === t.consumerAccount;
  }
  if (request.principal.service !== 'lambda.amazonaws.com') return false;
  const sourceArn = request.context['aws:SourceArn'] ?? '';
  const prefix = `arn:${t.partition}:lambda:${t.region}:${t.consumerAccount}:function:`;
  return scope === 'account'
    ? wildcardMatch(`${prefix}*`, sourceArn)
    : sourceArn === `${prefix}${t.functionName}` ||
        wildcardMatch(`${prefix}${t.functionName}:*`, sourceArn);
}

function fixOf(plan: Plan): Extract<Plan, { outcome: 'fix' }> | null {
  return plan.outcome === 'fix' ? plan : null;
}

describe('planPolicy (properties)', () => {
  it('never throws, and a fix always fits the 10,240-character limit', () => {
    fc.assert(
      fc.property(input, (i) => {
        const plan = planPolicy(i);
        if (plan.outcome === 'fix')
          expect(plan.policyAfter.length).toBeLessThanOrEqual(MAX_POLICY_LENGTH);
        if (plan.outcome === 'needs-human' && plan.reason === 'policy-too-large') {
          expect(plan.grants.length).toBeGreaterThan(0);
        }
      }),
      RUNS
    );
  });

  it('keeps every foreign statement, in order, and every top-level key', () => {
    fc.assert(
      fc.property(input, (i) => {
        const fix = fixOf(planPolicy(i));
        if (fix === null) return;
        const before = parse(i.policyText);
        const after = parse(fix.policyAfter);
        expect(after.statements.filter((s) => !isOwned(s))).toEqual(
          before.statements.filter((s) => !isOwned(s))
        );
        expect(after.header).toEqual(before.header);
        // Statements keep their positions: the owned ones are extended in place or appended.
        before.statements.forEach((statement, index) => {
          if (!isOwned(statement)) expect(after.statements[index]).toEqual(statement);
        });
      }),
      RUNS
    );
  });

  it('is deterministic and idempotent', () => {
    fc.assert(
      fc.property(input, (i) => {
        const first = planPolicy(i);
        expect(planPolicy(i)).toEqual(first);
        const fix = fixOf(first);
        if (fix === null) return;
        expect(planPolicy({ ...i, policyText: fix.policyAfter }).outcome).toBe('already-allowed');
      }),
      RUNS
    );
  });

  it('after a fix the evaluator allows the pulls that failed, and no Deny applies', () => {
    fc.assert(
      fc.property(input, (i) => {
        const fix = fixOf(planPolicy(i));
        if (fix === null) return;
        const after = parse(fix.policyAfter);
        const t = i.target;
        for (const action of PULL_ACTIONS) {
          const service = evaluatePolicy(after, {
            principal: { kind: 'service', service: 'lambda.amazonaws.com' },
            action,
            resource: t.repositoryArn,
            context: {
              'aws:SourceArn': t.functionArn,
              'aws:PrincipalIsAWSService': 'true',
              'aws:SecureTransport': 'true',
              'aws:PrincipalServiceName': 'lambda.amazonaws.com',
              'aws:PrincipalOrgID': null,
              'aws:PrincipalAccount': null,
              'aws:PrincipalArn': null,
            },
          });
          expect([service.allowed, service.denied]).toEqual(['yes', 'no']);
          if (!t.crossAccount) continue;
          const accountAccess = evaluatePolicy(after, {
            principal: {
              kind: 'account',
              accountId: t.consumerAccount,
              partition: t.partition,
              callerArns: [],
            },
            action,
            resource: t.repositoryArn,
            context: {
              'aws:PrincipalAccount': t.consumerAccount,
              'aws:PrincipalIsAWSService': 'false',
              'aws:SecureTransport': 'true',
              'aws:PrincipalServiceName': null,
              'aws:SourceArn': null,
              'aws:SourceAccount': null,
              ...(i.organizationId === undefined ? {} : { 'aws:PrincipalOrgID': i.organizationId }),
            },
          });
          expect([accountAccess.allowed, accountAccess.denied]).toEqual(['yes', 'no']);
        }
      }),
      RUNS
    );
  });

  it('allows nothing new beyond the intended grant, and loses nothing that was allowed or denied', () => {
    fc.assert(
      fc.property(input, (i) => {
        const fix = fixOf(planPolicy(i));
        if (fix === null) return;
        const before = parse(i.policyText);
        const after = parse(fix.policyAfter);
        for (const request of probes(i.target)) {
          const was = evaluatePolicy(before, request);
          const is = evaluatePolicy(after, request);
          if (is.allowed === 'yes' && was.allowed !== 'yes') {
            expect({ request, intended: intended(request, i.target, i.grantScope) }).toEqual({
              request,
              intended: true,
            });
          }
          if (was.allowed === 'yes') expect(is.allowed).toBe('yes');
          expect(is.denied).toBe(was.denied);
        }
      }),
      { numRuns: 1000 }
    );
  });
  it('never adds an account statement without consent; with consent in the policy, adds none at all', () => {
    fc.assert(
      fc.property(input, (i) => {
        const plan = planPolicy(i);
        const addsAccount =
          plan.outcome === 'fix' && plan.grants.some((grant) => grant.sid === ACCOUNTS_SID);
        if (!i.consent.given) expect(addsAccount).toBe(false);
        if (plan.outcome === 'needs-human' && plan.reason === 'sharing-not-consented') {
          expect(i.consent.given).toBe(false);
          expect(i.target.crossAccount).toBe(true);
        }
        if (plan.outcome === 'fix' && i.target.crossAccount && !addsAccount) {
          // The only reason to leave the account statement out: the policy already lets the account pull.
          expect(plan.explanation).toContain("which is the owner's consent");
        }
      }),
      RUNS
    );
  });

  it('with organizationId, every account statement it writes carries the aws:PrincipalOrgID condition', () => {
    fc.assert(
      fc.property(input, (i) => {
        const plan = planPolicy(i);
        if (plan.outcome !== 'fix' && !(plan.outcome === 'needs-human' && plan.grants.length > 0)) {
          return;
        }
        for (const grant of plan.grants) {
          if (grant.sid !== ACCOUNTS_SID) continue;
          expect(grant.statement['Condition']).toEqual(
            i.organizationId === undefined
              ? undefined
              : { StringEquals: { 'aws:PrincipalOrgID': i.organizationId } }
          );
        }
      }),
      RUNS
    );
  });
  it('always fixes on top of its own earlier fixes made with the same configuration and consent', () => {
    const history = fc.record({
      earlier: fc.array(fc.tuple(target, grantScope), { minLength: 1, maxLength: 4 }),
      next: target,
      scope: grantScope,
      organizationId: fc.option(fc.constant(ORG), { nil: undefined }),
    });
    fc.assert(
      fc.property(history, ({ earlier, next, scope, organizationId }) => {
        let policyText: string | null = null;
        for (const [earlierTarget, earlierScope] of [...earlier, [next, scope] as const]) {
          const planned = planPolicy({
            policyText,
            target: earlierTarget,
            grantScope: earlierScope,
            organizationId,
            consent: CONSENTED,
          });
          expect(['fix', 'already-allowed']).toContain(planned.outcome);
          if (planned.outcome === 'fix') policyText = planned.policyAfter;
        }
      }),
      RUNS
    );
  });
});
