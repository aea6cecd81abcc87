/**
 * Issue 13: a deployment that survives a real organization. StackSet updates that keep the registry role where it is,
 * member failures that cannot roll back the central stack, forwarding failures that reach the platform team, and the
 * smaller points (KMS actions are in provenance.test.ts; the replay command and the region warning are here).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Match, Template } from 'aws-cdk-lib/assertions';

import type { ConfigInput } from '../../lambda/domain/config';
import {
  WITHOUT_SWEEPS,
  assertNoWarning,
  assertWarning,
  buildApp,
  memberDeploymentOf,
  memberOf,
  resourcesOf,
  templateJson,
  type CfnTemplateJson,
} from './app-fixture';
import { evaluateCondition } from './cfn-conditions';
import { matchesPattern, type JsonValue } from './event-pattern-matcher';
import {
  ACCOUNT,
  MEMBER_ACCOUNT,
  REGION,
  allowing,
  arnOf,
  concrete,
  decide,
  type PolicyJson,
} from './policy-simulation';

const ALARM_EVENT = JSON.parse(
  fs.readFileSync(
    path.join(__dirname, '..', 'fixtures', 'alarms', 'member-forwarding-alarm.json'),
    'utf8'
  )
) as Record<string, JsonValue>;

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected exactly one ${what}, found ${items.length}.`);
  return items[0] as T;
}

function withRegions(regions: string[], registryRoleRegion = 'eu-west-1'): ConfigInput {
  return {
    ...WITHOUT_SWEEPS,
    memberDeployment: { organizationalUnitIds: ['r-ab12'], regions, registryRoleRegion },
  };
}

function stackSetOf(input: ConfigInput, env?: { account: string; region: string }) {
  const built = buildApp(input, { env });
  const [, stackSet] = only(
    resourcesOf(Template.fromStack(memberDeploymentOf(built)), 'AWS::CloudFormation::StackSet'),
    'StackSet'
  );
  return { built, props: stackSet.Properties ?? {} };
}

describe('1. the registry role keeps its home region when the region list changes', () => {
  /** The regions of a member account whose stack instance creates the (account-global) registry role. */
  function roleRegions(input: ConfigInput): string[] {
    const { props } = stackSetOf(input);
    const member = JSON.parse(props.TemplateBody as string) as CfnTemplateJson;
    const parameters = Object.fromEntries(
      (props.Parameters as Array<{ ParameterKey: string; ParameterValue: unknown }>).map((p) => [
        p.ParameterKey,
        p.ParameterValue,
      ])
    );
    const [, role] = only(
      Object.entries(member.Resources).filter(
        ([, r]) => r.Properties?.RoleName === 'LambdaEcrAutofixRegistryAccess'
      ),
      'registry role'
    );
    const regions = (props.StackInstancesGroup as Array<{ Regions: string[] }>)[0]?.Regions ?? [];
    return regions.filter((region) =>
      evaluateCondition(
        { Condition: role.Condition },
        {
          conditions: member.Conditions ?? {},
          refs: {
            'AWS::AccountId': MEMBER_ACCOUNT,
            'AWS::Region': region,
            CentralAccountId: ACCOUNT,
            CentralRegion: REGION,
            RegistryRoleRegion: parameters.RegistryRoleRegion as string,
          },
        }
      )
    );
  }

  it.each([
    ['the original list', ['eu-west-1', 'us-east-1']],
    ['the list reordered', ['us-east-1', 'eu-west-1']],
    ['a region added in front', ['ap-southeast-2', 'eu-west-1', 'us-east-1']],
    ['another region dropped', ['eu-west-1']],
    ['another region dropped and one added', ['ap-southeast-2', 'eu-west-1']],
  ])('creates it in eu-west-1 only, with %s', (_what, regions) => {
    // Act
    const created = roleRegions(withRegions(regions));

    // Assert
    expect(created).toEqual(['eu-west-1']);
  });

  it('passes the configured region as the StackSet parameter, whatever the order', () => {
    // Act
    const parameters = [
      ['eu-west-1', 'us-east-1'],
      ['us-east-1', 'eu-west-1'],
    ].map((regions) => stackSetOf(withRegions(regions)).props.Parameters);

    // Assert
    expect(parameters[1]).toEqual(parameters[0]);
    expect(parameters[0]).toContainEqual({
      ParameterKey: 'RegistryRoleRegion',
      ParameterValue: 'eu-west-1',
    });
  });

  it('refuses at synth time a list that drops the home region, instead of moving the role', () => {
    // Act
    const act = () => buildApp(withRegions(['us-east-1'], 'eu-west-1'));

    // Assert
    expect(act).toThrow(
      /"memberDeployment\.registryRoleRegion" must be one of "regions" \(us-east-1\)/
    );
  });
});

