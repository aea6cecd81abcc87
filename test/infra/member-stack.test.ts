import { App, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

import { ConfigError } from '../../lambda/domain/config';
import { LambdaEcrAutofixMemberStack } from '../../lib';
import {
  WITHOUT_SWEEPS,
  actionsOf,
  assertResourceProperties,
  buildApp,
  memberOf,
  render,
  resourcesOf,
  resourcesOfStatement,
  statementsOfRole,
  templateJson,
  type BuiltApp,
  type CfnResourceJson,
} from './app-fixture';
import { evaluateCondition, type EvaluationContext } from './cfn-conditions';

const CENTRAL_BUS =
  'arn:${AWS::Partition}:events:${CentralRegion}:${CentralAccountId}:event-bus/lambda-ecr-autofix';
const FIXER_ROLE = 'arn:${AWS::Partition}:iam::${CentralAccountId}:role/LambdaEcrAutofixFixer';

describe('member stack', () => {
  let built: BuiltApp;
  let template: Template;
  let resources: Record<string, CfnResourceJson>;

  beforeAll(() => {
    built = buildApp(WITHOUT_SWEEPS);
    template = Template.fromStack(memberOf(built));
    resources = templateJson(template).Resources;
  });

  function idOf(type: string): string {
    const ids = Object.entries(resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
    if (ids.length !== 1) throw new Error(`Expected one ${type}, found ${ids.length}.`);
    return ids[0] as string;
  }

  /** The rule that forwards failed deploys (the other forwards the forwarding alarm). */
  function forwardingRuleId(): string {
    const ids = resourcesOf(template, 'AWS::Events::Rule')
      .filter(([, r]) => JSON.stringify(r.Properties?.EventPattern).includes('"aws.lambda"'))
      .map(([id]) => id);
    if (ids.length !== 1) throw new Error(`Expected one forwarding rule, found ${ids.length}.`);
    return ids[0] as string;
  }

  function roleIdNamed(name: string | undefined): string {
    const ids = resourcesOf(template, 'AWS::IAM::Role')
      .filter(([, role]) => role.Properties?.RoleName === name)
      .map(([id]) => id);
    if (ids.length !== 1)
      throw new Error(`Expected one role named ${String(name)}, found ${ids.length}.`);
    return ids[0] as string;
  }

  describe('deployable anywhere', () => {
    it('holds no assets and needs no CDK bootstrap', () => {
      // Arrange
      const stage = Stage.of(memberOf(built));
      const artifact = stage?.synth().getStackArtifact(memberOf(built).artifactId);

      // Assert
      expect(artifact?.assets).toEqual([]);
      expect(artifact?.assumeRoleArn).toBeUndefined();
      expect(artifact?.cloudFormationExecutionRoleArn).toBeUndefined();
      expect(artifact?.requiresBootstrapStackVersion).toBeUndefined();
      expect(Object.keys(templateJson(template).Parameters ?? {})).toEqual([
        'CentralAccountId',
        'CentralRegion',
        'RegistryRoleRegion',
      ]);
      expect(templateJson(template).Rules).toBeUndefined();
    });

    it('is not selected by `cdk deploy --all`, which deploys only top-level stacks', () => {
      // Act
      const topLevel = built.app.synth().stacks.map((stack) => stack.stackName);

      // Assert
      expect(topLevel).toEqual(['LambdaEcrAutofix', 'LambdaEcrAutofixMemberDeployment']);
      expect(memberOf(built).stackName).toBe('LambdaEcrAutofixMember');
      expect(memberOf(built).node.path).toBe('Member/LambdaEcrAutofixMember');
    });

    it('refuses to exist without organizationId', () => {
      // Arrange
      const settings = {} as { organizationId: string };

      // Act
      const act = () =>
        new LambdaEcrAutofixMemberStack(new Stage(new App(), 'Member'), 'Member', settings);

      // Assert
      expect(act).toThrow(ConfigError);
      expect(act).toThrow(
        /"organizationId" is required for member accounts \(got nothing\): set it/
      );
    });
  });

  describe('forwarding', () => {
    it('forwards the same failed-deploy pattern from the default bus to the central bus', () => {
      // Arrange
      const central = Template.fromStack(built.stacks.central);
      const organizationPattern = resourcesOf(central, 'AWS::Events::Rule')
        .filter(([, r]) => r.Properties?.EventBusName !== undefined)
        .map(([, r]) => r.Properties?.EventPattern)
        .find((pattern) => JSON.stringify(pattern).includes('"aws.lambda"'));
      const rule = resources[forwardingRuleId()]?.Properties ?? {};

      // Assert
      expect(rule.EventBusName).toBeUndefined();
      expect(rule.EventPattern).toEqual(organizationPattern);
      expect(rule.Targets).toEqual([
        expect.objectContaining({
          RoleArn: { 'Fn::GetAtt': [roleIdNamed(undefined), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [idOf('AWS::SQS::Queue'), 'Arn'] } },
        }),
      ]);
      expect(render((rule.Targets as Array<{ Arn: unknown }>)[0]?.Arn)).toBe(CENTRAL_BUS);
    });

    it('lets EventBridge put events on the central bus and nothing else', () => {
      // Arrange
      const roleId = roleIdNamed(undefined);
      const role = resources[roleId]?.Properties ?? {};

      // Act
      const statements = statementsOfRole(template, roleId);

      // Assert
      expect(role.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      });
      expect(statements.map((s) => [s.Effect, actionsOf(s), resourcesOfStatement(s)])).toEqual([
        ['Allow', ['events:PutEvents'], [CENTRAL_BUS]],
      ]);
    });

    it('keeps undeliverable events 14 days in an encrypted, TLS-only dead-letter queue of its own rules', () => {
      // Arrange
      const queueArn = { 'Fn::GetAtt': [idOf('AWS::SQS::Queue'), 'Arn'] };
      const ruleArns = resourcesOf(template, 'AWS::Events::Rule').map(([id]) => ({
        'Fn::GetAtt': [id, 'Arn'],
      }));

      // Assert (what the Deny means for a request: member-deployment.test.ts simulates it)
      assertResourceProperties(template, 'AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      expect(ruleArns).toHaveLength(3);
      assertResourceProperties(template, 'AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Principal: { AWS: '*' },
              Resource: queueArn,
            },
            ...ruleArns.map((ruleArn) => ({
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
              Resource: queueArn,
              Sid: Match.anyValue(),
            })),
            {
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'sqs:SendMessage',
              Condition: { ArnNotEquals: { 'aws:SourceArn': ruleArns } },
              Resource: queueArn,
              Sid: 'OnlyTheForwardingRulesSend',
            },
          ],
        },
      });
    });
  });

  describe('registry role', () => {
    it('has the configured name and trusts only the fixer role of the central account, inside the organization', () => {
      // Arrange
      const role = resources[roleIdNamed('LambdaEcrAutofixRegistryAccess')]?.Properties ?? {};
      const trust = (role.AssumeRolePolicyDocument as { Statement: Array<Record<string, unknown>> })
        .Statement;

      // Assert
      expect(trust).toHaveLength(1);
      expect(trust[0]?.Action).toBe('sts:AssumeRole');
      expect(render((trust[0]?.Principal as { AWS: unknown }).AWS)).toBe(FIXER_ROLE);
      expect(trust[0]?.Condition).toEqual({
        StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
      });
    });

    it('may read and write repository policies, read tags and look up functions in this account, and nothing else', () => {
      // Act
      const statements = statementsOfRole(template, roleIdNamed('LambdaEcrAutofixRegistryAccess'));

      // Assert
      expect(
        statements.map((s) => [s.Effect, actionsOf(s).sort(), resourcesOfStatement(s)])
      ).toEqual([
        [
          'Allow',
          ['ecr:GetRepositoryPolicy', 'ecr:ListTagsForResource', 'ecr:SetRepositoryPolicy'],
          ['arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*'],
        ],
        [
          'Allow',
          ['lambda:GetFunction'],
          ['arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:function:*'],
        ],
        [
          'Deny',
          ['ecr:SetRepositoryPolicy'],
          ['arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*'],
        ],
      ]);
      for (const statement of statements) {
        for (const action of actionsOf(statement)) expect(action).not.toContain('*');
        expect(resourcesOfStatement(statement)).not.toContain('*');
      }
    });
  });

  describe('where each resource is created', () => {
    const CENTRAL = '111111111111';
    const MEMBER = '222222222222';

    it.each([
      // account, region, RegistryRoleRegion → forwarding rule?, registry role?
      [CENTRAL, 'eu-west-1', 'eu-west-1', false, false],
      [CENTRAL, 'us-east-1', 'eu-west-1', true, false],
      [MEMBER, 'eu-west-1', 'eu-west-1', true, true],
      [MEMBER, 'us-east-1', 'eu-west-1', true, false],
      [MEMBER, 'us-east-1', '', true, true],
      // "none": no region creates it, the first of the two updates that move it (docs/deployment.md).
      [MEMBER, 'eu-west-1', 'none', true, false],
      [MEMBER, 'us-east-1', 'none', true, false],
    ])(
      'in account %s, region %s, RegistryRoleRegion "%s": forward %s, role %s',
      (account, region, roleRegion, forwards, hasRole) => {
        // Arrange
        const conditions = templateJson(template).Conditions ?? {};
        const context: EvaluationContext = {
          conditions,
          refs: {
            'AWS::AccountId': account,
            'AWS::Region': region,
            CentralAccountId: CENTRAL,
            CentralRegion: 'eu-west-1',
            RegistryRoleRegion: roleRegion,
          },
        };
        const created = (id: string) => {
          const condition = resources[id]?.Condition;
          return condition === undefined || evaluateCondition({ Condition: condition }, context);
        };

        // Act
        const forwarderCreated = created(forwardingRuleId());
        const roleCreated = created(roleIdNamed('LambdaEcrAutofixRegistryAccess'));

        // Assert
        expect([forwarderCreated, roleCreated]).toEqual([forwards, hasRole]);
        // CloudFormation rejects a stack whose every resource is conditioned out.
        expect(Object.keys(resources).some((id) => created(id))).toBe(true);
      }
    );

    it.each([
      ['', true],
      ['eu-west-1', true],
      ['ap-southeast-2', true],
      ['us-gov-west-1', true],
      ['none', true],
      ['None', false],
      ['Ireland', false],
      ['eu-west-1 ', false],
    ])('takes RegistryRoleRegion "%s": %s', (value, accepted) => {
      // Arrange
      const parameter = templateJson(template).Parameters?.RegistryRoleRegion as {
        AllowedPattern: string;
      };

      // Act
      const matches = new RegExp(parameter.AllowedPattern, 'u').test(value);

      // Assert
      expect(matches).toBe(accepted);
    });

    it('puts the forwarder behind one condition, the role behind another, and one placeholder behind none', () => {
      // Act
      const byCondition = Object.values(resources)
        .map((r) => `${r.Type} ${r.Condition ?? '-'}`)
        .sort();

      // Assert
      expect(byCondition).toEqual([
        'AWS::CloudFormation::WaitConditionHandle -',
        'AWS::CloudWatch::Alarm ForwardEvents',
        'AWS::Events::Rule ForwardEvents',
        'AWS::Events::Rule ForwardEvents',
        'AWS::Events::Rule ForwardEvents',
        'AWS::IAM::Policy ForwardEvents',
        'AWS::IAM::Role CreateRegistryRole',
        'AWS::IAM::Role ForwardEvents',
        'AWS::SQS::Queue ForwardEvents',
        'AWS::SQS::QueuePolicy ForwardEvents',
      ]);
    });
  });
});
