import { Match, Template } from 'aws-cdk-lib/assertions';

import { METRIC_NAMES } from '../../lambda/adapters/powertools-telemetry';
import { parseConfig, ConfigError } from '../../lambda/domain/config';
import { OUTCOMES } from '../../lambda/domain/decision';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/handlers/sqs-fixer';
import { FIXER_SIZING } from '../../lib/sizing';
import {
  WITHOUT_SWEEPS,
  actionsOf,
  assertResource,
  assertResourceCount,
  assertResourceProperties,
  assertWarning,
  buildApp,
  resourceById,
  render,
  resourcesOf,
  resourcesOfStatement,
  statementsOfRole,
  type Statement,
} from './app-fixture';

const ACCOUNT_REPOSITORIES = 'arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*';
const ACCOUNT_FUNCTIONS = 'arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:function:*';

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected exactly one ${what}, found ${items.length}.`);
  return items[0] as T;
}

function logicalIdOf(template: Template, type: string): string {
  return only(Object.keys(template.findResources(type)), type);
}

describe('central stack, organization-wide configuration', () => {
  let template: Template;
  let fixerRoleId: string;
  let fixerStatements: Statement[];

  beforeAll(() => {
    const { stacks } = buildApp(WITHOUT_SWEEPS);
    template = Template.fromStack(stacks.central);
    fixerRoleId = only(
      resourcesOf(template, 'AWS::IAM::Role')
        .filter(([, role]) => role.Properties?.RoleName === 'LambdaEcrAutofixFixer')
        .map(([id]) => id),
      'fixer role'
    );
    fixerStatements = statementsOfRole(template, fixerRoleId);
  });

  describe('event intake', () => {
    it('creates the central bus with a fixed name, open to the organization only', () => {
      // Assert
      assertResourceProperties(template, 'AWS::Events::EventBus', { Name: 'lambda-ecr-autofix' });
      assertResourceProperties(template, 'AWS::Events::EventBusPolicy', {
        Statement: {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 'events:PutEvents',
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
        },
      });
    });

    it('routes the central bus and the local default bus to the queue, each with the dead-letter queue', () => {
      // Arrange
      const queueId = queueLogicalId(template);
      const dlqId = deadLetterQueueLogicalId(template);
      const rules = failedDeployRules(template).map(([, rule]) => rule.Properties ?? {});

      // Assert
      expect(rules).toHaveLength(2);
      const onCentralBus = rules.filter((rule) => rule.EventBusName !== undefined);
      const onDefaultBus = rules.filter((rule) => rule.EventBusName === undefined);
      expect(onCentralBus).toHaveLength(1);
      expect(onDefaultBus).toHaveLength(1);
      expect(render(onCentralBus[0]?.EventBusName)).toMatch(/^\$\{EventBus\w+\}$/);
      for (const rule of rules) {
        expect(rule.Targets).toEqual([
          expect.objectContaining({
            Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
          }),
        ]);
      }
      // The default-bus rule takes only this account's events (provenance.test.ts).
      expect(onDefaultBus[0]?.EventPattern).toEqual({
        ...(onCentralBus[0]?.EventPattern as object),
        account: [{ Ref: 'AWS::AccountId' }],
      });
    });

    it('lets only the project rules send to the queue: failed deploys and repository-policy changes', () => {
      // Arrange
      const ruleIds = [...failedDeployRules(template), ...policyChangeRules(template)]
        .map(([id]) => id)
        .sort();
      const policy = only(
        resourcesOf(template, 'AWS::SQS::QueuePolicy').filter(
          ([, p]) =>
            JSON.stringify(p.Properties?.Queues) ===
            JSON.stringify([{ Ref: queueLogicalId(template) }])
        ),
        'work queue policy'
      )[1];
      const allows = (
        policy.Properties?.PolicyDocument as { Statement: Statement[] }
      ).Statement.filter((s) => s.Effect === 'Allow');

      // Assert: the Allows; the Deny that makes them the only senders is simulated in provenance.test.ts.
      expect(ruleIds).toHaveLength(4);
      expect(allows.map((s) => s.Principal)).toEqual(
        ruleIds.map(() => ({ Service: 'events.amazonaws.com' }))
      );
      expect(allows.map((s) => render(s.Condition?.ArnEquals?.['aws:SourceArn'])).sort()).toEqual(
        ruleIds.map((id) => `\${${id}.Arn}`)
      );
      for (const allow of allows) expect(actionsOf(allow)).toContain('sqs:SendMessage');
    });
  });

  describe('queue and dead-letter queue', () => {
    it('encrypts both queues and refuses requests without TLS', () => {
      // Arrange
      const queues = resourcesOf(template, 'AWS::SQS::Queue');
      const policies = resourcesOf(template, 'AWS::SQS::QueuePolicy');

      // Assert
      expect(queues).toHaveLength(2);
      for (const [id, queue] of queues) {
        expect(queue.Properties?.SqsManagedSseEnabled).toBe(true);
        const policy = policies.find(([, p]) =>
          JSON.stringify(p.Properties?.Queues).includes(`"${id}"`)
        );
        const statements =
          (policy?.[1].Properties?.PolicyDocument as { Statement: Statement[] } | undefined)
            ?.Statement ?? [];
        expect(
          statements.filter(
            (st) =>
              st.Effect === 'Deny' &&
              st.Action === 'sqs:*' &&
              JSON.stringify(st.Condition) ===
                JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } })
          )
        ).toHaveLength(1);
      }
    });

    it('gives the work queue at least six times the function timeout and a redrive to the dead-letter queue', () => {
      // Arrange
      const [, fn] = only(resourcesOf(template, 'AWS::Lambda::Function'), 'function');
      const queue = resourceById(template, queueLogicalId(template)).Properties ?? {};

      // Assert
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(
        6 * (fn.Properties?.Timeout as number)
      );
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueLogicalId(template), 'Arn'] },
        maxReceiveCount: FIXER_SIZING.maxReceiveCount,
      });
    });

    it('keeps dead letters for 14 days', () => {
      // Assert
      const dlq = resourceById(template, deadLetterQueueLogicalId(template)).Properties ?? {};
      expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    });
  });

  describe('fixer function', () => {
    it('runs Node.js 24 on arm64 without X-Ray, the configured size and an explicit log group', () => {
      // Assert
      assertResourceProperties(template, 'AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        // Off: tracing SDK calls needs the Powertools Tracer, above the bundle goal (BENCHMARKS.md, "Tracing").
        TracingConfig: Match.absent(),
        MemorySize: FIXER_SIZING.memorySize,
        Timeout: FIXER_SIZING.timeout.toSeconds(),
        LoggingConfig: { LogGroup: { Ref: logicalIdOf(template, 'AWS::Logs::LogGroup') } },
        Role: { 'Fn::GetAtt': [fixerRoleId, 'Arn'] },
      });
      assertResourceProperties(template, 'AWS::Logs::LogGroup', { RetentionInDays: 90 });
    });

    it('receives the validated configuration as one JSON variable, and the contract variables', () => {
      // Arrange
      const fn = only(
        Object.values(template.findResources('AWS::Lambda::Function')),
        'function'
      ) as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      };
      const variables = fn.Properties.Environment.Variables;

      // Assert
      expect(Object.keys(variables).sort()).toEqual([
        'AUDIT_TABLE_NAME',
        'CONFIG',
        'DEAD_LETTER_QUEUE',
        'DECISION_EVENT_BUS',
        'FIXER_ROLE_ARN',
        'MAX_RECEIVE_COUNT',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'TOPIC_ARN',
      ]);
      expect(JSON.parse(variables.CONFIG as string)).toEqual(parseConfig(WITHOUT_SWEEPS, 'test'));
      expect(variables.TOPIC_ARN).toEqual({ Ref: logicalIdOf(template, 'AWS::SNS::Topic') });
      expect(variables.AUDIT_TABLE_NAME).toEqual({
        Ref: logicalIdOf(template, 'AWS::DynamoDB::Table'),
      });
      expect(variables.FIXER_ROLE_ARN).toEqual({ 'Fn::GetAtt': [fixerRoleId, 'Arn'] });
      expect(variables.POWERTOOLS_SERVICE_NAME).toBe('lambda-ecr-autofix');
      expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe('LambdaEcrAutofix');
      // Source maps are shipped but not parsed at every cold start (see BENCHMARKS.md).
      expect(variables.NODE_OPTIONS).toBeUndefined();
      expect(variables.MAX_RECEIVE_COUNT).toBe(String(FIXER_SIZING.maxReceiveCount));
      expect(variables.DEAD_LETTER_QUEUE).toEqual({
        'Fn::GetAtt': [deadLetterQueueLogicalId(template), 'Arn'],
      });
    });

    it('consumes the queue in batches, with partial batch responses and bounded concurrency', () => {
      // Assert
      assertResourceProperties(template, 'AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueLogicalId(template), 'Arn'] },
        BatchSize: FIXER_SIZING.batchSize,
        MaximumBatchingWindowInSeconds: FIXER_SIZING.maxBatchingWindow.toSeconds(),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: FIXER_SIZING.maxConcurrency },
      });
    });
  });

  describe('fixer role', () => {
    it('has a fixed name, trusts only Lambda and carries no managed policy', () => {
      // Assert
      const role = resourceById(template, fixerRoleId).Properties ?? {};
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      });
    });

    it('may do exactly this, and nothing else', () => {
      // Arrange
      const granted = fixerStatements
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) =>
          actionsOf(s).map((action) => `${action} on ${resourcesOfStatement(s).join(', ')}`)
        )
        .map((line) => line.replace(/\$\{(\w+?)[0-9A-F]{8}(\.Arn)?\}/g, '${$1$2}'))
        .sort();

      // Assert
      expect(granted).toEqual(
        [
          'dynamodb:DeleteItem on ${AuditTable.Arn}',
          'dynamodb:GetItem on ${AuditTable.Arn}',
          'dynamodb:PutItem on ${AuditTable.Arn}',
          'dynamodb:UpdateItem on ${AuditTable.Arn}',
          `ecr:GetRepositoryPolicy on ${ACCOUNT_REPOSITORIES}`,
          `ecr:ListTagsForResource on ${ACCOUNT_REPOSITORIES}`,
          `ecr:SetRepositoryPolicy on ${ACCOUNT_REPOSITORIES}`,
          'events:PutEvents on ${EventBus.Arn}',
          'kms:Decrypt on ${NotificationsKey.Arn}',
          'kms:GenerateDataKey on ${NotificationsKey.Arn}',
          `lambda:GetFunction on ${ACCOUNT_FUNCTIONS}`,
          'logs:CreateLogStream on ${FixerLogs.Arn}',
          'logs:PutLogEvents on ${FixerLogs.Arn}',
          'sns:Publish on ${NotificationsTopic}',
          'sqs:ChangeMessageVisibility on ${Queue.Arn}',
          'sqs:DeleteMessage on ${Queue.Arn}',
          'sqs:GetQueueAttributes on ${Queue.Arn}',
          'sqs:GetQueueUrl on ${Queue.Arn}',
          'sqs:ReceiveMessage on ${Queue.Arn}',
          'sts:AssumeRole on arn:${AWS::Partition}:iam::*:role/LambdaEcrAutofixRegistryAccess',
        ].sort()
      );
    });

    it('uses no wildcard action and no Resource "*"', () => {
      // Arrange
      const actions = fixerStatements.flatMap(actionsOf);
      const onAnyResource = fixerStatements.filter((s) => resourcesOfStatement(s).includes('*'));

      // Assert
      expect(actions.filter((action) => action.includes('*'))).toEqual([]);
      expect(onAnyResource).toEqual([]);
    });

    it('assumes only the registry role, only inside the organization', () => {
      // Assert
      const assume = only(
        fixerStatements.filter((s) => actionsOf(s).includes('sts:AssumeRole')),
        'AssumeRole statement'
      );
      expect(assume.Condition?.StringEquals).toEqual({ 'aws:ResourceOrgID': 'o-a1b2c3d4e5' });
      expect(Object.keys(assume.Condition ?? {}).sort()).toEqual(['ArnLike', 'StringEquals']);
    });

    it('is denied SetRepositoryPolicy on repositories carrying the opt-out tag', () => {
      // Assert
      const deny = only(
        fixerStatements.filter(
          (s) => s.Effect === 'Deny' && actionsOf(s).some((a) => a.startsWith('ecr:'))
        ),
        'ECR Deny statement'
      );
      expect(actionsOf(deny)).toEqual(['ecr:SetRepositoryPolicy']);
      expect(resourcesOfStatement(deny)).toEqual([ACCOUNT_REPOSITORIES]);
      expect(deny.Condition).toEqual({
        StringEquals: { 'aws:ResourceTag/lambda-ecr-autofix': 'off' },
      });
    });
  });

  describe('notifications and audit', () => {
    it('encrypts the topic with a rotated customer-managed key that CloudWatch and EventBridge may use', () => {
      // Assert
      const keyId = logicalIdOf(template, 'AWS::KMS::Key');
      assertResourceProperties(template, 'AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
      assertResourceProperties(template, 'AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
    });

    it("refuses publishing without TLS and lets this account's alarms publish", () => {
      // Assert
      assertResourceProperties(template, 'AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Condition: {
                ArnLike: { 'aws:SourceArn': Match.anyValue() },
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              },
            }),
          ]),
        },
      });
    });

    it('subscribes every notification e-mail', () => {
      // Assert
      const endpoints = resourcesOf(template, 'AWS::SNS::Subscription').map(([, s]) => [
        s.Properties?.Protocol,
        s.Properties?.Endpoint,
      ]);
      expect(endpoints).toEqual([
        ['email', 'ops@example.com'],
        ['email', 'platform-team@example.com'],
      ]);
    });

    it('keeps the audit table on demand, recoverable, encrypted, with a TTL, and retained on delete', () => {
      // Assert
      assertResource(template, 'AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: 'repositoryArn', KeyType: 'HASH' },
            { AttributeName: 'eventKey', KeyType: 'RANGE' },
          ],
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        },
      });
    });
  });

  describe('monitoring', () => {
    it('alarms to the topic on dead letters, function errors, throttles and record errors', () => {
      // Arrange
      const topicRef = { Ref: logicalIdOf(template, 'AWS::SNS::Topic') };
      const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm').map(
        ([, a]) => a.Properties ?? {}
      );
      const summary = alarms
        .map((a) => `${a.Namespace as string}/${a.MetricName as string}`)
        .sort();

      // Assert
      expect(summary).toEqual([
        'AWS/Lambda/Errors',
        'AWS/Lambda/Throttles',
        'AWS/SQS/ApproximateNumberOfMessagesVisible',
        'LambdaEcrAutofix/DecisionEventsNotPut',
        'LambdaEcrAutofix/Errors',
      ]);
      for (const alarm of alarms) {
        expect(alarm.AlarmActions).toEqual([topicRef]);
        expect(alarm.Threshold).toBe(1);
        expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
        expect(alarm.TreatMissingData).toBe('notBreaching');
      }
      const dlqAlarm = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
      expect(dlqAlarm?.Dimensions).toEqual([
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [deadLetterQueueLogicalId(template), 'QueueName'] },
        },
      ]);
    });

    it('shows every metric the handler emits, under its namespace and service, on the dashboard', () => {
      // Arrange
      const [, dashboard] = only(resourcesOf(template, 'AWS::CloudWatch::Dashboard'), 'dashboard');
      const body = JSON.stringify(dashboard.Properties?.DashboardBody);
      const emitted = [
        ...OUTCOMES.map(METRIC_NAMES.outcome),
        METRIC_NAMES.errors,
        METRIC_NAMES.secondsToFix,
      ];

      // Assert
      expect(dashboard.Properties?.DashboardName).toBe('LambdaEcrAutofix');
      expect([SERVICE_NAME, METRICS_NAMESPACE]).toEqual(['lambda-ecr-autofix', 'LambdaEcrAutofix']);
      for (const metric of emitted) {
        expect(body).toContain(
          `\\"${METRICS_NAMESPACE}\\",\\"${metric}\\",\\"service\\",\\"${SERVICE_NAME}\\"`
        );
      }
    });
  });
});

describe('central stack, other configurations', () => {
  it('never grants SetRepositoryPolicy in dry-run mode', () => {
    // Arrange
    const { stacks } = buildApp({ ...WITHOUT_SWEEPS, mode: 'dry-run' });

    // Act
    const central = JSON.stringify(Template.fromStack(stacks.central).toJSON());
    const member = JSON.stringify(Template.fromStack(stacks.member!).toJSON());

    // Assert
    expect(central).not.toContain('ecr:SetRepositoryPolicy');
    expect(member).not.toContain('ecr:SetRepositoryPolicy');
  });

  it('names each registry role when registryAccounts lists accounts', () => {
    // Arrange
    const { stacks } = buildApp({
      ...WITHOUT_SWEEPS,
      registryAccounts: ['111122223333', '444455556666'],
      registryRoleName: 'EcrFixerAccess',
    });
    const template = Template.fromStack(stacks.central);

    // Act
    const assume = resourcesOf(template, 'AWS::IAM::Policy')
      .flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement)
      .filter((s) => actionsOf(s).includes('sts:AssumeRole'));

    // Assert
    expect(assume.flatMap(resourcesOfStatement)).toEqual([
      'arn:${AWS::Partition}:iam::111122223333:role/EcrFixerAccess',
      'arn:${AWS::Partition}:iam::444455556666:role/EcrFixerAccess',
    ]);
  });

  it('denies opted-out repositories whatever the tag value when optOutTag has no value', () => {
    // Arrange
    const { stacks } = buildApp({ ...WITHOUT_SWEEPS, optOutTag: 'no-autofix' });
    const template = Template.fromStack(stacks.central);

    // Assert
    assertResourceProperties(template, 'AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'ecr:SetRepositoryPolicy',
            Condition: { Null: { 'aws:ResourceTag/no-autofix': 'false' } },
          }),
        ]),
      },
    });
  });

  describe('without organizationId', () => {
    let template: Template;
    let built: ReturnType<typeof buildApp>;

    beforeAll(() => {
      built = buildApp({ notificationEmails: ['ops@example.com'], sweepSchedule: 'off' });
      template = Template.fromStack(built.stacks.central);
    });

    it('watches only the central account: no bus policy that admits anyone, no StackSet, no member stack', () => {
      // Assert: the only bus policy statement is the Deny that reserves decision events to the fixer role (the role's
      // own policy keeps them to the fixer's code).
      assertResourceCount(template, 'AWS::Events::EventBusPolicy', 1);
      for (const [, policy] of resourcesOf(template, 'AWS::Events::EventBusPolicy')) {
        expect((policy.Properties?.Statement as { Effect: string }).Effect).toBe('Deny');
      }
      assertResourceProperties(template, 'AWS::Events::EventBusPolicy', {
        Statement: { Effect: 'Deny', Action: 'events:PutEvents' },
      });
      expect(built.stacks.member).toBeUndefined();
      expect(built.stacks.memberDeployment).toBeUndefined();
      const conditions = resourcesOf(template, 'AWS::IAM::Policy')
        .flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement)
        .filter((s) => actionsOf(s).includes('sts:AssumeRole'))
        .map((s) => Object.keys(s.Condition ?? {}));
      expect(conditions).toEqual([['ArnLike']]);
    });

    it('warns at synth time that member accounts are not covered', () => {
      // Assert
      assertWarning(
        built.stacks.central,
        '/LambdaEcrAutofix/Default/EventBus',
        Match.stringLikeRegexp('organizationId is not set')
      );
    });
  });

  it('refuses memberDeployment without organizationId, naming both keys and the fix', () => {
    // Act
    const act = () => buildApp({ memberDeployment: WITHOUT_SWEEPS.memberDeployment });

    // Assert
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(
      /"memberDeployment" needs "organizationId" \(got nothing\).*set "organizationId"/
    );
  });
});

/** The two rules that deliver failed-deploy events to the queue. */
function policyChangeRules(template: Template): ReturnType<typeof resourcesOf> {
  return resourcesOf(template, 'AWS::Events::Rule').filter(([, rule]) =>
    JSON.stringify(rule.Properties?.EventPattern).includes('"aws.ecr"')
  );
}

function failedDeployRules(template: Template): ReturnType<typeof resourcesOf> {
  return resourcesOf(template, 'AWS::Events::Rule').filter(([, rule]) =>
    JSON.stringify(rule.Properties?.EventPattern).includes('"aws.lambda"')
  );
}

function queueLogicalId(template: Template): string {
  return only(
    resourcesOf(template, 'AWS::SQS::Queue')
      .filter(([, q]) => q.Properties?.RedrivePolicy !== undefined)
      .map(([id]) => id),
    'work queue'
  );
}

function deadLetterQueueLogicalId(template: Template): string {
  return only(
    resourcesOf(template, 'AWS::SQS::Queue')
      .filter(([, q]) => q.Properties?.RedrivePolicy === undefined)
      .map(([id]) => id),
    'dead-letter queue'
  );
}
