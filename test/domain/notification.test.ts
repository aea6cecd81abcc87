import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';

import { parseConfig } from '../../lambda/domain/config';
import { decide } from '../../lambda/domain/decide';
import type { Decision, DeployCall } from '../../lambda/domain/decision';
import {
  MAX_MESSAGE_BYTES,
  MAX_SUBJECT_LENGTH,
  renderErrorNotification,
  renderNotification,
  renderSubject,
} from '../../lambda/domain/notification';
import { iacOwnerOf } from '../../lambda/domain/iac-snippets';
import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import { SCAN_ERROR_MESSAGE, scanDeployEvent, scanFinder } from '../../lambda/domain/scan-call';
import { callFrom, eventFixtureNames, loadEvent, makeCall } from '../support/events';
import { SCAN_CONTEXT, consentTags, makeFunction } from '../support/scan';

const DEFAULTS = parseConfig({}, 'test');
const PAYMENTS_POLICY = readFileSync(
  join(__dirname, '..', '..', 'examples', 'policies', 'payments-worker.json'),
  'utf8'
);
const ENFORCE = { mode: 'enforce' as const, applied: true };

/** The lines of the section titled `title` (up to the next blank line). */
function section(message: string, title: string): string[] {
  const found = message.split('\n\n').find((block) => block.startsWith(`${title}\n`));
  if (found === undefined) throw new Error(`no section ${title}`);
  return found.split('\n');
}

/** The registries' owners consented (share tag) to the consumer accounts the fixtures and tests use. */
const SHARED = { 'lambda-ecr-autofix:share': '222222222222 444444444444' };

function decisionFor(fixture: string, policyText: string | null = null): Decision {
  return decide(loadEvent(fixture), { policyText, tags: SHARED }, DEFAULTS);
}

const FIXTURES = eventFixtureNames().filter((name) => name !== 'malformed-truncated-event.json');

