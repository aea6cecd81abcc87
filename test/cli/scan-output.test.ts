import {
  fixesText,
  publishedText,
  scanCsv,
  scanJson,
  scanText,
} from '../../bin/commands/scan-output';
import type { ScanFinding } from '../../lambda/domain/scan';
import { runCli } from '../support/cli';

function finding(overrides: Partial<ScanFinding>): ScanFinding {
  return {
    functionName: 'api',
    functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:api',
    region: 'eu-west-1',
    imageUri: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/app:1',
    repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/app',
    status: 'ok',
    reason: 'grant-already-present',
    explanation: 'Fine.',
    fixable: false,
    ...overrides,
  };
}

const report = {
  account: '222222222222',
  regions: ['eu-west-1', 'us-east-1'],
  findings: [
    finding({
      functionName: 'zeta',
      region: 'us-east-1',
      status: 'at-risk',
      reason: 'repository-policy-missing-grant',
      fixable: true,
    }),
    finding({ functionName: 'alpha' }),
    finding({
      functionName: 'quoted',
      status: 'needs-human',
      reason: 'explicit-deny',
      explanation: 'A "Deny", with a comma,\nand a line break.',
      repositoryArn: null,
      imageUri: null,
    }),
  ],
  deleted: 1,
};

describe('scan output', () => {
  it('prints JSON with the summary and every function, by Region and name', () => {
    const json = JSON.parse(scanJson(report)) as {
      summary: Record<string, number>;
      functions: Record<string, unknown>[];
    };

    expect(json.summary).toEqual({ ok: 1, broken: 0, 'at-risk': 1, 'needs-human': 1, unknown: 0 });
    expect(json.functions.map((f) => f['functionName'])).toEqual(['alpha', 'quoted', 'zeta']);
    expect(Object.keys(json.functions[0] ?? {})).toEqual([
      'functionName',
      'functionArn',
      'region',
      'imageUri',
      'repositoryArn',
      'status',
      'reason',
      'explanation',
    ]);
    expect(json.functions[1]?.['repositoryArn']).toBeNull();
  });

  it('quotes CSV fields as RFC 4180 says, and ends each line with CRLF', () => {
    const csv = scanCsv(report);

    expect(
      csv.startsWith(
        'functionName,functionArn,region,imageUri,repositoryArn,status,reason,explanation\r\n'
      )
    ).toBe(true);
    expect(csv).toContain(
      ',,needs-human,explicit-deny,"A ""Deny"", with a comma,\nand a line break."\r\n'
    );
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')).toHaveLength(5);
  });

  it('prints the summary and one line per function that is not ok, worst first', () => {
    const text = scanText(report);

    expect(text).toContain(
      'Scanned 3 container-image functions of account 222222222222 in eu-west-1, us-east-1 (1 deleted during the scan, skipped):'
    );
    expect(text).toContain('  ok 1   broken 0   at-risk 1   needs-human 1   unknown 0');
    const rows = text.split('\n').filter((line) => /^(at-risk|needs-human)\s/.test(line));
    expect(rows).toEqual([
      expect.stringMatching(
        /^at-risk\s+zeta\s+us-east-1\s+app \(111111111111\)\s+repository-policy-missing-grant$/
      ),
      expect.stringMatching(/^needs-human\s+quoted\s+eu-west-1\s+-\s+explicit-deny$/),
    ]);
    expect(text).toContain('1 of them lambda-ecr-autofix may fix: run again with --fix');
    expect(scanText({ ...report, findings: [finding({})], deleted: 0 })).toBe(
      'Scanned 1 container-image function of account 222222222222 in eu-west-1, us-east-1:\n  ok 1   broken 0   at-risk 0   needs-human 0   unknown 0'
    );
  });

  it('says what each fix did', () => {
    const decision = {
      outcome: 'needs-human' as const,
      reason: 'repository-opted-out' as const,
      explanation: '',
      nextSteps: [],
      call: null,
      target: null,
      policyBefore: null,
      policyAfter: null,
      grants: [],
    };

    expect(fixesText([])).toBe('Nothing to fix.');
    expect(
      fixesText([
        {
          functionArn: 'arn:aws:lambda:eu-west-1:2:function:a',
          status: 'done',
          decision,
          applied: false,
          notified: false,
        },
        {
          functionArn: 'arn:aws:lambda:eu-west-1:2:function:b',
          status: 'done',
          decision: { ...decision, outcome: 'already-allowed', reason: 'grant-already-present' },
          applied: false,
          notified: false,
        },
        {
          functionArn: 'arn:aws:lambda:eu-west-1:2:function:c',
          status: 'failed',
          error: new Error('SNS\n down'),
        },
        { functionArn: 'arn:aws:lambda:eu-west-1:2:function:d', status: 'failed', error: 'odd' },
      ])
    ).toBe(
      [
        'Fixes (4):',
        '  a: not fixed: needs-human (repository-opted-out)',
        '  b: already allowed (by a grant of this run or an earlier one)',
        '  c: FAILED: SNS down',
        '  d: FAILED: odd',
      ].join('\n')
    );
  });
});

describe('publishedText', () => {
  const decision = {
    outcome: 'fix' as const,
    reason: 'repository-policy-missing-grant' as const,
    explanation: '',
    nextSteps: [],
    call: null,
    target: null,
    policyBefore: null,
    policyAfter: null,
    grants: [],
  };
  const written = (name: string, notified: boolean) => ({
    functionArn: `arn:aws:lambda:eu-west-1:2:function:${name}`,
    status: 'done' as const,
    decision,
    applied: true,
    notified,
  });

  it('says whether the writes were told, like apply', () => {
    const topic = 'arn:aws:sns:eu-west-1:222222222222:autofix';

    expect(publishedText([written('a', true), written('b', true)], topic)).toBe(
      `Published:   2 FIXED notice(s) to ${topic}`
    );
    expect(publishedText([written('a', false)], undefined)).toBe(
      'Published:   no (no --topic-arn: nobody was told of these writes; pass --topic-arn ARN so that the consumer and registry accounts hear of them)'
    );
    expect(
      publishedText(
        [
          { ...written('a', false), applied: false },
          { functionArn: 'x', status: 'failed', error: 'odd' },
        ],
        topic
      )
    ).toBeNull();
  });
});

describe('scan on the command line', () => {
  it('is listed in the help and has its own', async () => {
    const top = await runCli('--help');
    const own = await runCli('scan', '--help');

    expect(top.out).toContain('  scan     check every container-image function of the account');
    expect(own.code).toBe(0);
    expect(own.out).toMatch(/^Usage: lambda-ecr-autofix scan \[--region R \.\.\.\]/);
    expect(own.out).toContain('exit 4 when a function is broken or at-risk');
  });

  it('refuses a configuration file that is not JSON', async () => {
    const { code, err } = await runCli(
      'scan',
      '--region',
      'us-east-1',
      '--config',
      'examples/events/malformed-truncated-event.json'
    );

    expect(code).toBe(2);
    expect(err).toMatch(/^lambda-ecr-autofix scan: --config .* is not valid JSON/);
  });
});
