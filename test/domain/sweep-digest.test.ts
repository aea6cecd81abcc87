import type { ScanFinding } from '../../lambda/domain/scan';
import {
  MAX_FIXED,
  MAX_LISTED,
  addToDigest,
  emptyDigest,
  foundSomething,
  renderDigest,
  withProblem,
} from '../../lambda/domain/sweep-digest';

const sweep = { account: '222222222222', region: 'eu-west-1', startedAt: '2026-01-01T03:00:00Z' };

function finding(name: string, status: ScanFinding['status'], reason = 'r'): ScanFinding {
  return {
    functionName: name,
    functionArn: `arn:aws:lambda:eu-west-1:222222222222:function:${name}`,
    region: 'eu-west-1',
    imageUri: null,
    repositoryArn:
      status === 'unknown' ? null : 'arn:aws:ecr:eu-west-1:111111111111:repository/app',
    status,
    reason: reason as ScanFinding['reason'],
    explanation: `${name} explained.`,
    fixable: false,
  };
}

const chunk = (
  findings: ScanFinding[],
  extra: Partial<Parameters<typeof addToDigest>[1]> = {}
) => ({
  findings,
  deleted: 0,
  fixes: [],
  failedFixes: 0,
  ...extra,
});

describe('the sweep digest', () => {
  it('counts every status and lists what is not ok', () => {
    const digest = addToDigest(
      emptyDigest(),
      chunk(
        [
          finding('a', 'ok'),
          finding('b', 'broken', 'image-access-denied'),
          finding('c', 'unknown'),
        ],
        {
          deleted: 2,
        }
      )
    );

    expect(digest.counts).toEqual({ ok: 1, broken: 1, 'at-risk': 0, 'needs-human': 0, unknown: 1 });
    expect(digest.deleted).toBe(2);
    expect(digest.listed.map((entry) => entry.functionName)).toEqual(['b', 'c']);
    expect(foundSomething(digest)).toBe(true);
  });

  it('adds chunks up, and bounds what it lists', () => {
    const many = Array.from({ length: MAX_LISTED + 3 }, (_, i) => finding(`f${i}`, 'at-risk'));
    const long = { ...finding('long', 'needs-human'), explanation: 'x'.repeat(1000) };

    const digest = addToDigest(addToDigest(emptyDigest(), chunk(many)), chunk([long]));

    expect(digest.counts['at-risk']).toBe(MAX_LISTED + 3);
    expect(digest.listed).toHaveLength(MAX_LISTED);
    expect(digest.unlisted).toBe(4);
  });

  it('groups fixes by repository, bounded, and counts failed ones', () => {
    const fixes = Array.from({ length: MAX_FIXED + 2 }, (_, i) => ({
      functionName: `f${i}`,
      repositoryArn: `arn:aws:ecr:eu-west-1:111111111111:repository/r${i}`,
      notified: true,
    }));
    const digest = addToDigest(
      addToDigest(emptyDigest(), chunk([], { fixes, failedFixes: 1 })),
      chunk([], {
        fixes: [
          { functionName: 'again', repositoryArn: fixes[0]?.repositoryArn ?? '', notified: false },
        ],
      })
    );

    expect(digest.fixed).toHaveLength(MAX_FIXED);
    expect(digest.fixed[0]?.functions).toEqual(['f0', 'again']);
    expect(digest.unlistedFixes).toBe(2);
    expect(digest.failedFixes).toBe(1);
    expect(digest.unnotifiedFixes).toBe(1);
    expect(foundSomething(digest)).toBe(true);
  });

  it('finds nothing when everything is ok', () => {
    const digest = addToDigest(emptyDigest(), chunk([finding('a', 'ok')]));

    expect(foundSomething(digest)).toBe(false);
    expect(foundSomething(withProblem(digest, 'no role'))).toBe(true);
  });

  it('keeps at most five problems, each clipped', () => {
    let digest = emptyDigest();
    for (let i = 0; i < 7; i++) digest = withProblem(digest, `${i} ${'y'.repeat(400)}`);

    expect(digest.problems).toHaveLength(5);
    expect(digest.problems[0]).toHaveLength(300);
  });
});

