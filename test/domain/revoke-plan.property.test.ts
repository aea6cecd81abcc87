/**
 * Property-based tests of `revoke` over policies built the way they are in practice: foreign statements (a CI
 * publisher, readers, Denies, Lambda's own statement), then fixes for several consumers with either grant scope. What
 * revoke must keep, what it must take out, and that it never widens anything.
 */
import fc from 'fast-check';

import type { AccountConsent } from '../../lambda/domain/consent';
import type { RepositoryTarget } from '../../lambda/domain/grant-decision';
import type { GrantScope } from '../../lambda/domain/planner';
import {
  ACCOUNTS_SID,
  PULL_ACTIONS,
  SERVICE_SID,
  planPolicy,
  readOwnedStatement,
} from '../../lambda/domain/planner';
import type { AccessRequest, RequestPrincipal } from '../../lambda/domain/policy-evaluator';
import { evaluatePolicy } from '../../lambda/domain/policy-evaluator';
import type { JsonObject, PolicyDocument } from '../../lambda/domain/policy-document';
import { parsePolicy } from '../../lambda/domain/policy-document';
import type { RevokePlan } from '../../lambda/domain/revoke-plan';
import { planRevoke } from '../../lambda/domain/revoke-plan';
import { makeTarget } from '../support/targets';

const RUNS = { numRuns: 400 };
const CONSENTED: AccountConsent = { given: true, form: 'share-tag', reason: 'tagged' };
const REGISTRY = '111111111111';
const CONSUMERS = ['111111111111', '222222222222', '333333333333', '444444444444'] as const;
const FUNCTIONS = ['orders-api', 'payments-worker', 'thumbnailer'] as const;
const REPOSITORY: RepositoryTarget = {
  partition: 'aws',
  region: 'eu-west-1',
  registryAccount: REGISTRY,
  repositoryName: 'platform/payments-worker',
  repositoryArn: `arn:aws:ecr:eu-west-1:${REGISTRY}:repository/platform/payments-worker`,
};
const ORG = 'o-a1b2c3d4e5';

const consumer = fc.constantFrom(...CONSUMERS);

const foreignStatement: fc.Arbitrary<JsonObject> = fc.oneof(
  fc.constant<JsonObject>({
    Sid: 'CiPublish',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${REGISTRY}:role/ci-publisher` },
    Action: ['ecr:PutImage', 'ecr:BatchCheckLayerAvailability'],
  }),
  consumer.map((account): JsonObject => ({
    Sid: 'LambdaECRImageRetrievalPolicy',
    Effect: 'Allow',
    Principal: { Service: 'lambda.amazonaws.com' },
    Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
    Condition: {
      StringLike: { 'aws:sourceArn': `arn:aws:lambda:eu-west-1:${account}:function:*` },
    },
  })),
  consumer.map((account): JsonObject => ({
    Sid: 'Readers',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${account}:root` },
    Action: 'ecr:*',
  })),
  fc.constant<JsonObject>({
    Sid: 'DenyOutsideOrg',
    Effect: 'Deny',
    Principal: '*',
    Action: 'ecr:*',
    Condition: {
      StringNotEqualsIfExists: { 'aws:PrincipalOrgID': ORG },
      BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
    },
  })
);

/** A fix for one consumer, as the planner would make it. */
const fix = fc.record({
  consumerAccount: consumer,
  functionName: fc.constantFrom(...FUNCTIONS),
  scope: fc.constantFrom<GrantScope>('account', 'function'),
});

