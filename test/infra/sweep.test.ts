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
    const dlq = only(
      resourcesOf(on, 'AWS::SQS::Queue').map(([id]) => id),
      'dead-letter queue'
    );

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
    expect(targets[0]?.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } });
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
  let sweepQueue: string;
  let dlq: string;
  let topic: string;
  let sweeperLogs: string;

  beforeAll(() => {
    on = Template.fromStack(buildApp(ORGANIZATION_CONFIG).stacks.central);
    off = Template.fromStack(buildApp(WITHOUT_SWEEPS).stacks.central);
    fixerRole = roleId(on, 'LambdaEcrAutofixFixer');
    sweeperLogs = only(
      resourcesOf(on, 'AWS::Logs::LogGroup')
        .filter(([id]) => id.startsWith('Sweeper'))
        .map(([id]) => id),
      'sweeper log group'
    );
    const queues = resourcesOf(on, 'AWS::SQS::Queue');
    dlq = only(
      queues.filter(([, q]) => q.Properties?.RedrivePolicy === undefined).map(([id]) => id),
      'dead-letter queue'
    );
    sweepQueue = only(
      queues.filter(([id]) => id.startsWith('Sweeps')).map(([id]) => id),
      'sweep queue'
    );
    topic = only(
      resourcesOf(on, 'AWS::SNS::Topic')
        .filter(([id]) => id.startsWith('Sweeps'))
        .map(([id]) => id),
      'continuation topic'
    );
  });

  it('adds the sweeper, the sweep queue, its two rules, the continuation topic and the event source, nothing else', () => {
    expect(addedTypes(off, on)).toEqual([
      'AWS::Events::Rule',
      'AWS::Events::Rule',
      'AWS::Lambda::EventSourceMapping',
      'AWS::Lambda::Function',
      'AWS::Logs::LogGroup',
      'AWS::SNS::Subscription',
      'AWS::SNS::Topic',
      'AWS::SNS::TopicPolicy',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
    ]);
  });

  it('keeps the sweep queue encrypted, apart from the deploy queue, with the shared dead-letter queue', () => {
    const queue = templateJson(on).Resources[sweepQueue]?.Properties ?? {};

    expect(queue).toEqual(
      expect.objectContaining({
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 720,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
      })
    );
  });

  it('routes only the sweep rule’s scheduled events from the central bus, and schedules its own Region', () => {
    const rules = resourcesOf(on, 'AWS::Events::Rule').filter(([id]) => id.startsWith('Sweeps'));
    const [, onBus] = only(
      rules.filter(([, r]) => r.Properties?.EventBusName !== undefined),
      'rule on the central bus'
    );
    const [, local] = only(
      rules.filter(([, r]) => r.Properties?.EventBusName === undefined),
      'local rule'
    );
    const pattern = onBus.Properties?.EventPattern as JsonValue;

    expect(matchesPattern(pattern, scheduledEvent('222222222222', 'eu-west-1'))).toBe(true);
    expect(matchesPattern(pattern, scheduledEvent('222222222222', 'eu-west-1', 'backup'))).toBe(
      false
    );
    expect(
      matchesPattern(pattern, { ...scheduledEvent('222222222222', 'eu-west-1'), source: 'acme' })
    ).toBe(false);
    expect(local.Properties).toEqual(
      expect.objectContaining({
        Name: 'lambda-ecr-autofix-sweep',
        ScheduleExpression: 'rate(1 day)',
      })
    );
    for (const [, rule] of [onBus, local].map((r) => ['', r] as const)) {
      expect(rule.Properties?.Targets).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [sweepQueue, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
        }),
      ]);
    }
  });

  it('lets only the two sweep rules and the continuation topic send to the sweep queue', () => {
    const [, policy] = only(
      resourcesOf(on, 'AWS::SQS::QueuePolicy').filter(([id]) => id.startsWith('Sweeps')),
      'sweep queue policy'
    );
    const statements = (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement;
    const senders = statements
      .filter((s) => s.Effect === 'Allow')
      .map((s) => [
        JSON.stringify(s.Principal),
        actionsOf(s).join(','),
        render(Object.values(s.Condition ?? {})[0]?.['aws:SourceArn']),
      ]);
    const rules = resourcesOf(on, 'AWS::Events::Rule')
      .filter(([id]) => id.startsWith('Sweeps'))
      .map(([id]) => `\${${id}.Arn}`)
      .sort();

    expect(senders.sort()).toEqual(
      [
        ...rules.map((rule) => [
          '{"Service":"events.amazonaws.com"}',
          'sqs:SendMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl',
          rule,
        ]),
        ['{"Service":"sns.amazonaws.com"}', 'sqs:SendMessage', `\${${topic}}`],
      ].sort()
    );
    expect(statements.filter((s) => s.Effect === 'Deny').map((s) => s.Condition)).toEqual([
      { Bool: { 'aws:SecureTransport': 'false' } },
    ]);
  });

  it('brings continuations back to the sweep queue through an encrypted topic', () => {
    const notificationKey = only(
      resourcesOf(on, 'AWS::KMS::Key').map(([id]) => id),
      'key'
    );

    expect(templateJson(on).Resources[topic]?.Properties?.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [notificationKey, 'Arn'],
    });
    const [, subscription] = only(
      resourcesOf(on, 'AWS::SNS::Subscription').filter(([, s]) => s.Properties?.Protocol === 'sqs'),
      'sqs subscription'
    );
    expect(subscription.Properties).toEqual(
      expect.objectContaining({
        RawMessageDelivery: true,
        Endpoint: { 'Fn::GetAtt': [sweepQueue, 'Arn'] },
        TopicArn: { Ref: topic },
      })
    );
  });

  it('feeds the sweeper one sweep at a time, at most two at once; the sweeper acts as the fixer role', () => {
    const [, mapping] = only(
      resourcesOf(on, 'AWS::Lambda::EventSourceMapping').filter(
        ([, m]) =>
          JSON.stringify(m.Properties?.EventSourceArn) ===
          JSON.stringify({ 'Fn::GetAtt': [sweepQueue, 'Arn'] })
      ),
      'sweep event source'
    );
    const [sweeperId, fn] = only(
      resourcesOf(on, 'AWS::Lambda::Function').filter(([id]) => id.startsWith('Sweeper')),
      'sweeper'
    );
    const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> })
      .Variables;

    expect(mapping.Properties).toEqual(
      expect.objectContaining({
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 2 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      })
    );
    expect(mapping.Properties?.FunctionName).toEqual({ Ref: sweeperId });
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
    expect(variables.SWEEP_CONTINUATION_TOPIC_ARN).toEqual({ Ref: topic });
  });

  it('gives the fixer role only what the sweeper needs: its logs, its queue, continuations, list functions', () => {
    const withSweep = described(statementsOfRole(on, fixerRole));
    const withoutSweep = described(statementsOfRole(off, roleId(off, 'LambdaEcrAutofixFixer')));

    expect(withSweep.filter((s) => !withoutSweep.includes(s))).toEqual(
      [
        `- Allow sns:Publish \${${topic}}`,
        `- Allow logs:CreateLogStream,logs:PutLogEvents \${${sweeperLogs}.Arn}`,
        `- Allow sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage \${${sweepQueue}.Arn}`,
        'FunctionInventory Allow lambda:ListFunctions *',
      ].sort()
    );
    expect(withoutSweep.filter((s) => !withSweep.includes(s))).toEqual([]);
  });
});