describe('renderDigest', () => {
  it('says what was found, fixed and what to do', () => {
    const digest = addToDigest(
      emptyDigest(),
      chunk(
        [
          finding('ok-fn', 'ok'),
          finding('nightly', 'broken', 'image-access-denied'),
          finding('api', 'at-risk', 'repository-policy-missing-grant'),
          finding('guarded', 'needs-human', 'explicit-deny'),
          ...Array.from({ length: MAX_LISTED }, (_, i) => finding(`more${i}`, 'unknown')),
        ],
        {
          deleted: 1,
          fixes: [
            {
              functionName: 'api',
              repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/app',
              notified: false,
            },
          ],
          failedFixes: 1,
        }
      )
    );

    const { subject, message } = renderDigest(sweep, digest);

    expect(subject).toBe(
      '[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 1 broken, 1 at-risk, 1 need a human, 1 fixed'
    );
    expect(message).toContain(
      'ok 1, broken 1, at-risk 1, needs-human 1, unknown 50 (1 deleted during the sweep)'
    );
    expect(message).toContain('- arn:aws:ecr:eu-west-1:111111111111:repository/app: for api');
    expect(message).toContain(
      '- 1 fix(es) failed; any of their writes that reached the policy is completed and notified from the audit table, the others are tried again by the next sweep'
    );
    expect(message).toContain(
      '- 1 of these fix(es) could not send their own notice (SNS failed) and no audit table keeps it to send later: this digest is their only notice'
    );
    expect(message).not.toContain('NOTICES SENT LATE');
    expect(message).toContain(
      '- nightly: broken (image-access-denied), arn:aws:ecr:eu-west-1:111111111111:repository/app\n  nightly explained.'
    );
    expect(message).toContain('- more46: unknown (r)\n');
    expect(message).toContain('- and 3 more');
    expect(message).toContain('lambda-ecr-autofix scan --region eu-west-1 --json');
    // The first screen says what was found, what to do and what was fixed; the long list comes after.
    const firstScreen = message.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('WHAT THE SWEEP FOUND');
    expect(firstScreen).toContain('WHAT TO DO');
    expect(firstScreen).toContain('WHAT WAS FIXED');
    expect(message.indexOf('DETAILS')).toBeLessThan(message.indexOf('FUNCTIONS THAT ARE NOT OK'));
  });

  it('keeps the subject ASCII and short, and tells a sweep that could not look', () => {
    const { subject, message } = renderDigest(
      { ...sweep, region: 'eu-west-1\u00e9'.repeat(20) },
      withProblem(emptyDigest(), 'Cannot assume the role.')
    );

    expect(subject.length).toBeLessThanOrEqual(99);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(message).toContain('WHAT KEPT THE SWEEP FROM LOOKING\n- Cannot assume the role.');
    expect(
      renderDigest(sweep, addToDigest(emptyDigest(), chunk([finding('u', 'unknown')]))).subject
    ).toBe('[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 1 unknown');
  });

  it('mentions fixes beyond the list', () => {
    const fixes = Array.from({ length: MAX_FIXED + 1 }, (_, i) => ({
      functionName: `f${i}`,
      repositoryArn: `arn:aws:ecr:eu-west-1:111111111111:repository/r${i}`,
      notified: true,
    }));

    const { message } = renderDigest(sweep, addToDigest(emptyDigest(), chunk([], { fixes })));

    expect(message).toContain('- and 1 more function(s) in other repositories');
  });

  it('tells the notices it sent late and the interrupted writes it completed, and only those', () => {
    const late = addToDigest(
      addToDigest(emptyDigest(), chunk([finding('api', 'ok')], { lateNotices: 2 })),
      chunk([], { lateNotices: 1, completedWrites: 1 })
    );
    const completedOnly = addToDigest(emptyDigest(), chunk([], { completedWrites: 1 }));

    const { subject, message } = renderDigest(sweep, late);

    expect([late.lateNotices, late.completedWrites]).toEqual([3, 1]);
    expect(foundSomething(late)).toBe(true);
    expect(foundSomething(completedOnly)).toBe(true);
    expect(subject).toBe('[lambda-ecr-autofix] SWEEP 222222222222 (eu-west-1): 3 late notice(s)');
    expect(message).toContain(
      'NOTICES SENT LATE (the audit table kept them)\n- 3 notice(s) of changes lambda-ecr-autofix made (fixes of this sweep or of earlier runs) could not be sent when the change was made; this sweep sent them now\n- 1 write(s) of earlier runs were interrupted before their audit record was completed; the sweep found them in the policy and completed the record'
    );
    expect(renderDigest(sweep, completedOnly).message).not.toContain('notice(s) of changes');
    expect(
      renderDigest(sweep, addToDigest(emptyDigest(), chunk([], { lateNotices: 1 }))).message
    ).not.toContain('write(s) of earlier runs');
    expect(foundSomething(addToDigest(emptyDigest(), chunk([finding('api', 'ok')])))).toBe(false);
  });
});

