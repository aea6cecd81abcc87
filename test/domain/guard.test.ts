/**
 * The configuration guard: account allow-lists, repository exclusion globs, the opt-out tag and the loop guard.
 */
import { DEFAULT_CONFIG, parseConfig } from '../../lambda/domain/config';
import { guardRepositoryTags, guardTarget, isOwnChange } from '../../lambda/domain/guard';
import { makeCall } from '../support/events';
import { makeTarget } from '../support/targets';

const REGISTRY = '111111111111';
const CONSUMER = '222222222222';

describe('guardTarget', () => {
  it('lets everything through with the defaults', () => {
    // Arrange
    const target = makeTarget();

    // Act
    const refusal = guardTarget(target, DEFAULT_CONFIG);

    // Assert
    expect(refusal).toBeNull();
  });

  it('lets listed accounts through', () => {
    // Arrange
    const config = parseConfig(
      { registryAccounts: [REGISTRY], consumerAccounts: ['333333333333', CONSUMER] },
      'test'
    );

    // Act
    const refusal = guardTarget(makeTarget(), config);

    // Assert
    expect(refusal).toBeNull();
  });

  it('refuses a registry account outside registryAccounts, naming the key', () => {
    // Arrange
    const config = parseConfig({ registryAccounts: ['333333333333', '444444444444'] }, 'test');

    // Act
    const refusal = guardTarget(makeTarget(), config);

    // Assert
    expect(refusal).toEqual({
      reason: 'registry-account-excluded',
      explanation:
        'Registry account 111111111111 is not in registryAccounts (333333333333, 444444444444), so lambda-ecr-autofix leaves arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker alone.',
      nextSteps: [
        'Add "111111111111" to registryAccounts in the lambda-ecr-autofix configuration if its repositories should be fixed automatically.',
        'Otherwise grant ecr:BatchGetImage and ecr:GetDownloadUrlForLayer by hand in the policy of arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker: to lambda.amazonaws.com with aws:SourceArn arn:aws:lambda:eu-west-1:222222222222:function:* and to arn:aws:iam::222222222222:root.',
      ],
    });
  });

  it('refuses a consumer account outside consumerAccounts', () => {
    // Arrange
    const config = parseConfig({ consumerAccounts: ['333333333333'] }, 'test');
    const target = makeTarget({
      registryAccount: CONSUMER,
      region: 'us-east-1',
      repositoryName: 'orders-api',
    });

    // Act
    const refusal = guardTarget(target, config);

    // Assert
    expect(refusal).toEqual({
      reason: 'consumer-account-excluded',
      explanation:
        'Consumer account 222222222222 is not in consumerAccounts (333333333333), so lambda-ecr-autofix does not grant it access to arn:aws:ecr:us-east-1:222222222222:repository/orders-api.',
      nextSteps: [
        'Add "222222222222" to consumerAccounts in the lambda-ecr-autofix configuration if its functions should be granted access automatically.',
        // Same account: the service statement alone.
        'Otherwise grant ecr:BatchGetImage and ecr:GetDownloadUrlForLayer by hand in the policy of arn:aws:ecr:us-east-1:222222222222:repository/orders-api: to lambda.amazonaws.com with aws:SourceArn arn:aws:lambda:us-east-1:222222222222:function:*.',
      ],
    });
  });

  it.each([
    [['prod/*'], 'prod/api', 'prod/*'],
    [['prod/*'], 'prod/team/api', 'prod/*'],
    [['legacy-?', '*-assets-*'], 'cdk-hnb659fds-container-assets-1', '*-assets-*'],
    [['platform/payments-worker'], 'platform/payments-worker', 'platform/payments-worker'],
  ])('with %j refuses %s, naming the glob %s', (excludeRepositories, repositoryName, glob) => {
    // Arrange
    const config = parseConfig({ excludeRepositories }, 'test');

    // Act
    const refusal = guardTarget(makeTarget({ repositoryName }), config);

    // Assert
    expect(refusal).toMatchObject({
      reason: 'repository-excluded',
      explanation: `Repository ${repositoryName} matches "${glob}" in excludeRepositories, so lambda-ecr-autofix leaves it alone.`,
      nextSteps: [
        `Remove or narrow "${glob}" in excludeRepositories in the lambda-ecr-autofix configuration if ${repositoryName} should be fixed automatically.`,
        expect.stringMatching(/^Otherwise grant/),
      ],
    });
  });

  it.each([
    [['prod/*'], 'nonprod/api'],
    [['Prod/*'], 'prod/api'],
    [['prod'], 'prod/api'],
  ])('with %j lets %s through', (excludeRepositories, repositoryName) => {
    // Arrange
    const config = parseConfig({ excludeRepositories }, 'test');

    // Act
    const refusal = guardTarget(makeTarget({ repositoryName }), config);

    // Assert
    expect(refusal).toBeNull();
  });
});

