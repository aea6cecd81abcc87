import { parseConfig } from '../../lambda/domain/config';
import type { LocatedFunction, RepositoryReading } from '../../lambda/domain/scan';
import {
  assessFunction,
  locateFunction,
  lookupFailed,
  needsTags,
  summarizeFindings,
  unreadable,
} from '../../lambda/domain/scan';
import type { ScannedFunction } from '../../lambda/domain/scan-call';
import {
  CONFIG,
  DENY_LAMBDA_POLICY,
  SCAN_CONTEXT,
  grantedPolicy,
  makeFunction,
} from '../support/scan';

const REPOSITORY = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker';
const OPTED_OUT = { 'lambda-ecr-autofix': 'off' };

function located(fn: ScannedFunction): LocatedFunction {
  return locateFunction(fn, SCAN_CONTEXT);
}

function assess(
  fn: ScannedFunction,
  reading: RepositoryReading | null,
  config = CONFIG
): ReturnType<typeof assessFunction> {
  return assessFunction(fn, located(fn), reading, config, SCAN_CONTEXT);
}

/** The owner of 111111111111's repository consents to share with 222222222222 (its share tag). */
const CONSENT = { 'lambda-ecr-autofix:share': '222222222222' };

const read = (
  policyText: string | null,
  tags: Record<string, string> | null = CONSENT
): RepositoryReading => ({ kind: 'read', policyText, tags });

describe('assessFunction on an Active function', () => {
  const fn = makeFunction();

  it('is ok when the policy lets Lambda and the account pull', () => {
    expect(assess(fn, read(grantedPolicy(fn), null))).toEqual({
      functionName: 'payments-worker',
      functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
      region: 'eu-west-1',
      imageUri: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:1.4.2',
      repositoryArn: REPOSITORY,
      status: 'ok',
      reason: 'grant-already-present',
      explanation: expect.stringContaining('already lets') as string,
      fixable: false,
    });
  });

  it('is at-risk, and fixable, when the policy lacks the grant', () => {
    const finding = assess(fn, read(null));

    expect(finding).toEqual(
      expect.objectContaining({
        status: 'at-risk',
        reason: 'repository-policy-missing-grant',
        fixable: true,
      })
    );
  });

  it('needs a human when the owner has not consented to share with the account', () => {
    expect(assess(fn, read(null, {}))).toEqual(
      expect.objectContaining({
        status: 'needs-human',
        reason: 'sharing-not-consented',
        fixable: false,
      })
    );
  });

  it('needs a human when a Deny blocks the pull', () => {
    expect(assess(fn, read(DENY_LAMBDA_POLICY))).toEqual(
      expect.objectContaining({ status: 'needs-human', reason: 'explicit-deny', fixable: false })
    );
  });

  it('needs a human when the repository opted out and lacks the grant', () => {
    expect(assess(fn, read(null, { ...CONSENT, ...OPTED_OUT }))).toEqual(
      expect.objectContaining({
        status: 'needs-human',
        reason: 'repository-opted-out',
        fixable: false,
      })
    );
  });

  it('is ok when an opted-out repository already grants the pull: the tag only stops fixes', () => {
    expect(assess(fn, read(grantedPolicy(fn), OPTED_OUT))).toEqual(
      expect.objectContaining({ status: 'ok', reason: 'grant-already-present' })
    );
  });

  it('needs a human when the configuration excludes the repository, ok when it grants anyway', () => {
    const excluding = parseConfig({ excludeRepositories: ['platform/*'] }, 'test');

    expect(assess(fn, read(null), excluding)).toEqual(
      expect.objectContaining({
        status: 'needs-human',
        reason: 'repository-excluded',
        fixable: false,
      })
    );
    expect(assess(fn, read(grantedPolicy(fn)), excluding).status).toBe('ok');
  });

  it('adds when Lambda pulls next to an idle function’s verdict', () => {
    const idle = makeFunction({ state: 'Inactive', stateReasonCode: 'Idle' });

    expect(assess(idle, read(grantedPolicy(idle))).explanation).toMatch(
      /nothing to change\. The function is Inactive \(idle\)/
    );
    expect(assess(idle, read(null)).status).toBe('at-risk');
  });
});