describe('2. one bad account does not roll back the central stack', () => {
  it('lets every member instance fail without failing the StackSet operation', () => {
    // Act
    const { props } = stackSetOf(WITHOUT_SWEEPS);

    // Assert
    expect(props.OperationPreferences).toEqual({
      ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE',
      FailureTolerancePercentage: 100,
      MaxConcurrentPercentage: 100,
      RegionConcurrencyType: 'PARALLEL',
    });
    expect(props.ManagedExecution).toEqual({ Active: true });
  });

  it('keeps the StackSet out of the central stack, in a stack deployed after it', () => {
    // Arrange
    const built = buildApp(WITHOUT_SWEEPS);
    const assembly = built.app.synth();

    // Act
    const deployment = assembly.getStackByName('LambdaEcrAutofixMemberDeployment');

    // Assert
    expect(JSON.stringify(Template.fromStack(built.stacks.central).toJSON())).not.toContain(
      'AWS::CloudFormation::StackSet'
    );
    expect(deployment.dependencies.map((d) => d.id)).toContain('LambdaEcrAutofix');
    expect(assembly.stacks.map((s) => s.stackName)).toEqual([
      'LambdaEcrAutofix',
      'LambdaEcrAutofixMemberDeployment',
    ]);
  });

  it('deploys to the units and regions of the configuration, as a delegated administrator by default', () => {
    // Arrange
    const { built, props } = stackSetOf(WITHOUT_SWEEPS);

    // Assert
    expect(props).toEqual(
      expect.objectContaining({
        StackSetName: 'lambda-ecr-autofix-member',
        PermissionModel: 'SERVICE_MANAGED',
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
        CallAs: { Ref: 'StackSetCallAs' },
        Capabilities: ['CAPABILITY_NAMED_IAM'],
        StackInstancesGroup: [
          {
            DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-cdef3456', 'ou-ab12-ghij7890'] },
            Regions: ['eu-west-1', 'us-east-1'],
          },
        ],
        Parameters: [
          { ParameterKey: 'CentralAccountId', ParameterValue: { Ref: 'AWS::AccountId' } },
          { ParameterKey: 'CentralRegion', ParameterValue: { Ref: 'AWS::Region' } },
          { ParameterKey: 'RegistryRoleRegion', ParameterValue: 'eu-west-1' },
        ],
      })
    );
    Template.fromStack(memberDeploymentOf(built)).hasParameter('StackSetCallAs', {
      Default: 'DELEGATED_ADMIN',
      AllowedValues: ['DELEGATED_ADMIN', 'SELF'],
    });
  });
});