describe('guardRepositoryTags', () => {
  const target = makeTarget();

  it.each([
    ['lambda-ecr-autofix=off', { 'lambda-ecr-autofix': 'off' }, 'lambda-ecr-autofix=off'],
    ['lambda-ecr-autofix=off', { 'lambda-ecr-autofix': 'OFF' }, 'lambda-ecr-autofix=OFF'],
    ['do-not-touch', { 'do-not-touch': '' }, 'do-not-touch='],
    ['do-not-touch', { 'do-not-touch': 'yes' }, 'do-not-touch=yes'],
  ])('with optOutTag %s refuses a repository tagged %p', (optOutTag, tags, shown) => {
    // Arrange
    const config = parseConfig({ optOutTag }, 'test');

    // Act
    const refusal = guardRepositoryTags(target, tags, config);

    // Assert
    expect(refusal).toEqual({
      reason: 'repository-opted-out',
      explanation: `Repository platform/payments-worker is tagged ${shown}, which opts it out of automatic fixes (optOutTag "${optOutTag}").`,
      nextSteps: [
        `Remove the tag to let lambda-ecr-autofix fix it: aws ecr untag-resource --resource-arn arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker --tag-keys ${optOutTag.split('=')[0] ?? ''} --region eu-west-1`,
        expect.stringMatching(/^Otherwise grant/),
      ],
    });
  });

  it.each([
    ['lambda-ecr-autofix=off', {}],
    ['lambda-ecr-autofix=off', { 'lambda-ecr-autofix': 'on' }],
    ['lambda-ecr-autofix=off', { 'Lambda-Ecr-Autofix': 'off' }],
    ['lambda-ecr-autofix=off', { team: 'payments' }],
    ['constructor', {}],
    ['toString=x', {}],
  ])('with optOutTag %s lets a repository tagged %p through', (optOutTag, tags) => {
    // Arrange
    const config = parseConfig({ optOutTag }, 'test');

    // Act
    const refusal = guardRepositoryTags(target, tags, config);

    // Assert
    expect(refusal).toBeNull();
  });
});

describe('isOwnChange', () => {
  const FIXER = 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer';
  const FIXER_WITH_PATH = 'arn:aws:iam::333333333333:role/autofix/LambdaEcrAutofixFixer';

  it.each([
    [
      'the role session of the fixer role',
      'arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/fixer',
      null,
      [FIXER],
    ],
    [
      'the role session of a fixer role with a path',
      'arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/fixer',
      null,
      [FIXER_WITH_PATH],
    ],
    [
      'the fixer role as principal',
      'arn:aws:sts::333333333333:assumed-role/x/y',
      FIXER_WITH_PATH,
      [FIXER],
    ],
    [
      'a session given as the fixer ARN',
      'arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/a',
      null,
      ['arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/b'],
    ],
    [
      'the role name in another letter case',
      'arn:aws:sts::333333333333:assumed-role/lambdaecrautofixfixer/s',
      null,
      [FIXER],
    ],
    [
      'an identical non-role ARN',
      'arn:aws:iam::333333333333:user/fixer',
      null,
      ['arn:aws:iam::333333333333:user/fixer'],
    ],
  ])('recognises %s', (_label, arn, principalArn, fixers) => {
    // Arrange
    const call = makeCall({ caller: { arn, principalArn, type: 'AssumedRole', invokedBy: null } });

    // Act
    const own = isOwnChange(call, fixers);

    // Assert
    expect(own).toBe(true);
  });

  it.each([
    ['another role', 'arn:aws:sts::333333333333:assumed-role/platform-deployer/s', [FIXER]],
    [
      'the same role name in another account',
      'arn:aws:sts::444444444444:assumed-role/LambdaEcrAutofixFixer/s',
      [FIXER],
    ],
    [
      'the same role name in another partition',
      'arn:aws-cn:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/s',
      [FIXER],
    ],
    ['a user named like the role', 'arn:aws:iam::333333333333:user/LambdaEcrAutofixFixer', [FIXER]],
    [
      'a role when the fixer list is junk',
      'arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/s',
      ['not-an-arn'],
    ],
    [
      'anyone when there are no fixer roles',
      'arn:aws:sts::333333333333:assumed-role/LambdaEcrAutofixFixer/s',
      [],
    ],
  ])('does not mistake %s for the fixer', (_label, arn, fixers) => {
    // Arrange
    const call = makeCall({
      caller: { arn, principalArn: null, type: 'AssumedRole', invokedBy: null },
    });

    // Act
    const own = isOwnChange(call, fixers);

    // Assert
    expect(own).toBe(false);
  });

  it('is false for a call without a caller', () => {
    // Arrange
    const call = makeCall({
      caller: { arn: null, principalArn: null, type: null, invokedBy: null },
    });

    // Act
    const own = isOwnChange(call, [FIXER]);

    // Assert
    expect(own).toBe(false);
  });
});