describe('renderNotification', () => {
  describe('subject', () => {
    it.each(FIXTURES)('is printable ASCII of at most 99 characters for %s', (fixture) => {
      for (const context of [ENFORCE, { mode: 'dry-run' as const, applied: false }]) {
        const { subject } = renderNotification(decisionFor(fixture), context);

        expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
        expect(subject).toMatch(/^\[lambda-ecr-autofix\] [\x20-\x7e]+$/);
      }
    });

    it.each([
      [
        'create-function-cross-account-ecr-denied.json',
        ENFORCE,
        '[lambda-ecr-autofix] FIXED: 222222222222 can now pull platform/payments-worker (eu-west-1)',
      ],
      [
        'create-function-cross-account-ecr-denied.json',
        { mode: 'dry-run' as const, applied: false },
        '[lambda-ecr-autofix] PROPOSED FIX: 222222222222 cannot pull platform/payments-worker (eu-west-1)',
      ],
      [
        'create-function-cross-account-ecr-denied.json',
        { mode: 'enforce' as const, applied: false },
        '[lambda-ecr-autofix] FIX NOT APPLIED: 222222222222 cannot pull platform/payments-worker (eu-west-1)',
      ],
      [
        'create-function-scp-explicit-deny.json',
        ENFORCE,
        '[lambda-ecr-autofix] ACTION NEEDED: 222222222222 cannot pull ml/inference (eu-central-1)',
      ],
      [
        'create-function-image-uri-invalid-cross-region.json',
        ENFORCE,
        '[lambda-ecr-autofix] ACTION NEEDED: 222222222222 cannot pull tools/ses-provider (eu-west-1)',
      ],
      [
        'malformed-missing-request-parameters.json',
        ENFORCE,
        '[lambda-ecr-autofix] ACTION NEEDED: 222222222222 cannot pull an ECR image (us-east-1)',
      ],
      [
        'create-function-zip-failure.json',
        ENFORCE,
        '[lambda-ecr-autofix] IGNORED: 222222222222 CreateFunction of JobMonitorSt...kerFunction (us-east-1)',
      ],
    ])('names outcome, account, repository and region for %s', (fixture, context, expected) => {
      expect(renderNotification(decisionFor(fixture), context).subject).toBe(expected);
    });

    it('words a revoke outcome like the REVOKED notice, should one reach this renderer', () => {
      const decision: Decision = {
        ...decisionFor('create-function-same-account-ecr-denied.json'),
        outcome: 'revoke',
        reason: 'consumer-revoked',
      };

      expect(renderSubject(decision, ENFORCE)).toBe(
        '[lambda-ecr-autofix] REVOKED: 222222222222 may no longer pull orders-api (us-east-1)'
      );
    });

    it('shortens a long repository name in the middle and keeps the region', () => {
      const decision = decisionFor('create-function-same-account-ecr-denied.json');
      const target = decision.target;
      if (target === null) throw new Error('no target');
      const long = {
        ...decision,
        target: { ...target, repositoryName: `team/${'x'.repeat(150)}/svc` },
      };

      const subject = renderSubject(long, ENFORCE);

      expect(subject.length).toBe(MAX_SUBJECT_LENGTH);
      expect(subject).toContain('...');
      expect(subject.endsWith('/svc (us-east-1)')).toBe(true);
    });

    it('names no repository when the image URI in the event is not an ECR URI', () => {
      const decision: Decision = {
        ...decisionFor('create-function-scp-explicit-deny.json'),
        target: null,
        call: makeCall({ requestImageUri: 'docker.io/library/node:20' }),
      };

      expect(renderSubject(decision, ENFORCE)).toContain('cannot pull an ECR image (us-east-1)');
    });

    it('replaces non-ASCII characters and survives when nothing is known', () => {
      const decision: Decision = {
        ...decisionFor('create-function-same-account-ecr-denied.json'),
        call: null,
        target: null,
        outcome: 'ignored',
        reason: 'invalid-event',
      };

      expect(renderSubject(decision, ENFORCE)).toBe(
        '[lambda-ecr-autofix] IGNORED: unknown account event of an unknown function'
      );
      const withUnicode = { ...decisionFor('create-function-same-account-ecr-denied.json') };
      const target = withUnicode.target;
      if (target === null) throw new Error('no target');
      expect(
        renderSubject({ ...withUnicode, target: { ...target, repositoryName: 'café' } }, ENFORCE)
      ).toContain('caf?');
    });

    it('says so for an already-allowed decision', () => {
      const decision = decide(
        loadEvent('create-function-same-account-ecr-denied'),
        {
          policyText: JSON.stringify({
            Statement: [
              { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'ecr:*' },
            ],
          }),
        },
        DEFAULTS
      );

      const { subject, message } = renderNotification(decision, {
        mode: 'enforce',
        applied: false,
      });

      expect(subject).toContain('ALREADY ALLOWED: 222222222222 may already pull orders-api');
      expect(message).toContain('the cause is elsewhere');
    });
  });

  describe('body of a fix', () => {
    const decision = decisionFor('create-function-cross-account-ecr-denied.json');
    const { message } = renderNotification(decision, ENFORCE);

    it('says what failed: function, image, caller, tool, time and event id', () => {
      expect(message).toContain('Function:  payments-worker');
      expect(message).toContain(
        'Image:     111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:2026.03.1'
      );
      expect(message).toContain(
        'Caller:    arn:aws:sts::222222222222:assumed-role/platform-deployer/jenkins-build-4812'
      );
      expect(message).toContain('Tool:      Terraform 1.9.5');
      expect(message).toContain('Time:      2026-03-03T14:02:51Z');
      expect(message).toContain('Event id:  7a1739ad-24f1-497f-8724-4571e9b99590');
    });

    it('says what changed, what to do now, how to make it permanent and how to undo', () => {
      expect(message).toContain('WHAT CHANGED');
      expect(message).toContain('Added statement LambdaEcrAutofixService');
      expect(message).toContain('Re-run `terraform apply`.');
      expect(message).toContain('resource "aws_ecr_repository_policy" "this"');
      expect(message).toContain(
        '1. Read the current policy: aws ecr get-repository-policy --region eu-west-1 --registry-id 111111111111 --repository-name platform/payments-worker --query policyText --output text > policy.json'
      );
      expect(message).toMatch(
        /THE POLICY CHANGE\n(.*\n)*\s+\+ .*"Sid": "LambdaEcrAutofixAccounts"/
      );
    });

    it('undoes by removing only the added values, never by restoring an older policy', () => {
      const before = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Keep',
            Effect: 'Allow',
            Principal: { AWS: '999999999999' },
            Action: 'ecr:ListImages',
          },
        ],
      });
      const withPolicy = decisionFor('create-function-cross-account-ecr-denied.json', before);

      const text = renderNotification(withPolicy, ENFORCE).message;
      const undo = section(text, 'HOW TO UNDO');

      expect(undo).toEqual([
        'HOW TO UNDO',
        'Run: lambda-ecr-autofix revoke --repository arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker --consumer 222222222222 --audit-table <AuditTableName output of the central stack>',
        'It removes only what lambda-ecr-autofix granted account 222222222222 (computed on the policy as it is then; add --dry-run to see the change first), records the revoke in the audit table and sends a REVOKED notice. Run it with credentials of the central account (the audit table and the topic are there), adding --registry-profile <a profile of account 111111111111> unless that is the central account (docs/operations.md, "Taking a grant back").',
        'By hand instead (do not restore an older copy of the policy, which would also delete grants made since):',
        '1. Read the current policy: aws ecr get-repository-policy --region eu-west-1 --registry-id 111111111111 --repository-name platform/payments-worker --query policyText --output text > policy.json',
        '2. In statement LambdaEcrAutofixService, remove "arn:aws:lambda:eu-west-1:222222222222:function:*" from its Condition StringLike "aws:SourceArn" list; if the list is then empty, delete the statement.',
        '3. In statement LambdaEcrAutofixAccounts, remove "arn:aws:iam::222222222222:root" from its Principal "AWS" list; if the list is then empty, delete the statement.',
        '4. Write it back: aws ecr set-repository-policy --region eu-west-1 --registry-id 111111111111 --repository-name platform/payments-worker --policy-text file://policy.json (if no statement is left: aws ecr delete-repository-policy --region eu-west-1 --registry-id 111111111111 --repository-name platform/payments-worker)',
      ]);
      expect(text).not.toContain('"Sid":"Keep"');
      expect(text).not.toContain('before.json');
    });

    it('names, for each undo step, values that sit where the step says (checked against the planned policy)', () => {
      // A second consumer extends both statements the first fix created.
      const first = decisionFor('create-function-cross-account-ecr-denied.json');
      const event = loadEvent('create-function-cross-account-ecr-denied');
      event.detail['recipientAccountId'] = '444444444444';
      event['account'] = '444444444444';
      const second = decide(event, { policyText: first.policyAfter, tags: SHARED }, DEFAULTS);
      const after = JSON.parse(second.policyAfter ?? '{}') as {
        Statement: {
          Sid: string;
          Principal: { AWS?: string[] };
          Condition?: { StringLike: Record<string, string[]> };
        }[];
      };

      const undo = section(renderNotification(second, ENFORCE).message, 'HOW TO UNDO').join('\n');

      const service = after.Statement.find((st) => st.Sid === 'LambdaEcrAutofixService');
      const accounts = after.Statement.find((st) => st.Sid === 'LambdaEcrAutofixAccounts');
      expect(service?.Condition?.StringLike['aws:SourceArn']).toEqual([
        'arn:aws:lambda:eu-west-1:222222222222:function:*',
        'arn:aws:lambda:eu-west-1:444444444444:function:*',
      ]);
      expect(accounts?.Principal.AWS).toContain('arn:aws:iam::444444444444:root');
      expect(undo).toContain(
        'In statement LambdaEcrAutofixService, remove "arn:aws:lambda:eu-west-1:444444444444:function:*" from its Condition StringLike "aws:SourceArn" list'
      );
      expect(undo).toContain(
        'In statement LambdaEcrAutofixAccounts, remove "arn:aws:iam::444444444444:root" from its Principal "AWS" list'
      );
      // The first consumer's grant is not part of this undo.
      expect(undo).not.toContain('222222222222');
    });

    it('warns prominently, first of all, when the repository is managed by IaC', () => {
      const text = renderNotification(decision, {
        ...ENFORCE,
        repositoryTags: { 'aws:cloudformation:stack-name': 'SharedRegistry' },
      }).message;

      expect(text.split('\n\n')[0]).toMatch(
        /^!!! THIS REPOSITORY IS MANAGED BY CLOUDFORMATION STACK SHAREDREGISTRY !!!/
      );
      expect(text).toContain(
        'The next deploy of CloudFormation stack SharedRegistry will overwrite'
      );
    });

    it('says in dry-run what would be added, without undo instructions', () => {
      const text = renderNotification(decision, { mode: 'dry-run', applied: false }).message;

      expect(section(text, 'WHAT WOULD CHANGE (dry-run: nothing was written)')).toEqual([
        'WHAT WOULD CHANGE (dry-run: nothing was written)',
        '- Would add statement LambdaEcrAutofixService: would let lambda.amazonaws.com pull for arn:aws:lambda:eu-west-1:222222222222:function:* (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer).',
        '- Would add statement LambdaEcrAutofixAccounts: would let arn:aws:iam::222222222222:root pull (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer).',
      ]);
      expect(text).toContain('or set mode to "enforce" so that the fixer does it');
      expect(text).toContain('THE PROPOSED POLICY CHANGE');
      expect(text).not.toContain('Added statement');
      expect(text).not.toContain('HOW TO UNDO');
    });

    it('tells how to keep a fix to the CDK bootstrap asset repository', () => {
      const text = renderNotification(
        decisionFor('create-function-cdk-cloudformation-ecr-denied.json'),
        ENFORCE
      ).message;

      expect(text).toContain('CDK BOOTSTRAP REPOSITORY');
      expect(text).toContain('cdk bootstrap --show-template');
      expect(text.indexOf('THE POLICY CHANGE')).toBeLessThan(text.indexOf('MAKE IT PERMANENT'));
    });

    it('shows a policy it cannot parse as it is', () => {
      const text = renderNotification({ ...decision, policyBefore: 'not json' }, ENFORCE).message;

      expect(text).toContain('- not json');
    });

    it('copes with decisions the planner would not produce', () => {
      const target = decision.target;
      if (target === null) throw new Error('no target');
      const odd: Decision = {
        ...decision,
        call: null,
        policyAfter: null,
        target: { ...target, functionArn: null, crossAccount: false },
      };

      const text = renderNotification(odd, {
        mode: 'dry-run',
        applied: false,
        repositoryTags: { 'managed-by': 'terraform' },
      }).message;

      expect(text).toContain('remove this change');
      expect(text).toContain('Would add statement');
      expect(text).toContain('Function:   (unknown)');
      expect(text).toContain('(same account as the function)');
    });

    it('names the caller as unknown when CloudTrail does not', () => {
      const call = makeCall({
        caller: { arn: null, principalArn: null, type: null, invokedBy: null },
      });

      const text = renderNotification({ ...decision, call }, ENFORCE).message;

      expect(text).toContain('Caller:    (unknown)');
    });

    it('says which owned statement it extended', () => {
      const first = decisionFor('create-function-cross-account-ecr-denied.json');
      const event = loadEvent('create-function-cross-account-ecr-denied');
      event.detail['recipientAccountId'] = '444444444444';
      event['account'] = '444444444444';

      const second = decide(event, { policyText: first.policyAfter, tags: SHARED }, DEFAULTS);

      expect(renderNotification(second, ENFORCE).message).toContain(
        '- Extended statement LambdaEcrAutofixAccounts: lets arn:aws:iam::444444444444:root pull'
      );
      expect(renderNotification(second, { mode: 'dry-run', applied: false }).message).toContain(
        '- Would extend statement LambdaEcrAutofixAccounts: would let arn:aws:iam::444444444444:root pull'
      );
    });

    it('gives generic advice when the call is unknown', () => {
      const text = renderNotification({ ...decision, call: null }, ENFORCE).message;

      expect(text).toContain('Re-run the deploy that failed.');
    });

    it('says when enforce mode did not apply the change', () => {
      const text = renderNotification(decision, { mode: 'enforce', applied: false }).message;

      expect(text).toContain('WHAT WOULD CHANGE (not applied: nothing was written)');
      expect(text).not.toContain('set mode to "enforce"');
    });

    it.each([
      ['create-function-cdk-cloudformation-ecr-denied.json', 'Re-run `cdk deploy`'],
      ['create-function-same-account-ecr-denied.json', 'Re-run the same `aws lambda` command.'],
      ['create-function-github-actions-digest-ecr-denied.json', 'Re-run the deploy that failed.'],
    ])('gives tool-specific advice for %s', (fixture, advice) => {
      expect(renderNotification(decisionFor(fixture), ENFORCE).message).toContain(advice);
    });

    it('stays under 256 KB by shortening only the diff', () => {
      const huge = 'x'.repeat(400_000);
      const big: Decision = {
        ...decision,
        policyAfter: JSON.stringify({ Statement: [{ Sid: huge }] }),
      };

      const text = renderNotification(big, ENFORCE).message;

      expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(text).toContain('Event id:  7a1739ad-24f1-497f-8724-4571e9b99590');
      expect(text).toContain('shortened to fit the 256 KB SNS limit');
    });

    it('cuts a hostile fact and multi-byte diffs on a character boundary', () => {
      const call = makeCall({ errorMessage: 'é'.repeat(5_000) });
      const big: Decision = {
        ...decision,
        call,
        policyAfter: JSON.stringify({ Statement: [{ Sid: '€'.repeat(200_000) }] }),
      };

      const text = renderNotification(big, ENFORCE).message;

      expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(text).toContain('... (cut)');
      expect(text).not.toContain('\uFFFD');
    });
  });

  describe('first screen', () => {
    /**
     * Lines of the whole body, in the order of the table: 182, 162, 117, 120 and 162 before this layout (every
     * snippet, the previous policy in the undo section, details first); 93, 92, 100, 76 and 123 with it. The limits
     * below are today's counts plus a little room; the structure is what the test protects.
     */
    it.each([
      ['create-function-cross-account-ecr-denied.json', PAYMENTS_POLICY, 100],
      ['create-function-cross-account-ecr-denied.json', null, 100],
      ['create-function-same-account-ecr-denied.json', null, 110],
      ['create-function-cdk-cloudformation-ecr-denied.json', null, 85],
      ['create-function-github-actions-digest-ecr-denied.json', null, 130],
    ])(
      'of a FIXED e-mail for %s says what happened, what changed, what to do and how to undo',
      (fixture, policy, maxLines) => {
        const decision = decisionFor(fixture, policy);
        const { message } = renderNotification(decision, ENFORCE);
        const lines = message.split('\n');
        const screen = lines.slice(0, lines.indexOf('DETAILS') - 1);

        expect(screen.length).toBeLessThanOrEqual(25);
        expect(lines.length).toBeLessThanOrEqual(maxLines);
        const titles = screen.filter((line) => /^[A-Z][A-Z !]+$/.test(line));
        expect(titles).toEqual(['WHAT HAPPENED', 'WHAT CHANGED', 'WHAT TO DO NOW', 'HOW TO UNDO']);
        const changed = section(message, 'WHAT CHANGED').slice(1);
        expect(changed).toHaveLength(decision.grants.length);
        changed.forEach((line, index) =>
          expect(line).toContain(`statement ${decision.grants[index]?.sid}:`)
        );
        const rest = lines.slice(screen.length).join('\n');
        for (const detail of [
          'THE FAILED CALL',
          'THE REPOSITORY',
          'THE POLICY CHANGE',
          'MAKE IT PERMANENT',
        ]) {
          expect(rest).toContain(`\n${detail}\n`);
        }
      }
    );

    it.each([
      ['dry-run', { mode: 'dry-run' as const, applied: false }],
      ['needs-human', ENFORCE],
    ])('of a %s e-mail comes before the details too', (what, context) => {
      const fixture =
        what === 'needs-human'
          ? 'create-function-scp-explicit-deny.json'
          : 'create-function-cross-account-ecr-denied.json';
      const { message } = renderNotification(decisionFor(fixture), context);
      const lines = message.split('\n');

      expect(lines.indexOf('DETAILS')).toBeLessThanOrEqual(25);
      expect(lines.indexOf('DETAILS')).toBeLessThan(lines.indexOf('THE FAILED CALL'));
      expect(lines.slice(0, lines.indexOf('DETAILS')).join('\n')).toMatch(/\nWHAT TO DO( NOW)?\n/);
    });
  });

  describe('IaC snippet', () => {
    const SNIPPET_HEADINGS = {
      cdk: 'AWS CDK (TypeScript)',
      cloudformation: 'CloudFormation (AWS::ECR::Repository',
      sam: 'AWS SAM (template.yaml',
      serverless: 'Serverless Framework (serverless.yml',
      terraform: 'Terraform (aws_ecr_repository_policy',
      pulumi: 'Pulumi (TypeScript',
      all: 'CloudFormation, AWS SAM or Serverless Framework resources',
    } as const;
    const base = decisionFor('create-function-cross-account-ecr-denied.json');
    const callWith = (fields: Partial<DeployCall>): DeployCall => ({
      ...(base.call as DeployCall),
      ...fields,
    });
    const headingsIn = (message: string): string[] =>
      Object.entries(SNIPPET_HEADINGS)
        .filter(([, heading]) => message.includes(`\n${heading}`))
        .map(([tool]) => tool);

    it.each<[string, Partial<DeployCall>, Record<string, string> | undefined, string[]]>([
      ['Terraform', {}, undefined, ['terraform']],
      [
        'AWS CDK (CloudFormation exec role)',
        {
          userAgent: 'cloudformation.amazonaws.com',
          caller: {
            arn: 'arn:aws:sts::222222222222:assumed-role/cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1/x',
            type: 'AssumedRole',
            principalArn:
              'arn:aws:iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1',
            invokedBy: 'cloudformation.amazonaws.com',
          },
        },
        undefined,
        ['cdk'],
      ],
      [
        'CloudFormation',
        {
          userAgent: 'cloudformation.amazonaws.com',
          caller: {
            arn: null,
            type: 'AWSService',
            principalArn: null,
            invokedBy: 'cloudformation.amazonaws.com',
          },
        },
        undefined,
        ['cloudformation'],
      ],
      [
        'SAM',
        { userAgent: 'Boto3/1.34.144 md/Botocore#1.34.144 aws-sam-cli/1.120.0' },
        undefined,
        ['sam'],
      ],
      [
        'Serverless',
        { userAgent: 'aws-sdk-nodejs/2.1692.0 serverless/3.39.0' },
        undefined,
        ['serverless'],
      ],
      ['Pulumi', { userAgent: 'APN/1.0 Pulumi/1.0 PulumiAwsNative/1.12.0' }, undefined, ['pulumi']],
      [
        'the AWS CLI (unknown IaC)',
        { userAgent: 'aws-cli/2.17.60' },
        undefined,
        ['cdk', 'terraform', 'pulumi', 'all'],
      ],
      ['no user agent', { userAgent: null }, undefined, ['cdk', 'terraform', 'pulumi', 'all']],
      [
        'a CDK deploy to a Terraform-tagged repository',
        { userAgent: 'aws-sdk-js/3 aws-cdk/2.160.0' },
        { 'managed-by': 'terraform' },
        ['terraform'],
      ],
      [
        'a repository of a CloudFormation stack',
        { userAgent: 'aws-cli/2.17.60' },
        { 'aws:cloudformation:stack-name': 'Registry' },
        ['cloudformation'],
      ],
      [
        'a repository tagged with an unknown tool',
        { userAgent: 'aws-sdk-nodejs/2 serverless/3.39.0' },
        { 'managed-by': 'ansible' },
        ['serverless'],
      ],
    ])('for %s', (_what, fields, tags, expected) => {
      const decision = { ...base, call: callWith(fields) };

      const { message } = renderNotification(decision, {
        ...ENFORCE,
        ...(tags === undefined ? {} : { repositoryTags: tags }),
      });

      expect(headingsIn(message).sort()).toEqual([...expected].sort());
    });

    it('shows every snippet when the call is unknown', () => {
      const { message } = renderNotification({ ...base, call: null }, ENFORCE);

      expect(message).toContain('(the tool that manages the repository is not known)');
      expect(headingsIn(message)).toHaveLength(4);
    });
  });

  describe('body of needs-human', () => {
    it('gives the cause and numbered next steps', () => {
      const { message } = renderNotification(
        decisionFor('create-function-scp-explicit-deny.json'),
        ENFORCE
      );

      expect(message).toContain('service control policy');
      expect(message).toMatch(/WHAT TO DO\n1\. /);
      expect(message).not.toContain('HOW TO UNDO');
    });

    it('lists the statements to add by hand when the policy would be too large', () => {
      const filler = Array.from({ length: 80 }, (_, index) => ({
        Sid: `Reader${index}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${String(100000000000 + index)}:root` },
        Action: ['ecr:BatchGetImage', 'ecr:DescribeImages'],
      }));
      const decision = decisionFor(
        'create-function-cross-account-ecr-denied.json',
        JSON.stringify({ Statement: filler })
      );

      const { message } = renderNotification(decision, ENFORCE);

      expect(decision.reason).toBe('policy-too-large');
      expect(message).toContain('STATEMENTS TO ADD BY HAND');
      expect(message).toContain('"Sid": "LambdaEcrAutofixAccounts"');
    });

    it('falls back to a generic step when a decision has none', () => {
      const decision = { ...decisionFor('create-function-scp-explicit-deny.json'), nextSteps: [] };

      expect(renderNotification(decision, ENFORCE).message).toContain('Review the failure above.');
    });
  });

  it('renders an ignored decision without call details when there is no call', () => {
    const decision = decide('not an event', { policyText: null }, DEFAULTS);

    const { message } = renderNotification(decision, ENFORCE);

    expect(message).not.toContain('THE FAILED CALL');
    expect(message).toContain('Outcome: ignored; reason: invalid-event; mode: enforce.');
  });

  it('never throws and always fits, for arbitrary call fields', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 3000 }),
        fc.string({ maxLength: 300 }),
        (errorMessage, functionName) => {
          const base = decisionFor('create-function-cross-account-ecr-denied.json');
          const call = {
            ...callFrom('create-function-cross-account-ecr-denied.json'),
            errorMessage,
            functionName,
          };
          const rendered = renderNotification({ ...base, call }, ENFORCE);
          expect(rendered.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
          expect(Buffer.byteLength(rendered.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        }
      ),
      { numRuns: 1000 }
    );
  });
});

