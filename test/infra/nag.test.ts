import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks } from 'cdk-nag';

import type { ConfigInput } from '../../lambda/domain/config';
import {
  LambdaEcrAutofix,
  LambdaEcrAutofixMember,
  type LambdaEcrAutofixMemberSettings,
} from '../../lib';
import {
  CUSTOM_NAMES,
  ORGANIZATION_CONFIG,
  buildApp,
  memberDeploymentOf,
  memberOf,
  resourcesOf,
} from './app-fixture';

// cdk-nag's EVB1 rule reads the deprecated CfnEventBusPolicy#principal; keep its warning out of the test output.
process.env.JSII_DEPRECATED = 'quiet';

type Finding = string;
type CfnTemplate = {
  Resources: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: Ack[] } } }>;
};
interface Ack {
  readonly id: string;
  readonly reason: string;
}

/** Unacknowledged AwsSolutions findings under `scope`, as "rule at construct path". */
function findings(scope: IConstruct): Finding[] {
  return new AwsSolutionsChecks()
    .validateScope(scope)
    .violations.flatMap((violation) =>
      violation.violatingResources.map(
        (resource) => `${violation.ruleName} at ${resource.constructPath}`
      )
    )
    .sort();
}

/** The acknowledgements recorded in a synthesized template (bin/app.ts writes them there), by logical id. */
function acknowledgementsIn(template: CfnTemplate): Array<Ack & { logicalId: string }> {
  return Object.entries(template.Resources).flatMap(([logicalId, resource]) =>
    (resource.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((ack) => ({ logicalId, ...ack }))
  );
}

let scratch: string;

/**
 * Loads a synthesized template into a fresh app with `CfnInclude`, so cdk-nag checks the template text itself.
 * With `acknowledge`, re-applies the acknowledgements recorded in its metadata.
 */
function included(template: CfnTemplate, acknowledge: boolean): Stack {
  const file = fs.mkdtempSync(path.join(scratch, 'tpl-'));
  const templateFile = path.join(file, 'template.json');
  fs.writeFileSync(templateFile, JSON.stringify(template));
  const stack = new Stack(new App(), 'Included');
  const include = new CfnInclude(stack, 'Template', { templateFile });
  if (acknowledge) {
    for (const { logicalId, id, reason } of acknowledgementsIn(template)) {
      Validations.of(include.getResource(logicalId)).acknowledge({ id, reason });
    }
  }
  return stack;
}

describe('cdk-nag AwsSolutions checks', () => {
  let central: Stack;
  let member: Stack;
  let memberDeployment: Stack;
  let centralTemplate: CfnTemplate;
  let memberTemplate: CfnTemplate;
  let stackSetTemplate: CfnTemplate;

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-nag-'));
    const built = buildApp(ORGANIZATION_CONFIG);
    central = built.stacks.central;
    member = memberOf(built);
    memberDeployment = memberDeploymentOf(built);
    centralTemplate = Template.fromStack(central).toJSON() as CfnTemplate;
    memberTemplate = Template.fromStack(member).toJSON() as CfnTemplate;
    const [, stackSet] =
      resourcesOf(Template.fromStack(memberDeployment), 'AWS::CloudFormation::StackSet')[0] ?? [];
    stackSetTemplate = JSON.parse(stackSet?.Properties?.TemplateBody as string) as CfnTemplate;
  });

  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('finds nothing unacknowledged in the central stack', () => {
    expect(findings(central)).toEqual([]);
  });

  it('finds nothing unacknowledged in the member deployment stack (the StackSet)', () => {
    expect(findings(memberDeployment)).toEqual([]);
  });

  it('finds nothing unacknowledged in the standalone member stack', () => {
    expect(findings(member)).toEqual([]);
  });

  it('finds nothing unacknowledged in the member template embedded in the StackSet', () => {
    expect(findings(included(stackSetTemplate, true))).toEqual([]);
  });

  it.each<[string, ConfigInput]>([
    ['dry-run', { ...ORGANIZATION_CONFIG, mode: 'dry-run' }],
    ['listed registry accounts', { ...ORGANIZATION_CONFIG, registryAccounts: ['111122223333'] }],
    ['no organization', { notificationEmails: ['ops@example.com'] }],
    ['sweeps that fix (and announce their fixes)', { ...ORGANIZATION_CONFIG, sweepAction: 'fix' }],
  ])('finds nothing unacknowledged with %s', (_what, input) => {
    // Arrange
    const { app } = buildApp(input);
    app.synth();

    // Assert
    expect(findings(app)).toEqual([]);
  });

  it('finds nothing unacknowledged in an app of its own using the constructs, every name changed', () => {
    // Arrange
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const autofix = new LambdaEcrAutofix(new Stack(app, 'Platform'), 'Autofix', {
      ...ORGANIZATION_CONFIG,
      ...CUSTOM_NAMES,
    });
    new LambdaEcrAutofixMember(new Stack(app, 'Member'), 'Member', {
      ...(autofix.memberSettings as LambdaEcrAutofixMemberSettings),
      centralAccountId: '111111111111',
      centralRegion: 'eu-west-1',
    });

    // Act
    app.synth();

    // Assert
    expect(findings(app)).toEqual([]);
  });

  it('has no stale acknowledgement: each one silences a finding that exists', () => {
    // Act: the same templates without their acknowledgements.
    const raise = (template: CfnTemplate) =>
      findings(included(template, false)).map((f) =>
        f.replace(/ at Included\/Template\/(\w+)$/, ' at $1')
      );
    const acknowledged = (template: CfnTemplate) =>
      acknowledgementsIn(template)
        .map(({ logicalId, id }) => `${id} at ${logicalId}`)
        .sort();

    // Assert
    expect(raise(centralTemplate)).toEqual(acknowledged(centralTemplate));
    expect(raise(stackSetTemplate)).toEqual(acknowledged(stackSetTemplate));
  });

  it('acknowledges exactly these findings, each narrowly and with a specific reason', () => {
    // Arrange: construct paths rather than hashed logical ids; docs/security-model.md lists the same.
    const inventory = (stack: Stack) =>
      stack.node
        .findAll()
        .filter(CfnResource.isCfnResource)
        // Not the member template's resources, in a stage inside the member deployment stack.
        .filter((resource) => Stack.of(resource) === stack)
        .flatMap((resource) => {
          const ids = acknowledgedIds(resource);
          return ids.map((id) => `${resource.node.path} ${id}`);
        })
        .sort();

    // Assert
    expect(inventory(central)).toEqual([
      'LambdaEcrAutofix/Default/FixerPermissions/CentralRepositories/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/*]',
      'LambdaEcrAutofix/Default/FixerPermissions/RegistryAccess/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/LambdaEcrAutofixRegistryAccess]',
      'LambdaEcrAutofix/Default/FixerPermissions/RegistryAccess/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:<AWS::AccountId>:function:*]',
      'LambdaEcrAutofix/Default/SweeperInventory/Resource AwsSolutions-IAM5[Resource::*]',
      'LambdaEcrAutofix/Default/SweeperPermissions/CentralRepositories/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/*]',
      'LambdaEcrAutofix/Default/SweeperPermissions/RegistryAccess/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/LambdaEcrAutofixRegistryAccess]',
      'LambdaEcrAutofix/Default/SweeperPermissions/RegistryAccess/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:<AWS::AccountId>:function:*]',
    ]);
    expect(inventory(memberDeployment)).toEqual([]);
    expect(inventory(member)).toEqual([
      'Member/LambdaEcrAutofixMember/Default/Forwarder/DeadLetterQueue/Resource AwsSolutions-SQS3',
      'Member/LambdaEcrAutofixMember/Default/RegistryRole/Role/Resource AwsSolutions-IAM5[Resource::*]',
      'Member/LambdaEcrAutofixMember/Default/RegistryRole/Role/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/*]',
      'Member/LambdaEcrAutofixMember/Default/RegistryRole/Role/Resource AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:<AWS::AccountId>:function:*]',
    ]);
    for (const { reason } of [
      ...acknowledgementsIn(centralTemplate),
      ...acknowledgementsIn(memberTemplate),
    ]) {
      expect(reason.length).toBeGreaterThan(80);
    }
  });

  it('lists exactly these acknowledgements in docs/security-model.md', () => {
    // Arrange: the table rows of the "cdk-nag" section: `construct path` | `finding` | reason.
    const doc = fs.readFileSync(
      path.join(__dirname, '..', '..', 'docs', 'security-model.md'),
      'utf8'
    );
    const section = doc.slice(doc.indexOf('## cdk-nag'), doc.indexOf('## cfn-lint'));
    const documented = [...section.matchAll(/^\| `([^`]+)`[^|]*\| `([^`]+)` \|/gm)]
      .map(([, construct, finding]) => `${construct ?? ''} ${finding ?? ''}`)
      .sort();
    const inCode = [central, member]
      .flatMap((stack) =>
        stack.node
          .findAll()
          .filter(CfnResource.isCfnResource)
          .flatMap((resource) =>
            acknowledgedIds(resource).map(
              (id) => `${resource.node.path.replace(/\/Resource$/, '')} ${id}`
            )
          )
      )
      .sort();

    // Assert
    expect(documented).toEqual(inCode);
  });
});

/** The rule ids acknowledged on a resource or its ancestors (how cdk-nag decides). */
function acknowledgedIds(resource: IConstruct): string[] {
  const ids: string[] = [];
  for (let node: IConstruct | undefined = resource; node; node = node.node.scope) {
    for (const entry of node.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
        ids.push(...Object.keys(entry.data as object).map((k) => k.replace(/^annotation::/i, '')));
      }
    }
  }
  return ids;
}
