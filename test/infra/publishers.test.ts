/**
 * Who may publish to the two topics of the central stack, evaluated with iam-simulate (test/infra/policy-simulation.ts):
 *
 * - the sweep continuation topic feeds the sweep queue: a continuation names the account and Region to sweep next (with
 *   `sweepAction: "fix"` the sweeper then writes policies there) and carries the digest that ends in the e-mail;
 * - the notification topic e-mails the platform team, who read it as the product's word: a forged notice is phishing.
 *
 * Both admit exactly their senders: a principal of the central account whose own policy allows `sns:*` (or `*`) is
 * refused by an explicit `Deny`. And no resource policy of any template relies on `lambda:SourceFunctionArn`, which
 * AWS documents for identity-based policies and SCPs only.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';

import { LambdaEcrAutofix, type LambdaEcrAutofixProps } from '../../lib';
import {
  ORGANIZATION_CONFIG,
  WITHOUT_SWEEPS,
  buildApp,
  memberOf,
  memberTemplateOf,
  resourcesOf,
  statementsOfRole,
  templateJson,
  type CfnTemplateJson,
} from './app-fixture';
import {
  ACCOUNT,
  MEMBER_ACCOUNT,
  REGION,
  allowing,
  arnOf,
  assertNoSourceFunctionArn,
  concrete,
  decide,
  type Decision,
  type PolicyJson,
} from './policy-simulation';

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected exactly one ${what}, found ${items.length}.`);
  return items[0] as T;
}

/** `LambdaEcrAutofix` props of an organization-wide installation without sweeps or StackSet. */
const LIBRARY_PROPS: LambdaEcrAutofixProps = {
  organizationId: 'o-a1b2c3d4e5',
  sweepSchedule: 'off',
  notificationEmails: ['ops@example.com'],
};

const session = (roleArn: string, name = 'session'): string =>
  roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + `/${name}`;

/** The id of the one resource of `type` whose id starts with `prefix` (the construct path). */
function idOf(template: CfnTemplateJson, type: string, prefix: string): string {
  return only(
    Object.entries(template.Resources)
      .filter(([id, r]) => r.Type === type && id.startsWith(prefix))
      .map(([id]) => id),
    `${type} ${prefix}`
  );
}

/** The policy of a topic, as deployed. */
function topicPolicyOf(template: CfnTemplateJson, topicId: string): PolicyJson {
  const [, policy] = only(
    Object.entries(template.Resources).filter(
      ([, r]) =>
        r.Type === 'AWS::SNS::TopicPolicy' &&
        JSON.stringify(r.Properties?.Topics) === JSON.stringify([{ Ref: topicId }])
    ),
    `policy of ${topicId}`
  );
  return concrete(policy.Properties?.PolicyDocument as PolicyJson, template);
}

interface Publish {
  readonly principal: string;
  readonly context?: Record<string, string>;
  readonly identity?: PolicyJson[];
}

