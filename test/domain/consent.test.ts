/**
 * Sharing and consent: a cross-account fix shares an image with another account only with its owner's consent
 * (DESIGN.md, "Sharing and consent"), checked in order: the policy, the owner's tag, sharedRegistries, sharing
 * "organization". The opt-out tag wins over all of them.
 */
import type { ConfigInput } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import { ownerConsent, shareTagEntries, whoCanPull } from '../../lambda/domain/consent';
import { decide } from '../../lambda/domain/decide';
import type { Decision } from '../../lambda/domain/decision';
import { ACCOUNTS_SID, SERVICE_SID } from '../../lambda/domain/planner';
import { loadEvent } from '../support/events';
import { makeTarget } from '../support/targets';

const ORG = 'o-a1b2c3d4e5';
const SHARE = 'lambda-ecr-autofix:share';
const CROSS_ACCOUNT = 'create-function-cross-account-ecr-denied.json';
const REPOSITORY_ARN = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker';
const target = makeTarget();

function config(input: ConfigInput = {}) {
  return parseConfig(input, 'test');
}

/** The cross-account fixture (consumer 222222222222, registry 111111111111) decided on a repository without policy. */
function decideCrossAccount(
  tags: Record<string, string>,
  input: ConfigInput = {},
  policyText: string | null = null
): Decision {
  return decide(loadEvent(CROSS_ACCOUNT), { policyText, tags }, config(input));
}

function accountStatementOf(decision: Decision): Record<string, unknown> | undefined {
  if (decision.policyAfter === null) return undefined;
  const policy = JSON.parse(decision.policyAfter) as { Statement: Record<string, unknown>[] };
  return policy.Statement.find((statement) => statement['Sid'] === ACCOUNTS_SID);
}

