import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';

import { ConfigError } from '../../lambda/domain/config';
import { defineLambdaEcrAutofix, readConfig } from '../../lib/lambda-ecr-autofix-app';

const REPOSITORY_ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsx');

function appWith(context: unknown): App {
  return new App({ context: { 'lambda-ecr-autofix': context } });
}

/** The problems `readConfig` reports for a cdk.json context value. */
function problemsFor(context: unknown): readonly string[] {
  try {
    readConfig(appWith(context));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`Expected ${JSON.stringify(context)} to be refused.`);
}

describe('configuration from cdk.json', () => {
  it('fills every default when the context key is absent', () => {
    // Act
    const config = readConfig(new App());

    // Assert
    expect(config).toEqual({
      notificationEmails: [],
      mode: 'enforce',
      grantScope: 'account',
      registryAccounts: ['*'],
      consumerAccounts: ['*'],
      excludeRepositories: [],
      optOutTag: 'lambda-ecr-autofix=off',
      registryRoleName: 'LambdaEcrAutofixRegistryAccess',
      notifyOn: ['fix', 'needs-human', 'revoke', 'error'],
      sharing: 'consented',
      sharedRegistries: [],
      shareTag: 'lambda-ecr-autofix:share',
      driftAction: 'notify',
      decisionEvents: true,
      auditRetentionDays: 365,
      sweepSchedule: 'rate(1 day)',
      sweepAction: 'report',
    });
  });

  it('accepts the object as a JSON string, as `-c lambda-ecr-autofix=...` passes it', () => {
    // Act
    const config = readConfig(appWith('{"mode":"dry-run","organizationId":"o-a1b2c3d4e5"}'));

    // Assert
    expect(config.mode).toBe('dry-run');
    expect(config.organizationId).toBe('o-a1b2c3d4e5');
  });

  // key (and value) in the message, then the fix the message must suggest
  it.each<[string, unknown, RegExp]>([
    [
      'notificationEmails',
      { notificationEmails: ['ops'] },
      /"notificationEmails\.0" must be an e-mail address like ops@example\.com \(got "ops"\)/,
    ],
    [
      'notificationEmails type',
      { notificationEmails: 'ops@example.com' },
      /"notificationEmails" .*\(got "ops@example\.com"\)/,
    ],
    [
      'excludeRepositories type',
      { excludeRepositories: 'platform/*' },
      /^"excludeRepositories" must be a list, e\.g\. \["platform\/\*"\] \(got "platform\/\*"\)$/,
    ],
    [
      'memberDeployment type',
      { memberDeployment: ['r-ab12'] },
      /^"memberDeployment" must be an object, e\.g\. \{"organizationalUnitIds":\["r-ab12"\],"regions":\["eu-west-1"\],"registryRoleRegion":"eu-west-1"\} \(got \["r-ab12"\]\)$/,
    ],
    ['mode', { mode: 'fix' }, /"mode" must be "enforce" or "dry-run" \(got "fix"\)/],
    [
      'grantScope',
      { grantScope: 'org' },
      /"grantScope" must be "account" .* or "function" .*\(got "org"\)/,
    ],
    [
      'registryAccounts',
      { registryAccounts: ['12345'] },
      /"registryAccounts\.0" must be a 12-digit AWS account id or "\*" .*\(got "12345"\)/,
    ],
    [
      'registryAccounts empty',
      { registryAccounts: [] },
      /"registryAccounts" must not be empty; use \["\*"\] .*\(got \[\]\)/,
    ],
    [
      'consumerAccounts',
      { consumerAccounts: ['any'] },
      /"consumerAccounts\.0" must be a 12-digit AWS account id .*\(got "any"\)/,
    ],
    [
      'excludeRepositories',
      { excludeRepositories: [''] },
      /"excludeRepositories\.0" must be a non-empty glob such as "prod\/\*" \(got ""\)/,
    ],
    [
      'optOutTag',
      { optOutTag: 'opt out!' },
      /"optOutTag" must be a tag "key=value" .*\(got "opt out!"\)/,
    ],
    [
      'registryRoleName',
      { registryRoleName: 'My Role' },
      /"registryRoleName" must be an IAM role name .*\(got "My Role"\)/,
    ],
    [
      'organizationId',
      { organizationId: 'org-1' },
      /"organizationId" must be an AWS Organizations id like "o-a1b2c3d4e5" \(got "org-1"\)/,
    ],
    [
      'memberDeployment OU',
      {
        memberDeployment: {
          organizationalUnitIds: ['ou-1'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      /"memberDeployment\.organizationalUnitIds\.0" must be an organizational unit id like "ou-ab12-cdef3456" .*\(got "ou-1"\)/,
    ],
    [
      'memberDeployment no OU',
      {
        memberDeployment: {
          organizationalUnitIds: [],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      /"memberDeployment\.organizationalUnitIds" must name at least one organizational unit \(got \[\]\)/,
    ],
    [
      'memberDeployment region',
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['Ireland', 'eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      /"memberDeployment\.regions\.0" must be an AWS region like "eu-west-1" \(got "Ireland"\)/,
    ],
    [
      'memberDeployment without the registry role region',
      { memberDeployment: { organizationalUnitIds: ['r-ab12'], regions: ['eu-west-1'] } },
      /"memberDeployment\.registryRoleRegion" must name the one region \(one of "regions"\) .* never change it .*\(got nothing\)/,
    ],
    [
      'memberDeployment with a registry role region outside the regions',
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['eu-west-1', 'us-east-1'],
          registryRoleRegion: 'eu-central-1',
        },
      },
      /"memberDeployment\.registryRoleRegion" must be one of "regions" \(eu-west-1, us-east-1\): add it to "regions" .*\(got "eu-central-1"\)/,
    ],
    [
      'memberDeployment unknown key',
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
          accounts: ['1'],
        },
      },
      /unknown key "memberDeployment\.accounts": remove it/,
    ],
    [
      'notifyOn',
      { notifyOn: ['fixed'] },
      /"notifyOn\.0" must list some of "fix", .*\(got "fixed"\)/,
    ],
    [
      'auditRetentionDays zero',
      { auditRetentionDays: 0 },
      /"auditRetentionDays" must be at least 1 day \(got 0\)/,
    ],
    [
      'auditRetentionDays fraction',
      { auditRetentionDays: 1.5 },
      /"auditRetentionDays" must be a whole number of days \(got 1\.5\)/,
    ],
    [
      'auditRetentionDays string',
      { auditRetentionDays: '365' },
      /"auditRetentionDays" must be a whole number of days \(got "365"\)/,
    ],
    [
      'unknown key',
      { NotificationEmails: [] },
      /unknown key "NotificationEmails": remove it or use one of .* \(did you mean "notificationEmails"\?\)/,
    ],
    [
      'sharing organization without organizationId',
      { sharing: 'organization' },
      /"sharing" "organization" needs "organizationId" \(got nothing\): set "organizationId"/,
    ],
    [
      'sharedRegistries without organizationId',
      { sharedRegistries: ['111111111111'] },
      /"sharedRegistries" needs "organizationId" .*: set "organizationId" .* or remove "sharedRegistries"/,
    ],
    [
      'shareTag',
      { shareTag: 'aws:share' },
      /"shareTag" must be an ECR tag key .*\(got "aws:share"\)/,
    ],
    ['not an object', 42, /expected a JSON object, got 42/],
    [
      'not JSON',
      '{mode: dry-run}',
      /expected a JSON object, got "\{mode: dry-run\}": quote the whole object/,
    ],
  ])('names the key, the value and the fix: %s', (_what, context, message) => {
    // Act
    const problems = problemsFor(context);

    // Assert
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reports every problem at once, each in its own words', () => {
    // Act
    const problems = problemsFor({ mode: 'fix', organizationId: 'org-1', extra: true });

    // Assert
    expect(problems).toHaveLength(3);
    expect(new Set(problems).size).toBe(3);
  });

  it('refuses memberDeployment without organizationId when the stacks are declared', () => {
    // Arrange
    const app = appWith({
      memberDeployment: {
        organizationalUnitIds: ['r-ab12'],
        regions: ['eu-west-1'],
        registryRoleRegion: 'eu-west-1',
      },
    });

    // Act
    let error: unknown;
    try {
      defineLambdaEcrAutofix(app, readConfig(app));
    } catch (caught) {
      error = caught;
    }

    // Assert
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(
        /^"memberDeployment" needs "organizationId" \(got nothing\).*set "organizationId"/
      ),
    ]);
  });

  it('refuses a configuration too large for the Lambda environment, naming the keys to shorten', () => {
    // Arrange
    const excludeRepositories = Array.from({ length: 200 }, (_, i) => `team-${i}/service-${i}`);
    const app = appWith({ excludeRepositories });

    // Act
    const act = () => defineLambdaEcrAutofix(app, readConfig(app));

    // Assert
    expect(act).toThrow(
      /the configuration is \d+ bytes as JSON.*shorten "registryAccounts", "consumerAccounts" or "excludeRepositories"/
    );
  });
});

