import { EnvironmentError, readEnvironment } from '../../lambda/handlers/environment';

const VALID = {
  AWS_REGION: 'eu-west-1',
  CONFIG: '{"mode":"dry-run"}',
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:lambda-ecr-autofix',
  AUDIT_TABLE_NAME: 'audit',
  FIXER_ROLE_ARN: 'arn:aws:iam::333333333333:role/LambdaEcrAutofixFixer',
  MAX_RECEIVE_COUNT: '5',
  DEAD_LETTER_QUEUE: 'arn:aws:sqs:eu-west-1:333333333333:dlq',
};

describe('readEnvironment', () => {
  it('reads and validates every variable once', () => {
    const environment = readEnvironment(VALID);

    expect(environment).toEqual(
      expect.objectContaining({
        region: 'eu-west-1',
        topicArn: VALID.TOPIC_ARN,
        auditTableName: 'audit',
        fixerRoleArn: VALID.FIXER_ROLE_ARN,
        fixerAccountId: '333333333333',
        maxReceiveCount: 5,
        deadLetterQueue: VALID.DEAD_LETTER_QUEUE,
      })
    );
    expect(environment.config.mode).toBe('dry-run');
  });

  it('uses the defaults for what is optional', () => {
    const environment = readEnvironment({
      AWS_REGION: 'us-east-1',
      FIXER_ROLE_ARN: 'arn:aws-us-gov:iam::333333333333:role/path/to/Fixer',
      TOPIC_ARN: '',
    });

    expect(environment).toEqual(
      expect.objectContaining({
        topicArn: null,
        auditTableName: null,
        deadLetterQueue: null,
        maxReceiveCount: 5,
        fixerAccountId: '333333333333',
      })
    );
    expect(environment.config.mode).toBe('enforce');
  });

  it.each([
    [{ AWS_REGION: undefined }, /^AWS_REGION is not set/],
    [{ AWS_REGION: '' }, /^AWS_REGION is not set/],
    [
      { CONFIG: '{not json' },
      /^CONFIG must be the configuration as JSON \(.*\); redeploy the central stack\.$/,
    ],
    [
      { FIXER_ROLE_ARN: undefined },
      /^FIXER_ROLE_ARN must be the fixer's IAM role ARN .*, got ""\.$/,
    ],
    [{ FIXER_ROLE_ARN: 'LambdaEcrAutofixFixer' }, /got "LambdaEcrAutofixFixer"/],
    [
      { MAX_RECEIVE_COUNT: 'five' },
      /^MAX_RECEIVE_COUNT must be a positive whole number .*, got "five"\.$/,
    ],
    [{ MAX_RECEIVE_COUNT: '0' }, /got "0"/],
  ])('stops the container with a message naming the variable for %j', (change, message) => {
    expect(() => readEnvironment({ ...VALID, ...change })).toThrow(EnvironmentError);
    expect(() => readEnvironment({ ...VALID, ...change })).toThrow(message);
  });

  it('reads the sweeper’s continuation topic, absent for the fixer', () => {
    const sweeper = readEnvironment({
      ...VALID,
      SWEEP_CONTINUATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:333333333333:sweep',
    });

    expect(sweeper.sweepContinuationTopicArn).toBe('arn:aws:sns:eu-west-1:333333333333:sweep');
    expect(readEnvironment(VALID).sweepContinuationTopicArn).toBeNull();
  });

  it('names the configuration key for a bad CONFIG value', () => {
    expect(() => readEnvironment({ ...VALID, CONFIG: '{"grantScope":"org"}' })).toThrow(
      /Invalid configuration in the CONFIG environment variable: "grantScope"/
    );
  });
});
