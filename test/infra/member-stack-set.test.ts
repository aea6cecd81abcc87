import * as path from 'node:path';

import { App, Stack, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';

import { AssetFreeSynthesizer } from '../../lib/asset-free-synthesizer';
import { MemberStackSet, TEMPLATE_BODY_LIMIT_BYTES } from '../../lib/constructs/member-stack-set';
import {
  ORGANIZATION_CONFIG,
  buildApp,
  memberDeploymentOf,
  memberOf,
  memberTemplateOf,
  resourcesOf,
} from './app-fixture';

function appWithMember(build: (member: Stack) => void): { app: App; member: Stack; host: Stack } {
  const app = new App({ builtinCloudFormationValidation: false });
  const member = new Stack(new Stage(app, 'Member'), 'Member', {
    synthesizer: new AssetFreeSynthesizer(),
  });
  build(member);
  const host = new Stack(app, 'Host');
  return { app, member, host };
}

const TARGETS = { organizationalUnitIds: ['ou-ab12-cdef3456'], regions: ['eu-west-1'] };

describe('the StackSet of the member deployment stack', () => {
  it('embeds exactly the standalone member template, compact and within the TemplateBody limit', () => {
    // Arrange
    const built = buildApp(ORGANIZATION_CONFIG);
    const deployment = Template.fromStack(memberDeploymentOf(built));
    const [, stackSet] = resourcesOf(deployment, 'AWS::CloudFormation::StackSet')[0] ?? [];

    // Act
    const body = stackSet?.Properties?.TemplateBody as string;

    // Assert
    expect(JSON.parse(body)).toEqual(Template.fromStack(memberTemplateOf(built)).toJSON());
    expect(body).not.toContain('\n');
    expect(Buffer.byteLength(body)).toBeLessThan(TEMPLATE_BODY_LIMIT_BYTES);
    expect(body).not.toMatch(/AssetParameters|BootstrapVersion|cdk-hnb659fds/);
  });

  it('embeds the template of the standalone member stack, but for two generated statement ids', () => {
    // Arrange: the two stacks are built alike in two places; aws-events-targets names a dead-letter queue's
    // statements after the rule's construct path ("AllowEventRule<path><hash>"), the only difference.
    const built = buildApp(ORGANIZATION_CONFIG);
    const withoutRuleSids = (stack: Stack) =>
      JSON.stringify(Template.fromStack(stack).toJSON()).replace(
        /"Sid":"AllowEventRule\w+"/g,
        '"Sid":"AllowEventRule…"'
      );

    // Assert
    expect(withoutRuleSids(memberTemplateOf(built))).toBe(withoutRuleSids(memberOf(built)));
  });
});

describe('MemberStackSet', () => {
  it('fails synth when the template outgrows the 51,200-byte TemplateBody limit', () => {
    // Arrange
    const { app, member, host } = appWithMember((stack) => {
      for (let i = 0; i < 500; i++) new Topic(stack, `Topic${i}`, { displayName: 'x'.repeat(100) });
    });
    new MemberStackSet(host, 'Set', { memberStack: member, ...TARGETS });

    // Act
    const act = () => app.synth();

    // Assert
    expect(act).toThrow(/is \d+ bytes; CloudFormation accepts at most 51200 bytes inline/);
  });

  it('fails synth when the member stack holds assets', () => {
    // Arrange
    const app = new App({ builtinCloudFormationValidation: false });
    const member = new Stack(new Stage(app, 'Member'), 'Member');
    new Asset(member, 'Code', { path: path.join(__dirname, 'app-fixture.ts') });
    new MemberStackSet(new Stack(app, 'Host'), 'Set', { memberStack: member, ...TARGETS });

    // Act
    const act = () => app.synth();

    // Assert
    expect(act).toThrow(/holds assets, which a StackSet template cannot carry/);
  });

  it('fails synth when a parameter is not declared by the member stack', () => {
    // Arrange
    const { app, member, host } = appWithMember((stack) => new Topic(stack, 'Topic'));
    new MemberStackSet(host, 'Set', { memberStack: member, ...TARGETS, parameters: { Nope: 'x' } });

    // Act
    const act = () => app.synth();

    // Assert
    expect(act).toThrow(
      /parameters Nope are not declared by "Member\/Member" \(it declares none\)/
    );
  });

  it.each<
    [
      string,
      Partial<{
        organizationalUnitIds: string[];
        regions: string[];
        callAs: string;
        failureTolerancePercentage: number;
      }>,
      RegExp,
    ]
  >([
    [
      'no organizational unit',
      { organizationalUnitIds: [] },
      /organizationalUnitIds must name at least one/,
    ],
    ['no region', { regions: [] }, /regions must name at least one region/],
    [
      'a failure tolerance above 100 %',
      { failureTolerancePercentage: 101 },
      /failureTolerancePercentage must be a whole number between 0 and 100, got 101/,
    ],
    [
      'a negative failure tolerance',
      { failureTolerancePercentage: -1 },
      /failureTolerancePercentage must be a whole number between 0 and 100, got -1/,
    ],
    [
      'a fractional failure tolerance (an Integer in CloudFormation)',
      { failureTolerancePercentage: 12.5 },
      /failureTolerancePercentage must be a whole number between 0 and 100, got 12.5/,
    ],
    [
      'an unknown callAs',
      { callAs: 'ADMIN' },
      /callAs must be "SELF" \(management account\) or "DELEGATED_ADMIN", got "ADMIN"/,
    ],
  ])('refuses %s', (_what, override, message) => {
    // Arrange
    const { member, host } = appWithMember((stack) => new Topic(stack, 'Topic'));

    // Act
    const act = () =>
      new MemberStackSet(host, 'Set', { memberStack: member, ...TARGETS, ...override });

    // Assert
    expect(act).toThrow(message);
  });

  it('refuses a member stack in its own stage, since it could not be synthesized first', () => {
    // Arrange
    const app = new App();
    const member = new Stack(app, 'Member');

    // Act
    const act = () =>
      new MemberStackSet(new Stack(app, 'Host'), 'Set', { memberStack: member, ...TARGETS });

    // Assert
    expect(act).toThrow(/must live in its own Stage/);
  });
});

describe('AssetFreeSynthesizer', () => {
  it('refuses assets with a message that says why', () => {
    // Act
    const act = () => appWithMember((stack) => new Asset(stack, 'Code', { path: __filename }));

    // Assert
    expect(act).toThrow(/deployed by StackSets or without CDK bootstrap and cannot hold assets/);
  });
});