describe('3. a member account that cannot forward tells the platform team', () => {
  let member: CfnTemplateJson;
  let central: CfnTemplateJson;
  const place = { account: MEMBER_ACCOUNT, region: 'us-east-1' };
  const parameters = { CentralAccountId: ACCOUNT, CentralRegion: REGION };

  beforeAll(() => {
    const built = buildApp(WITHOUT_SWEEPS);
    member = templateJson(Template.fromStack(memberOf(built)));
    central = templateJson(Template.fromStack(built.stacks.central));
  });

  const memberId = (type: string, test: (p: Record<string, unknown>) => boolean, what: string) =>
    only(
      Object.entries(member.Resources)
        .filter(([, r]) => r.Type === type && test(r.Properties ?? {}))
        .map(([id]) => id),
      what
    );

  it('alarms in the member account as soon as an event waits in the forwarding dead-letter queue', () => {
    // Arrange
    const dlq = memberId('AWS::SQS::Queue', () => true, 'member DLQ');
    const [, alarm] = only(
      resourcesOf(Template.fromJSON(member), 'AWS::CloudWatch::Alarm'),
      'alarm'
    );

    // Assert
    expect(alarm.Condition).toBe('ForwardEvents');
    expect(alarm.Properties).toEqual(
      expect.objectContaining({
        AlarmName: 'lambda-ecr-autofix-forwarding-failed',
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      })
    );
    expect(String(alarm.Properties?.AlarmDescription)).toMatch(/Tell the platform team/);
  });

  it("forwards the alarm's state change to the central bus, with the forwarder's role and dead-letter queue", () => {
    // Arrange
    const alarmRule = memberId(
      'AWS::Events::Rule',
      (p) => JSON.stringify(p).includes('aws.cloudwatch'),
      'alarm rule'
    );
    const forwardRule = memberId(
      'AWS::Events::Rule',
      (p) => JSON.stringify(p).includes('aws.lambda'),
      'forward rule'
    );
    const rule = member.Resources[alarmRule]?.Properties ?? {};
    const pattern = concrete(rule.EventPattern as JsonValue, member, parameters, place);

    // Assert
    expect(matchesPattern(pattern, ALARM_EVENT)).toBe(true);
    expect(
      matchesPattern(pattern, {
        ...ALARM_EVENT,
        detail: { ...(ALARM_EVENT.detail as object), state: { value: 'OK' } },
      })
    ).toBe(false);
    expect(
      matchesPattern(pattern, {
        ...ALARM_EVENT,
        resources: ['arn:aws:cloudwatch:us-east-1:222222222222:alarm:other'],
      })
    ).toBe(false);
    expect(member.Resources[alarmRule]?.Condition).toBe('ForwardEvents');
    expect(rule.Targets).toEqual(member.Resources[forwardRule]?.Properties?.Targets);
  });

  it('lets only the three forwarding rules put messages in the member dead-letter queue', async () => {
    // Arrange
    const dlq = memberId('AWS::SQS::Queue', () => true, 'member DLQ');
    const [, queuePolicy] = only(
      resourcesOf(Template.fromJSON(member), 'AWS::SQS::QueuePolicy'),
      'queue policy'
    );
    const policy = concrete(
      queuePolicy.Properties?.PolicyDocument as PolicyJson,
      member,
      parameters,
      place
    );
    const rules = resourcesOf(Template.fromJSON(member), 'AWS::Events::Rule').map(([id]) =>
      arnOf(member, id, place)
    );
    const send = (
      principal: string,
      context: Record<string, string>,
      identity: PolicyJson[] = []
    ) =>
      decide({
        principal,
        action: 'sqs:SendMessage',
        resource: arnOf(member, dlq, place),
        resourceAccount: MEMBER_ACCOUNT,
        context,
        identityPolicies: identity,
        resourcePolicy: policy,
      });
    const app = `arn:aws:iam::${MEMBER_ACCOUNT}:role/SomeApplication`;

    // Act
    const decisions = await Promise.all([
      ...rules.map((rule) =>
        send('events.amazonaws.com', { 'aws:SourceArn': rule, 'aws:SourceAccount': MEMBER_ACCOUNT })
      ),
      send('events.amazonaws.com', {
        'aws:SourceArn': `arn:aws:events:us-east-1:${MEMBER_ACCOUNT}:rule/other`,
        'aws:SourceAccount': MEMBER_ACCOUNT,
      }),
      send(
        app.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + '/s',
        { 'aws:PrincipalArn': app },
        [allowing('sqs:SendMessage')]
      ),
    ]);

    // Assert: the failed-deploy rule, the drift guard's rule and the alarm rule.
    expect(rules).toHaveLength(3);
    expect(decisions).toEqual([
      'Allowed',
      'Allowed',
      'Allowed',
      'ExplicitlyDenied',
      'ExplicitlyDenied',
    ]);
  });

  it('e-mails the forwarded alarm from the central bus through the notification topic', async () => {
    // Arrange
    const [ruleId, rule] = only(
      resourcesOf(Template.fromJSON(central), 'AWS::Events::Rule').filter(([, r]) =>
        JSON.stringify(r.Properties?.EventPattern).includes('aws.cloudwatch')
      ),
      'member alarm rule'
    );
    const [topicId] = only(resourcesOf(Template.fromJSON(central), 'AWS::SNS::Topic'), 'topic');
    const [, topicPolicy] = only(
      resourcesOf(Template.fromJSON(central), 'AWS::SNS::TopicPolicy'),
      'topic policy'
    );
    const pattern = rule.Properties?.EventPattern as JsonValue;
    const target = (rule.Properties?.Targets as Array<Record<string, unknown>>)[0] ?? {};
    const transformer = target.InputTransformer as {
      InputPathsMap: Record<string, string>;
      InputTemplate: string;
    };
    const publish = (ruleArn: string) =>
      decide({
        principal: 'events.amazonaws.com',
        action: 'sns:Publish',
        resource: arnOf(central, topicId),
        context: { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': ACCOUNT },
        resourcePolicy: concrete(topicPolicy.Properties?.PolicyDocument as PolicyJson, central),
      });

    // Act
    const decisions = await Promise.all([
      publish(arnOf(central, ruleId)),
      publish(`arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix/SomeoneElses`),
    ]);

    // Assert
    expect(rule.Properties?.EventBusName).toEqual({
      Ref: expect.stringMatching(/^EventBus/) as string,
    });
    expect(matchesPattern(pattern, ALARM_EVENT)).toBe(true);
    expect(
      matchesPattern(pattern, {
        ...ALARM_EVENT,
        detail: { ...(ALARM_EVENT.detail as object), alarmName: 'x' },
      })
    ).toBe(false);
    expect(target.Arn).toEqual({ Ref: topicId });
    expect(transformer.InputPathsMap).toEqual(
      expect.objectContaining({ account: '$.account', region: '$.region' })
    );
    expect(transformer.InputTemplate).toMatch(
      /account <account> could not forward .* region <region>/
    );
    // Another rule is refused by the topic policy's Deny, which admits only the project's own publishers.
    expect(decisions).toEqual(['Allowed', 'ExplicitlyDenied']);
  });
});

describe('4. smaller points', () => {
  it("names both queues in the dead-letter queue output's replay command", () => {
    // Arrange
    const central = templateJson(Template.fromStack(buildApp(WITHOUT_SWEEPS).stacks.central));
    const outputs = (
      central as unknown as { Outputs: Record<string, { Description?: string; Value: unknown }> }
    ).Outputs;
    const queue = only(
      Object.entries(central.Resources)
        .filter(
          ([, r]) => r.Type === 'AWS::SQS::Queue' && r.Properties?.RedrivePolicy !== undefined
        )
        .map(([id]) => id),
      'work queue'
    );
    const dlq = only(
      Object.entries(central.Resources)
        .filter(
          ([, r]) => r.Type === 'AWS::SQS::Queue' && r.Properties?.RedrivePolicy === undefined
        )
        .map(([id]) => id),
      'dead-letter queue'
    );

    // Assert
    expect(outputs.DeadLetterQueueArn?.Description).toMatch(
      /aws sqs start-message-move-task --source-arn <DeadLetterQueueArn> --destination-arn <QueueArn>/
    );
    expect(concrete(outputs.ReplayCommand?.Value, central)).toBe(
      `aws sqs start-message-move-task --source-arn ${arnOf(central, dlq)} --destination-arn ${arnOf(central, queue)} ` +
        '--max-number-of-messages-per-second 10'
    );
    expect(outputs.ReplayRoleArn?.Value).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^QueueReplayRole/) as string, 'Arn'],
    });
  });

  it('warns at synth time when the central region is not among the member regions', () => {
    // Act
    const { built } = stackSetOf(WITHOUT_SWEEPS, { account: ACCOUNT, region: 'eu-central-1' });

    // Assert
    assertWarning(
      memberDeploymentOf(built),
      '/LambdaEcrAutofixMemberDeployment/Default',
      Match.stringLikeRegexp(
        'The central region eu-central-1 is not in memberDeployment.regions \\(eu-west-1, us-east-1\\).*Add "eu-central-1"'
      )
    );
  });

  it.each([
    ['a member region', { account: ACCOUNT, region: 'us-east-1' }],
    ['unknown at synth time', undefined],
  ])('does not warn when the central region is %s', (_what, env) => {
    // Act
    const { built } = stackSetOf(WITHOUT_SWEEPS, env);

    // Assert
    assertNoWarning(memberDeploymentOf(built), '*', Match.stringLikeRegexp('central region'));
  });
});
