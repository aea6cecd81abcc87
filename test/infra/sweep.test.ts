/**
 * The scheduled sweep's infrastructure, checked as the difference it makes: the same organization-wide installation
 * with `sweepSchedule` on (the default) and `"off"`. The other infrastructure tests check the installation without
 * sweeps resource by resource; this file checks that the sweep adds exactly its own resources and permissions.
 */
import { Template } from 'aws-cdk-lib/assertions';

import {
  ORGANIZATION_CONFIG,
  WITHOUT_SWEEPS,
  actionsOf,
  buildApp,
  memberOf,
  render,
  resourcesOf,
  resourcesOfStatement,
  statementsOfRole,
  templateJson,
  type CfnResourceJson,
  type Statement,
} from './app-fixture';
import { matchesPattern, type JsonValue } from './event-pattern-matcher';

const CENTRAL_BUS =
  'arn:${AWS::Partition}:events:${CentralRegion}:${CentralAccountId}:event-bus/lambda-ecr-autofix';

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected exactly one ${what}, found ${items.length}.`);
  return items[0] as T;
}

/** Resources of `after` whose logical id `before` does not have, as `Type` strings. */
function addedTypes(before: Template, after: Template): string[] {
  const known = new Set(Object.keys(templateJson(before).Resources));
  return Object.entries(templateJson(after).Resources)
    .filter(([id]) => !known.has(id))
    .map(([, resource]) => resource.Type)
    .sort();
}

/** Statements as comparable strings. */
function described(statements: readonly Statement[]): string[] {
  return statements
    .map(
      (s) =>
        `${s.Sid ?? '-'} ${s.Effect} ${actionsOf(s).sort().join(',')} ${resourcesOfStatement(s).join(',')}`
    )
    .sort();
}

function roleId(template: Template, name: string | undefined): string {
  return only(
    resourcesOf(template, 'AWS::IAM::Role')
      .filter(([, role]) => role.Properties?.RoleName === name)
      .map(([id]) => id),
    `role ${String(name)}`
  );
}

function scheduledRules(template: Template): Array<[string, CfnResourceJson]> {
  return resourcesOf(template, 'AWS::Events::Rule').filter(
    ([, rule]) => rule.Properties?.ScheduleExpression !== undefined
  );
}

const scheduledEvent = (account: string, region: string, rule = 'lambda-ecr-autofix-sweep') => ({
  version: '0',
  id: 'e1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account,
  time: '2026-01-01T03:00:00Z',
  region,
  resources: [`arn:aws:events:${region}:${account}:rule/${rule}`],
  detail: {},
});

describe('the scheduled sweep in the member stack', () => {
  let on: Template;
  let off: Template;

  beforeAll(() => {
    on = Template.fromStack(memberOf(buildApp(ORGANIZATION_CONFIG)));
    off = Template.fromStack(memberOf(buildApp(WITHOUT_SWEEPS)));
  });

  it('adds one scheduled rule, next to the forwarder, that puts its event on the central bus', () => {
    const [, rule] = only(scheduledRules(on), 'scheduled rule');
    const forwarderRole = roleId(on, undefined);

    expect(addedTypes(off, on)).toEqual(['AWS::Events::Rule']);
    expect(rule.Condition).toBe('ForwardEvents');
    expect(rule.Properties).toEqual(
      expect.objectContaining({
        Name: 'lambda-ecr-autofix-sweep',
        ScheduleExpression: 'rate(1 day)',
        State: 'ENABLED',
      })
    );
    expect(rule.Properties?.EventPattern).toBeUndefined();
    const targets = rule.Properties?.Targets as Array<Record<string, unknown>>;
    expect(targets).toHaveLength(1);
    expect(render(targets[0]?.Arn)).toBe(CENTRAL_BUS);
    expect(targets[0]?.RoleArn).toEqual({ 'Fn::GetAtt': [forwarderRole, 'Arn'] });
    // A request EventBridge cannot deliver is replaced by the next one; the forwarder's dead-letter queue (and its
    // alarm) stays for failed deploys, whose queue policy admits only the forwarder's rules.
    expect(targets[0]?.DeadLetterConfig).toBeUndefined();
    expect(scheduledRules(off)).toEqual([]);
  });

  it('gives the registry role lambda:ListFunctions and nothing else', () => {
    const withSweep = described(statementsOfRole(on, roleId(on, 'LambdaEcrAutofixRegistryAccess')));
    const withoutSweep = described(
      statementsOfRole(off, roleId(off, 'LambdaEcrAutofixRegistryAccess'))
    );

    expect(withSweep.filter((s) => !withoutSweep.includes(s))).toEqual([
      'FunctionInventory Allow lambda:ListFunctions *',
    ]);
    expect(withoutSweep.filter((s) => !withSweep.includes(s))).toEqual([]);
    expect(withSweep.join('\n')).toContain('FunctionLookup Allow lambda:GetFunction');
  });

  it('lets the forwarder role do nothing new', () => {
    expect(described(statementsOfRole(on, roleId(on, undefined)))).toEqual(
      described(statementsOfRole(off, roleId(off, undefined)))
    );
  });

  it('uses the configured schedule', () => {
    const cron = Template.fromStack(
      memberOf(buildApp({ ...ORGANIZATION_CONFIG, sweepSchedule: 'cron(0 3 ? * MON *)' }))
    );

    expect(only(scheduledRules(cron), 'rule')[1].Properties?.ScheduleExpression).toBe(
      'cron(0 3 ? * MON *)'
    );
  });
});

describe('the scheduled sweep in the central stack', () => {
  let on: Template;
  let off: Template;
  let fixerRole: string;
  let sweeper: string;
  let sweepQueue: string;
  let dlq: string;
  let topic: string;
  let sweeperLogs: string;

  const idStartingWith = (template: Template, type: string, prefix: string): string =>
    only(
      resourcesOf(template, type)
        .filter(([id]) => id.startsWith(prefix))
        .map(([id]) => id),
      `${type} ${prefix}`
    );

  beforeAll(() => {
    on = Template.fromStack(buildApp(ORGANIZATION_CONFIG).stacks.central);
    off = Template.fromStack(buildApp(WITHOUT_SWEEPS).stacks.central);
    fixerRole = roleId(on, 'LambdaEcrAutofixFixer');
    sweeper = idStartingWith(on, 'AWS::Lambda::Function', 'Sweeper');
    sweepQueue = idStartingWith(on, 'AWS::SQS::Queue', 'SweepsQueue');
    dlq = idStartingWith(on, 'AWS::SQS::Queue', 'SweepsDeadLetterQueue');
    topic = idStartingWith(on, 'AWS::SNS::Topic', 'Sweeps');
    sweeperLogs = idStartingWith(on, 'AWS::Logs::LogGroup', 'Sweeper');
  });

  it('adds the sweeper, its queues, rules, topic, alarms and permissions, and nothing else', () => {
    expect(addedTypes(off, on)).toEqual([
      // The sweep dead-letter queue's, and the forwarding heartbeat (test/infra/forwarding-heartbeat.test.ts).
      'AWS::CloudWatch::Alarm',
      'AWS::CloudWatch::Alarm',
      'AWS::Events::Rule',
      'AWS::Events::Rule',
      'AWS::Events::Rule',
      'AWS::IAM::Policy',
      'AWS::IAM::Policy',
      'AWS::IAM::Policy',
      'AWS::IAM::Policy',
      'AWS::IAM::Policy',
      'AWS::Lambda::EventSourceMapping',
      'AWS::Lambda::Function',
      'AWS::Logs::LogGroup',
      'AWS::SNS::Subscription',
      'AWS::SNS::Topic',
      'AWS::SNS::TopicPolicy',
      'AWS::SQS::Queue',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
      'AWS::SQS::QueuePolicy',
    ]);
  });

  it('keeps sweeps in their own encrypted queue, with their own dead-letter queue that only it may redrive to', () => {
    const resources = templateJson(on).Resources;

    expect(resources[sweepQueue]?.Properties).toEqual(
      expect.objectContaining({
        QueueName: 'lambda-ecr-autofix-sweep',
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 720,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
      })
    );
    expect(resources[dlq]?.Properties).toEqual(
      expect.objectContaining({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      })
    );
    const redriveAllow = resources[dlq]?.Properties?.RedriveAllowPolicy as Record<string, unknown>;
    expect(redriveAllow['redrivePermission']).toBe('byQueue');
    expect((redriveAllow['sourceQueueArns'] as unknown[]).map(render)).toEqual([
      'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:lambda-ecr-autofix-sweep',
    ]);
  });

  it('routes only the sweep rule’s scheduled events from the central bus, and schedules its own Region', () => {
    const rules = resourcesOf(on, 'AWS::Events::Rule').filter(([id]) => id.startsWith('Sweeps'));
    const onBus = rules.filter(([, r]) => r.Properties?.EventBusName !== undefined);
    const [, local] = only(
      rules.filter(([, r]) => r.Properties?.EventBusName === undefined),
      'local rule'
    );
    // One rule for the other accounts' requests, one for this account's other Regions (the forwarding heartbeat
    // counts the first only): with this account's id in place of its token, each request matches exactly one.
    const patterns = onBus.map(
      ([, rule]) =>
        JSON.parse(
          JSON.stringify(rule.Properties?.EventPattern).replaceAll(
            '{"Ref":"AWS::AccountId"}',
            '"111111111111"'
          )
        ) as JsonValue
    );
    const matching = (event: ReturnType<typeof scheduledEvent>) =>
      patterns.filter((pattern) => matchesPattern(pattern, event)).length;

    expect(onBus).toHaveLength(2);
    expect(matching(scheduledEvent('222222222222', 'eu-west-1'))).toBe(1);
    expect(matching(scheduledEvent('111111111111', 'us-east-1'))).toBe(1);
    expect(matching(scheduledEvent('222222222222', 'eu-west-1', 'backup'))).toBe(0);
    expect(matching({ ...scheduledEvent('222222222222', 'eu-west-1'), source: 'acme' })).toBe(0);
    expect(local.Properties).toEqual(
      expect.objectContaining({
        Name: 'lambda-ecr-autofix-sweep',
        ScheduleExpression: 'rate(1 day)',
      })
    );
    for (const rule of [...onBus.map(([, r]) => r), local]) {
      expect(rule.Properties?.Targets).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [sweepQueue, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
        }),
      ]);
    }
  });

  it('lets only the three sweep rules, the continuation topic and the replay role send to the sweep queue', () => {
    const policyOf = (queue: string) =>
      (
        only(
          resourcesOf(on, 'AWS::SQS::QueuePolicy').filter(
            ([, p]) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: queue }])
          ),
          `policy of ${queue}`
        )[1].Properties?.PolicyDocument as { Statement: Statement[] }
      ).Statement;
    const rules = resourcesOf(on, 'AWS::Events::Rule')
      .filter(([id]) => id.startsWith('Sweeps'))
      .map(([id]) => `\${${id}.Arn}`)
      .sort();
    const replayRole = only(
      resourcesOf(on, 'AWS::IAM::Role')
        .filter(([id]) => id.startsWith('QueueReplayRole'))
        .map(([id]) => id),
      'replay role'
    );
    const denyOf = (statements: Statement[]) =>
      statements.find((s) => s.Effect === 'Deny' && actionsOf(s).includes('sqs:SendMessage'))
        ?.Condition?.['ArnNotEquals'] as Record<string, unknown>;

    const queueDeny = denyOf(policyOf(sweepQueue));
    const dlqDeny = denyOf(policyOf(dlq));

    expect((queueDeny['aws:SourceArn'] as unknown[]).map(render).sort()).toEqual(
      [...rules, `\${${topic}}`].sort()
    );
    expect(render(queueDeny['aws:PrincipalArn'])).toBe(`\${${replayRole}.Arn}`);
    expect((dlqDeny['aws:SourceArn'] as unknown[]).map(render).sort()).toEqual(
      [...rules, `\${${sweepQueue}.Arn}`].sort()
    );
    expect(Object.keys(dlqDeny)).toEqual(['aws:SourceArn']);
    const replay = described(statementsOfRole(on, replayRole));
    const replayOff = described(statementsOfRole(off, replayRole));
    expect(replay.filter((s) => !replayOff.includes(s))).toEqual([
      `MoveSweepDeadLetters Allow sqs:CancelMessageMoveTask,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ListMessageMoveTasks,sqs:ReceiveMessage,sqs:StartMessageMoveTask \${${dlq}.Arn}`,
      `SendToSweepQueue Allow sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage \${${sweepQueue}.Arn}`,
    ]);
  });

  it('brings continuations back to the sweep queue through a topic encrypted with the notification key', () => {
    const notificationKey = only(
      resourcesOf(on, 'AWS::KMS::Key').map(([id]) => id),
      'key'
    );
    const [, subscription] = only(
      resourcesOf(on, 'AWS::SNS::Subscription').filter(([, s]) => s.Properties?.Protocol === 'sqs'),
      'sqs subscription'
    );

    expect(templateJson(on).Resources[topic]?.Properties?.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [notificationKey, 'Arn'],
    });
    expect(subscription.Properties).toEqual(
      expect.objectContaining({
        RawMessageDelivery: true,
        Endpoint: { 'Fn::GetAtt': [sweepQueue, 'Arn'] },
        TopicArn: { Ref: topic },
      })
    );
  });

  it('feeds the sweeper one sweep at a time, at most two at once, once its permissions exist', () => {
    const [, mapping] = only(
      resourcesOf(on, 'AWS::Lambda::EventSourceMapping').filter(
        ([, m]) =>
          JSON.stringify(m.Properties?.EventSourceArn) ===
          JSON.stringify({ 'Fn::GetAtt': [sweepQueue, 'Arn'] })
      ),
      'sweep event source'
    ) as [string, CfnResourceJson & { DependsOn?: string[] }];
    const fn = templateJson(on).Resources[sweeper] as CfnResourceJson;
    const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> })
      .Variables;

    expect(mapping.Properties).toEqual(
      expect.objectContaining({
        FunctionName: { Ref: sweeper },
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 2 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      })
    );
    expect(mapping.DependsOn).toEqual(
      expect.arrayContaining(
        resourcesOf(on, 'AWS::IAM::Policy')
          .filter(
            ([id]) => id.startsWith('SweeperPermissions') || id.startsWith('SweeperInventory')
          )
          .map(([id]) => id)
      )
    );
    expect(fn.Properties?.Role).toEqual({ 'Fn::GetAtt': [fixerRole, 'Arn'] });
    expect(fn.Properties?.Timeout).toBe(120);
    expect(Object.keys(variables).sort()).toEqual([
      'AUDIT_TABLE_NAME',
      'CONFIG',
      'FIXER_ROLE_ARN',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
      'SWEEP_CONTINUATION_TOPIC_ARN',
      'TOPIC_ARN',
    ]);
    expect(variables['SWEEP_CONTINUATION_TOPIC_ARN']).toEqual({ Ref: topic });
  });

  it('gives the fixer role, for the sweeper’s code only, the fixer’s permissions, the function list and the continuations', () => {
    const before = statementsOfRole(off, roleId(off, 'LambdaEcrAutofixFixer')).map((s) =>
      JSON.stringify(s)
    );
    const added = statementsOfRole(on, fixerRole).filter(
      (s) => !before.includes(JSON.stringify(s))
    );
    const onlyTheSweeper = {
      ArnLike: {
        'lambda:SourceFunctionArn': [
          { 'Fn::GetAtt': [sweeper, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [sweeper, 'Arn'] }, ':*']] },
        ],
      },
    };
    const unconditioned = added.filter((s) => s.Condition === undefined);
    const conditioned = added.filter((s) => s.Condition !== undefined);

    expect(described(unconditioned)).toEqual([
      `- Allow logs:CreateLogStream,logs:PutLogEvents \${${sweeperLogs}.Arn}`,
      `- Allow sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage \${${sweepQueue}.Arn}`,
    ]);
    for (const statement of conditioned) {
      expect(statement.Condition).toEqual(expect.objectContaining(onlyTheSweeper));
    }
    expect(conditioned.map((s) => s.Sid).sort()).toEqual([
      'AssumeRegistryRole',
      'AuditTable',
      'FunctionInventory',
      'FunctionLookup',
      'PublishContinuations',
      'PublishNotifications',
      'RepositoryPolicies',
    ]);
    expect(
      described(
        conditioned.filter((s) => s.Sid === 'FunctionInventory' || s.Sid === 'PublishContinuations')
      )
    ).toEqual([
      'FunctionInventory Allow lambda:ListFunctions *',
      `PublishContinuations Allow sns:Publish \${${topic}}`,
    ]);
  });

  it('lets the sweeper write repository policies of this account only with sweepAction "fix"', () => {
    const sweeperRepositoryActions = (template: Template): string[] =>
      statementsOfRole(template, roleId(template, 'LambdaEcrAutofixFixer'))
        .filter(
          (s) =>
            s.Sid === 'RepositoryPolicies' &&
            JSON.stringify(s.Condition).includes(JSON.stringify({ 'Fn::GetAtt': [sweeper, 'Arn'] }))
        )
        .flatMap((s) => actionsOf(s))
        .sort();
    const fixing = Template.fromStack(
      buildApp({ ...ORGANIZATION_CONFIG, sweepAction: 'fix' }).stacks.central
    );

    // The default "report" reads and never writes: IAM says so too, not only the code.
    expect(sweeperRepositoryActions(on)).toEqual([
      'ecr:GetRepositoryPolicy',
      'ecr:ListTagsForResource',
    ]);
    expect(sweeperRepositoryActions(fixing)).toEqual([
      'ecr:GetRepositoryPolicy',
      'ecr:ListTagsForResource',
      'ecr:SetRepositoryPolicy',
    ]);
  });

  it('alarms to the notification topic when sweeps wait in the dead-letter queue', () => {
    const [, alarm] = only(
      resourcesOf(on, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('Sweeps')),
      'alarm'
    );
    const notifications = only(
      resourcesOf(on, 'AWS::SNS::Topic')
        .filter(([id]) => !id.startsWith('Sweeps'))
        .map(([id]) => id),
      'notification topic'
    );

    expect(alarm.Properties).toEqual(
      expect.objectContaining({
        AlarmName: 'LambdaEcrAutofix-sweep-dead-letter-queue-not-empty',
        AlarmActions: [{ Ref: notifications }],
        Threshold: 1,
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      })
    );
  });
});
