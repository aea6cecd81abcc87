/**
 * Issue 11: the public constructs (lib/index.ts) as another CDK app uses them: the configuration keys as props with the
 * same validation as cdk.json, every resource name changeable and followed by everything that refers to it (the
 * fixer's STS calls, the member template's bus and trust, the provenance policies), the StackSet in a stack of its
 * own, and the repository's app keeping the logical ids of earlier builds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App, CfnParameter, NestedStack, Stack, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { configSchema, parseConfig, type ConfigInput } from '../../lambda/domain/config';
import {
  ConfigError,
  LambdaEcrAutofix,
  LambdaEcrAutofixMember,
  LambdaEcrAutofixMemberDeployment,
  LambdaEcrAutofixMemberStack,
  type LambdaEcrAutofixMemberDeploymentProps,
  type LambdaEcrAutofixMemberProps,
  type LambdaEcrAutofixMemberSettings,
  type LambdaEcrAutofixProps,
} from '../../lib';
import { NAME_RULES } from '../../lib/names';
import {
  CUSTOM_NAMES,
  ORGANIZATION_CONFIG,
  buildApp,
  memberDeploymentOf,
  memberOf,
  render,
  resourcesOf,
  statementsOfRole,
  templateJson,
  type CfnResourceJson,
} from './app-fixture';

const ORGANIZATION_ID = 'o-a1b2c3d4e5';
const DEPLOYMENT = {
  organizationalUnitIds: ['r-ab12'],
  regions: ['eu-west-1'],
  registryRoleRegion: 'eu-west-1',
};

// The props are the configuration keys plus the names: checked by the compiler in both directions.
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type ConfigProps = Omit<LambdaEcrAutofixProps, keyof typeof NAME_RULES>;
const SAME_KEYS: Equal<keyof ConfigProps, keyof ConfigInput> = true;
const PROPS_ARE_CONFIG: Equal<Required<ConfigProps>, Required<ConfigInput>> = true;

function newApp(): App {
  return new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
}

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected exactly one ${what}, found ${items.length}.`);
  return items[0] as T;
}

function resourceNamed(
  template: Template,
  type: string,
  property: string,
  name: string
): [string, CfnResourceJson] {
  return only(
    resourcesOf(template, type).filter(([, r]) => r.Properties?.[property] === name),
    `${type} with ${property} ${name}`
  );
}

/** The functions of a template: the fixer (the one with the queue's MAX_RECEIVE_COUNT) and, with sweeps, the sweeper. */
function functionsOf(template: Template): { fixer: CfnResourceJson; all: CfnResourceJson[] } {
  const all = resourcesOf(template, 'AWS::Lambda::Function').map(([, fn]) => fn);
  const fixer = only(
    all.filter(
      (fn) =>
        (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables
          .MAX_RECEIVE_COUNT !== undefined
    ),
    'fixer function'
  );
  return { fixer, all };
}

/** The error `act` throws. */
function errorOf(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('Expected an error.');
}

describe('LambdaEcrAutofix props', () => {
  it('are the configuration keys and the names, nothing else', () => {
    // Assert: the compile-time checks above, and the names at run time.
    expect([SAME_KEYS, PROPS_ARE_CONFIG]).toEqual([true, true]);
    expect(Object.keys(NAME_RULES).sort()).toEqual(
      Object.keys(CUSTOM_NAMES)
        .filter((name) => name !== 'registryRoleName')
        .sort()
    );
  });

  it('accept the configuration as cdk.json would hold it, every key', () => {
    // Arrange
    const stack = new Stack(newApp(), 'Central');
    const input = {
      notificationEmails: ['ops@example.com'],
      organizationId: ORGANIZATION_ID,
      memberDeployment: DEPLOYMENT,
      mode: 'dry-run',
      grantScope: 'function',
      registryAccounts: ['111111111111'],
      consumerAccounts: ['222222222222'],
      excludeRepositories: ['prod/*'],
      optOutTag: 'no-autofix',
      registryRoleName: 'PlatformRegistryAccess',
      notifyOn: ['fix'],
      sharing: 'organization',
      sharedRegistries: ['333333333333'],
      shareTag: 'platform:share',
      auditRetentionDays: 30,
      sweepSchedule: 'cron(0 3 * * ? *)',
      sweepAction: 'fix',
      driftAction: 'restore',
      decisionEvents: false,
    } satisfies Required<ConfigInput>;

    // Act
    const autofix = new LambdaEcrAutofix(stack, 'Autofix', input);

    // Assert: both functions receive the validated configuration; the member settings follow it.
    const variables = functionsOf(Template.fromStack(stack)).all.map(
      (fn) => (fn.Properties?.Environment as { Variables: Record<string, string> }).Variables
    );
    expect(variables.map((v) => JSON.parse(v.CONFIG ?? '') as unknown)).toEqual([
      parseConfig(input, 'test'),
      parseConfig(input, 'test'),
    ]);
    expect(autofix.memberSettings).toEqual({
      organizationId: ORGANIZATION_ID,
      registryRoleName: 'PlatformRegistryAccess',
      optOutTag: 'no-autofix',
      mode: 'dry-run',
      eventBusName: 'lambda-ecr-autofix',
      fixerRoleName: 'LambdaEcrAutofixFixer',
      sweepSchedule: 'cron(0 3 * * ? *)',
      driftAction: 'restore',
    });
  });

  it.each<[string, ConfigInput]>([
    ['a bad organization id and mode', { organizationId: 'org-1', mode: 'fix' as 'enforce' }],
    ['an empty account list', { registryAccounts: [] }],
    ['a misspelt key', { notificationEmail: ['ops@example.com'] } as ConfigInput],
    [
      'a registry role region outside the regions',
      { memberDeployment: { ...DEPLOYMENT, registryRoleRegion: 'us-east-1' } },
    ],
  ])('refuse %s with the problems cdk.json gets', (_what, input) => {
    // Arrange
    const expected = errorOf(() => parseConfig(input, 'cdk.json')) as ConfigError;

    // Act
    const error = errorOf(
      () => new LambdaEcrAutofix(new Stack(newApp(), 'Central'), 'Autofix', input)
    );

    // Assert
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(expected.problems);
    expect(error.message).toBe(
      `Invalid configuration in LambdaEcrAutofix "Central/Autofix": ${expected.problems.join('; ')}`
    );
  });

  it('refuse bad names, each named with what it must look like', () => {
    // Act
    const error = errorOf(
      () =>
        new LambdaEcrAutofix(new Stack(newApp(), 'Central'), 'Autofix', {
          eventBusName: 'default',
          fixerRoleName: 'fixer role',
          queueName: 'work.fifo',
          auditTableName: 'ab',
          stackSetName: '1-members',
        })
    ) as ConfigError;

    // Assert
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      '"eventBusName" must be an event bus name (1-256 of letters, digits and ._-/), not "default" (got "default")',
      '"fixerRoleName" must be an IAM role name (1-64 of letters, digits and +=,.@_-) (got "fixer role")',
      '"queueName" must be an SQS queue name (1-80 of letters, digits, _ and -) (got "work.fifo")',
      '"auditTableName" must be a DynamoDB table name (3-255 of letters, digits and _.-) (got "ab")',
      '"stackSetName" must be a StackSet name (a letter, then up to 127 letters, digits and -) (got "1-members")',
    ]);
  });

  it('refuse a token for a name the member accounts need, and accept one for a central-only name', () => {
    // Arrange
    const stack = new Stack(newApp(), 'Central');
    const name = new CfnParameter(stack, 'Name').valueAsString;

    // Act
    const shared = errorOf(() => new LambdaEcrAutofix(stack, 'A', { eventBusName: name }));
    const local = () => new LambdaEcrAutofix(new Stack(newApp(), 'C'), 'B', { topicName: 'x' });

    // Assert
    expect(shared.message).toMatch(
      /"eventBusName" must be a plain string, not a token: the member accounts build the ARN from it/
    );
    expect(local).not.toThrow();
  });
});

