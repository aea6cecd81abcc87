import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Function as LambdaFunction, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { HandlerCodeMissingError, handlerCode } from '../../lib/handler-code';
import { CentralEventBus } from '../../lib/constructs/central-event-bus';
import { EventForwarder } from '../../lib/constructs/event-forwarder';
import { FixerFunction } from '../../lib/constructs/fixer-function';
import { FixerMonitoring } from '../../lib/constructs/fixer-monitoring';
import { FixerQueue } from '../../lib/constructs/fixer-queue';
import { NotificationTopic } from '../../lib/constructs/notification-topic';
import { RegistryAccessRole } from '../../lib/constructs/registry-access-role';
import { assertResourceCount, assertResourceProperties } from './app-fixture';

function stack(): Stack {
  return new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
}

describe('construct validation', () => {
  it('CentralEventBus throws when organizationId is not an organization id', () => {
    expect(() => new CentralEventBus(stack(), 'Bus', { organizationId: '123456789012' })).toThrow(
      'CentralEventBus: organizationId must be an AWS Organizations id like "o-a1b2c3d4e5", got "123456789012".'
    );
  });

  it.each([0, 1001])('FixerQueue throws when maxReceiveCount is %d', (maxReceiveCount) => {
    expect(
      () =>
        new FixerQueue(stack(), 'Queue', {
          visibilityTimeout: Duration.minutes(6),
          maxReceiveCount,
        })
    ).toThrow(
      `FixerQueue: maxReceiveCount must be between 1 and 1000, got ${maxReceiveCount}. Use about 5.`
    );
  });

  it('NotificationTopic throws when an e-mail address is not one', () => {
    expect(
      () => new NotificationTopic(stack(), 'Topic', { emails: ['ops at example.com'] })
    ).toThrow(
      'NotificationTopic: emails must be e-mail addresses like ops@example.com, got "ops at example.com".'
    );
  });

  it('RegistryAccessRole throws when roleName is not an IAM role name', () => {
    expect(
      () =>
        new RegistryAccessRole(stack(), 'Role', {
          roleName: 'my role',
          trustedRoleArn: 'arn:aws:iam::111111111111:role/LambdaEcrAutofixFixer',
          mode: 'enforce',
          optOutTag: 'lambda-ecr-autofix=off',
        })
    ).toThrow(/RegistryAccessRole: roleName must be an IAM role name .* got "my role"\./);
  });

  it('FixerMonitoring throws without outcomes', () => {
    // Arrange
    const scope = stack();
    const fn = new LambdaFunction(scope, 'Fn', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => {};'),
    });

    // Act
    const act = () =>
      new FixerMonitoring(scope, 'Monitoring', {
        function: fn,
        queue: new Queue(scope, 'Queue'),
        deadLetterQueue: new Queue(scope, 'Dlq'),
        topic: new Topic(scope, 'Topic'),
        namespace: 'Test',
        serviceName: 'test',
        outcomes: [],
      });

    // Assert
    expect(act).toThrow('FixerMonitoring: outcomes must name at least one outcome, e.g. ["fix"].');
  });

  it('FixerFunction throws when the environment cannot fit in 4 KB, naming the largest variable', () => {
    expect(
      () =>
        new FixerFunction(stack(), 'Fixer', {
          code: handlerCode('fixer'),
          description: 'test',
          environment: { SMALL: 'x', CONFIG: 'x'.repeat(5000) },
        })
    ).toThrow(
      /FixerFunction: the environment variables take about \d+ bytes, but Lambda allows 4096 bytes for all of them\. The largest is CONFIG \(5006 bytes\): make it shorter\./
    );
  });

  it('FixerFunction applies its documented defaults', () => {
    // Arrange
    const scope = stack();
    new FixerFunction(scope, 'Fixer', {
      code: handlerCode('fixer'),
      description: 'test',
    });

    // Assert
    const template = Template.fromStack(scope);
    assertResourceProperties(template, 'AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 60,
      TracingConfig: Match.absent(),
      Environment: Match.absent(),
    });
    assertResourceProperties(template, 'AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('FixerQueue refuses to restrict its senders to no rule at all', () => {
    // Arrange
    const queues = new FixerQueue(stack(), 'Queue', { visibilityTimeout: Duration.minutes(6) });

    // Act
    const act = () => queues.restrictSenders({ workQueueRuleArns: [] });

    // Assert
    expect(act).toThrow(
      'FixerQueue: restrictSenders needs the ARNs of the rules that deliver to the queue, e.g. [rule.ruleArn].'
    );
  });

  it('FixerQueue without a queue name leaves the dead-letter queue open to redrive (no circular reference)', () => {
    // Arrange
    const scope = stack();
    new FixerQueue(scope, 'Queue', { visibilityTimeout: Duration.minutes(6) });

    // Assert
    assertResourceProperties(Template.fromStack(scope), 'AWS::SQS::Queue', {
      RedrivePolicy: Match.absent(),
      RedriveAllowPolicy: Match.absent(),
    });
  });

  it('NotificationTopic.grantPublish gives a principal sns:Publish and the two KMS actions, only through SNS', () => {
    // Arrange
    const scope = stack();
    const notifications = new NotificationTopic(scope, 'Topic');
    const role = new Role(scope, 'Publisher', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    });

    // Act
    notifications.grantPublish(role);

    // Assert
    assertResourceProperties(Template.fromStack(scope), 'AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Action: 'sns:Publish', Effect: 'Allow' }),
          Match.objectLike({
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: { 'kms:ViaService': Match.anyValue() } },
          }),
        ],
      },
    });
  });

  it('NotificationTopic refuses to synthesize a topic that admits no publisher at all', () => {
    // Arrange
    const scope = stack();
    new NotificationTopic(scope, 'Topic');

    // Act
    const act = () => Template.fromStack(scope);

    // Assert
    expect(act).toThrow(
      'NotificationTopic: nothing may publish to the topic. Admit its publishers with grantPublish, allowPublisher, allowAlarm or allowRule.'
    );
  });

  it('EventForwarder without alarmName forwards with one rule and no alarm', () => {
    // Arrange
    const scope = stack();

    // Act
    new EventForwarder(scope, 'Forwarder', {
      targetBus: EventBus.fromEventBusArn(
        scope,
        'Bus',
        'arn:aws:events:eu-west-1:111111111111:event-bus/b'
      ),
      eventPattern: { source: ['aws.lambda'] },
    });

    // Assert
    const template = Template.fromStack(scope);
    assertResourceCount(template, 'AWS::Events::Rule', 1);
    assertResourceCount(template, 'AWS::CloudWatch::Alarm', 0);
  });

  it('RegistryAccessRole without organizationId trusts the fixer role by ARN, with no condition', () => {
    // Arrange
    const scope = stack();

    // Act
    new RegistryAccessRole(scope, 'Role', {
      roleName: 'LambdaEcrAutofixRegistryAccess',
      trustedRoleArn: 'arn:aws:iam::111111111111:role/LambdaEcrAutofixFixer',
      mode: 'dry-run',
      optOutTag: 'lambda-ecr-autofix=off',
    });

    // Assert
    assertResourceProperties(Template.fromStack(scope), 'AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { AWS: 'arn:aws:iam::111111111111:role/LambdaEcrAutofixFixer' },
          },
        ],
      },
    });
  });
});

