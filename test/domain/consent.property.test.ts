/**
 * Property tests of sharing and consent over generated policies, tags, callers and configurations, through the whole
 * decision (`decide`), with @cloud-copilot/iam-simulate as the independent judge of "the policy already lets the
 * consumer account pull" (a devDependency: AGPL, test files only).
 *
 * - Under `sharing: "consented"`, a cross-account fix adds the account statement only when the owner's tag or
 *   sharedRegistries consents; when it adds none, the policy before already let the consumer account's root pull
 *   (iam-simulate says so), and a grant to the caller never counts for that.
 * - With consent in the policy, the fix adds no account statement.
 * - With organizationId, every account statement written or proposed carries the aws:PrincipalOrgID condition.
 * - The opt-out tag beats every form of consent.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';

import type { ConfigInput } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import { decide } from '../../lambda/domain/decide';
import type { Decision } from '../../lambda/domain/decision';
import { ACCOUNTS_SID, PULL_ACTIONS } from '../../lambda/domain/planner';
import { loadEvent } from '../support/events';

const RUNS = { numRuns: 1000 };
const REGISTRY = '111111111111';
const CONSUMERS = ['222222222222', '333333333333'] as const;
const CI = '555555555555';
const OTHER = '444444444444';
const ORG = 'o-a1b2c3d4e5';
const OTHER_ORG = 'o-zz9y8x7w6v';
const SHARE = 'lambda-ecr-autofix:share';
const REPOSITORY_ARN = `arn:aws:ecr:eu-west-1:${REGISTRY}:repository/platform/payments-worker`;

type Statement = Record<string, unknown>;

const pull = fc.constantFrom<unknown>(
  [...PULL_ACTIONS],
  'ecr:*',
  'ecr:BatchGet*',
  ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:DescribeImages'],
  'ecr:BatchGetImage'
);

/** Statements a real shared registry might hold, about the consumer, the caller, others, or everyone. */
function statementArb(consumer: string): fc.Arbitrary<Statement> {
  const principal = fc.constantFrom<unknown>(
    // the consumer account itself
    { AWS: `arn:aws:iam::${consumer}:root` },
    { AWS: consumer },
    // one identity of the consumer account, or the caller (of the consumer account or of a CI account)
    { AWS: `arn:aws:iam::${consumer}:role/platform-deployer` },
    { AWS: `arn:aws:sts::${consumer}:assumed-role/platform-deployer/ci` },
    { AWS: `arn:aws:iam::${CI}:role/ci-deployer` },
    { AWS: `arn:aws:iam::${CI}:root` },
    // other accounts
    { AWS: `arn:aws:iam::${OTHER}:root` },
    { AWS: [`arn:aws:iam::${OTHER}:root`, `arn:aws:iam::${consumer}:role/x`] },
    // everyone
    '*',
    { AWS: '*' },
    { Service: 'lambda.amazonaws.com' }
  );
  const condition = fc.constantFrom<unknown>(
    undefined,
    undefined,
    { StringEquals: { 'aws:PrincipalOrgID': ORG } },
    { StringEquals: { 'aws:PrincipalOrgID': OTHER_ORG } },
    { StringEquals: { 'aws:PrincipalAccount': consumer } },
    { StringEquals: { 'aws:PrincipalAccount': OTHER } },
    { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${consumer}:role/platform-*` } },
    { StringLike: { 'aws:SourceArn': `arn:aws:lambda:eu-west-1:${consumer}:function:*` } },
    { Bool: { 'aws:SecureTransport': 'true' } }
  );
  const allow = fc
    .record({ principal, action: pull, condition })
    .map(({ principal: p, action, condition: c }): Statement => ({
      Effect: 'Allow',
      Principal: p,
      Action: action,
      ...(c === undefined ? {} : { Condition: c }),
    }));
  const deny = fc.constantFrom<Statement>(
    {
      Sid: 'TlsOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 'ecr:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    {
      Sid: 'OrgOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 'ecr:*',
      Condition: {
        StringNotEqualsIfExists: { 'aws:PrincipalOrgID': ORG },
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
      },
    },
    {
      Sid: 'NoIntern',
      Effect: 'Deny',
      Principal: { AWS: `arn:aws:iam::${consumer}:role/intern` },
      Action: 'ecr:*',
    }
  );
  const owned = fc.constantFrom<Statement>(
    {
      Sid: ACCOUNTS_SID,
      Effect: 'Allow',
      Principal: { AWS: [`arn:aws:iam::${OTHER}:root`] },
      Action: [...PULL_ACTIONS],
    },
    {
      Sid: ACCOUNTS_SID,
      Effect: 'Allow',
      Principal: { AWS: [`arn:aws:iam::${OTHER}:root`] },
      Action: [...PULL_ACTIONS],
      Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
    }
  );
  return fc.oneof(
    { arbitrary: allow, weight: 6 },
    { arbitrary: deny, weight: 1 },
    { arbitrary: owned, weight: 1 }
  );
}

interface Case {
  readonly consumer: string;
  readonly callerAccount: string;
  readonly policy: Statement[] | null;
  readonly shareTag: string | null;
  readonly optOut: boolean;
  readonly config: ConfigInput;
}

const configArb: fc.Arbitrary<ConfigInput> = fc
  .record({
    organizationId: fc.option(fc.constant(ORG), { nil: undefined }),
    sharing: fc.constantFrom<'consented' | 'organization'>(
      'consented',
      'consented',
      'organization'
    ),
    sharedRegistries: fc.constantFrom<string[]>([], [], [REGISTRY], [OTHER]),
    grantScope: fc.constantFrom<'account' | 'function'>('account', 'function'),
  })
  // Sharing beyond explicit consent needs organizationId (config.ts refuses it otherwise).
  .map((c) =>
    c.organizationId === undefined
      ? { ...c, sharing: 'consented' as const, sharedRegistries: [] }
      : c
  );

const caseArb: fc.Arbitrary<Case> = fc.constantFrom(...CONSUMERS).chain((consumer) =>
  fc.record({
    consumer: fc.constant(consumer),
    callerAccount: fc.constantFrom(consumer, consumer, CI),
    policy: fc.option(fc.array(statementArb(consumer), { minLength: 1, maxLength: 4 }), {
      freq: 6,
    }),
    shareTag: fc.option(
      fc
        .uniqueArray(fc.constantFrom(consumer, OTHER, CI, ORG, OTHER_ORG), { maxLength: 3 })
        .map((entries) => entries.join(' ')),
      { freq: 2 }
    ),
    optOut: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
    config: configArb,
  })
);

function eventFor(c: Case): unknown {
  const event = loadEvent('create-function-cross-account-ecr-denied');
  event['account'] = c.consumer;
  event.detail['recipientAccountId'] = c.consumer;
  const identity = event.detail['userIdentity'] as Record<string, unknown>;
  const session = identity['sessionContext'] as { sessionIssuer: Record<string, unknown> };
  const role = c.callerAccount === c.consumer ? 'platform-deployer' : 'ci-deployer';
  identity['accountId'] = c.callerAccount;
  identity['arn'] = `arn:aws:sts::${c.callerAccount}:assumed-role/${role}/ci`;
  session.sessionIssuer['arn'] = `arn:aws:iam::${c.callerAccount}:role/${role}`;
  return event;
}

function decideCase(c: Case): { decision: Decision; policyText: string | null } {
  const policyText =
    c.policy === null ? null : JSON.stringify({ Version: '2012-10-17', Statement: c.policy });
  const tags: Record<string, string> = {};
  if (c.shareTag !== null) tags[SHARE] = c.shareTag;
  if (c.optOut) tags['lambda-ecr-autofix'] = 'off';
  const decision = decide(eventFor(c), { policyText, tags }, parseConfig(c.config, 'test'));
  return { decision, policyText };
}

/** Forms 2 to 4, judged independently of consent.ts. */
function consentOutsidePolicy(c: Case): boolean {
  const entries = (c.shareTag ?? '').split(' ');
  const org = c.config.organizationId;
  return (
    entries.includes(c.consumer) ||
    (org !== undefined && entries.includes(org)) ||
    (org !== undefined && (c.config.sharedRegistries ?? []).includes(REGISTRY)) ||
    (org !== undefined && c.config.sharing === 'organization')
  );
}

function addsAccountStatement(decision: Decision): boolean {
  return decision.grants.some((grant) => grant.sid === ACCOUNTS_SID && grant.added.length > 0);
}

/** iam-simulate: does the policy let the consumer account's root pull both images actions (resource side)? */
async function accountMayPull(policyText: string | null, c: Case): Promise<boolean> {
  if (policyText === null) return false;
  const contextVariables: Record<string, string> = {
    'aws:PrincipalAccount': c.consumer,
    'aws:PrincipalArn': `arn:aws:iam::${c.consumer}:root`,
    'aws:PrincipalIsAWSService': 'false',
    'aws:SecureTransport': 'true',
  };
  if (c.config.organizationId !== undefined) {
    contextVariables['aws:PrincipalOrgID'] = c.config.organizationId;
  }
  for (const action of PULL_ACTIONS) {
    const response = await runSimulation(
      {
        request: {
          principal: `arn:aws:iam::${c.consumer}:root`,
          action,
          resource: { resource: REPOSITORY_ARN, accountId: REGISTRY },
          contextVariables,
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: JSON.parse(policyText) as Record<string, unknown>,
      },
      {}
    );
    if (response.resultType !== 'single') throw new Error(JSON.stringify(response));
    const analysis = response.result.analysis.resourceAnalysis;
    if (analysis === undefined) throw new Error('no resource analysis');
    if (analysis.allowStatements.length === 0 || analysis.denyStatements.length > 0) return false;
  }
  return true;
}

const seen = new Map<string, number>();
const count = (key: string): void => {
  seen.set(key, (seen.get(key) ?? 0) + 1);
};

describe('sharing and consent (properties, whole decision)', () => {
  afterAll(() => {
    console.info(`consent property outcomes: ${JSON.stringify(Object.fromEntries(seen))}`);
  });

  it('grants another account nothing without consent; without an account statement, the policy consented', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { decision, policyText } = decideCase(c);
        count(`${decision.outcome}/${decision.reason}`);
        if (c.optOut) {
          expect(decision.reason).toBe('repository-opted-out');
          return;
        }
        if (decision.outcome === 'fix' && addsAccountStatement(decision)) {
          count('fix with account statement');
          expect(consentOutsidePolicy(c)).toBe(true);
        }
        if (
          (decision.outcome === 'fix' && !addsAccountStatement(decision)) ||
          decision.outcome === 'already-allowed'
        ) {
          count('account already allowed by the policy');
          // Form 1: the independent judge agrees that the consumer account could already pull.
          expect(await accountMayPull(policyText, c)).toBe(true);
        }
        if (decision.reason === 'sharing-not-consented') {
          expect(consentOutsidePolicy(c)).toBe(false);
          expect(decision.policyAfter).toBeNull();
        }
      }),
      RUNS
    );
  });

  it('adds no account statement when the policy already lets the account pull', () => {
    const consenting = fc.constantFrom(...CONSUMERS).chain((consumer) =>
      fc.record({
        consumer: fc.constant(consumer),
        grant: fc.constantFrom<Statement>(
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${consumer}:root` },
            Action: [...PULL_ACTIONS],
          },
          { Effect: 'Allow', Principal: { AWS: [consumer] }, Action: 'ecr:*' },
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 'ecr:BatchGet*',
            Condition: { StringEquals: { 'aws:PrincipalAccount': consumer } },
          }
        ),
        layers: fc.constantFrom<Statement>({
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${consumer}:root` },
          Action: 'ecr:GetDownloadUrlForLayer',
        }),
        config: configArb,
        shareTag: fc.constantFrom<string | null>(null, consumer, ORG),
      })
    );
    fc.assert(
      fc.property(consenting, ({ consumer, grant, layers, config, shareTag }) => {
        const { decision } = decideCase({
          consumer,
          callerAccount: consumer,
          policy: [grant, layers],
          shareTag,
          optOut: false,
          config,
        });

        expect(decision.outcome).toBe('fix');
        expect(addsAccountStatement(decision)).toBe(false);
      }),
      RUNS
    );
  });

  it('with organizationId, conditions every account statement it writes or proposes on it', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { decision } = decideCase(c);
        for (const grant of decision.grants) {
          if (grant.sid !== ACCOUNTS_SID) continue;
          const condition = grant.statement['Condition'];
          if (c.config.organizationId === undefined) {
            expect(condition).toBeUndefined();
          } else {
            expect(JSON.stringify(condition).toLowerCase()).toBe(
              JSON.stringify({ StringEquals: { 'aws:PrincipalOrgID': ORG } }).toLowerCase()
            );
          }
        }
      }),
      RUNS
    );
  });

  it('lets the opt-out tag beat every form of consent', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { decision } = decideCase({ ...c, optOut: true });

        expect([decision.outcome, decision.reason]).toEqual([
          'needs-human',
          'repository-opted-out',
        ]);
        expect(decision.policyAfter).toBeNull();
      }),
      RUNS
    );
  });
});