describe('what the digest puts first', () => {
  it('lists the worst first, and keeps a broken or at-risk function listed when the unknown ones fill the list', () => {
    const unknown = Array.from({ length: MAX_LISTED + 10 }, (_, i) =>
      finding(`unknown${String(i).padStart(2, '0')}`, 'unknown')
    );
    const digest = addToDigest(
      addToDigest(emptyDigest(), chunk(unknown)),
      chunk([
        finding('zeta', 'needs-human', 'explicit-deny'),
        finding('beta', 'at-risk', 'repository-policy-missing-grant'),
        finding('alpha', 'broken', 'image-access-denied'),
      ])
    );

    const { message } = renderDigest(sweep, digest);

    expect(digest.listed).toHaveLength(MAX_LISTED);
    expect(digest.unlisted).toBe(13);
    const listed = message
      .slice(message.indexOf('FUNCTIONS THAT ARE NOT OK'))
      .split('\n')
      .filter((line) => /^- \w+: /.test(line))
      .map((line) => line.slice(2, line.indexOf(':')));
    expect(listed.slice(0, 4)).toEqual(['alpha', 'beta', 'zeta', 'unknown00']);
    expect(message).toContain('- and 13 more');
  });

  it('says what to do only about the statuses it found', () => {
    const reportOnly = renderDigest(
      sweep,
      addToDigest(
        emptyDigest(),
        chunk([finding('api', 'at-risk'), finding('guarded', 'needs-human')])
      )
    ).message;
    const fixed = renderDigest(
      sweep,
      addToDigest(
        emptyDigest(),
        chunk([finding('api', 'at-risk'), finding('gone', 'unknown')], {
          fixes: [
            {
              functionName: 'api',
              repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/app',
              notified: true,
            },
          ],
        })
      )
    ).message;

    // The section, which comes before the list of functions (the first screen).
    const whatToDo = (message: string) => {
      const start = message.indexOf('WHAT TO DO\n');
      return message.slice(start, message.indexOf('\n\n', start));
    };
    expect(whatToDo(reportOnly)).toBe(
      [
        'WHAT TO DO',
        '- The whole list, with each explanation: lambda-ecr-autofix scan --region eu-west-1 --json (with credentials of account 222222222222).',
        // A fix it suggests is recorded and announced: never a bare "scan --fix".
        '- at-risk: lambda-ecr-autofix may add the grant: set sweepAction to "fix" (the sweep then fixes with the fixer\'s consent checks, audit record and notice), or run lambda-ecr-autofix scan --fix --audit-table <AuditTableName> --topic-arn <TopicArn> (without them a fix is neither recorded nor announced).',
        '- needs-human: a person must act; each explanation says why (a Deny, no consent to share, an opted-out, excluded or missing repository, a failure of the function itself).',
      ].join('\n')
    );
    expect(whatToDo(fixed)).toBe(
      [
        'WHAT TO DO',
        '- The whole list, with each explanation: lambda-ecr-autofix scan --region eu-west-1 --json (with credentials of account 222222222222).',
        '- at-risk: what lambda-ecr-autofix could fix is under WHAT WAS FIXED; any other is listed with why.',
        '- unknown: the sweep could not tell; each explanation says why (for example no registry role in the account of the repository).',
      ].join('\n')
    );
  });
});