describe('renderErrorNotification', () => {
  it('says the event goes to the DLQ, with the error and the call', () => {
    const { subject, message } = renderErrorNotification({
      messageId: 'msg-1',
      attempts: 5,
      error: 'Rate exceeded',
      call: callFrom('create-function-cross-account-ecr-denied.json'),
      deadLetterQueue: 'LambdaEcrAutofixDlq',
    });

    expect(subject).toBe(
      '[lambda-ecr-autofix] ERROR: could not process an event from 222222222222 (eu-west-1)'
    );
    expect(message).toContain(
      'failed to process this event 5 times; it now goes to the dead-letter queue LambdaEcrAutofixDlq.'
    );
    expect(message).toContain('Last error: Rate exceeded');
    expect(message).toContain('aws sqs start-message-move-task');
    expect(message).toContain('Event id:  7a1739ad-24f1-497f-8724-4571e9b99590');
    expect(message).toContain(
      'in account 222222222222, run "aws cloudtrail lookup-events --region eu-west-1 --lookup-attributes AttributeKey=EventId,AttributeValue=7a1739ad-24f1-497f-8724-4571e9b99590 > event.json"; in account 111111111111'
    );
  });

  it('plans with the repository as it is: its policy and tags, read in the registry account', () => {
    const { message } = renderErrorNotification({
      messageId: 'msg-1',
      attempts: 5,
      error: 'Rate exceeded',
      call: callFrom('create-function-cross-account-ecr-denied.json'),
      deadLetterQueue: null,
    });

    // Without them plan decides for a repository without a policy or a share tag: not what the fixer saw.
    expect(message).toContain(
      'in account 111111111111, run "aws ecr get-repository-policy --region eu-west-1 --registry-id 111111111111 --repository-name platform/payments-worker --query policyText --output text > policy.json" and "aws ecr list-tags-for-resource --region eu-west-1 --resource-arn arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker > tags.json", then run "lambda-ecr-autofix plan --event event.json --policy policy.json --tags tags.json"'
    );
  });

  it('works without a parsed call or a queue name', () => {
    const { subject, message } = renderErrorNotification({
      messageId: 'msg-2',
      attempts: 5,
      error: 'boom',
      call: null,
      deadLetterQueue: null,
    });

    expect(subject).toBe('[lambda-ecr-autofix] ERROR: could not process an event');
    expect(message).not.toContain('THE FAILED CALL');
    expect(message).toContain(
      'save the body of this message from the dead-letter queue as event.json (aws sqs receive-message)'
    );
  });
});