const scenario = fc.record({
  foreign: fc.uniqueArray(foreignStatement, {
    maxLength: 4,
    selector: (statement) => JSON.stringify(statement),
  }),
  fixes: fc.array(fix, { minLength: 1, maxLength: 5 }),
  organizationId: fc.constantFrom<string | undefined>(undefined, ORG),
  revoke: fc.record({
    consumerAccount: consumer,
    functionName: fc.option(fc.constantFrom(...FUNCTIONS), { nil: null }),
  }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** The policy after the foreign statements and the fixes. */
function build(s: Scenario): string {
  let text: string = JSON.stringify({ Version: '2012-10-17', Statement: s.foreign });
  for (const f of s.fixes) {
    const planned = planPolicy({
      policyText: text,
      target: makeTarget({
        registryAccount: REGISTRY,
        consumerAccount: f.consumerAccount,
        functionName: f.functionName,
      }),
      grantScope: f.scope,
      organizationId: s.organizationId,
      consent: CONSENTED,
    });
    if (planned.outcome === 'fix') text = planned.policyAfter;
  }
  return text;
}

function revoke(s: Scenario, policyText: string | null): RevokePlan {
  return planRevoke({
    policyText,
    repository: REPOSITORY,
    consumerAccount: s.revoke.consumerAccount,
    functionName: s.revoke.functionName,
    organizationId: s.organizationId,
  });
}

/** The policy text after a plan: the new one, none (deleted), or the same when nothing changes. */
function after(plan: RevokePlan, before: string | null): string | null {
  return plan.reason === 'consumer-revoked' ? plan.policyAfter : before;
}

function parse(text: string | null): PolicyDocument {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.policy;
}

const isOwned = (statement: JsonObject): boolean =>
  statement['Sid'] === SERVICE_SID || statement['Sid'] === ACCOUNTS_SID;

/** Every owned value, by statement. */
function ownedValues(text: string | null): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const statement of parse(text).statements) {
    const read = readOwnedStatement(statement);
    if (read !== null) values.set(statement['Sid'] as string, [...read.values].sort());
  }
  return values;
}

const accountOf = (value: string): string | undefined =>
  /:(\d{12}):(function:|root)/.exec(value)?.[1];

/** Requests across principals, accounts and functions: who may pull before and after. */
function probes(): AccessRequest[] {
  const requests: AccessRequest[] = [];
  const principals: { principal: RequestPrincipal; account: string | null }[] = [
    { principal: { kind: 'service', service: 'lambda.amazonaws.com' }, account: null },
    ...CONSUMERS.map((account) => ({
      principal: {
        kind: 'account' as const,
        accountId: account,
        partition: 'aws',
        callerArns: [],
      },
      account,
    })),
  ];
  for (const { principal, account } of principals) {
    for (const action of [...PULL_ACTIONS, 'ecr:PutImage']) {
      for (const source of CONSUMERS) {
        for (const fn of [...FUNCTIONS, 'another']) {
          requests.push({
            principal,
            action,
            resource: REPOSITORY.repositoryArn,
            context:
              account === null
                ? {
                    'aws:SourceArn': `arn:aws:lambda:eu-west-1:${source}:function:${fn}`,
                    'aws:PrincipalIsAWSService': 'true',
                    'aws:PrincipalOrgID': null,
                    'aws:SecureTransport': 'true',
                  }
                : {
                    'aws:PrincipalAccount': account,
                    'aws:PrincipalOrgID': ORG,
                    'aws:PrincipalIsAWSService': 'false',
                    'aws:SecureTransport': 'true',
                  },
          });
        }
      }
    }
  }
  return requests;
}
const PROBES = probes();

describe('planRevoke properties', () => {
  it('keeps every foreign statement exactly, in its place, and every other consumer exactly', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const before = build(s);
        const plan = revoke(s, before);
        const result = after(plan, before);
        const foreignBefore = parse(before).statements.filter((st) => !isOwned(st));
        const foreignAfter = parse(result).statements.filter((st) => !isOwned(st));
        expect(foreignAfter).toEqual(foreignBefore);
        const others = (values: Map<string, string[]>): Record<string, string[]> =>
          Object.fromEntries(
            [...values].map(([sid, list]) => [
              sid,
              list.filter((value) => accountOf(value) !== s.revoke.consumerAccount),
            ])
          );
        const kept = others(ownedValues(result));
        for (const [sid, list] of Object.entries(others(ownedValues(before)))) {
          // A statement may disappear only when it held nothing but the revoked consumer.
          expect(kept[sid] ?? []).toEqual(list);
        }
      }),
      RUNS
    );
  });

  it('takes the consumer out of the fixer statements when it revokes the whole account', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const whole = { ...s, revoke: { ...s.revoke, functionName: null } };
        const before = build(whole);
        const plan = revoke(whole, before);
        if (plan.outcome === 'needs-human') return;
        const left = [...ownedValues(after(plan, before)).values()]
          .flat()
          .filter((value) => accountOf(value) === s.revoke.consumerAccount);
        expect(left).toEqual([]);
      }),
      RUNS
    );
  });

  it('is idempotent: a second revoke changes nothing', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const once = after(revoke(s, build(s)), build(s));
        const twice = revoke(s, once);
        expect(twice.reason).not.toBe('consumer-revoked');
      }),
      RUNS
    );
  });

  it('never widens: whatever may pull (or do anything) after the revoke could do it before', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const before = build(s);
        const plan = revoke(s, before);
        const result = after(plan, before);
        const policyBefore = parse(before);
        const policyAfter = parse(result);
        for (const request of PROBES) {
          const was = evaluatePolicy(policyBefore, request);
          const is = evaluatePolicy(policyAfter, request);
          if (is.allowed === 'yes') expect(was.allowed).toBe('yes');
          expect(is.denied).toBe(was.denied);
        }
      }),
      { numRuns: 150 }
    );
  });

  it('deletes the policy only when no statement is left', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const before = build(s);
        const plan = revoke(s, before);
        if (plan.reason !== 'consumer-revoked') return;
        expect(plan.deletesPolicy).toBe(plan.policyAfter === null);
        if (plan.deletesPolicy) {
          expect(parse(before).statements.every(isOwned)).toBe(true);
        }
      }),
      RUNS
    );
  });
});
