import { chooseIacTool, iacOwnerOf, permanentSnippets } from '../../lambda/domain/iac-snippets';
import { parseConfig } from '../../lambda/domain/config';
import { decide } from '../../lambda/domain/decide';
import type { Target } from '../../lambda/domain/decision';
import { loadEvent, makeCall } from '../support/events';

const decision = decide(
  loadEvent('create-function-cross-account-ecr-denied'),
  { policyText: null },
  parseConfig({}, 'test')
);
const target = decision.target as Target;

describe('chooseIacTool', () => {
  it.each([
    [{ 'managed-by': 'serverless' }, 'serverless'],
    [{ 'managed-by': 'aws-sam' }, 'sam'],
    [{ 'managed-by': 'cdk' }, 'cdk'],
    [{ 'pulumi:project': 'registry' }, 'pulumi'],
    [{ 'managed-by': 'CloudFormation' }, 'cloudformation'],
    [{ 'managed-by': 'cdktf' }, 'terraform'],
  ])('reads the tags %j as %s', (tags, tool) => {
    expect(chooseIacTool(tags, null).tool).toBe(tool);
  });

  it('falls back to the deploy tool, then to unknown', () => {
    const ansible = { 'managed-by': 'ansible' };

    expect(chooseIacTool(ansible, makeCall({ userAgent: 'Terraform/1.9.5' }))).toEqual({
      tool: 'terraform',
      because: 'the failed deploy was made with Terraform 1.9.5',
    });
    expect(chooseIacTool(ansible, null).tool).toBeNull();
    expect(chooseIacTool(undefined, makeCall({ userAgent: 'aws-cli/2.17.60' })).tool).toBeNull();
  });
});

describe('iacOwnerOf', () => {
  it.each([
    [{ 'managed-by': 'Serverless' }, 'Serverless Framework'],
    [{ 'managed-by': 'sam' }, 'AWS SAM'],
    [{ 'managed-by': 'cdktf' }, 'Terraform'],
    [{ 'managed-by': 'OpenTofu' }, 'Terraform'],
    [{ 'managed-by': 'aws-cdk' }, 'AWS CDK'],
    // A word that merely contains a tool's name is not that tool: the value is kept as the owner's name.
    [{ 'managed-by': 'samantha' }, 'samantha'],
    [{ 'managed-by': 'platform-team-scdk' }, 'platform-team-scdk'],
  ])('reads %j as %s', (tags, owner) => {
    expect(iacOwnerOf(tags)).toBe(owner);
  });
});

describe('permanentSnippets', () => {
  /** The JSON a snippet embeds, parsed back: it must be exactly the statements the fix wrote. */
  function embeddedStatements(lines: string[]): unknown {
    const text = lines.join('\n');
    const start = text.indexOf('[\n', text.indexOf('Statement'));
    // The shortest text from the list's "[" to a "]" that parses is the list.
    for (let end = text.indexOf(']', start); end >= 0; end = text.indexOf(']', end + 1)) {
      try {
        return JSON.parse(text.slice(start, end + 1)) as unknown;
      } catch {
        // not the closing bracket of the list yet
      }
    }
    throw new Error('no statement list in the snippet');
  }

  it.each(['sam', 'serverless', 'terraform', 'pulumi'] as const)(
    'embeds the statements unchanged for %s',
    (tool) => {
      const lines = permanentSnippets(decision.grants, target, { tool, because: 'test' });

      expect(embeddedStatements(lines)).toEqual(decision.grants.map((grant) => grant.statement));
    }
  );

  it('writes a CDK statement for every principal and condition form', () => {
    const grants = [
      {
        ...decision.grants[0]!,
        statement: {
          Sid: 'Both',
          Effect: 'Allow',
          Principal: { Service: ['lambda.amazonaws.com'], AWS: 'arn:aws:iam::1:root' },
          Action: 'ecr:BatchGetImage',
        },
      },
      { ...decision.grants[0]!, statement: { Sid: 'Bare', Effect: 'Allow', Action: [] } },
    ];

    const text = permanentSnippets(grants, target, { tool: 'cdk', because: 'test' }).join('\n');

    expect(text).toContain(
      'principals: [new iam.ServicePrincipal("lambda.amazonaws.com"), new iam.ArnPrincipal("arn:aws:iam::1:root")],'
    );
    expect(text).toContain('actions: ["ecr:BatchGetImage"],');
    expect(text).toContain('sid: "Bare",\n      principals: [],\n      actions: [],\n    }));');
    expect(text).not.toContain('conditions');
  });
});
