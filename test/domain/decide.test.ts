import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseConfig } from '../../lambda/domain/config';
import {
  bare,
  callerArns,
  decide,
  decideForPolicy,
  triage,
  triageCall,
} from '../../lambda/domain/decide';
import { summarizeTarget } from '../../lambda/domain/decision';
import { callFrom, eventFixtureNames, loadEvent, makeCall } from '../support/events';

const DEFAULTS = parseConfig({}, 'test');
const policy = (name: string): string =>
  readFileSync(join(__dirname, '..', 'fixtures', 'policies', name), 'utf8');

type Row = [
  fixture: string,
  outcome: string,
  reason: string,
  repositoryArn: string | null,
  functionArn: string | null,
];

// Every shared fixture (but the deliberately truncated one) with no repository policy, no tags and the default
// configuration. Cross-account fixes need the owner's consent, which nothing gives here (see consent.test.ts).
const EXPECTED: Row[] = [
  [
    'create-function-caller-identity-policy-denied.json',
    'needs-human',
    'caller-identity-policy',
    'arn:aws:ecr:us-west-2:111111111111:repository/example/hello-world-lambda',
    'arn:aws:lambda:us-west-2:222222222222:function:hello-world-lambda',
  ],
  [
    'create-function-cdk-cloudformation-ecr-denied.json',
    'fix',
    'repository-policy-missing-grant',
    'arn:aws:ecr:ap-southeast-2:222222222222:repository/cdk-hnb659fds-container-assets-222222222222-ap-southeast-2',
    'arn:aws:lambda:ap-southeast-2:222222222222:function:IngestStack-ParserFunction7A1B2C3D-Xy9Zab12Cd34',
  ],
  [
    'create-function-cross-account-ecr-denied.json',
    'needs-human',
    'sharing-not-consented',
    'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
    'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
  ],
  [
    'create-function-cross-account-no-resource-policy.json',
    'needs-human',
    'sharing-not-consented',
    'arn:aws:ecr:eu-west-1:111111111111:repository/platform/base-python',
    'arn:aws:lambda:eu-west-1:222222222222:function:report-renderer',
  ],
  [
    'create-function-github-actions-digest-ecr-denied.json',
    'needs-human',
    'sharing-not-consented',
    'arn:aws:ecr:us-west-2:111111111111:repository/platform/thumbnailer',
    'arn:aws:lambda:us-west-2:222222222222:function:thumbnailer',
  ],
  [
    'create-function-image-tag-does-not-exist.json',
    'needs-human',
    'image-not-found',
    'arn:aws:ecr:us-east-1:222222222222:repository/orders-api',
    'arn:aws:lambda:us-east-1:222222222222:function:orders-api-v2',
  ],
  [
    'create-function-image-uri-invalid-cross-region.json',
    'needs-human',
    'cross-region-image',
    null,
    null,
  ],
  [
    'create-function-legacy-same-account-only.json',
    'needs-human',
    'legacy-cross-account-unsupported',
    'arn:aws:ecr:ap-northeast-1:111111111111:repository/node',
    'arn:aws:lambda:ap-northeast-1:222222222222:function:my-function',
  ],
  [
    'create-function-repository-does-not-exist.json',
    'needs-human',
    'image-not-found',
    'arn:aws:ecr:ap-northeast-1:222222222222:repository/example_lambda_repo',
    'arn:aws:lambda:ap-northeast-1:222222222222:function:exampleLambdaRepo',
  ],
  ['create-function-role-cannot-be-assumed.json', 'ignored', 'not-an-ecr-failure', null, null],
  [
    'create-function-same-account-ecr-denied.json',
    'fix',
    'repository-policy-missing-grant',
    'arn:aws:ecr:us-east-1:222222222222:repository/orders-api',
    'arn:aws:lambda:us-east-1:222222222222:function:orders-api',
  ],
  [
    'create-function-scp-explicit-deny.json',
    'needs-human',
    'explicit-deny',
    'arn:aws:ecr:eu-central-1:111111111111:repository/ml/inference',
    'arn:aws:lambda:eu-central-1:222222222222:function:inference-api',
  ],
  ['create-function-success-image.json', 'ignored', 'call-succeeded', null, null],
  [
    'create-function-unsupported-media-type.json',
    'needs-human',
    'unsupported-media-type',
    'arn:aws:ecr:us-east-1:222222222222:repository/bedrock-proxy-api',
    'arn:aws:lambda:us-east-1:222222222222:function:bedrock-proxy-api',
  ],
  ['create-function-zip-failure.json', 'ignored', 'zip-package', null, null],
  ['malformed-missing-request-parameters.json', 'needs-human', 'image-uri-unknown', null, null],
  [
    'update-function-code-ecr-denied.json',
    'fix',
    'repository-policy-missing-grant',
    'arn:aws:ecr:us-east-1:222222222222:repository/orders-api',
    'arn:aws:lambda:us-east-1:222222222222:function:orders-api',
  ],
];