describe('bin/app.ts with a bad configuration', () => {
  it.each([
    [
      { mode: 'fix' },
      'Invalid configuration in cdk.json context "lambda-ecr-autofix": "mode" must be "enforce" or "dry-run" (got "fix")',
    ],
    [
      { excludeRepositories: 'platform/*' },
      'Invalid configuration in cdk.json context "lambda-ecr-autofix": "excludeRepositories" must be a list, e.g. ["platform/*"] (got "platform/*")',
    ],
    [
      // What `-c lambda-ecr-autofix='{…}'` passes: a string, which cdk.json does not hold.
      JSON.stringify({ excludeRepositories: 'platform/*' }),
      'Invalid configuration in -c lambda-ecr-autofix: "excludeRepositories" must be a list, e.g. ["platform/*"] (got "platform/*")',
    ],
    [
      { sharing: 'organization' },
      'Invalid configuration in cdk.json context "lambda-ecr-autofix": "sharing" "organization" needs "organizationId" (got nothing): set "organizationId" (aws organizations describe-organization) or use "sharing": "consented"',
    ],
  ])(
    'fails synth of %j with the message and exit code 1, without a stack trace',
    (context, message) => {
      // Arrange
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-ecr-autofix-bad-config-'));
      const env = {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'lambda-ecr-autofix': context }),
      };

      // Act
      let status = 0;
      let stderr = '';
      try {
        execFileSync(TSX, ['bin/app.ts'], { cwd: REPOSITORY_ROOT, env, stdio: 'pipe' });
      } catch (error) {
        const failed = error as { status: number; stderr: Buffer };
        status = failed.status;
        stderr = failed.stderr.toString();
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }

      // Assert
      expect(status).toBe(1);
      expect(stderr.trim()).toBe(message);
    }
  );
});