describe('handler code', () => {
  let scratch: string;

  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-handler-code-'));
  });

  afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('comes from the sources in a clone of the repository, with its lock file and the credentials alias', () => {
    // Act
    const code = handlerCode('fixer');

    // Assert
    expect(code).toEqual({
      entry: path.join(__dirname, '..', '..', 'lambda', 'handlers', 'sqs-fixer.ts'),
      depsLockFilePath: path.join(__dirname, '..', '..', 'package-lock.json'),
      moduleAliases: {
        '@aws-sdk/credential-provider-node': path.join(
          __dirname,
          '..',
          '..',
          'lambda',
          'adapters',
          'lambda-credentials.ts'
        ),
      },
    });
  });

  it('is the prebuilt bundle beside the installed library (dist/lib → dist/handlers/NAME)', () => {
    // Arrange: the installed layout, dist/lib/index.js and dist/handlers/fixer/index.mjs.
    fs.mkdirSync(path.join(scratch, 'dist', 'lib'), { recursive: true });
    fs.mkdirSync(path.join(scratch, 'dist', 'handlers', 'fixer'), { recursive: true });
    fs.writeFileSync(
      path.join(scratch, 'dist', 'handlers', 'fixer', 'index.mjs'),
      'export const handler = 1;'
    );

    // Act
    const code = handlerCode('fixer', path.join(scratch, 'dist', 'lib'));

    // Assert
    expect(code).toEqual({ prebuiltDirectory: path.join(scratch, 'dist', 'handlers', 'fixer') });
  });

  it('is missing, with a message saying what to do, when neither bundle nor sources exist', () => {
    // Arrange
    fs.mkdirSync(path.join(scratch, 'dist', 'lib'), { recursive: true });

    // Act
    const act = () => handlerCode('fixer', path.join(scratch, 'dist', 'lib'));

    // Assert
    expect(act).toThrow(HandlerCodeMissingError);
    expect(act).toThrow(
      /the fixer handler has neither a prebuilt bundle \(.*dist\/handlers\/fixer\) nor its sources .*Reinstall the package/
    );
  });

  it('deploys a prebuilt bundle as it is, as index.handler', () => {
    // Arrange
    fs.writeFileSync(path.join(scratch, 'index.mjs'), 'export const handler = async () => ({});');
    const scope = stack();

    // Act
    const fixer = new FixerFunction(scope, 'Fixer', {
      code: { prebuiltDirectory: scratch },
      description: 'test',
    });

    // Assert
    expect(fixer.function).not.toBeInstanceOf(NodejsFunction);
    assertResourceProperties(Template.fromStack(scope), 'AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Code: { S3Key: Match.stringLikeRegexp('^[0-9a-f]{64}\\.zip$') },
    });
  });
});