describe('iacOwnerOf', () => {
  it.each([
    [undefined, null],
    [{}, null],
    [{ team: 'payments' }, null],
    [{ 'aws:cloudformation:stack-name': 'Registry' }, 'CloudFormation stack Registry'],
    [{ 'managed-by': 'terraform' }, 'Terraform'],
    [{ ManagedBy: 'Pulumi' }, 'Pulumi'],
    [{ managed_by: 'cdk' }, 'AWS CDK'],
    [{ 'managed-by': 'CloudFormation' }, 'CloudFormation'],
    [{ 'managed-by': 'ansible' }, 'ansible'],
    [{ 'managed-by': '' }, null],
    [{ terraform: 'true' }, 'Terraform'],
    [{ 'terraform:workspace': 'prod' }, 'Terraform'],
    [{ tf_workspace: 'prod' }, 'Terraform'],
    [{ 'pulumi:project': 'registry' }, 'Pulumi'],
  ])('reads %j as %s', (tags, owner) => {
    expect(iacOwnerOf(tags)).toBe(owner);
  });
});

describe('hostile event text in a notification', () => {
  /** `String.prototype.isWellFormed` (Node 20; not in the ES2023 typings the project compiles against). */
  const isWellFormed = (text: string): boolean =>
    (text as unknown as { isWellFormed(): boolean }).isWellFormed();

  it('stays well-formed and publishable with emoji and a lone surrogate in the user agent', () => {
    const event = loadEvent('create-function-cross-account-ecr-denied');
    event.detail['userAgent'] = `deployer/1 ${'\u{1F680}'.repeat(40)} \uD83D`;

    const decision = decide(event, { policyText: null, tags: SHARED }, DEFAULTS);
    const { subject, message } = renderNotification(decision, ENFORCE);

    expect(isWellFormed(subject)).toBe(true);
    expect(isWellFormed(message)).toBe(true);
    // What the SNS client does with the text: it must not throw URIError.
    expect(() => encodeURIComponent(message)).not.toThrow();
    expect(message).toMatch(/^Tool: {6}unknown tool \(deployer\/1 .*…\)$/m);
  });

  it('cannot add lines to the body from event fields', () => {
    const forged = 'ok\n\nHOW TO UNDO\nrun: aws ecr delete-repository --force';
    const event = loadEvent('create-function-cross-account-ecr-denied');
    event.detail['userAgent'] = forged;
    (event.detail['userIdentity'] as Record<string, unknown>)['arn'] = forged;
    event.detail['errorMessage'] =
      `Lambda does not have permission to access the ECR image. ${forged}`;

    const decision = decide(event, { policyText: null, tags: SHARED }, DEFAULTS);
    const { message } = renderNotification(decision, ENFORCE);

    expect(decision.outcome).toBe('fix');
    expect(message.split('\n').filter((line) => line.startsWith('HOW TO UNDO'))).toEqual([
      'HOW TO UNDO',
    ]);
    expect(message).not.toMatch(/^run: aws ecr delete-repository/m);
  });
});