describe('assessFunction on a broken function', () => {
  const denied = makeFunction({
    state: 'Inactive',
    stateReasonCode: 'ImageAccessDenied',
    stateReason: 'The function does not have permission to access the specified image.',
  });

  it('is broken and fixable when Lambda may not pull and the grant is missing', () => {
    const finding = assess(denied, read(null));

    expect(finding).toEqual(
      expect.objectContaining({ status: 'broken', reason: 'image-access-denied', fixable: true })
    );
    expect(finding.explanation).toMatch(
      /ImageAccessDenied .* lambda-ecr-autofix may add the grant/
    );
  });

  it('says to invoke or redeploy once the policy grants the pull', () => {
    const finding = assess(denied, read(grantedPolicy(denied)));

    expect(finding).toEqual(expect.objectContaining({ status: 'broken', fixable: false }));
    expect(finding.explanation).toMatch(/lets Lambda pull the image now: invoke the function/);
  });

  it('is broken but not fixable when a guard or a Deny stands in the way', () => {
    const excluding = parseConfig({ excludeRepositories: ['platform/*'] }, 'test');

    expect(assess(denied, read(null), excluding)).toEqual(
      expect.objectContaining({
        status: 'broken',
        fixable: false,
        explanation: expect.stringMatching(
          /matches "platform\/\*" in excludeRepositories/
        ) as string,
      })
    );
    expect(assess(denied, read(DENY_LAMBDA_POLICY)).explanation).toMatch(
      /Deny statement \(NoLambda\)/
    );
  });

  it.each([
    ['ImageDeleted', 'image-deleted', /the image is gone: push it again/],
    ['InvalidImage', 'image-invalid', /cannot use the image: rebuild it/],
  ])('reads %s as broken (%s), never fixable by a policy', (code, reason, advice) => {
    const fn = makeFunction({ state: 'Failed', stateReasonCode: code });

    expect(assess(fn, read(null))).toEqual(
      expect.objectContaining({ status: 'broken', reason, fixable: false })
    );
    expect(assess(fn, read(grantedPolicy(fn))).explanation).toMatch(advice);
  });

  it('stays broken when the repository cannot be read or located', () => {
    expect(assess(denied, unreadable('AccessDenied.'))).toEqual(
      expect.objectContaining({ status: 'broken', reason: 'image-access-denied' })
    );
    const elsewhere = makeFunction({
      state: 'Inactive',
      stateReasonCode: 'ImageAccessDenied',
      imageUri: '111111111111.dkr.ecr.eu-central-1.amazonaws.com/app:1',
    });
    expect(assess(elsewhere, null)).toEqual(
      expect.objectContaining({
        status: 'broken',
        // The image's repository, although Lambda will not run an image of another Region: where to look.
        repositoryArn: 'arn:aws:ecr:eu-central-1:111111111111:repository/app',
        explanation: expect.stringContaining(
          'is in eu-central-1 but the function is in eu-west-1'
        ) as string,
      })
    );
    const unusable = makeFunction({ imageUri: 'docker.io/library/app:1', resolvedImageUri: null });
    expect(assess(unusable, null)).toEqual(
      expect.objectContaining({ status: 'needs-human', repositoryArn: null })
    );
  });
});

describe('assessFunction on a function failing for another reason', () => {
  const failing = makeFunction({
    state: 'Failed',
    stateReasonCode: 'EniLimitExceeded',
    stateReason: 'ENI limit reached.',
  });

  it('needs a human, saying the repository policy is fine', () => {
    expect(assess(failing, read(grantedPolicy(failing)))).toEqual(
      expect.objectContaining({
        status: 'needs-human',
        reason: 'function-failed',
        explanation: expect.stringMatching(
          /EniLimitExceeded.*not an Amazon ECR repository-policy matter.*The repository policy lets Lambda pull the image\.$/
        ) as string,
      })
    );
  });

  it('is still at-risk (and fixable) when the grant is missing too', () => {
    const finding = assess(failing, read(null));

    expect(finding).toEqual(expect.objectContaining({ status: 'at-risk', fixable: true }));
    expect(finding.explanation).toMatch(
      /^The function's state is Failed with reason EniLimitExceeded/
    );
  });
});

