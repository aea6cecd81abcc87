import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, Stack } from 'aws-cdk-lib';

import {
  LambdaEcrAutofix,
  LambdaEcrAutofixMember,
  type LambdaEcrAutofixMemberSettings,
} from '../../lib';
import { CUSTOM_NAMES, ORGANIZATION_CONFIG, buildApp } from './app-fixture';

const REPOSITORY_ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsx');

interface LintMatch {
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Rule: { readonly Id: string };
  readonly Message: string;
  readonly Filename: string;
}

function cfnLintAvailable(): boolean {
  return spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Every `*.template.json` under a cloud assembly, nested assemblies included. */
function templatesUnder(directory: string): string[] {
  return fs
    .readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.template.json'))
    .map((file) => path.join(directory, file))
    .sort();
}

describe('cfn-lint on every synthesized template', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-cfn-lint-'));
  });

  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('reports no error and no warning (skipped with a notice when cfn-lint is missing)', () => {
    if (!cfnLintAvailable()) {
      if (process.env.REQUIRE_CFN_LINT === '1')
        throw new Error('cfn-lint is not on the PATH (REQUIRE_CFN_LINT=1).');
      console.warn('NOTICE: cfn-lint is not on the PATH; the template lint test was skipped.');
      return;
    }

    // Arrange: the organization-wide app through bin/app.ts itself (cdk-nag registered: synth exits 1 on any
    // unacknowledged finding), and the default single-account configuration.
    const organization = path.join(scratch, 'organization');
    execFileSync(TSX, ['bin/app.ts'], {
      cwd: REPOSITORY_ROOT,
      stdio: 'pipe',
      env: {
        ...process.env,
        CDK_OUTDIR: organization,
        CDK_VALIDATION: 'false',
        JSII_DEPRECATED: 'quiet',
        CDK_CONTEXT_JSON: JSON.stringify({
          'aws:cdk:bundling-stacks': [],
          'lambda-ecr-autofix': ORGANIZATION_CONFIG,
        }),
      },
    });
    const single = path.join(scratch, 'single-account');
    buildApp({}, { outdir: single }).app.synth();
    // Listed registry accounts: the fixer's ECR policy then waits for a deploy-time condition (nested Fn::Or). And
    // sweeps that fix: the sweeper's own copy of the write and decision-event permissions.
    const listed = path.join(scratch, 'listed-registries');
    buildApp(
      {
        ...ORGANIZATION_CONFIG,
        sweepAction: 'fix',
        registryAccounts: Array.from({ length: 12 }, (_, i) => String(300000000000 + i)),
      },
      { outdir: listed }
    ).app.synth();

    // The construct library as another app uses it: every name changed, its own member stacks with literal values.
    const library = path.join(scratch, 'library');
    const libraryApp = new App({
      outdir: library,
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const autofix = new LambdaEcrAutofix(new Stack(libraryApp, 'Platform'), 'Autofix', {
      ...ORGANIZATION_CONFIG,
      ...CUSTOM_NAMES,
    });
    for (const registryRoleRegion of ['eu-west-1', undefined]) {
      new LambdaEcrAutofixMember(
        new Stack(libraryApp, registryRoleRegion === undefined ? 'MemberEverywhere' : 'Member'),
        'Member',
        {
          ...(autofix.memberSettings as LambdaEcrAutofixMemberSettings),
          centralAccountId: '111111111111',
          centralRegion: 'eu-west-1',
          registryRoleRegion,
        }
      );
    }
    libraryApp.synth();

    const stackSetTemplate = path.join(scratch, 'stack-set-member.template.json');
    const memberDeployment = JSON.parse(
      fs.readFileSync(
        path.join(organization, 'LambdaEcrAutofixMemberDeployment.template.json'),
        'utf8'
      )
    ) as { Resources: Record<string, { Type: string; Properties: { TemplateBody?: string } }> };
    const stackSet = Object.values(memberDeployment.Resources).find(
      (r) => r.Type === 'AWS::CloudFormation::StackSet'
    );
    fs.writeFileSync(stackSetTemplate, stackSet?.Properties.TemplateBody ?? '');

    const templates = [
      ...templatesUnder(organization),
      ...templatesUnder(single),
      ...templatesUnder(listed),
      ...templatesUnder(library),
      stackSetTemplate,
    ];

    // Act
    const result = spawnSync('cfn-lint', ['--format', 'json', '--', ...templates], {
      encoding: 'utf8',
    });
    const matches = JSON.parse(result.stdout || '[]') as LintMatch[];

    // Assert
    expect(templates.map((t) => path.relative(scratch, t))).toEqual([
      'organization/LambdaEcrAutofix.template.json',
      'organization/LambdaEcrAutofixMemberDeployment.template.json',
      'organization/assembly-LambdaEcrAutofixMemberDeployment-Default-MemberTemplate/LambdaEcrAutofixMemberDeploymentMemberTemplateLambdaEcrAutofixMember2D6D4D05.template.json',
      'organization/assembly-Member/MemberLambdaEcrAutofixMember6AB91EBE.template.json',
      'single-account/LambdaEcrAutofix.template.json',
      'listed-registries/LambdaEcrAutofix.template.json',
      'listed-registries/LambdaEcrAutofixMemberDeployment.template.json',
      'listed-registries/assembly-LambdaEcrAutofixMemberDeployment-Default-MemberTemplate/LambdaEcrAutofixMemberDeploymentMemberTemplateLambdaEcrAutofixMember2D6D4D05.template.json',
      'listed-registries/assembly-Member/MemberLambdaEcrAutofixMember6AB91EBE.template.json',
      'library/Member.template.json',
      'library/MemberEverywhere.template.json',
      'library/Platform.template.json',
      'library/PlatformMemberDeployment.template.json',
      'library/assembly-PlatformMemberDeployment-Default-MemberTemplate/PlatformMemberDeploymentMemberTemplateLambdaEcrAutofixMemberBC3F2E06.template.json',
      'stack-set-member.template.json',
    ]);
    expect(
      matches
        .filter((m) => m.Level !== 'Informational')
        .map((m) => `${m.Level} ${m.Rule.Id} ${path.relative(scratch, m.Filename)}: ${m.Message}`)
    ).toEqual([]);
  });
});
