/**
 * The command line contract (DESIGN.md, "Command line"): plan, apply, revoke, history, demo, --help, exit codes and one-line errors.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import * as applyCommand from '../../bin/commands/apply';
import { whyNotPublished } from '../../bin/commands/apply';
import { examplesPath, nextSteps, verboseHint } from '../../bin/commands/demo';
import type { Config } from '../../lambda/domain/config';
import { DEFAULT_CONFIG } from '../../lambda/domain/config';
import { decide } from '../../lambda/domain/decide';
import { runCli } from '../support/cli';
import { EVENTS_DIR } from '../support/events';

// The real apply, wrapped so that one test can make it fail the way only AWS can (exit 3).
jest.mock('../../bin/commands/apply', () => {
  const actual = jest.requireActual<typeof applyCommand>('../../bin/commands/apply');
  return { ...actual, runApply: jest.fn(actual.runApply) };
});

const POLICIES = join(__dirname, '..', 'fixtures', 'policies');
const event = (name: string): string => join(EVENTS_DIR, name);

const run = runCli;
const SHARE = 'lambda-ecr-autofix:share';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-cli-'));
}

describe('plan', () => {
  it('prints one JSON object with exactly the contract fields', async () => {
    // Act
    const { code, out } = await run(
      'plan',
      '--event',
      event('create-function-cross-account-ecr-denied.json'),
      '--tag',
      `${SHARE}=222222222222`,
      '--json'
    );

    // Assert
    expect(code).toBe(0);
    const json = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      'outcome',
      'reason',
      'explanation',
      'target',
      'policyBefore',
      'policyAfter',
      'notification',
    ]);
    expect(json['outcome']).toBe('fix');
    expect(json['target']).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      registryAccount: '111111111111',
      repositoryName: 'platform/payments-worker',
      repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
      consumerAccount: '222222222222',
      functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
    });
    expect(json['policyBefore']).toBeNull();
    expect(json['policyAfter']).toEqual(expect.objectContaining({ Version: '2012-10-17' }));
    expect(json['notification']).toEqual({
      subject:
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)',
      message: expect.stringContaining('WHAT CHANGED') as string,
    });
  });

  it('prints a readable decision with the policy diff by default', async () => {
    const { code, out } = await run(
      'plan',
      '--event',
      event('create-function-cross-account-ecr-denied.json'),
      '--policy',
      join(POLICIES, 'ci-push-only.json'),
      '--tag',
      `${SHARE}=222222222222`
    );

    expect(code).toBe(0);
    expect(out).toMatch(/^Decision: {4}fix \(repository-policy-missing-grant\)\nExplanation: /);
    expect(out).toContain('Policy change:');
    expect(out).toContain('+       "Sid": "LambdaEcrAutofixService",');
    expect(out).toContain('Notification subject: [lambda-ecr-autofix] FIXED:');
  });

  it('reads the output of aws ecr get-repository-policy as the policy', async () => {
    const dir = scratch();
    const wrapped = join(dir, 'get-repository-policy.json');
    writeFileSync(
      wrapped,
      JSON.stringify({
        registryId: '111111111111',
        repositoryName: 'platform/payments-worker',
        policyText: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'ecr:*',
            },
            { Effect: 'Allow', Principal: { AWS: '222222222222' }, Action: 'ecr:*' },
          ],
        }),
      })
    );

    const { out } = await run(
      'plan',
      '--event',
      event('create-function-cross-account-ecr-denied.json'),
      '--policy',
      wrapped,
      '--json'
    );

    expect((JSON.parse(out) as { outcome: string }).outcome).toBe('already-allowed');
  });

  it('shows next steps and statements to add by hand for needs-human', async () => {
    const { code, out } = await run(
      'plan',
      '--event',
      event('create-function-scp-explicit-deny.json')
    );

    expect(code).toBe(0);
    expect(out).toContain('Decision:    needs-human (explicit-deny)');
    expect(out).toContain('Next steps:  1. ');
  });

  it('prints a 5,000-deep policy as text in --json instead of overflowing the stack', async () => {
    const dir = scratch();
    const policy = join(dir, 'deep.json');
    const deep = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    writeFileSync(
      policy,
      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":${deep}}]}`
    );

    const { code, out } = await run(
      'plan',
      '--event',
      event('create-function-same-account-ecr-denied.json'),
      '--policy',
      policy,
      '--json'
    );

    expect(code).toBe(0);
    const json = JSON.parse(out) as { outcome: string; reason: string; policyBefore: unknown };
    expect([json.outcome, json.reason]).toEqual(['needs-human', 'policy-invalid']);
    expect(typeof json.policyBefore).toBe('string');
  });

  it('applies the configuration file', async () => {
    const dir = scratch();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ grantScope: 'function', mode: 'dry-run' }));

    const { out } = await run(
      'plan',
      '--event',
      event('create-function-same-account-ecr-denied.json'),
      '--config',
      config,
      '--json'
    );

    const json = JSON.parse(out) as { policyAfter: unknown; notification: { subject: string } };
    expect(JSON.stringify(json.policyAfter)).toContain('function:orders-api:*');
    expect(json.notification.subject).toContain('PROPOSED FIX');
  });

  it('exits 0 for ignored events', async () => {
    const { code, out } = await run(
      'plan',
      '--event',
      event('create-function-success-image.json'),
      '--json'
    );

    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(expect.objectContaining({ outcome: 'ignored', target: null }));
  });

  it.each([
    [['plan'], /^lambda-ecr-autofix plan: --event FILE is required \(see --help\)$/],
    [['plan', '--event'], /^lambda-ecr-autofix plan: --event needs a value \(see --help\)$/],
    [
      ['plan', '--event', '--json'],
      /^lambda-ecr-autofix plan: --event needs a value \(see --help\)$/,
    ],
    [
      ['plan', '--event', 'x.json', '--bogus'],
      /^lambda-ecr-autofix plan: unknown option --bogus \(see --help\)$/,
    ],
    [
      ['plan', '--evnt', 'x.json'],
      /^lambda-ecr-autofix plan: unknown option --evnt; did you mean --event\? \(see --help\)$/,
    ],
    [
      ['apply', '--event', 'x.json', '--topic', 'arn'],
      /^lambda-ecr-autofix apply: unknown option --topic; did you mean --topic-arn\? \(see --help\)$/,
    ],
    [['plan', '-x'], /^lambda-ecr-autofix plan: unknown option -x \(see --help\)$/],
    [
      ['plan', '--version'],
      /^lambda-ecr-autofix plan: --version is an option of the command itself: lambda-ecr-autofix --version \(see --help\)$/,
    ],
    [['plan', '--json=yes'], /^lambda-ecr-autofix plan: --json takes no value \(see --help\)$/],
    [
      ['apply', '--event', 'a.json', '--event=b.json'],
      /^lambda-ecr-autofix apply: --event is given more than once \(see --help\)$/,
    ],
    [
      ['scan', '--json', '--json'],
      /^lambda-ecr-autofix scan: --json is given more than once \(see --help\)$/,
    ],
    [
      [],
      /^lambda-ecr-autofix: missing command; expected one of plan, apply, scan, revoke, history, demo \(see --help\)$/,
    ],
    [['plna'], /^lambda-ecr-autofix: unknown command "plna"; did you mean plan\? \(see --help\)$/],
    [
      ['--verbose'],
      /^lambda-ecr-autofix: unknown option --verbose; expected a command first: plan, apply, scan, revoke, history, demo \(see --help\)$/,
    ],
    [['--verison'], /^lambda-ecr-autofix: unknown option --verison; did you mean --version\? /],
    [
      ['plan', '--event', 'x.json', 'extra'],
      /^lambda-ecr-autofix plan: unexpected argument "extra"/,
    ],
    [
      ['plan', '--event', '/nonexistent/event.json'],
      /cannot read --event \/nonexistent\/event\.json: no such file/,
    ],
    [['plan', '--event', EVENTS_DIR], /cannot read --event .*: it is a directory/],
    [
      ['plan', '--event', event('malformed-truncated-event.json')],
      /--event .*malformed-truncated-event\.json is not valid JSON/,
    ],
    [
      [
        'plan',
        '--event',
        event('create-function-success-image.json'),
        '--policy',
        event('malformed-truncated-event.json'),
      ],
      /--policy .* is not valid JSON/,
    ],
    [
      ['frobnicate'],
      /^lambda-ecr-autofix: unknown command "frobnicate"; expected one of plan, apply, scan, revoke, history, demo/,
    ],
  ])('exits 2 with one line for %j', async (argv, message) => {
    const { code, out, err } = await run(...argv);

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
    expect(err).not.toContain('\n');
    expect(err).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('exits 2 for a configuration that shares without organizationId', async () => {
    const dir = scratch();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ sharing: 'organization' }));

    const { code, err } = await run(
      'plan',
      '--event',
      event('create-function-success-image.json'),
      '--config',
      config
    );

    expect(code).toBe(2);
    expect(err).toContain('"sharing" "organization" needs "organizationId"');
    expect(err).not.toContain('\n');
  });

  it('exits 2 naming the key for a bad configuration', async () => {
    const dir = scratch();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ mode: 'yolo', colour: 'blue' }));

    const { code, err } = await run(
      'plan',
      '--event',
      event('create-function-success-image.json'),
      '--config',
      config
    );

    expect(code).toBe(2);
    expect(err).toContain('"mode" must be "enforce" or "dry-run" (got "yolo")');
    expect(err).toContain('unknown key "colour"');
  });

  it('exits 2 naming the key, the expected type and an example for a wrong JSON type', async () => {
    const config = join(scratch(), 'config.json');
    writeFileSync(config, JSON.stringify({ excludeRepositories: 'platform/*' }));

    const { code, err } = await run(
      'plan',
      '--event',
      event('create-function-success-image.json'),
      '--config',
      config
    );

    expect(code).toBe(2);
    expect(err).toBe(
      `lambda-ecr-autofix plan: Invalid configuration in ${config}: "excludeRepositories" must be a list, e.g. ["platform/*"] (got "platform/*") (see --help)`
    );
  });

  it.each([['plan'], ['apply'], ['demo']])('documents %s with --help', async (command) => {
    const { code, out } = await run(command, '--help');

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Usage: lambda-ecr-autofix ${command}`));
  });

  it('prints the overview with --help', async () => {
    const help = await run('--help');

    expect(help.code).toBe(0);
    expect(help.out).toContain('Commands:');
    expect(help.out).toContain('--version');
  });

  it.each([['--version'], ['-v'], ['version']])(
    'prints the version of package.json with %s',
    async (flag) => {
      const { version } = JSON.parse(
        readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')
      ) as { version: string };

      const { code, out, err } = await run(flag);

      expect(code).toBe(0);
      expect(out).toBe(`lambda-ecr-autofix ${version}`);
      expect(err).toBe('');
    }
  );
});

describe('plan --tag and --tags', () => {
  const CROSS_ACCOUNT = event('create-function-cross-account-ecr-denied.json');

  async function decisionWith(...argv: string[]): Promise<{ outcome: string; reason: string }> {
    const { code, out, err } = await run('plan', '--event', CROSS_ACCOUNT, ...argv, '--json');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    return JSON.parse(out) as { outcome: string; reason: string };
  }

  function tagsFile(content: unknown): string {
    const file = join(scratch(), 'tags.json');
    writeFileSync(file, JSON.stringify(content));
    return file;
  }

  it("needs the owner's consent without tags", async () => {
    expect(await decisionWith()).toMatchObject({
      outcome: 'needs-human',
      reason: 'sharing-not-consented',
    });
  });

  it.each([
    ['a --tag', ['--tag', `${SHARE}=333333333333 222222222222`]],
    [
      'the output of aws ecr list-tags-for-resource',
      ['--tags', tagsFile({ tags: [{ Key: SHARE, Value: '222222222222' }] })],
    ],
    ['a bare list of tags', ['--tags', tagsFile([{ Key: SHARE, Value: '222222222222' }])]],
    ['a map of tags', ['--tags', tagsFile({ [SHARE]: '222222222222', team: 'platform' })]],
  ])('takes the share tag from %s as consent', async (_form, argv) => {
    expect(await decisionWith(...argv)).toMatchObject({ outcome: 'fix' });
  });

  it('lets a --tag win over --tags for the same key', async () => {
    const file = tagsFile({ tags: [{ Key: SHARE, Value: '222222222222' }] });

    expect(await decisionWith('--tags', file, '--tag', `${SHARE}=333333333333`)).toMatchObject({
      reason: 'sharing-not-consented',
    });
  });

  it('lets the opt-out tag win over the share tag', async () => {
    expect(
      await decisionWith('--tag', `${SHARE}=222222222222`, '--tag', 'lambda-ecr-autofix=off')
    ).toMatchObject({ outcome: 'needs-human', reason: 'repository-opted-out' });
  });

  it('takes an empty value and values with "="', async () => {
    expect(await decisionWith('--tag', 'lambda-ecr-autofix=', '--tag', 'note=a=b')).toMatchObject({
      reason: 'sharing-not-consented',
    });
  });

  it('shows IaC ownership from the tags in the notification', async () => {
    const { out } = await run(
      'plan',
      '--event',
      CROSS_ACCOUNT,
      '--tag',
      `${SHARE}=222222222222`,
      '--tag',
      'aws:cloudformation:stack-name=SharedRegistry',
      '--json'
    );

    const json = JSON.parse(out) as { notification: { message: string } };
    expect(json.notification.message).toContain(
      'THIS REPOSITORY IS MANAGED BY CLOUDFORMATION STACK SHAREDREGISTRY'
    );
  });

  it.each([
    [
      ['--tag', 'no-equals-sign'],
      /--tag must be KEY=VALUE \(e\.g\. lambda-ecr-autofix:share=222222222222\), got "no-equals-sign"/,
    ],
    [['--tag', '=value'], /--tag must be KEY=VALUE/],
    [['--tag'], /--tag needs a value/],
    [
      ['--tags', '/nonexistent/tags.json'],
      /cannot read --tags \/nonexistent\/tags\.json: no such file/,
    ],
    [['--tags', event('malformed-truncated-event.json')], /--tags .* is not valid JSON/],
    [
      ['--tags', tagsFile({ tags: [{ Value: 'x' }] })],
      /--tags .* has a tag without a "Key" string at position 1; expected the output of "aws ecr list-tags-for-resource"/,
    ],
    [['--tags', tagsFile([{ Key: 'k' }])], /--tags .* has a tag "k" without a "Value" string/],
    [
      [
        '--tags',
        tagsFile([
          { Key: 'k', Value: 'a' },
          { Key: 'k', Value: 'b' },
        ]),
      ],
      /--tags .* names the tag "k" twice/,
    ],
    [['--tags', tagsFile({ k: 1 })], /--tags .* gives the tag "k" a value that is not a string/],
    [['--tags', tagsFile({ tags: { k: 'v' } })], /--tags .* is not a list of tags/],
    [['--tags', tagsFile('k=v')], /--tags .* is not a list of tags/],
  ])('exits 2 with one line for %j', async (argv, message) => {
    const { code, out, err } = await run('plan', '--event', CROSS_ACCOUNT, ...argv);

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
    expect(err).not.toContain('\n');
  });

  it('keeps tag keys such as __proto__ as plain keys', async () => {
    const file = join(scratch(), 'tags.json');
    writeFileSync(file, `{"__proto__": "x", "${SHARE}": "222222222222"}`);

    expect(await decisionWith('--tags', file, '--tag', 'constructor=y')).toMatchObject({
      outcome: 'fix',
    });
  });
});

describe('apply argument checks', () => {
  it.each([
    [['--endpoint-url', 'localhost:5000'], /--endpoint-url must be an http\(s\) URL/],
    [['--topic-arn', 'my-topic'], /--topic-arn must be an SNS topic ARN/],
    [
      ['--topic-arn', 'arn:aws:sns:us-east-1:123456789012:alerts.fifo'],
      /--topic-arn names a FIFO topic \("arn:aws:sns:us-east-1:123456789012:alerts\.fifo"\); lambda-ecr-autofix publishes its notices to a standard topic/,
    ],
    [['--audit-table', 'a b'], /--audit-table must be a DynamoDB table name/],
    [['--audit-table', 'ab'], /--audit-table must be a DynamoDB table name/],
  ])('rejects %j before calling AWS', async (extra, message) => {
    const { code, err } = await run(
      'apply',
      '--event',
      event('create-function-same-account-ecr-denied.json'),
      ...extra
    );

    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});

describe('apply exit status', () => {
  it('is 3, with the message on one line, when the policy was written but the notice was not sent', async () => {
    jest
      .mocked(applyCommand.runApply)
      .mockRejectedValueOnce(
        new applyCommand.ApplyError(
          'policy written and verified; notice not sent: NotFound: Topic does not exist (run the same command again to send it; nothing will be written again)',
          { exitCode: 3 }
        )
      );

    const { code, err } = await run(
      'apply',
      '--event',
      event('create-function-same-account-ecr-denied.json')
    );

    expect(code).toBe(3);
    expect(err).toBe(
      'lambda-ecr-autofix apply: policy written and verified; notice not sent: NotFound: Topic does not exist (run the same command again to send it; nothing will be written again)'
    );
  });
});

describe('apply exit status 3 still shows the change', () => {
  it('prints the decision that was written on stdout, then the one-line error', async () => {
    jest.mocked(applyCommand.runApply).mockRejectedValueOnce(
      new applyCommand.ApplyError(
        'policy written and verified; notice not sent: Unknown (run the same command again to send it; nothing will be written again)',
        {
          exitCode: 3,
          output:
            'Decision:    fix (repository-policy-missing-grant)\nApplied:     yes, written and verified',
        }
      )
    );

    const { code, out, err } = await run(
      'apply',
      '--event',
      event('create-function-same-account-ecr-denied.json')
    );

    expect(code).toBe(3);
    expect(out).toContain('Applied:     yes, written and verified');
    expect(err).toMatch(/^lambda-ecr-autofix apply: policy written and verified; notice not sent/);
  });
});

describe('apply --help', () => {
  it('documents the audit table and every exit status, 3 included', async () => {
    const { out } = await run('apply', '--help');

    expect(out).toContain('--audit-table NAME');
    expect(out).toMatch(
      /3 when the policy was written and verified but the\s+notice could not be sent/
    );
  });
});

describe('the installed command', () => {
  const exec = promisify(execFile);

  it('prints a one-line error and no stack trace for a truncated event file', async () => {
    const result = await exec(
      process.execPath,
      [
        require.resolve('tsx/cli'),
        join(__dirname, '..', '..', 'bin', 'cli.ts'),
        'plan',
        '--event',
        event('malformed-truncated-event.json'),
      ],
      { env: { ...process.env } }
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error
    );

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('is not valid JSON');
  });
});

describe('the demo hints, in the terms of where it runs', () => {
  const installed = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-installed-'));
  const clone = join(__dirname, '..', '..');

  it('a clone: npm scripts', () => {
    expect(verboseHint(clone)).toBe('Each e-mail in full: npm run demo -- --verbose.');
    expect(examplesPath(clone, 'config.json')).toBe('examples/config.json');
    expect(nextSteps(clone)).toContain('`npm run --silent cli -- plan --event FILE`');
  });

  it('an installed package: the command and the installed documents', () => {
    expect(verboseHint(installed)).toBe('Each e-mail in full: lambda-ecr-autofix demo --verbose.');
    expect(examplesPath(installed, 'config.json')).toBe(join(installed, 'examples', 'config.json'));
    expect(nextSteps(installed)).toBe(
      `Next: \`lambda-ecr-autofix plan --event FILE\` decides offline for one of your own failed deploys (how to get the event: ${join(installed, 'docs', 'operations.md')}); how to deploy the fixer to an AWS Organization: ${join(installed, 'README.md')}.`
    );
  });
});

describe('why apply published nothing', () => {
  const decision = decide(
    JSON.parse(
      readFileSync(event('create-function-same-account-ecr-denied.json'), 'utf8')
    ) as unknown,
    { policyText: null },
    DEFAULT_CONFIG
  );

  it.each<[string, Config, boolean, string]>([
    ['no topic', DEFAULT_CONFIG, false, 'no --topic-arn given'],
    [
      'notifyOn',
      { ...DEFAULT_CONFIG, notifyOn: ['error'] },
      true,
      'notifyOn ["error"] does not include "fix"',
    ],
    ['anything else', DEFAULT_CONFIG, true, 'the pipeline published nothing for this decision'],
  ])('%s', (_what, config, hasTopic, why) => {
    expect(whyNotPublished(decision, config, hasTopic)).toBe(why);
  });
});