describe('who may publish to the topics of the central stack', () => {
  let central: CfnTemplateJson;
  let ids: {
    fixerRole: string;
    fixer: string;
    sweeper: string;
    notifications: string;
    continuations: string;
    sweepQueue: string;
    memberAlarmRule: string;
  };

  beforeAll(() => {
    central = templateJson(Template.fromStack(buildApp(ORGANIZATION_CONFIG).stacks.central));
    ids = {
      fixerRole: only(
        Object.entries(central.Resources)
          .filter(([, r]) => r.Properties?.RoleName === 'LambdaEcrAutofixFixer')
          .map(([id]) => id),
        'fixer role'
      ),
      fixer: idOf(central, 'AWS::Lambda::Function', 'FixerFunction'),
      sweeper: idOf(central, 'AWS::Lambda::Function', 'SweeperFunction'),
      notifications: idOf(central, 'AWS::SNS::Topic', 'NotificationsTopic'),
      continuations: idOf(central, 'AWS::SNS::Topic', 'SweepsContinuationTopic'),
      sweepQueue: idOf(central, 'AWS::SQS::Queue', 'SweepsQueue'),
      memberAlarmRule: idOf(central, 'AWS::Events::Rule', 'MemberAlarmRule'),
    };
  });

  const fixerIdentity = (): PolicyJson[] =>
    statementsOfRole(Template.fromJSON(central), ids.fixerRole).map((statement) =>
      concrete({ Version: '2012-10-17', Statement: [statement] }, central)
    );
  const publish = (topicId: string, request: Publish): Promise<Decision> =>
    decide({
      principal: request.principal,
      action: 'sns:Publish',
      resource: arnOf(central, topicId),
      context: request.context,
      identityPolicies: request.identity,
      resourcePolicy: topicPolicyOf(central, topicId),
    });
  /** The fixer role, from the code of `functionId` (none: its credentials used anywhere else). */
  const fixerRole = (functionId?: string, identity?: PolicyJson[]): Publish => {
    const role = arnOf(central, ids.fixerRole);
    return {
      principal: session(role),
      context: {
        'aws:PrincipalArn': role,
        ...(functionId === undefined
          ? {}
          : { 'lambda:SourceFunctionArn': arnOf(central, functionId) }),
      },
      identity: identity ?? fixerIdentity(),
    };
  };
  /** Principals of the central account whose own policies let them publish anywhere. */
  const otherPrincipals = (): Publish[] => {
    const app = `arn:aws:iam::${ACCOUNT}:role/SomeApplication`;
    const admin = `arn:aws:iam::${ACCOUNT}:user/admin`;
    return [
      {
        principal: session(app),
        context: { 'aws:PrincipalArn': app },
        identity: [allowing('sns:*', 'kms:*')],
      },
      { principal: admin, context: { 'aws:PrincipalArn': admin }, identity: [allowing('*')] },
      // The replay role may send to the queues, not publish.
      {
        principal: session(arnOf(central, idOf(central, 'AWS::IAM::Role', 'QueueReplayRole'))),
        context: {
          'aws:PrincipalArn': arnOf(central, idOf(central, 'AWS::IAM::Role', 'QueueReplayRole')),
        },
        identity: [allowing('sns:Publish')],
      },
    ];
  };

  describe('the sweep continuation topic', () => {
    it('denies every principal but the fixer role, in its policy', () => {
      // Arrange
      const policy = topicPolicyOf(central, ids.continuations);

      // Assert
      expect(policy.Statement).toContainEqual({
        Sid: 'OnlyTheSweeperPublishes',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sns:Publish',
        Resource: arnOf(central, ids.continuations),
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': arnOf(central, ids.fixerRole) } },
      });
      expect(
        (policy.Statement as Array<{ Effect: string }>).filter((s) => s.Effect === 'Allow')
      ).toEqual([]);
    });

    it('refuses a forged continuation from a central-account principal allowed sns:* or *', async () => {
      // Act
      const decisions = await Promise.all(
        otherPrincipals().map((p) => publish(ids.continuations, p))
      );

      // Assert
      expect(decisions).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied', 'ExplicitlyDenied']);
    });

    it("lets the sweeper's code publish, and the fixer role nowhere else", async () => {
      // Act
      const decisions = await Promise.all([
        publish(ids.continuations, fixerRole(ids.sweeper)),
        publish(ids.continuations, fixerRole(ids.fixer)),
        publish(ids.continuations, fixerRole()),
      ]);

      // Assert
      expect(decisions).toEqual(['Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
    });

    it('still delivers continuations to the sweep queue, and only this topic does', async () => {
      // Arrange
      const [, queuePolicy] = only(
        resourcesOf(Template.fromJSON(central), 'AWS::SQS::QueuePolicy').filter(
          ([, p]) =>
            JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: ids.sweepQueue }])
        ),
        'sweep queue policy'
      );
      const deliver = (topicArn: string) =>
        decide({
          principal: 'sns.amazonaws.com',
          action: 'sqs:SendMessage',
          resource: arnOf(central, ids.sweepQueue),
          context: { 'aws:SourceArn': topicArn, 'aws:SourceAccount': ACCOUNT },
          resourcePolicy: concrete(queuePolicy.Properties?.PolicyDocument as PolicyJson, central),
        });

      // Act
      const decisions = await Promise.all([
        deliver(arnOf(central, ids.continuations)),
        deliver(`arn:aws:sns:${REGION}:${ACCOUNT}:SomeOtherTopic`),
      ]);

      // Assert
      expect(decisions).toEqual(['Allowed', 'ExplicitlyDenied']);
    });
  });

  describe('the notification topic', () => {
    const alarmIds = (): string[] =>
      Object.entries(central.Resources)
        .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
        .map(([id]) => id);
    const fromAlarm = (alarmArn: string, account = ACCOUNT): Publish => ({
      principal: 'cloudwatch.amazonaws.com',
      context: { 'aws:SourceArn': alarmArn, 'aws:SourceAccount': account },
    });
    const fromRule = (ruleArn: string): Publish => ({
      principal: 'events.amazonaws.com',
      context: { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': ACCOUNT },
    });

    it('names its publishers in a Deny for everyone else: the alarms, the member-alarm rule, the fixer role', () => {
      // Arrange
      const deny = only(
        (
          topicPolicyOf(central, ids.notifications).Statement as Array<Record<string, unknown>>
        ).filter((s) => s.Sid === 'OnlyTheAdmittedPublishersPublish'),
        'publisher Deny'
      );
      const exceptions = (deny.Condition as { ArnNotEquals: Record<string, string[]> })
        .ArnNotEquals;

      // Assert
      expect(deny).toEqual(
        expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sns:Publish' })
      );
      expect([...(exceptions['aws:SourceArn'] ?? [])].sort()).toEqual(
        [ids.memberAlarmRule, ...alarmIds()].map((id) => arnOf(central, id)).sort()
      );
      expect(exceptions['aws:PrincipalArn']).toEqual([arnOf(central, ids.fixerRole)]);
    });

    it('admits every alarm of the stack that notifies it, and only those', () => {
      // Arrange: the alarms whose actions name the topic.
      const notifying = Object.entries(central.Resources)
        .filter(
          ([, r]) =>
            r.Type === 'AWS::CloudWatch::Alarm' &&
            JSON.stringify(r.Properties?.AlarmActions) ===
              JSON.stringify([{ Ref: ids.notifications }])
        )
        .map(([id]) => arnOf(central, id));
      const allow = only(
        (
          topicPolicyOf(central, ids.notifications).Statement as Array<Record<string, unknown>>
        ).filter((s) => s.Sid === 'CloudWatchAlarmsPublish'),
        'CloudWatch Allow'
      );

      // Assert: the five fixer alarms, the sweep's and the forwarding heartbeat.
      expect(notifying).toHaveLength(7);
      expect(allow.Condition).toEqual({
        ArnLike: { 'aws:SourceArn': notifying },
        StringEquals: { 'aws:SourceAccount': ACCOUNT },
      });
    });

    it('refuses a forged notice from a central-account principal allowed sns:* or *', async () => {
      // Act
      const decisions = await Promise.all(
        otherPrincipals().map((p) => publish(ids.notifications, p))
      );

      // Assert
      expect(decisions).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied', 'ExplicitlyDenied']);
    });

    it("lets the fixer's and the sweeper's code publish, and the fixer role nowhere else", async () => {
      // Act
      const decisions = await Promise.all([
        publish(ids.notifications, fixerRole(ids.fixer)),
        publish(ids.notifications, fixerRole(ids.sweeper)),
        publish(ids.notifications, {
          ...fixerRole(),
          context: {
            'aws:PrincipalArn': arnOf(central, ids.fixerRole),
            'lambda:SourceFunctionArn': `arn:aws:lambda:${REGION}:${ACCOUNT}:function:SomethingElse`,
          },
        }),
        publish(ids.notifications, fixerRole()),
      ]);

      // Assert
      expect(decisions).toEqual(['Allowed', 'Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
    });

    it('lets each of its own alarms publish, and no other alarm of this account or another', async () => {
      // Act
      const own = await Promise.all(
        alarmIds().map((id) => publish(ids.notifications, fromAlarm(arnOf(central, id))))
      );
      const others = await Promise.all([
        publish(
          ids.notifications,
          fromAlarm(`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:LambdaEcrAutofix-please-read-me`)
        ),
        publish(
          ids.notifications,
          fromAlarm(
            `arn:aws:cloudwatch:${REGION}:${MEMBER_ACCOUNT}:alarm:LambdaEcrAutofix-function-errors`,
            MEMBER_ACCOUNT
          )
        ),
      ]);

      // Assert
      expect(own).toEqual(alarmIds().map(() => 'Allowed'));
      expect(others).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied']);
    });

    it('lets the member-alarm rule publish, and no other rule', async () => {
      // Act
      const decisions = await Promise.all([
        publish(ids.notifications, fromRule(arnOf(central, ids.memberAlarmRule))),
        publish(
          ids.notifications,
          fromRule(`arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix/SomeoneElses`)
        ),
      ]);

      // Assert
      expect(decisions).toEqual(['Allowed', 'ExplicitlyDenied']);
    });

    it("puts no text of a member account's alarm into the notice", () => {
      // Arrange
      const rule = central.Resources[ids.memberAlarmRule]?.Properties ?? {};
      const target = (rule.Targets as Array<{ InputTransformer: Record<string, unknown> }>)[0];

      // Assert: only the envelope's account and Region, which EventBridge sets.
      expect(target?.InputTransformer.InputPathsMap).toEqual({
        account: '$.account',
        region: '$.region',
      });
    });
  });
});

describe('the construct library: publishers of your own', () => {
  let template: CfnTemplateJson;
  let ids: { topic: string; admitted: string; notAdmitted: string; alarm: string; other: string };

  beforeAll(() => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'Platform');
    const autofix = new LambdaEcrAutofix(stack, 'Autofix', LIBRARY_PROPS);
    const admitted = new Role(stack, 'Admitted', { assumedBy: new AccountRootPrincipal() });
    const notAdmitted = new Role(stack, 'NotAdmitted', { assumedBy: new AccountRootPrincipal() });
    const metric = new Metric({
      namespace: 'Platform',
      metricName: 'Queued',
      period: Duration.minutes(5),
    });
    const alarm = new Alarm(stack, 'QueuedAlarm', { metric, threshold: 1, evaluationPeriods: 1 });
    const other = new Alarm(stack, 'OtherAlarm', { metric, threshold: 2, evaluationPeriods: 1 });

    // Act
    autofix.grantPublish(admitted);
    autofix.topic.grantPublish(notAdmitted);
    autofix.notifyOnAlarm(alarm);
    other.addAlarmAction(new SnsAction(autofix.topic));

    template = templateJson(Template.fromStack(stack));
    const id = (type: string, prefix: string) => idOf(template, type, prefix);
    ids = {
      topic: id('AWS::SNS::Topic', 'AutofixNotificationsTopic'),
      admitted: id('AWS::IAM::Role', 'Admitted'),
      notAdmitted: id('AWS::IAM::Role', 'NotAdmitted'),
      alarm: id('AWS::CloudWatch::Alarm', 'QueuedAlarm'),
      other: id('AWS::CloudWatch::Alarm', 'OtherAlarm'),
    };
  });

  const identityOf = (roleId: string): PolicyJson[] =>
    statementsOfRole(Template.fromJSON(template), roleId).map((statement) =>
      concrete({ Version: '2012-10-17', Statement: [statement] }, template)
    );
  const publish = (request: Publish): Promise<Decision> =>
    decide({
      principal: request.principal,
      action: 'sns:Publish',
      resource: arnOf(template, ids.topic),
      context: request.context,
      identityPolicies: request.identity,
      resourcePolicy: topicPolicyOf(template, ids.topic),
    });
  const asRole = (roleId: string): Publish => ({
    principal: session(arnOf(template, roleId)),
    context: { 'aws:PrincipalArn': arnOf(template, roleId) },
    identity: identityOf(roleId),
  });
  const asAlarm = (alarmId: string): Publish => ({
    principal: 'cloudwatch.amazonaws.com',
    context: { 'aws:SourceArn': arnOf(template, alarmId), 'aws:SourceAccount': ACCOUNT },
  });

  it('lets a role publish through LambdaEcrAutofix.grantPublish, not through topic.grantPublish alone', async () => {
    // Act
    const decisions = await Promise.all([
      publish(asRole(ids.admitted)),
      publish(asRole(ids.notAdmitted)),
    ]);

    // Assert
    expect(decisions).toEqual(['Allowed', 'ExplicitlyDenied']);
  });

  it('lets an alarm notify through LambdaEcrAutofix.notifyOnAlarm, not through an alarm action alone', async () => {
    // Act
    const decisions = await Promise.all([publish(asAlarm(ids.alarm)), publish(asAlarm(ids.other))]);

    // Assert
    expect(template.Resources[ids.alarm]?.Properties?.AlarmActions).toEqual([{ Ref: ids.topic }]);
    expect(decisions).toEqual(['Allowed', 'ExplicitlyDenied']);
  });
});