describe('decide', () => {
  it('has an expectation for every shared fixture but the truncated one', () => {
    expect(EXPECTED.map(([name]) => name)).toEqual(
      eventFixtureNames().filter((name) => name !== 'malformed-truncated-event.json')
    );
  });

  it.each(EXPECTED)('%s → %s (%s)', (fixture, outcome, reason, repositoryArn, functionArn) => {
    // Act
    const decision = decide(loadEvent(fixture), { policyText: null }, DEFAULTS);

    // Assert
    expect([decision.outcome, decision.reason]).toEqual([outcome, reason]);
    expect(decision.target?.repositoryArn ?? null).toBe(repositoryArn);
    expect(decision.target?.functionArn ?? null).toBe(functionArn);
    expect(decision.explanation).toMatch(/\.$/);
    expect(decision.nextSteps.length > 0).toBe(outcome === 'needs-human');
    expect(decision.policyAfter !== null).toBe(outcome === 'fix');
  });

  it('says already-allowed for a fixture whose repository policy already grants the pull', () => {
    const decision = decide(
      loadEvent('create-function-cross-account-ecr-denied'),
      { policyText: policy('cross-account-seed.json') },
      DEFAULTS
    );

    expect([decision.outcome, decision.reason]).toEqual([
      'already-allowed',
      'grant-already-present',
    ]);
    expect(decision.policyBefore).toBe(policy('cross-account-seed.json'));
  });

  it('reports an explicit Deny in the repository policy', () => {
    const decision = decide(
      loadEvent('create-function-cross-account-ecr-denied'),
      { policyText: policy('org-deny-guard.json') },
      { ...DEFAULTS, organizationId: 'o-a1b2c3d4e5' }
    );

    expect([decision.outcome, decision.reason]).toEqual(['needs-human', 'explicit-deny']);
  });

  it('refuses a repository excluded by the configuration', () => {
    const config = parseConfig({ excludeRepositories: ['platform/*'] }, 'test');

    const decision = decide(
      loadEvent('create-function-cross-account-ecr-denied'),
      { policyText: null },
      config
    );

    expect([decision.outcome, decision.reason]).toEqual(['needs-human', 'repository-excluded']);
    expect(decision.target).not.toBeNull();
  });

  it('refuses a repository that opted out by tag', () => {
    const decision = decide(
      loadEvent('create-function-same-account-ecr-denied'),
      { policyText: null, tags: { 'lambda-ecr-autofix': 'off' } },
      DEFAULTS
    );

    expect(decision.reason).toBe('repository-opted-out');
  });

  it('ignores calls made by the fixer itself', () => {
    const event = loadEvent('create-function-same-account-ecr-denied');
    (event.detail['userIdentity'] as Record<string, unknown>)['arn'] =
      'arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/x';

    const decision = decide(event, { policyText: null }, DEFAULTS, {
      roleArns: ['arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer'],
    });

    expect([decision.outcome, decision.reason]).toEqual(['ignored', 'own-change']);
  });

  it('ignores its own calls even when CloudTrail names only the role', () => {
    const role = 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer';
    const call = makeCall({
      caller: { arn: null, principalArn: role, type: 'AssumedRole', invokedBy: null },
    });

    const triaged = triageCall(call, DEFAULTS, { roleArns: [role] });

    expect(triaged.kind === 'decided' && triaged.decision.explanation).toContain('(unknown)');
  });

  it.each([null, 42, 'text', [], {}, { detail: null }])(
    'ignores %j as an invalid event',
    (input) => {
      const decision = decide(input, { policyText: null }, DEFAULTS);

      expect([decision.outcome, decision.reason]).toEqual(['ignored', 'invalid-event']);
      expect(decision.call).toBeNull();
    }
  );

  it('never looks for the image elsewhere when an UpdateFunctionCode event lacks it (finding f)', () => {
    // GetFunction would return the image from before the failed update: the wrong repository.
    const event = loadEvent('update-function-code-ecr-denied');
    delete (event.detail['requestParameters'] as Record<string, unknown>)['imageUri'];

    const triaged = triage(event, DEFAULTS, { roleArns: [] });

    expect(triaged.kind).toBe('decided');
    expect(triaged.kind === 'decided' && triaged.decision.reason).toBe('image-uri-unknown');
    expect(decide(event, { policyText: null }, DEFAULTS).outcome).toBe('needs-human');
  });

  it('takes the image from the error message when the request lacks it', () => {
    const event = loadEvent('update-function-code-ecr-denied');
    const detail = event.detail;
    delete (detail['requestParameters'] as Record<string, unknown>)['imageUri'];
    detail['errorMessage'] =
      'User: arn:aws:iam::222222222222:user/dev.alice is not authorized to perform: ecr:BatchGetImage on resource: ' +
      'arn:aws:ecr:us-east-1:111111111111:repository/platform/orders-api because no resource-based policy allows ' +
      'the ecr:BatchGetImage action';

    const triaged = triage(event, DEFAULTS, { roleArns: [] });

    expect(triaged.kind).toBe('read-repository');
    expect(triaged.kind === 'read-repository' && triaged.target.repositoryArn).toBe(
      'arn:aws:ecr:us-east-1:111111111111:repository/platform/orders-api'
    );
  });

  it('passes the policy-planning outcome needs-human through with its statements', () => {
    const call = callFrom('create-function-same-account-ecr-denied.json');
    const triaged = triage(loadEvent('create-function-same-account-ecr-denied'), DEFAULTS, {
      roleArns: [],
    });
    if (triaged.kind !== 'read-repository') throw new Error('expected a repository read');

    const decision = decideForPolicy(call, triaged.target, { policyText: '{', tags: {} }, DEFAULTS);

    expect([decision.outcome, decision.reason]).toEqual(['needs-human', 'policy-invalid']);
    expect(decision.policyBefore).toBe('{');
  });

  it("lists the caller's role and session ARN once each", () => {
    expect(callerArns(makeCall())).toEqual([
      'arn:aws:iam::222222222222:role/platform-deployer',
      'arn:aws:sts::222222222222:assumed-role/platform-deployer/jenkins-build-4812',
    ]);
    expect(
      callerArns(makeCall({ caller: { arn: 'a', principalArn: 'a', type: null, invokedBy: null } }))
    ).toEqual(['a']);
    expect(
      callerArns(
        makeCall({ caller: { arn: null, principalArn: null, type: null, invokedBy: null } })
      )
    ).toEqual([]);
  });

  it('builds bare decisions and summarizes targets for the CLI', () => {
    expect(bare('ignored', 'invalid-event', 'x.', null)).toEqual(
      expect.objectContaining({ target: null, grants: [], nextSteps: [] })
    );
    expect(summarizeTarget(null)).toBeNull();
    const decision = decide(
      loadEvent('create-function-same-account-ecr-denied'),
      { policyText: null },
      DEFAULTS
    );
    expect(Object.keys(summarizeTarget(decision.target) ?? {})).toEqual([
      'partition',
      'region',
      'registryAccount',
      'repositoryName',
      'repositoryArn',
      'consumerAccount',
      'functionArn',
    ]);
  });
  describe('function names and grantScope "function"', () => {
    it.each([
      ['function:orders-api'],
      ['function:orders-api:7'],
      ['222222222222:function:orders-api'],
      ['arn:aws:lambda:us-east-1:222222222222:function:orders-api:live'],
    ])('scopes the grant to function orders-api when the event names it %s', (functionName) => {
      // Arrange
      const event = loadEvent('create-function-same-account-ecr-denied');
      (event.detail['requestParameters'] as Record<string, unknown>)['functionName'] = functionName;

      // Act
      const decision = decide(
        event,
        { policyText: null },
        parseConfig({ grantScope: 'function' }, 'test')
      );

      // Assert
      expect(decision.outcome).toBe('fix');
      expect(decision.target?.functionArn).toBe(
        'arn:aws:lambda:us-east-1:222222222222:function:orders-api'
      );
      expect(decision.grants[0]?.added).toEqual([
        'arn:aws:lambda:us-east-1:222222222222:function:orders-api',
        'arn:aws:lambda:us-east-1:222222222222:function:orders-api:*',
      ]);
    });

    it('ignores an event whose function ARN names another account', () => {
      // Arrange
      const event = loadEvent('create-function-same-account-ecr-denied');
      (event.detail['requestParameters'] as Record<string, unknown>)['functionName'] =
        'arn:aws:lambda:us-east-1:999999999999:function:orders-api';

      // Act
      const decision = decide(event, { policyText: null }, DEFAULTS);

      // Assert
      expect([decision.outcome, decision.reason]).toEqual(['ignored', 'inconsistent-event']);
      expect(decision.policyAfter).toBeNull();
    });
  });

  describe('hostile policy text', () => {
    it('decides (needs-human) on a 5,000-deep policy instead of overflowing the stack', () => {
      // Arrange
      const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
      const policyText = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"StringEquals":{"aws:x":${deep}}}}]}`;

      // Act
      const decision = decide(
        loadEvent('create-function-same-account-ecr-denied'),
        { policyText },
        DEFAULTS
      );

      // Assert
      expect([decision.outcome, decision.reason]).toEqual(['needs-human', 'policy-invalid']);
    });

    it('does not rewrite a policy with a repeated key', () => {
      // Arrange: the second "Effect" would win in JSON.parse, turning a Deny into an Allow.
      const policyText =
        '{"Statement":[{"Sid":"Guard","Effect":"Deny","Effect":"Allow","Principal":"*","Action":"ecr:*"}]}';

      // Act
      const decision = decide(
        loadEvent('create-function-same-account-ecr-denied'),
        { policyText },
        DEFAULTS
      );

      // Assert
      expect([decision.outcome, decision.reason]).toEqual(['needs-human', 'policy-not-understood']);
      expect(decision.policyAfter).toBeNull();
    });
  });
});