describe('LambdaEcrAutofix with every name changed', () => {
  let central: Template;
  let deployment: Template;
  let memberTemplate: ReturnType<typeof templateJson>;
  let autofix: LambdaEcrAutofix;

  beforeAll(() => {
    const app = newApp();
    const stack = new Stack(app, 'Platform');
    autofix = new LambdaEcrAutofix(stack, 'Autofix', {
      organizationId: ORGANIZATION_ID,
      memberDeployment: DEPLOYMENT,
      ...CUSTOM_NAMES,
    });
    central = Template.fromStack(stack);
    const deploymentStack = Stack.of(autofix.memberDeployment as LambdaEcrAutofixMemberDeployment);
    deployment = Template.fromStack(deploymentStack);
    const [, stackSet] = only(resourcesOf(deployment, 'AWS::CloudFormation::StackSet'), 'StackSet');
    memberTemplate = JSON.parse(stackSet.Properties?.TemplateBody as string) as ReturnType<
      typeof templateJson
    >;
  });

  it('names the bus, and lets EventBridge rules of that bus (only) use the topic key', () => {
    // Arrange
    const [busId] = resourceNamed(
      central,
      'AWS::Events::EventBus',
      'Name',
      CUSTOM_NAMES.eventBusName
    );
    const [, key] = only(resourcesOf(central, 'AWS::KMS::Key'), 'key');
    const keyStatements = (
      key.Properties?.KeyPolicy as { Statement: Array<{ Sid?: string; Condition?: unknown }> }
    ).Statement;

    // Assert
    expect(
      resourcesOf(central, 'AWS::Events::Rule')
        .filter(([, rule]) => rule.Properties?.EventBusName !== undefined)
        .map(([, rule]) => rule.Properties?.EventBusName)
    ).toEqual([{ Ref: busId }, { Ref: busId }, { Ref: busId }, { Ref: busId }, { Ref: busId }]);
    expect(
      render(
        (
          keyStatements.find((s) => s.Sid === 'EventBridgeRulesPublishToEncryptedTopic')
            ?.Condition as {
            ArnLike: Record<string, unknown>;
          }
        ).ArnLike['aws:SourceArn']
      )
    ).toBe(
      `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${CUSTOM_NAMES.eventBusName}/*`
    );
  });

  it('names the fixer role, which the member template trusts', () => {
    // Arrange
    resourceNamed(central, 'AWS::IAM::Role', 'RoleName', CUSTOM_NAMES.fixerRoleName);
    const [, registryRole] = only(
      Object.entries(memberTemplate.Resources).filter(
        ([, r]) => r.Properties?.RoleName === CUSTOM_NAMES.registryRoleName
      ),
      'registry role'
    );

    // Assert
    expect(
      render(
        (
          registryRole.Properties?.AssumeRolePolicyDocument as {
            Statement: Array<{ Principal: { AWS: unknown } }>;
          }
        ).Statement[0]?.Principal.AWS
      )
    ).toBe(`arn:\${AWS::Partition}:iam::\${CentralAccountId}:role/${CUSTOM_NAMES.fixerRoleName}`);
  });

  it('makes the fixer assume the registry role by its name, in its policy and its configuration', () => {
    // Arrange
    const [fixerRoleId] = resourceNamed(
      central,
      'AWS::IAM::Role',
      'RoleName',
      CUSTOM_NAMES.fixerRoleName
    );
    // The fixer's statement and the sweeper's (the same role, each usable only from its own function's code).
    const assume = statementsOfRole(central, fixerRoleId).filter(
      (s) => s.Sid === 'AssumeRegistryRole'
    );
    const variables = functionsOf(central).all.map(
      (fn) => (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables
    );

    // Assert
    expect(assume.map((statement) => render(statement.Resource))).toEqual([
      `arn:\${AWS::Partition}:iam::*:role/${CUSTOM_NAMES.registryRoleName}`,
      `arn:\${AWS::Partition}:iam::*:role/${CUSTOM_NAMES.registryRoleName}`,
    ]);
    expect(variables).toHaveLength(2);
    for (const variable of variables) {
      expect(
        (JSON.parse(variable.CONFIG as string) as { registryRoleName: string }).registryRoleName
      ).toBe(CUSTOM_NAMES.registryRoleName);
      expect(variable.FIXER_ROLE_ARN).toEqual({ 'Fn::GetAtt': [fixerRoleId, 'Arn'] });
    }
  });

  it('names the work queue, which alone may redrive into the named dead-letter queue', () => {
    // Arrange
    const [workId] = resourceNamed(central, 'AWS::SQS::Queue', 'QueueName', CUSTOM_NAMES.queueName);
    const [deadLetterId, deadLetters] = resourceNamed(
      central,
      'AWS::SQS::Queue',
      'QueueName',
      CUSTOM_NAMES.deadLetterQueueName
    );
    const [, work] = resourceNamed(central, 'AWS::SQS::Queue', 'QueueName', CUSTOM_NAMES.queueName);

    // Assert
    expect(workId).not.toBe(deadLetterId);
    expect(
      (
        deadLetters.Properties?.RedriveAllowPolicy as { sourceQueueArns: unknown[] }
      ).sourceQueueArns.map(render)
    ).toEqual([
      `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${CUSTOM_NAMES.queueName}`,
    ]);
    expect(work.Properties?.RedrivePolicy).toEqual(
      expect.objectContaining({ deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] } })
    );
  });

  it('names the sweep queue, which alone may redrive into its dead-letter queue', () => {
    // Arrange
    const [sweepId, sweep] = resourceNamed(
      central,
      'AWS::SQS::Queue',
      'QueueName',
      CUSTOM_NAMES.sweepQueueName
    );
    const deadLetterId = (
      sweep.Properties?.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': string[] } }
    ).deadLetterTargetArn['Fn::GetAtt'][0] as string;
    const deadLetters = templateJson(central).Resources[deadLetterId];

    // Assert
    expect(sweepId).toMatch(/^AutofixSweepsQueue/);
    expect(
      (
        deadLetters?.Properties?.RedriveAllowPolicy as { sourceQueueArns: unknown[] }
      ).sourceQueueArns.map(render)
    ).toEqual([
      `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${CUSTOM_NAMES.sweepQueueName}`,
    ]);
  });

  it('names the audit table, the topic and the dashboard, and hands the fixer the table and topic', () => {
    // Arrange
    const [tableId] = resourceNamed(
      central,
      'AWS::DynamoDB::Table',
      'TableName',
      CUSTOM_NAMES.auditTableName
    );
    const [topicId] = resourceNamed(
      central,
      'AWS::SNS::Topic',
      'TopicName',
      CUSTOM_NAMES.topicName
    );
    resourceNamed(
      central,
      'AWS::CloudWatch::Dashboard',
      'DashboardName',
      CUSTOM_NAMES.dashboardName
    );
    const { fixer } = functionsOf(central);
    const variables = (fixer.Properties?.Environment as { Variables: Record<string, unknown> })
      .Variables;

    // Assert
    expect(variables.AUDIT_TABLE_NAME).toEqual({ Ref: tableId });
    expect(variables.TOPIC_ARN).toEqual({ Ref: topicId });
  });

  it('names the StackSet, whose member template forwards to the named bus and names the registry role', () => {
    // Arrange
    resourceNamed(
      deployment,
      'AWS::CloudFormation::StackSet',
      'StackSetName',
      CUSTOM_NAMES.stackSetName
    );
    const busArn = `arn:\${AWS::Partition}:events:\${CentralRegion}:\${CentralAccountId}:event-bus/${CUSTOM_NAMES.eventBusName}`;
    const forwardTargets = Object.values(memberTemplate.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule')
      .flatMap((r) => (r.Properties?.Targets as Array<{ Arn: unknown }>).map((t) => render(t.Arn)));
    const putEvents = Object.values(memberTemplate.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap(
        (r) =>
          (r.Properties?.PolicyDocument as { Statement: Array<{ Resource: unknown }> }).Statement
      )
      .map((s) => render(s.Resource));

    // Assert
    // The forwarder, the drift guard's forwarder, its alarm's rule and the sweep's scheduled rule.
    expect(forwardTargets).toEqual([busArn, busArn, busArn, busArn]);
    expect(putEvents).toEqual([busArn]);
    expect(JSON.stringify(memberTemplate)).not.toMatch(
      /LambdaEcrAutofixFixer|LambdaEcrAutofixRegistryAccess|event-bus\/lambda-ecr-autofix"/
    );
  });

  it('hands the member settings on to a member of its own', () => {
    // Arrange
    const member = new Stack(newApp(), 'Member');

    // Act
    new LambdaEcrAutofixMember(member, 'Member', {
      ...(autofix.memberSettings as LambdaEcrAutofixMemberSettings),
      centralAccountId: '111111111111',
      centralRegion: 'eu-west-1',
    });
    const template = Template.fromStack(member);

    // Assert
    resourceNamed(template, 'AWS::IAM::Role', 'RoleName', CUSTOM_NAMES.registryRoleName);
    expect(JSON.stringify(template.toJSON())).toContain(
      `:iam::111111111111:role/${CUSTOM_NAMES.fixerRoleName}`
    );
    expect(JSON.stringify(template.toJSON())).toContain(
      `:events:eu-west-1:111111111111:event-bus/${CUSTOM_NAMES.eventBusName}`
    );
  });
});

describe('the member deployment', () => {
  it('with memberDeployment, goes into a stack of its own next to the central one, deployed after it', () => {
    // Arrange
    const app = newApp();
    const stack = new Stack(app, 'Platform', {
      env: { account: '111111111111', region: 'eu-west-1' },
    });

    // Act
    const autofix = new LambdaEcrAutofix(stack, 'Autofix', {
      organizationId: ORGANIZATION_ID,
      memberDeployment: DEPLOYMENT,
    });
    const assembly = app.synth();
    const deployment = Stack.of(autofix.memberDeployment as LambdaEcrAutofixMemberDeployment);

    // Assert
    expect(deployment.node.path).toBe('PlatformMemberDeployment');
    expect(deployment.account).toBe('111111111111');
    expect(
      assembly.getStackByName('PlatformMemberDeployment').dependencies.map((d) => d.id)
    ).toContain('Platform');
    expect(resourcesOf(Template.fromStack(stack), 'AWS::CloudFormation::StackSet')).toEqual([]);
    const [, stackSet] = only(
      resourcesOf(Template.fromStack(deployment), 'AWS::CloudFormation::StackSet'),
      'StackSet'
    );
    expect(stackSet.Properties?.Parameters).toEqual([
      { ParameterKey: 'CentralAccountId', ParameterValue: '111111111111' },
      { ParameterKey: 'CentralRegion', ParameterValue: 'eu-west-1' },
      { ParameterKey: 'RegistryRoleRegion', ParameterValue: 'eu-west-1' },
    ]);
    expect(JSON.stringify(Template.fromStack(deployment).toJSON())).not.toContain(
      'Fn::ImportValue'
    );
  });

  it('as a construct in a stack of your own, takes the StackSet name, callAs and failure tolerance', () => {
    // Arrange
    const app = newApp();
    const autofix = new LambdaEcrAutofix(new Stack(app, 'Central'), 'Autofix', {
      organizationId: ORGANIZATION_ID,
      stackSetName: 'from-central',
    });
    const own = new Stack(app, 'Rollout');

    // Act
    const members = new LambdaEcrAutofixMemberDeployment(own, 'Members', {
      autofix,
      ...DEPLOYMENT,
      callAs: 'SELF',
      stackSetName: 'own-name',
      failureTolerancePercentage: 10,
    });
    const defaults = new LambdaEcrAutofixMemberDeployment(new Stack(app, 'Other'), 'Members', {
      autofix,
      ...DEPLOYMENT,
    });

    // Assert
    const [, stackSet] = only(
      resourcesOf(Template.fromStack(own), 'AWS::CloudFormation::StackSet'),
      'StackSet'
    );
    expect(stackSet.Properties).toEqual(
      expect.objectContaining({
        StackSetName: 'own-name',
        CallAs: 'SELF',
        OperationPreferences: expect.objectContaining({
          FailureTolerancePercentage: 10,
        }) as unknown,
      })
    );
    expect(defaults.stackSet.stackSetName).toBe('from-central');
    expect(defaults.stackSet.callAs).toBe('DELEGATED_ADMIN');
    expect(Stage.of(members.memberStack)).not.toBe(Stage.of(own));
  });

  it.each<[string, (app: App, autofix: LambdaEcrAutofix) => Stack]>([
    ['the same stack', (_app, autofix) => Stack.of(autofix)],
    ['a nested stack of it', (_app, autofix) => new NestedStack(Stack.of(autofix), 'Nested')],
  ])('refuses to live in %s as the central resources', (_what, place) => {
    // Arrange
    const app = newApp();
    const autofix = new LambdaEcrAutofix(new Stack(app, 'Central'), 'Autofix', {
      organizationId: ORGANIZATION_ID,
    });

    // Act
    const error = errorOf(
      () =>
        new LambdaEcrAutofixMemberDeployment(place(app, autofix), 'Members', {
          autofix,
          ...DEPLOYMENT,
        })
    );

    // Assert
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(
      /must be in another stack than its LambdaEcrAutofix \(both are in "Central"\): a failed StackSet operation would roll back the central resources/
    );
  });

  it('refuses a central installation without organizationId, and bad targets as cdk.json does', () => {
    // Arrange
    const app = newApp();
    const withoutOrganization = new LambdaEcrAutofix(new Stack(app, 'Central'), 'Autofix');
    const withOrganization = new LambdaEcrAutofix(new Stack(app, 'Central2'), 'Autofix', {
      organizationId: ORGANIZATION_ID,
    });
    const badTargets = {
      organizationalUnitIds: ['ou-1'],
      regions: ['eu-west-1'],
      registryRoleRegion: 'eu-west-1',
    };

    // Act
    const noOrganization = errorOf(
      () =>
        new LambdaEcrAutofixMemberDeployment(new Stack(app, 'A'), 'Members', {
          autofix: withoutOrganization,
          ...DEPLOYMENT,
        })
    );
    const badUnit = errorOf(
      () =>
        new LambdaEcrAutofixMemberDeployment(new Stack(app, 'B'), 'Members', {
          autofix: withOrganization,
          ...badTargets,
        })
    ) as ConfigError;

    // Assert
    expect(noOrganization.message).toMatch(
      /"autofix" must have "organizationId" \(Central\/Autofix has none\)/
    );
    expect(badUnit.problems).toEqual(
      (
        errorOf(() =>
          parseConfig({ organizationId: ORGANIZATION_ID, memberDeployment: badTargets }, 'cdk.json')
        ) as ConfigError
      ).problems
    );
  });
  it.each<[string, { callAs?: string; failureTolerancePercentage?: number }, string]>([
    [
      'a failure tolerance above 100 %',
      { failureTolerancePercentage: 150 },
      '"failureTolerancePercentage" must be a whole number from 0 to 100 (got 150)',
    ],
    [
      'a fractional failure tolerance, which CloudFormation types as an integer',
      { failureTolerancePercentage: 12.5 },
      '"failureTolerancePercentage" must be a whole number from 0 to 100 (got 12.5)',
    ],
    [
      'a failure tolerance that is not a number',
      { failureTolerancePercentage: Number.NaN },
      '"failureTolerancePercentage" must be a whole number from 0 to 100 (got NaN)',
    ],
    [
      'an unknown callAs',
      { callAs: 'ADMIN' },
      '"callAs" must be "SELF" (from the management account) or "DELEGATED_ADMIN" (got "ADMIN")',
    ],
  ])('refuses %s with a ConfigError, as it does bad targets', (_what, options, problem) => {
    // Arrange
    const app = newApp();
    const autofix = new LambdaEcrAutofix(new Stack(app, 'Central'), 'Autofix', {
      organizationId: ORGANIZATION_ID,
    });

    // Act
    const error = errorOf(
      () =>
        new LambdaEcrAutofixMemberDeployment(new Stack(app, 'Members'), 'Members', {
          autofix,
          ...DEPLOYMENT,
          ...options,
        })
    );

    // Assert
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([problem]);
  });
});

describe('LambdaEcrAutofixMember', () => {
  function memberTemplate(props: Partial<Parameters<typeof newMember>[0]> = {}): Template {
    const stack = new Stack(newApp(), 'Member');
    newMember({ stack, ...props });
    return Template.fromStack(stack);
  }

  function newMember(options: {
    stack: Stack;
    registryRoleRegion?: string;
    centralAccountId?: string;
    centralRegion?: string;
  }): LambdaEcrAutofixMember {
    return new LambdaEcrAutofixMember(options.stack, 'Member', {
      organizationId: ORGANIZATION_ID,
      centralAccountId: options.centralAccountId ?? '111111111111',
      centralRegion: options.centralRegion ?? 'eu-west-1',
      registryRoleRegion: options.registryRoleRegion,
    });
  }

  it.each<[string, string | undefined, unknown]>([
    ['every region (no registryRoleRegion)', undefined, []],
    ['one region', 'eu-west-1', [{ 'Fn::Equals': ['eu-west-1', { Ref: 'AWS::Region' }] }]],
  ])(
    'creates the registry role outside the central account, in %s',
    (_what, region, regionTerms) => {
      // Act
      const conditions =
        templateJson(memberTemplate({ registryRoleRegion: region })).Conditions ?? {};
      const [, createRole] = only(
        Object.entries(conditions).filter(([id]) => id.includes('CreateRegistryRole')),
        'condition'
      );

      // Assert
      const notCentral = {
        'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '111111111111'] }],
      };
      expect(createRole).toEqual(
        (regionTerms as unknown[]).length === 0
          ? notCentral
          : { 'Fn::And': [notCentral, ...(regionTerms as unknown[])] }
      );
    }
  );

  it('refuses a member without organizationId, and a bad central account, region or role region', () => {
    // Act
    const noOrganization = errorOf(
      () =>
        new LambdaEcrAutofixMember(new Stack(newApp(), 'M'), 'Member', {
          centralAccountId: '111111111111',
          centralRegion: 'eu-west-1',
        } as unknown as ConstructorParameters<typeof LambdaEcrAutofixMember>[2])
    );
    const bad = errorOf(() =>
      newMember({
        stack: new Stack(newApp(), 'M'),
        centralAccountId: '1111',
        centralRegion: 'Ireland',
        registryRoleRegion: 'eu',
      })
    ) as ConfigError;
    const badKeys = errorOf(
      () =>
        new LambdaEcrAutofixMember(new Stack(newApp(), 'M'), 'Member', {
          organizationId: 'org-1',
          optOutTag: 'opt out!',
          centralAccountId: '111111111111',
          centralRegion: 'eu-west-1',
        })
    ) as ConfigError;

    // Assert
    expect(noOrganization.message).toMatch(
      /"organizationId" is required for member accounts \(got nothing\)/
    );
    expect(bad.problems).toEqual([
      '"centralAccountId" must be a 12-digit AWS account id (got "1111")',
      '"centralRegion" must be an AWS region like "eu-west-1" (got "Ireland")',
      '"registryRoleRegion" must be an AWS region like "eu-west-1" (got "eu")',
    ]);
    expect(badKeys.problems).toEqual(
      (
        errorOf(() =>
          parseConfig({ organizationId: 'org-1', optOutTag: 'opt out!' }, 'x')
        ) as ConfigError
      ).problems
    );
  });

  it('as LambdaEcrAutofixMemberStack takes the central account and regions as parameters, needing no bootstrap', () => {
    // Act
    const stack = new LambdaEcrAutofixMemberStack(new Stage(newApp(), 'Member'), 'Member', {
      organizationId: ORGANIZATION_ID,
    });
    const template = templateJson(Template.fromStack(stack));

    // Assert
    expect(Object.keys(template.Parameters ?? {})).toEqual([
      'CentralAccountId',
      'CentralRegion',
      'RegistryRoleRegion',
    ]);
    expect(template.Rules).toBeUndefined();
    expect(Object.keys(template.Conditions ?? {})).toEqual(['ForwardEvents', 'CreateRegistryRole']);
  });
});

describe("the repository's app, built from the public constructs", () => {
  it('keeps the logical ids of earlier builds: no stateful or named resource is replaced on upgrade', () => {
    // Arrange: the logical ids of the last build before the constructs existed (the construct has id "Default").
    const built = buildApp(ORGANIZATION_CONFIG);
    const ids = (stack: Stack, types: readonly string[]) =>
      Object.entries(
        Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>
      )
        .filter(([, r]) => types.includes(r.Type))
        .map(([id]) => id)
        .sort();

    // Assert
    expect(
      ids(built.stacks.central, [
        'AWS::DynamoDB::Table',
        'AWS::SQS::Queue',
        'AWS::Events::EventBus',
        'AWS::IAM::Role',
        'AWS::SNS::Topic',
        'AWS::KMS::Key',
        'AWS::Lambda::Function',
        'AWS::Logs::LogGroup',
        'AWS::CloudWatch::Dashboard',
      ])
    ).toEqual([
      'AuditTable18A3095C',
      'EventBusEEC924FB',
      'FixerFunction8998F519',
      'FixerLogs0285A797',
      'FixerRoleF7278AE3',
      'MonitoringDashboard0C3675C6',
      'NotificationsKeyADCFA950',
      'NotificationsTopicAE679CBD',
      'Queue381943A6',
      'QueueDeadLetterQueue27D1B28A',
      'QueueReplayRoleFEEB9970',
      'SweeperFunction15FDF226',
      'SweeperLogs964BB71D',
      'SweepsContinuationTopicA88416BE',
      'SweepsDeadLetterQueue66138A61',
      'SweepsQueue6B20BEE7',
    ]);
    expect(ids(memberDeploymentOf(built), ['AWS::CloudFormation::StackSet'])).toEqual([
      'MembersStackSetD3FF5206',
    ]);
    expect(ids(memberOf(built), ['AWS::IAM::Role', 'AWS::SQS::Queue'])).toEqual([
      'ForwarderDeadLetterQueue10393842',
      'ForwarderRoleDD76EF76',
      'RegistryRole1603C0EC',
    ]);
  });
});

describe('the README, "Use it in your own CDK app"', () => {
  // Every prop of the two other constructs, checked complete by the compiler.
  const DEPLOYMENT_PROPS: Record<keyof LambdaEcrAutofixMemberDeploymentProps, true> = {
    autofix: true,
    organizationalUnitIds: true,
    regions: true,
    registryRoleRegion: true,
    callAs: true,
    stackSetName: true,
    failureTolerancePercentage: true,
  };
  const MEMBER_PROPS: Record<keyof LambdaEcrAutofixMemberProps, true> = {
    centralAccountId: true,
    centralRegion: true,
    organizationId: true,
    registryRoleRegion: true,
    registryRoleName: true,
    optOutTag: true,
    mode: true,
    eventBusName: true,
    fixerRoleName: true,
    sweepSchedule: true,
    driftAction: true,
  };

  it('has one props table per construct, listing exactly its props', () => {
    // Arrange
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const start = readme.indexOf('## Use it in your own CDK app');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const tables = section
      .split(/\n\n/)
      .filter((block) => block.startsWith('| Prop |'))
      .map((table) => [...table.matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1]).sort());

    // Assert
    expect(tables).toEqual([
      [...Object.keys(configSchema.shape), ...Object.keys(NAME_RULES)].sort(),
      Object.keys(DEPLOYMENT_PROPS).sort(),
      Object.keys(MEMBER_PROPS).sort(),
    ]);
  });
});