describe('ownerConsent', () => {
  it.each([
    ['the consumer account', '222222222222', {}],
    ['the consumer among others', '333333333333 222222222222  444444444444', {}],
    ['the consumer after Unicode spaces', '333333333333\u00a0222222222222', {}],
    ['the configured organization', ORG, { organizationId: ORG }],
  ])('takes a share tag naming %s as consent', (_what, value, input) => {
    const consent = ownerConsent(target, { [SHARE]: value }, config(input));

    expect(consent).toMatchObject({ given: true, form: 'share-tag' });
  });

  it('reads the configured share tag key, exactly', () => {
    const custom = config({ shareTag: 'team:share' });

    expect(ownerConsent(target, { 'team:share': '222222222222' }, custom).given).toBe(true);
    expect(ownerConsent(target, { 'Team:Share': '222222222222' }, custom).given).toBe(false);
    expect(ownerConsent(target, { [SHARE]: '222222222222' }, custom).given).toBe(false);
  });

  it.each([
    ['another account', '333333333333'],
    ['a prefix of the account', '22222222222'],
    ['the account inside a longer word', '2222222222223'],
    ['an organization while none is configured', ORG],
    ['an empty value', ''],
  ])('does not take a share tag naming %s as consent', (_what, value) => {
    expect(ownerConsent(target, { [SHARE]: value }, config()).given).toBe(false);
  });

  it('does not take another organization as consent', () => {
    const consent = ownerConsent(
      target,
      { [SHARE]: 'o-zz9y8x7w6v' },
      config({ organizationId: ORG })
    );

    expect(consent.given).toBe(false);
  });

  it('ignores a share tag found on the prototype', () => {
    const tags = Object.create({ [SHARE]: '222222222222' }) as Record<string, string>;

    expect(ownerConsent(target, tags, config()).given).toBe(false);
  });

  it('takes the registry in sharedRegistries as consent (form 3)', () => {
    const consent = ownerConsent(
      target,
      {},
      config({ organizationId: ORG, sharedRegistries: ['111111111111'] })
    );

    expect(consent).toEqual({
      given: true,
      form: 'shared-registry',
      reason:
        'account 111111111111 is in sharedRegistries (its repositories are shared with the organization)',
    });
  });

  it('takes sharing "organization" as consent (form 4)', () => {
    const consent = ownerConsent(
      target,
      {},
      config({ organizationId: ORG, sharing: 'organization' })
    );

    expect(consent).toMatchObject({ given: true, form: 'organization' });
  });

  it('checks the forms in order: tag, then sharedRegistries, then sharing', () => {
    const everything = config({
      organizationId: ORG,
      sharedRegistries: ['111111111111'],
      sharing: 'organization',
    });

    expect(ownerConsent(target, { [SHARE]: '222222222222' }, everything)).toMatchObject({
      form: 'share-tag',
    });
    expect(ownerConsent(target, {}, everything)).toMatchObject({ form: 'shared-registry' });
    expect(
      ownerConsent(makeTarget({ registryAccount: '555555555555' }), {}, everything)
    ).toMatchObject({ form: 'organization' });
  });

  describe('without consent', () => {
    it('names the owner and what is missing', () => {
      const consent = ownerConsent(target, {}, config());

      expect(consent.given).toBe(false);
      expect(!consent.given && consent.explanation).toBe(
        'Repository platform/payments-worker of account 111111111111 (eu-west-1) does not let account 222222222222 pull, and its owner has not consented to sharing it with that account: the repository has no lambda-ecr-autofix:share tag, account 111111111111 is not in sharedRegistries, and sharing is "consented"; lambda-ecr-autofix shares an image with another account only with its owner\'s consent.'
      );
    });

    it("gives the exact tag command, the statements by hand and the platform team's option", () => {
      const consent = ownerConsent(target, {}, config());

      expect(!consent.given && consent.nextSteps).toEqual([
        `If account 111111111111, which owns platform/payments-worker, agrees to share it with account 222222222222, tag the repository (with credentials of account 111111111111): aws ecr tag-resource --resource-arn ${REPOSITORY_ARN} --tags Key=lambda-ecr-autofix:share,Value=222222222222 --region eu-west-1; then re-run the deploy. After the fix, every principal of account 222222222222 whose own IAM policy allows it may pull images of platform/payments-worker, and Lambda may pull them for the functions of account 222222222222.`,
        `Or add the statements below to the policy of ${REPOSITORY_ARN} by hand, in account 111111111111.`,
        'If every repository of account 111111111111 is meant for the whole organization, the platform team can add "111111111111" to sharedRegistries in the lambda-ecr-autofix configuration (this needs organizationId).',
      ]);
    });

    it('keeps the accounts the tag already names, quoting the value for the shell', () => {
      const consent = ownerConsent(target, { [SHARE]: '333333333333  444444444444' }, config());

      expect(!consent.given && consent.explanation).toContain(
        'its lambda-ecr-autofix:share tag ("333333333333  444444444444") does not name account 222222222222,'
      );
      expect(!consent.given && consent.nextSteps[0]).toContain(
        "--tags 'Key=lambda-ecr-autofix:share,Value=333333333333 444444444444 222222222222' --region eu-west-1"
      );
    });

    it('offers the organization id as the tag value when organizationId is set', () => {
      const consent = ownerConsent(
        target,
        { [SHARE]: '333333333333' },
        config({ organizationId: ORG })
      );

      expect(!consent.given && consent.explanation).toContain(
        `names neither account 222222222222 nor organization ${ORG}`
      );
      expect(!consent.given && consent.nextSteps[0]).toContain(
        `while the account belongs to organization ${ORG}, and Lambda may pull them`
      );
      expect(!consent.given && consent.nextSteps[0]).toContain(
        `(Value=${ORG} instead shares it with every account of organization ${ORG}.)`
      );
      expect(!consent.given && consent.nextSteps[2]).not.toContain('needs organizationId');
    });

    it('says why a tag naming an organization does not count while organizationId is not set', () => {
      // The owner did consent, to the organization; the fixer cannot check membership without organizationId, and
      // must not tell the owner that their tag "does not name" the consumer without saying so.
      const consent = ownerConsent(target, { [SHARE]: `${ORG} 333333333333` }, config());

      expect(consent.given).toBe(false);
      expect(!consent.given && consent.explanation).toContain(
        `its lambda-ecr-autofix:share tag ("${ORG} 333333333333") names organization ${ORG}, which counts only when organizationId is configured, and does not name account 222222222222,`
      );
      expect(!consent.given && consent.nextSteps[2]).toContain(
        `The platform team can set organizationId to ${ORG} in the lambda-ecr-autofix configuration, so that the tag shares the repository with every account of that organization.`
      );
    });

    it('says when the tag cannot hold one more account', () => {
      const full = Array.from({ length: 20 }, (_, i) => String(300000000000 + i)).join(' ');

      const consent = ownerConsent(target, { [SHARE]: full }, config());

      expect(!consent.given && consent.nextSteps[0]).toContain(
        'its lambda-ecr-autofix:share tag cannot name one more account (ECR tag values hold 256 characters), so add the statements below by hand.'
      );
    });

    it('keeps a hostile tag value out of the shell and off new lines', () => {
      const consent = ownerConsent(target, { [SHARE]: "x'; rm -rf /\nEvil: line" }, config());

      expect(!consent.given && consent.nextSteps[0]).toContain(
        `--tags 'Key=lambda-ecr-autofix:share,Value=x'\\''; rm -rf / Evil: line 222222222222'`
      );
      expect(!consent.given && consent.explanation).not.toContain('\n');
    });
  });
});

