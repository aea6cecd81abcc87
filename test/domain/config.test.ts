import {
  ConfigError,
  DEFAULT_CONFIG,
  describeIssue,
  optOutTagParts,
  parseConfig,
} from '../../lambda/domain/config';

function problemsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input, 'test.json');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('fills in every default', () => {
    expect(DEFAULT_CONFIG).toEqual({
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
    expect(parseConfig(undefined, 'x')).toEqual(DEFAULT_CONFIG);
    expect(parseConfig(null, 'x')).toEqual(DEFAULT_CONFIG);
  });

  it('accepts a complete configuration', () => {
    const config = parseConfig(
      {
        notificationEmails: ['platform@example.com'],
        mode: 'dry-run',
        grantScope: 'function',
        registryAccounts: ['111111111111'],
        consumerAccounts: ['222222222222', '333333333333'],
        excludeRepositories: ['prod/*'],
        optOutTag: 'autofix',
        registryRoleName: 'EcrFixer',
        organizationId: 'o-a1b2c3d4e5',
        memberDeployment: {
          organizationalUnitIds: ['ou-ab12-cdef3456', 'r-ab12'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
        notifyOn: ['fix'],
        auditRetentionDays: 30,
        sweepSchedule: 'cron(0 3 ? * MON *)',
        sweepAction: 'fix',
      },
      'x'
    );

    expect(config.mode).toBe('dry-run');
    expect(config.memberDeployment?.regions).toEqual(['eu-west-1']);
  });

  it.each([
    [{ mode: 'auto' }, '"mode" must be "enforce" or "dry-run" (got "auto")'],
    [{ grantScope: 'org' }, '"grantScope" must be "account"'],
    [
      { notificationEmails: ['not-an-email'] },
      '"notificationEmails.0" must be an e-mail address like ops@example.com (got "not-an-email")',
    ],
    [
      { notificationEmails: 'ops@example.com' },
      '"notificationEmails" must be a list, e.g. ["ops@example.com"] (got "ops@example.com")',
    ],
    [
      { excludeRepositories: 'platform/*' },
      '"excludeRepositories" must be a list, e.g. ["platform/*"] (got "platform/*")',
    ],
    [
      { excludeRepositories: [7] },
      '"excludeRepositories.0" must be a string, e.g. "prod/*" (got 7)',
    ],
    [
      { registryAccounts: 111111111111 },
      '"registryAccounts" must be a list, e.g. [111111111111] (got 111111111111)',
    ],
    [
      { notifyOn: { fix: true } },
      '"notifyOn" must be a list, e.g. ["fix","needs-human","revoke","error"] (got {"fix":true})',
    ],
    [
      { memberDeployment: 'r-ab12' },
      '"memberDeployment" must be an object, e.g. {"organizationalUnitIds":["r-ab12"],"regions":["eu-west-1"],' +
        '"registryRoleRegion":"eu-west-1"} (got "r-ab12")',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: 'r-ab12',
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      '"memberDeployment.organizationalUnitIds" must be a list, e.g. ["r-ab12"] (got "r-ab12")',
    ],
    [
      { registryAccounts: ['12345'] },
      '"registryAccounts.0" must be a 12-digit AWS account id or "*"',
    ],
    [{ consumerAccounts: [] }, '"consumerAccounts" must not be empty; use ["*"]'],
    [{ excludeRepositories: [''] }, '"excludeRepositories.0" must be a non-empty glob'],
    [{ optOutTag: 'bad tag!' }, '"optOutTag" must be a tag "key=value"'],
    [{ registryRoleName: 'has space' }, '"registryRoleName" must be an IAM role name'],
    [
      { organizationId: 'org-1' },
      '"organizationId" must be an AWS Organizations id like "o-a1b2c3d4e5" (got "org-1")',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: [],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      '"memberDeployment.organizationalUnitIds" must name at least one organizational unit',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: ['ou-1'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      '"memberDeployment.organizationalUnitIds.0" must be an organizational unit id',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['Europe', 'eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      '"memberDeployment.regions.0" must be an AWS region like "eu-west-1" (got "Europe")',
    ],
    [
      { memberDeployment: { organizationalUnitIds: ['r-ab12'], regions: ['eu-west-1'] } },
      '"memberDeployment.registryRoleRegion" must name the one region (one of "regions") whose stack instances ' +
        'create the global registry role, e.g. "eu-west-1"',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'Ireland',
        },
      },
      '"memberDeployment.registryRoleRegion" must name the one region (one of "regions")',
    ],
    // CloudFormation refuses a StackSet whose Regions (or OrganizationalUnitIds) repeat an item (cfn-lint E3037):
    // at synth, not at deploy.
    [
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['eu-west-1', 'us-east-1', 'eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      '"memberDeployment.regions" must not name a region twice: remove the second "eu-west-1" ' +
        '(got ["eu-west-1","us-east-1","eu-west-1"])',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: ['ou-ab12-cdef3456', 'r-ab12', 'ou-ab12-cdef3456'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      '"memberDeployment.organizationalUnitIds" must not name an organizational unit twice: remove the second ' +
        '"ou-ab12-cdef3456" (got ["ou-ab12-cdef3456","r-ab12","ou-ab12-cdef3456"])',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['eu-west-1', 'us-east-1'],
          registryRoleRegion: 'ap-south-1',
        },
      },
      '"memberDeployment.registryRoleRegion" must be one of "regions" (eu-west-1, us-east-1): add it to ' +
        '"regions" rather than changing it, since the registry role must stay where it was created ' +
        '(got "ap-south-1")',
    ],
    [
      { notifyOn: ['everything'] },
      '"notifyOn.0" must list some of "fix", "already-allowed", "needs-human", "ignored", "revoke", "error"',
    ],
    [{ auditRetentionDays: 1.5 }, '"auditRetentionDays" must be a whole number of days (got 1.5)'],
    [{ auditRetentionDays: 0 }, '"auditRetentionDays" must be at least 1 day (got 0)'],
    [{ auditRetentionDays: 99999 }, '"auditRetentionDays" must be at most 3650 days'],
    [
      { auditRetentionDays: '30' },
      '"auditRetentionDays" must be a whole number of days (got "30")',
    ],
    [
      { sharing: 'all' },
      '"sharing" must be "consented" (share a repository only with its owner\'s consent) or "organization"',
    ],
    [{ sharedRegistries: ['1111'] }, '"sharedRegistries.0" must be a 12-digit AWS account id'],
    [{ sharedRegistries: '111111111111' }, '"sharedRegistries"'],
    [{ shareTag: 'has space' }, '"shareTag" must be an ECR tag key'],
    [{ shareTag: 'share=yes' }, '"shareTag" must be an ECR tag key'],
    [{ shareTag: 'aws:share' }, '"shareTag" must be an ECR tag key'],
    [{ shareTag: 'AWS:share' }, '"shareTag" must be an ECR tag key'],
    [{ shareTag: '' }, '"shareTag" must be an ECR tag key'],
    [{ shareTag: 'k'.repeat(129) }, '"shareTag" must be an ECR tag key'],
    [
      { sharing: 'organization' },
      '"sharing" "organization" needs "organizationId" (got nothing): set "organizationId" (aws organizations describe-organization) or use "sharing": "consented"',
    ],
    [
      { sharedRegistries: ['111111111111'] },
      '"sharedRegistries" needs "organizationId" (got ["111111111111"] and no organizationId): set "organizationId" (aws organizations describe-organization) or remove "sharedRegistries"',
    ],
    [
      {
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
        },
      },
      '"memberDeployment" needs "organizationId" (got nothing): the central bus admits the member accounts by organization; set "organizationId"',
    ],
    [
      { shareTag: 'autofix', optOutTag: 'autofix=off' },
      '"shareTag" and "optOutTag" use the same tag key "autofix": give them different keys',
    ],
    [{ sweepSchedule: 'daily' }, '"sweepSchedule" must be "off", "rate(VALUE UNIT)"'],
    [{ sweepSchedule: 7 }, '"sweepSchedule" must be "off" or an EventBridge schedule expression'],
    [{ sweepSchedule: 'rate(1 days)' }, 'write "rate(1 day)" (got "rate(1 days)")'],
    [{ sweepAction: 'repair' }, '"sweepAction" must be "report" (the sweep only reports) or "fix"'],
  ])('rejects %j naming the key, the value and the fix', (input, message) => {
    const problems = problemsOf(input);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('accepts the sharing keys with organizationId', () => {
    const config = parseConfig(
      {
        organizationId: 'o-a1b2c3d4e5',
        sharing: 'organization',
        sharedRegistries: ['111111111111'],
        shareTag: 'platform:share-with',
      },
      'x'
    );

    expect(config).toMatchObject({
      sharing: 'organization',
      sharedRegistries: ['111111111111'],
      shareTag: 'platform:share-with',
    });
  });

  it('reports both sharing problems at once', () => {
    expect(
      problemsOf({ sharing: 'organization', sharedRegistries: ['111111111111'] })
    ).toHaveLength(2);
  });

  it('names an unknown key and suggests the right spelling', () => {
    expect(problemsOf({ GrantScope: 'account' })).toEqual([
      expect.stringMatching(
        /^unknown key "GrantScope": remove it or use one of notificationEmails, .* \(did you mean "grantScope"\?\)$/
      ),
    ]);
    expect(problemsOf({ colour: 'blue' })[0]).not.toContain('did you mean');
    expect(problemsOf({ excludeRepository: ['x'] })[0]).toContain(
      '(did you mean "excludeRepositories"?)'
    );
    expect(problemsOf({ notifyon: ['fix'] })[0]).toContain('(did you mean "notifyOn"?)');
  });

  it('lists the keys of the nested object an unknown key is in', () => {
    expect(
      problemsOf({
        memberDeployment: {
          organizationalUnitIds: ['r-ab12'],
          regions: ['eu-west-1'],
          registryRoleRegion: 'eu-west-1',
          region: 1,
        },
      })
    ).toEqual([
      'unknown key "memberDeployment.region": remove it or use one of organizationalUnitIds, regions, ' +
        'registryRoleRegion (did you mean "regions"?)',
    ]);
  });

  it('describes a wrong type without an example or a known type name as far as it knows', () => {
    expect(
      describeIssue({
        code: 'invalid_type',
        expected: 'bigint',
        path: ['someFutureKey'],
        message: 'Invalid input',
        input: true,
      })
    ).toBe('"someFutureKey" must be bigint (got true)');
  });

  it('reports every problem at once, in a message that names the source', () => {
    expect(() => parseConfig({ mode: 'x', grantScope: 'y' }, 'cdk.json')).toThrow(
      /^Invalid configuration in cdk\.json: "mode" .*; "grantScope" /
    );
  });

  it('says when a required value is missing', () => {
    expect(
      problemsOf({
        memberDeployment: { regions: ['eu-west-1'], registryRoleRegion: 'eu-west-1' },
      })[0]
    ).toContain('(got nothing)');
  });

  it.each([[[]], ['text'], [42]])('rejects %j as not an object', (input) => {
    expect(problemsOf(input)[0]).toMatch(/^expected a JSON object, got /);
  });

  it('shortens a long value in the message', () => {
    expect(problemsOf({ mode: 'x'.repeat(200) })[0]).toMatch(/x{70,}\.\.\.\)$/);
  });
});

describe('optOutTagParts', () => {
  it.each([
    ['lambda-ecr-autofix=off', { key: 'lambda-ecr-autofix', value: 'off' }],
    ['autofix', { key: 'autofix', value: null }],
    ['a=b=c', { key: 'a', value: 'b=c' }],
    ['empty=', { key: 'empty', value: '' }],
  ])('splits %s', (optOutTag, parts) => {
    expect(optOutTagParts({ optOutTag })).toEqual(parts);
  });
});
