/**
 * The central forwarding heartbeat (issue 13, point 3): an alarm in the central account on the member accounts'
 * scheduled sweep requests, which notifies the topic when none has crossed the organization to the central bus for
 * about two schedule intervals. Its window follows `sweepSchedule`; none when sweeps are off, without an organization,
 * or when the schedule is too sparse or irregular for CloudWatch (with a synth warning).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';

import { LambdaEcrAutofix } from '../../lib';
import {
  describeMinutes,
  forwardingHeartbeatWindow,
  type HeartbeatWindow,
} from '../../lib/forwarding-heartbeat-window';
import {
  ORGANIZATION_CONFIG,
  WITHOUT_SWEEPS,
  buildApp,
  render,
  resourcesOf,
  type CfnResourceJson,
} from './app-fixture';
import { matchesPattern, type JsonValue } from './event-pattern-matcher';

const CENTRAL_ACCOUNT = '111111111111';
const MEMBER_ACCOUNT = '222222222222';
const WARNING_ID = 'lambda-ecr-autofix:no-forwarding-heartbeat';

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected exactly one ${what}, found ${items.length}.`);
  return items[0] as T;
}

function heartbeatAlarms(template: Template): Array<[string, CfnResourceJson]> {
  return resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(([id]) =>
    id.startsWith('ForwardingHeartbeat')
  );
}

/** A `LambdaEcrAutofix` of its own, in a stack of its own (no member stacks to synthesize). */
function construct(props: ConstructorParameters<typeof LambdaEcrAutofix>[2]): {
  stack: Stack;
  autofix: LambdaEcrAutofix;
} {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Central');
  const autofix = new LambdaEcrAutofix(stack, 'Autofix', props);
  return { stack, autofix };
}

/** Evaluates the `Fn::Select`/`Fn::Split` of the `RuleName` dimension on a given rule ARN. */
function ruleNameFrom(dimension: unknown, ruleArn: string): string {
  const select = (dimension as { 'Fn::Select': [number, { 'Fn::Split': [string, unknown] }] })[
    'Fn::Select'
  ];
  const [index, { 'Fn::Split': split }] = select;
  return ruleArn.split(split[0])[index] as string;
}

/** A scheduled event of the member stacks' sweep rule, as it arrives on the central bus. */
const sweepRequest = (account: string, region: string) => ({
  version: '0',
  id: '0f2b1c3d-4e5f-6789-abcd-ef0123456789',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account,
  time: '2026-03-03T03:00:00Z',
  region,
  resources: [`arn:aws:events:${region}:${account}:rule/lambda-ecr-autofix-sweep`],
  detail: {},
});

describe('the forwarding heartbeat window', () => {
  it.each([
    ['rate(1 hour)', 60, 2],
    ['rate(90 minutes)', 90, 3],
    ['rate(12 hours)', 12 * 60, 24],
    ['rate(1 day)', 24 * 60, 48],
    ['cron(0 3 * * ? *)', 24 * 60, 48],
    ['cron(0 */6 * * ? *)', 6 * 60, 12],
    ['rate(3 days)', 3 * 24 * 60, 96],
    ['cron(0 3 ? * MON-FRI *)', 3 * 24 * 60, 96],
    ['rate(6 days)', 6 * 24 * 60, 168],
  ])(
    '%s: the longest gap (%i minutes) plus as much again, at most a day, in hours (%i)',
    (schedule, gapMinutes, hours) => {
      const window = forwardingHeartbeatWindow(schedule) as HeartbeatWindow;

      expect(window.kind).toBe('window');
      expect(window.scheduleGap.toMinutes()).toBe(gapMinutes);
      expect(window.period.toSeconds()).toBe(3600);
      expect(window.evaluationPeriods).toBe(hours);
      expect(window.window.toHours()).toBe(hours);
      // CloudWatch: period × evaluation periods ≤ 7 days for periods of an hour or more.
      expect(window.period.toSeconds() * window.evaluationPeriods).toBeLessThanOrEqual(604_800);
      // No false alarm in steady state: the window always holds a whole schedule gap and some slack.
      expect(window.window.toMinutes()).toBeGreaterThan(gapMinutes);
    }
  );

  it.each([
    [
      'rate(7 days)',
      /as rarely as every 7 days.*wait 8 days, more than the 7 days CloudWatch allows/,
    ],
    ['cron(0 3 ? * MON *)', /as rarely as every 7 days/],
    ['rate(8700 minutes)', /as rarely as every 145 hours.*wait 169 hours/],
    ['cron(0 4 1 * ? *)', /depends on the calendar/],
    ['cron(0 4 L * ? *)', /depends on the calendar/],
  ])('%s: no alarm, and why', (schedule, reason) => {
    const result = forwardingHeartbeatWindow(schedule);

    expect(result.kind).toBe('none');
    expect(result.kind === 'none' ? result.reason : '').toMatch(reason);
  });

  it.each([
    [60, '1 hour'],
    [90, '90 minutes'],
    [36 * 60, '36 hours'],
    [24 * 60, '1 day'],
    [2 * 24 * 60, '2 days'],
  ])('describes %i minutes as %s', (minutes, text) => {
    expect(describeMinutes(minutes)).toBe(text);
  });
});