describe('shareTagEntries', () => {
  it('splits on any run of spaces', () => {
    expect(shareTagEntries(' 111111111111\t222222222222\u3000o-a1b2c3d4e5 ')).toEqual([
      '111111111111',
      '222222222222',
      'o-a1b2c3d4e5',
    ]);
  });
});

describe('whoCanPull', () => {
  it('says plainly who may pull after a cross-account fix', () => {
    expect(whoCanPull(target, undefined)).toBe(
      'every principal of account 222222222222 whose own IAM policy allows it may pull images of platform/payments-worker, and Lambda may pull them for the functions of account 222222222222'
    );
  });
});

describe('decide: consent end to end', () => {
  it("needs the owner's consent for the cross-account fixture under the default configuration", () => {
    const decision = decideCrossAccount({});

    expect([decision.outcome, decision.reason]).toEqual(['needs-human', 'sharing-not-consented']);
    expect(decision.policyAfter).toBeNull();
    expect(decision.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID, ACCOUNTS_SID]);
    expect(decision.nextSteps[0]).toContain(
      `aws ecr tag-resource --resource-arn ${REPOSITORY_ARN} --tags Key=lambda-ecr-autofix:share,Value=222222222222 --region eu-west-1`
    );
  });

  it.each<[string, Record<string, string>, ConfigInput]>([
    ['the share tag', { [SHARE]: '222222222222' }, {}],
    ['the share tag naming the organization', { [SHARE]: ORG }, { organizationId: ORG }],
    ['sharedRegistries', {}, { organizationId: ORG, sharedRegistries: ['111111111111'] }],
    ['sharing "organization"', {}, { organizationId: ORG, sharing: 'organization' }],
  ])('fixes it with %s, adding the account statement', (_form, tags, input) => {
    const decision = decideCrossAccount(tags, input);

    expect([decision.outcome, decision.reason]).toEqual(['fix', 'repository-policy-missing-grant']);
    expect(accountStatementOf(decision)).toMatchObject({
      Principal: { AWS: ['arn:aws:iam::222222222222:root'] },
    });
    expect(decision.explanation).toContain('Shared with account 222222222222 because');
  });

  it('conditions the account statement on the organization whenever organizationId is set', () => {
    const decision = decideCrossAccount({ [SHARE]: '222222222222' }, { organizationId: ORG });

    expect(accountStatementOf(decision)?.['Condition']).toEqual({
      StringEquals: { 'aws:PrincipalOrgID': ORG },
    });
  });

  it('takes consent from the policy first, adding no account statement even when tagged', () => {
    const policyText = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PlatformConsumers',
          Effect: 'Allow',
          Principal: { AWS: ['222222222222'] },
          Action: 'ecr:BatchGet*',
        },
        {
          Sid: 'PlatformConsumerLayers',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::222222222222:root' },
          Action: 'ecr:GetDownloadUrlForLayer',
        },
      ],
    });

    const decision = decideCrossAccount({ [SHARE]: '222222222222' }, {}, policyText);

    expect(decision.outcome).toBe('fix');
    expect(decision.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID]);
    expect(accountStatementOf(decision)).toBeUndefined();
  });

  it.each<[string, ConfigInput]>([
    ['the share tag', {}],
    ['sharedRegistries', { organizationId: ORG, sharedRegistries: ['111111111111'] }],
    ['sharing "organization"', { organizationId: ORG, sharing: 'organization' }],
  ])('lets the opt-out tag win over %s', (_form, input) => {
    const decision = decideCrossAccount(
      { [SHARE]: '222222222222', 'lambda-ecr-autofix': 'off' },
      input
    );

    expect([decision.outcome, decision.reason]).toEqual(['needs-human', 'repository-opted-out']);
  });

  it('lets the opt-out tag win over consent from the policy', () => {
    const policyText = JSON.stringify({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: '222222222222' },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        },
      ],
    });

    const decision = decideCrossAccount({ 'lambda-ecr-autofix': 'off' }, {}, policyText);

    expect(decision.reason).toBe('repository-opted-out');
  });

  it('needs no consent for a same-account repository', () => {
    const decision = decide(
      loadEvent('create-function-same-account-ecr-denied.json'),
      { policyText: null, tags: {} },
      config()
    );

    expect(decision.outcome).toBe('fix');
    expect(decision.grants.map((grant) => grant.sid)).toEqual([SERVICE_SID]);
  });
});