describe('the notice of a fix a scan or a sweep found (no deploy failed)', () => {
  const fn = makeFunction({ functionName: 'nightly-report', account: '222222222222' });
  const sweepContext = {
    ...SCAN_CONTEXT,
    by: 'sweep of 222222222222 in eu-west-1 (sweep s-1, part 0)',
  };

  function scanDecision(context = SCAN_CONTEXT): Decision {
    const parsed = parseDeployEvent(scanDeployEvent(fn, context));
    if (!parsed.ok) throw new Error('the scan event does not parse');
    return decide(
      scanDeployEvent(fn, context),
      { policyText: null, tags: consentTags(fn) },
      DEFAULTS
    );
  }

  it.each([
    ['scan --fix', SCAN_CONTEXT, 'scan by arn:aws:iam::222222222222:user/alice'],
    ['the sweep', sweepContext, 'sweep of 222222222222 in eu-west-1 (sweep s-1, part 0)'],
  ])('after %s says what was found, not that a deploy failed', (_, context, finder) => {
    const decision = scanDecision(context);
    expect(decision.outcome).toBe('fix');

    const { message } = renderNotification(decision, ENFORCE);

    expect(section(message, 'WHAT HAPPENED')[1]).toBe(
      `lambda-ecr-autofix (${finder}, at ${SCAN_CONTEXT.time}) found that the repository policy would refuse Lambda's pull of the image of ${fn.functionArn} (account 222222222222, eu-west-1) at its next deploy or cold start.`
    );
    expect(section(message, 'WHAT TO DO NOW')[1]).toBe(
      'The repository now allows the pull; no deploy failed, so there is nothing to re-run. If the function is Inactive because Lambda could not pull its image (ImageAccessDenied), invoke it or deploy it again so that Lambda pulls the image.'
    );
    expect(section(message, 'WHAT THE SCAN CHECKED')).toEqual([
      'WHAT THE SCAN CHECKED',
      `Function:  ${fn.functionArn}`,
      `Image:     ${fn.imageUri ?? ''}`,
      `Found by:  lambda-ecr-autofix ${finder}`,
      `Time:      ${SCAN_CONTEXT.time}`,
      `Event id:  ${decision.call?.eventId ?? ''}`,
      "Question:  would the repository policy let Lambda pull this image at the function's next deploy or cold start?",
    ]);
    expect(message).not.toContain('THE FAILED CALL');
    expect(message).not.toContain('failed (AccessDeniedException)');
    expect(message).not.toMatch(/re-run the deploy/i);
  });

  it('says so when the call names no function or image', () => {
    const decision = scanDecision();
    const call = { ...(decision.call as DeployCall), functionName: null, requestImageUri: null };

    const { message } = renderNotification({ ...decision, call }, ENFORCE);

    expect(section(message, 'WHAT HAPPENED')[1]).toContain(
      "refuse Lambda's pull of the image of an unnamed function"
    );
    expect(section(message, 'WHAT THE SCAN CHECKED').slice(1, 3)).toEqual([
      'Function:  (unknown)',
      'Image:     (unknown)',
    ]);
  });

  it('proposes the change before the next deploy or cold start in dry-run', () => {
    const { message } = renderNotification(scanDecision(), { mode: 'dry-run', applied: false });

    expect(section(message, 'WHAT TO DO NOW')[1]).toBe(
      `Add these statements to the policy of ${scanDecision().target?.repositoryArn ?? ''} (see THE PROPOSED POLICY CHANGE below), or set mode to "enforce" so that the fixer does it, before the function's next deploy or cold start.`
    );
  });

  it('keeps the failed-call wording for a real deploy, whatever its error message or user agent says', () => {
    const real = makeCall({
      errorMessage: SCAN_ERROR_MESSAGE,
      userAgent: 'lambda-ecr-autofix scan by someone',
    });

    expect(scanFinder(real)).toBeNull();
    expect(scanFinder({ ...real, eventId: 'scan-1-2', userAgent: 'aws-cli/2' })).toBeNull();
    expect(scanFinder({ ...real, eventId: 'scan-1-2', userAgent: null })).toBeNull();
    expect(scanFinder({ ...real, eventId: 'scan-1-2', errorMessage: 'other' })).toBeNull();
    expect(scanFinder({ ...real, eventId: 'scan-1-2' })).toBe('scan by someone');
  });
});