describe('the forwarding heartbeat alarm of an organization-wide installation', () => {
  let template: Template;
  let alarmId: string;
  let alarm: CfnResourceJson;
  let topic: string;

  beforeAll(() => {
    template = Template.fromStack(buildApp(ORGANIZATION_CONFIG).stacks.central);
    [alarmId, alarm] = only(heartbeatAlarms(template), 'heartbeat alarm');
    topic = only(
      resourcesOf(template, 'AWS::SNS::Topic')
        .filter(([id]) => id.startsWith('Notifications'))
        .map(([id]) => id),
      'notification topic'
    );
  });

  it('counts the member accounts’ sweep requests the central bus matched, hour by hour, for two days', () => {
    const organizationRule = only(
      resourcesOf(template, 'AWS::Events::Rule')
        .filter(([id]) => id.startsWith('SweepsOrganizationRule'))
        .map(([id]) => id),
      'organization sweep rule'
    );
    const properties = alarm.Properties ?? {};

    expect(properties).toEqual(
      expect.objectContaining({
        AlarmName: 'LambdaEcrAutofix-forwarding-heartbeat-lost',
        Namespace: 'AWS/Events',
        MetricName: 'MatchedEvents',
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 48,
        DatapointsToAlarm: 48,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'missing',
      })
    );
    const dimensions = properties['Dimensions'] as Array<{ Name: string; Value: unknown }>;
    expect(dimensions.map((d) => d.Name)).toEqual(['EventBusName', 'RuleName']);
    expect(dimensions[0]?.Value).toBe('lambda-ecr-autofix');
    const ruleName = dimensions[1]?.Value;
    expect(JSON.stringify(ruleName)).toContain(`["${organizationRule}","Arn"]`);
    expect(
      ruleNameFrom(
        ruleName,
        `arn:aws:events:eu-west-1:${CENTRAL_ACCOUNT}:rule/lambda-ecr-autofix/LambdaEcrAutofix-SweepsOrganizationRule-1A2B3C`
      )
    ).toBe('LambdaEcrAutofix-SweepsOrganizationRule-1A2B3C');
  });

  it('notifies the topic when it fires and when no datapoint is left (INSUFFICIENT_DATA), not when it recovers', () => {
    expect(alarm.Properties?.['AlarmActions']).toEqual([{ Ref: topic }]);
    expect(alarm.Properties?.['InsufficientDataActions']).toEqual([{ Ref: topic }]);
    expect(alarm.Properties?.['OKActions']).toBeUndefined();
  });

  it('is admitted by the topic policy, which refuses alarms it does not name', () => {
    const policies = resourcesOf(template, 'AWS::SNS::TopicPolicy').filter(
      ([, policy]) =>
        JSON.stringify(policy.Properties?.['Topics']) === JSON.stringify([{ Ref: topic }])
    );
    const rendered = policies.map(([, policy]) => render(policy.Properties?.['PolicyDocument']));

    expect(rendered.some((text) => text.includes(alarmId))).toBe(true);
  });

  it('tells the on-call engineer what to check', () => {
    const description = alarm.Properties?.['AlarmDescription'] as string;

    expect(description.length).toBeLessThanOrEqual(1024);
    for (const check of [
      'rate(1 day)',
      'for 2 days',
      'INSUFFICIENT_DATA',
      'organizationId',
      'aws:PrincipalOrgID',
      'CentralRegion',
      'list-stack-instances',
      'events:PutEvents',
      'dead-letter queues',
      'lambda-ecr-autofix-forwarding-failed',
      'docs/operations.md',
    ]) {
      expect(description).toContain(check);
    }
  });

  it('hears only requests that crossed the organization: this account’s other Regions have a rule of their own', () => {
    const rules = resourcesOf(template, 'AWS::Events::Rule').filter(
      ([id, rule]) => id.startsWith('Sweeps') && rule.Properties?.['EventBusName'] !== undefined
    );
    const patternOf = (prefix: string): JsonValue =>
      JSON.parse(
        JSON.stringify(
          only(
            rules.filter(([id]) => id.startsWith(prefix)),
            prefix
          )[1].Properties?.['EventPattern']
        ).replaceAll('{"Ref":"AWS::AccountId"}', `"${CENTRAL_ACCOUNT}"`)
      ) as JsonValue;
    const organization = patternOf('SweepsOrganizationRule');
    const centralAccount = patternOf('SweepsCentralAccountRule');

    expect(rules).toHaveLength(2);
    expect(matchesPattern(organization, sweepRequest(MEMBER_ACCOUNT, 'eu-west-1'))).toBe(true);
    expect(matchesPattern(organization, sweepRequest(CENTRAL_ACCOUNT, 'us-east-1'))).toBe(false);
    expect(matchesPattern(centralAccount, sweepRequest(CENTRAL_ACCOUNT, 'us-east-1'))).toBe(true);
    expect(matchesPattern(centralAccount, sweepRequest(MEMBER_ACCOUNT, 'eu-west-1'))).toBe(false);
  });

  it('synthesizes without a heartbeat warning', () => {
    const stack = buildApp(ORGANIZATION_CONFIG).stacks.central;

    expect(
      Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(WARNING_ID))
    ).toEqual([]);
  });
});

