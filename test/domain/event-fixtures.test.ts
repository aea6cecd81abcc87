/**
 * Every CloudTrail fixture through parse → classify → locate, against the action the project's research notes expect
 * for it (patch the repository, tell a person, or ignore).
 */
import { classifyFailure } from '../../lambda/domain/classify';
import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import type { DeployCall } from '../../lambda/domain/decision';
import { locateTarget } from '../../lambda/domain/locate';
import { eventFixtureNames, loadEvent, readEventText } from '../support/events';

const CONSUMER = '222222222222';
const SHARED = '111111111111';
const TRUNCATED = 'malformed-truncated-event.json';

/** Fixtures the fixer acts on or reports about, with the repository and function they locate. */
const LOCATED: [
  fixture: string,
  classification: { kind: string; reason?: string },
  target: {
    region: string;
    registryAccount: string;
    repositoryName: string;
    functionName: string;
    tag: string | null;
    digest: string | null;
  },
][] = [
  [
    'create-function-same-account-ecr-denied.json',
    { kind: 'repository-policy' },
    {
      region: 'us-east-1',
      registryAccount: CONSUMER,
      repositoryName: 'orders-api',
      functionName: 'orders-api',
      tag: '1.4.2',
      digest: null,
    },
  ],
  [
    'create-function-cross-account-ecr-denied.json',
    { kind: 'repository-policy' },
    {
      region: 'eu-west-1',
      registryAccount: SHARED,
      repositoryName: 'platform/payments-worker',
      functionName: 'payments-worker',
      tag: '2026.03.1',
      digest: null,
    },
  ],
  [
    'create-function-cross-account-no-resource-policy.json',
    { kind: 'repository-policy' },
    {
      region: 'eu-west-1',
      registryAccount: SHARED,
      repositoryName: 'platform/base-python',
      functionName: 'report-renderer',
      tag: '3.12-20260301',
      digest: null,
    },
  ],
  [
    'update-function-code-ecr-denied.json',
    { kind: 'repository-policy' },
    {
      region: 'us-east-1',
      registryAccount: CONSUMER,
      repositoryName: 'orders-api',
      functionName: 'orders-api',
      tag: '1.5.0',
      digest: null,
    },
  ],
  [
    'create-function-cdk-cloudformation-ecr-denied.json',
    { kind: 'repository-policy' },
    {
      region: 'ap-southeast-2',
      registryAccount: CONSUMER,
      repositoryName: 'cdk-hnb659fds-container-assets-222222222222-ap-southeast-2',
      functionName: 'IngestStack-ParserFunction7A1B2C3D-Xy9Zab12Cd34',
      tag: 'b15a8be4c79bc7f56ef42399e3871920382d83febe3090a677f12d35de4f9430',
      digest: null,
    },
  ],
  [
    'create-function-github-actions-digest-ecr-denied.json',
    { kind: 'repository-policy' },
    {
      region: 'us-west-2',
      registryAccount: SHARED,
      repositoryName: 'platform/thumbnailer',
      functionName: 'thumbnailer',
      tag: null,
      digest: 'sha256:80966d8006f61a65f21ca9ce8a9e1c972ccc9b4b2b79d79ad2a83e6a54e02ccc',
    },
  ],
  [
    'create-function-caller-identity-policy-denied.json',
    { kind: 'needs-human', reason: 'caller-identity-policy' },
    {
      region: 'us-west-2',
      registryAccount: SHARED,
      repositoryName: 'example/hello-world-lambda',
      functionName: 'hello-world-lambda',
      tag: 'v3',
      digest: null,
    },
  ],
  [
    'create-function-scp-explicit-deny.json',
    { kind: 'needs-human', reason: 'explicit-deny' },
    {
      region: 'eu-central-1',
      registryAccount: SHARED,
      repositoryName: 'ml/inference',
      functionName: 'inference-api',
      tag: '2026-02-27',
      digest: null,
    },
  ],
  [
    'create-function-image-tag-does-not-exist.json',
    { kind: 'needs-human', reason: 'image-not-found' },
    {
      region: 'us-east-1',
      registryAccount: CONSUMER,
      repositoryName: 'orders-api',
      functionName: 'orders-api-v2',
      tag: '2.0.0',
      digest: null,
    },
  ],
  [
    'create-function-repository-does-not-exist.json',
    { kind: 'needs-human', reason: 'image-not-found' },
    {
      region: 'ap-northeast-1',
      registryAccount: CONSUMER,
      repositoryName: 'example_lambda_repo',
      functionName: 'exampleLambdaRepo',
      tag: 'latest',
      digest: null,
    },
  ],
  [
    'create-function-unsupported-media-type.json',
    { kind: 'needs-human', reason: 'unsupported-media-type' },
    {
      region: 'us-east-1',
      registryAccount: CONSUMER,
      repositoryName: 'bedrock-proxy-api',
      functionName: 'bedrock-proxy-api',
      tag: 'latest',
      digest: null,
    },
  ],
  [
    'create-function-legacy-same-account-only.json',
    { kind: 'needs-human', reason: 'legacy-cross-account-unsupported' },
    {
      region: 'ap-northeast-1',
      registryAccount: SHARED,
      repositoryName: 'node',
      functionName: 'my-function',
      tag: '11.6-alpine',
      digest: null,
    },
  ],
];