describe('lambda:SourceFunctionArn stays out of resource policies', () => {
  /** Every resource policy of a template: queue, topic, bus, key and trust policies. */
  const resourcePolicies = (template: CfnTemplateJson): Array<[string, PolicyJson]> =>
    Object.entries(template.Resources).flatMap(([id, r]): Array<[string, PolicyJson]> => {
      const props = r.Properties ?? {};
      const documents: Record<string, unknown> = {
        'AWS::SQS::QueuePolicy': props.PolicyDocument,
        'AWS::SNS::TopicPolicy': props.PolicyDocument,
        'AWS::Events::EventBusPolicy':
          props.Statement === undefined ? undefined : { Statement: [props.Statement] },
        'AWS::KMS::Key': props.KeyPolicy,
        'AWS::IAM::Role': props.AssumeRolePolicyDocument,
      };
      const document = documents[r.Type];
      return document === undefined ? [] : [[id, document as PolicyJson]];
    });

  it.each([
    ['the central stack', ORGANIZATION_CONFIG],
    ['the central stack without sweeps', WITHOUT_SWEEPS],
    [
      'the central stack without decision events',
      { ...ORGANIZATION_CONFIG, decisionEvents: false },
    ],
  ])('in %s, and the member stacks', (_what, config) => {
    // Arrange
    const built = buildApp(config);
    const templates = [built.stacks.central, memberOf(built), memberTemplateOf(built)].map((s) =>
      templateJson(Template.fromStack(s))
    );
    const policies = templates.flatMap(resourcePolicies);

    // Assert: the policies exist (the walk found them), and none uses the key.
    expect(policies.map(([id]) => id)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^EventBus/), expect.stringMatching(/^Queue/)])
    );
    for (const [, policy] of policies) {
      expect(() => assertNoSourceFunctionArn(policy)).not.toThrow();
    }
  });
});