describe('the forwarding heartbeat alarm follows the configuration', () => {
  it.each([
    ['rate(1 hour)', 2],
    ['rate(12 hours)', 24],
    ['cron(0 3 ? * MON-FRI *)', 96],
    ['rate(6 days)', 168],
  ])('sweepSchedule %s: %i one-hour periods', (sweepSchedule, periods) => {
    const { stack, autofix } = construct({ organizationId: 'o-a1b2c3d4e5', sweepSchedule });
    const [, alarm] = only(
      resourcesOf(Template.fromStack(stack), 'AWS::CloudWatch::Alarm').filter(([id]) =>
        id.startsWith('AutofixForwardingHeartbeat')
      ),
      'heartbeat alarm'
    );

    expect(alarm.Properties).toEqual(
      expect.objectContaining({
        Period: 3600,
        EvaluationPeriods: periods,
        DatapointsToAlarm: periods,
      })
    );
    expect(autofix.forwardingHeartbeatAlarm).toBeDefined();
    expect(autofix.forwardingHeartbeatAlarm?.node.path).toBe('Central/Autofix/ForwardingHeartbeat');
  });

  it.each([
    ['rate(7 days)', 'more than the 7 days CloudWatch allows'],
    ['cron(0 3 ? * SUN *)', 'more than the 7 days CloudWatch allows'],
    ['cron(0 4 1 * ? *)', 'depends on the calendar'],
  ])('sweepSchedule %s: no alarm, and a synth warning that says why', (sweepSchedule, why) => {
    const { stack, autofix } = construct({ organizationId: 'o-a1b2c3d4e5', sweepSchedule });
    const warnings = Annotations.fromStack(stack).findWarning(
      '/Central/Autofix',
      Match.stringLikeRegexp(WARNING_ID)
    );

    expect(heartbeatAlarms(Template.fromStack(stack))).toEqual([]);
    expect(
      resourcesOf(Template.fromStack(stack), 'AWS::CloudWatch::Alarm').map(([id]) => id)
    ).not.toEqual(expect.arrayContaining([expect.stringContaining('Heartbeat')]));
    expect(autofix.forwardingHeartbeatAlarm).toBeUndefined();
    expect(warnings).toHaveLength(1);
    const text = JSON.stringify(warnings[0]?.entry.data);
    expect(text).toContain(why);
    expect(text).toContain('Forwarding heartbeat');
  });

  it('has nothing to hear with sweepSchedule "off": no alarm, no warning', () => {
    const built = buildApp(WITHOUT_SWEEPS);
    const template = Template.fromStack(built.stacks.central);

    expect(resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([id]) => id)).not.toEqual(
      expect.arrayContaining([expect.stringContaining('Heartbeat')])
    );
    expect(
      Annotations.fromStack(built.stacks.central).findWarning(
        '*',
        Match.stringLikeRegexp(WARNING_ID)
      )
    ).toEqual([]);
  });

  it('has nothing to hear without an organization: no member account can forward', () => {
    const { stack, autofix } = construct({});

    expect(
      resourcesOf(Template.fromStack(stack), 'AWS::CloudWatch::Alarm').map(([id]) => id)
    ).not.toEqual(expect.arrayContaining([expect.stringContaining('Heartbeat')]));
    expect(autofix.forwardingHeartbeatAlarm).toBeUndefined();
  });
});