/** Fixtures whose target cannot be located, and why. */
const REFUSED: [
  fixture: string,
  classification: { kind: string; reason?: string },
  refusal: string,
][] = [
  [
    'create-function-image-uri-invalid-cross-region.json',
    { kind: 'needs-human', reason: 'cross-region-image' },
    'cross-region-image',
  ],
  ['malformed-missing-request-parameters.json', { kind: 'repository-policy' }, 'image-uri-unknown'],
];

/** Fixtures the fixer ignores. */
const IGNORED: [fixture: string, reason: string][] = [
  ['create-function-role-cannot-be-assumed.json', 'not-an-ecr-failure'],
  ['create-function-success-image.json', 'call-succeeded'],
  ['create-function-zip-failure.json', 'zip-package'],
];

function callOf(fixture: string): DeployCall {
  const parsed = parseDeployEvent(loadEvent(fixture));
  if (!parsed.ok) throw new Error(`${fixture} did not parse: ${parsed.explanation}`);
  return parsed.call;
}

describe('event fixtures', () => {
  it('has an expectation for every fixture file', () => {
    // Arrange
    const expected = [...LOCATED, ...REFUSED, ...IGNORED].map(([fixture]) => fixture);

    // Act
    const names = eventFixtureNames().filter((name) => name !== TRUNCATED);

    // Assert
    expect(names).toEqual([...expected].sort());
  });

  it('keeps the truncated fixture invalid JSON', () => {
    // Arrange
    const text = readEventText(TRUNCATED);

    // Act
    const parse = () => JSON.parse(text) as unknown;

    // Assert
    expect(parse).toThrow(SyntaxError);
  });

  it.each(LOCATED)('%s is classified %j and located', (fixture, classification, want) => {
    // Arrange
    const call = callOf(fixture);

    // Act
    const classified = classifyFailure(call);
    const located = locateTarget(call, classified);

    // Assert
    expect(call.consumerAccount).toBe(CONSUMER);
    expect(classified).toMatchObject(classification);
    expect(classified.explanation).toMatch(/^[A-Z].*\.$/);
    expect(located).toEqual({
      ok: true,
      target: {
        partition: 'aws',
        region: want.region,
        registryAccount: want.registryAccount,
        repositoryName: want.repositoryName,
        repositoryArn: `arn:aws:ecr:${want.region}:${want.registryAccount}:repository/${want.repositoryName}`,
        consumerAccount: CONSUMER,
        functionArn: `arn:aws:lambda:${want.region}:${CONSUMER}:function:${want.functionName}`,
        functionName: want.functionName,
        crossAccount: want.registryAccount !== CONSUMER,
        image: expect.objectContaining({
          registryAccount: want.registryAccount,
          region: want.region,
          partition: 'aws',
          repositoryName: want.repositoryName,
          tag: want.tag,
          digest: want.digest,
        }) as unknown,
      },
    });
  });

  it.each(REFUSED)(
    '%s is classified %j but not located: %s',
    (fixture, classification, refusal) => {
      // Arrange
      const call = callOf(fixture);

      // Act
      const classified = classifyFailure(call);
      const located = locateTarget(call, classified);

      // Assert
      expect(classified).toMatchObject(classification);
      expect(located).toMatchObject({ ok: false, reason: refusal });
    }
  );

  it.each(IGNORED)('%s is ignored: %s', (fixture, reason) => {
    // Arrange
    const call = callOf(fixture);

    // Act
    const classified = classifyFailure(call);

    // Assert
    expect(classified).toEqual({
      kind: 'ignored',
      reason,
      explanation: expect.any(String) as unknown,
    });
  });
});