describe('assessFunction when the scan cannot tell', () => {
  it('leaves a function being deleted unknown', () => {
    expect(assess(makeFunction({ state: 'Deleting' }), read(null))).toEqual(
      expect.objectContaining({ status: 'unknown', reason: 'function-deleting' })
    );
  });

  it('is unknown without the repository, with the reason', () => {
    const reading = unreadable('Cannot assume the registry role.', 'registry-role-unavailable');

    expect(assess(makeFunction(), reading)).toEqual(
      expect.objectContaining({
        status: 'unknown',
        reason: 'registry-role-unavailable',
        explanation: 'Cannot assume the registry role.',
        repositoryArn: REPOSITORY,
      })
    );
    expect(assess(makeFunction(), null)).toEqual(
      expect.objectContaining({ status: 'unknown', reason: 'repository-unreadable' })
    );
  });

  it('needs a human when the repository is gone', () => {
    const reading = unreadable('No such repository.', 'repository-not-found', 'needs-human');

    expect(assess(makeFunction(), reading)).toEqual(
      expect.objectContaining({ status: 'needs-human', reason: 'repository-not-found' })
    );
  });

  it('tells an unusable image URI (needs a human) from a missing one (unknown)', () => {
    expect(
      assess(makeFunction({ imageUri: 'docker.io/library/nginx:1', resolvedImageUri: null }), null)
    ).toEqual(expect.objectContaining({ status: 'needs-human', reason: 'invalid-image-uri' }));
    expect(assess(makeFunction({ imageUri: null, resolvedImageUri: null }), null)).toEqual(
      expect.objectContaining({
        status: 'unknown',
        reason: 'image-uri-unknown',
        explanation: 'GetFunction returned no image URI for this container-image function.',
      })
    );
  });

  it('reports a failed lookup as unknown', () => {
    expect(
      lookupFailed(
        {
          functionName: 'f',
          functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:f',
          region: 'eu-west-1',
        },
        'Rate exceeded.'
      )
    ).toEqual({
      functionName: 'f',
      functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:f',
      region: 'eu-west-1',
      imageUri: null,
      repositoryArn: null,
      status: 'unknown',
      reason: 'function-lookup-failed',
      explanation: 'Rate exceeded.',
      fixable: false,
    });
  });
});

describe('needsTags', () => {
  it('asks for the tags only when the policy lacks the grant (the opt-out tag, the owner’s consent)', () => {
    const fn = makeFunction();
    const target = (located(fn) as Extract<LocatedFunction, { ok: true }>).target;

    expect(needsTags(fn, target, null, CONFIG, SCAN_CONTEXT)).toBe(true);
    const sameAccount = makeFunction({
      imageUri: '222222222222.dkr.ecr.eu-west-1.amazonaws.com/orders-api:1',
    });
    const own = (located(sameAccount) as Extract<LocatedFunction, { ok: true }>).target;
    expect(needsTags(sameAccount, own, null, CONFIG, SCAN_CONTEXT)).toBe(true);
    expect(needsTags(fn, target, grantedPolicy(fn), CONFIG, SCAN_CONTEXT)).toBe(false);
    expect(needsTags(fn, target, DENY_LAMBDA_POLICY, CONFIG, SCAN_CONTEXT)).toBe(false);
  });
});

describe('summarizeFindings', () => {
  it('counts every status, zero included', () => {
    expect(summarizeFindings([{ status: 'ok' }, { status: 'ok' }, { status: 'broken' }])).toEqual({
      ok: 2,
      broken: 1,
      'at-risk': 0,
      'needs-human': 0,
      unknown: 0,
    });
  });
});
