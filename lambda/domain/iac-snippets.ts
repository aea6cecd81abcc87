/**
 * "Make it permanent": the statements a fix added, written for the infrastructure-as-code tool that owns the
 * repository, so the next deploy of that code keeps them instead of overwriting the policy. One snippet when the tool
 * is known (from the repository's tags, else from the failed deploy's user agent), every snippet when it is not.
 */
import type { DeployCall, StatementChange, Target } from './decision';
import { deployToolOf } from './user-agent';

/** The tools a snippet exists for. */
export type IacTool = 'cdk' | 'cloudformation' | 'sam' | 'serverless' | 'terraform' | 'pulumi';

type Statement = Readonly<Record<string, unknown>>;

interface Snippet {
  readonly heading: string;
  readonly code: (statements: readonly Statement[]) => string;
}

const SNIPPETS: Readonly<Record<IacTool, Snippet>> = {
  cdk: {
    heading: 'AWS CDK (TypeScript), on the ecr.Repository that holds the images:',
    code: (statements) => statements.map(cdkStatement).join('\n'),
  },
  cloudformation: {
    heading: 'CloudFormation (AWS::ECR::Repository: add to RepositoryPolicyText.Statement):',
    code: (statements) => json(statements),
  },
  sam: {
    heading: 'AWS SAM (template.yaml: the AWS::ECR::Repository resource):',
    code: (statements) => cloudFormationYaml(['Resources:'], statements),
  },
  serverless: {
    heading: 'Serverless Framework (serverless.yml: the AWS::ECR::Repository under resources):',
    code: (statements) => cloudFormationYaml(['resources:', '  Resources:'], statements),
  },
  terraform: {
    heading: 'Terraform (aws_ecr_repository_policy; merge with your existing statements):',
    code: (statements) =>
      [
        'resource "aws_ecr_repository_policy" "this" {',
        '  repository = aws_ecr_repository.this.name',
        '  policy = jsonencode({',
        '    Version = "2012-10-17"',
        `    Statement = ${indentTail(json(statements), '    ')}`,
        '  })',
        '}',
      ].join('\n'),
  },
  pulumi: {
    heading:
      'Pulumi (TypeScript, aws.ecr.RepositoryPolicy; it sets the whole policy, so merge with your existing statements):',
    code: (statements) =>
      [
        "new aws.ecr.RepositoryPolicy('repository-policy', {",
        '  repository: repository.name,',
        '  policy: JSON.stringify({',
        "    Version: '2012-10-17',",
        `    Statement: ${indentTail(json(statements), '    ')},`,
        '  }),',
        '});',
      ].join('\n'),
  },
};

/** Shown when the tool is unknown: CloudFormation's form also serves SAM and the Serverless Framework. */
const ALL: readonly { readonly tool: IacTool; readonly heading?: string }[] = [
  { tool: 'cdk' },
  {
    tool: 'cloudformation',
    heading:
      'CloudFormation, AWS SAM or Serverless Framework resources (AWS::ECR::Repository: add to RepositoryPolicyText.Statement):',
  },
  { tool: 'terraform' },
  { tool: 'pulumi' },
];

/** Which tool should keep the fix, and how that is known; `tool` null means unknown. */
export interface IacChoice {
  readonly tool: IacTool | null;
  readonly because: string;
}

/**
 * The tool that owns the repository's policy: its tags say best (they are the repository's own); otherwise the
 * failed deploy's tool, which often manages the registry too.
 */
export function chooseIacTool(
  repositoryTags: Readonly<Record<string, string>> | undefined,
  call: DeployCall | null
): IacChoice {
  const owner = iacOwnerOf(repositoryTags);
  if (owner !== null) {
    const tool = toolOfOwner(owner);
    if (tool !== null)
      return { tool, because: `the repository's tags say it is managed by ${owner}` };
  }
  if (call !== null) {
    const deploy = deployToolOf(call);
    if (isIacTool(deploy.tool)) {
      return { tool: deploy.tool, because: `the failed deploy was made with ${deploy.label}` };
    }
  }
  return { tool: null, because: 'the tool that manages the repository is not known' };
}

/** The "make it permanent" lines: an introduction and the snippet for the tool, or every snippet. */
export function permanentSnippets(
  grants: readonly StatementChange[],
  target: Target,
  choice: IacChoice
): string[] {
  const statements = grants.map((grant) => grant.statement);
  const chosen = choice.tool === null ? ALL : [{ tool: choice.tool } as (typeof ALL)[number]];
  const lines = [
    `The fix lives only in the repository policy of ${target.repositoryArn}; keep it in the code that owns the repository (${choice.because}):`,
  ];
  for (const { tool, heading } of chosen) {
    const snippet = SNIPPETS[tool];
    lines.push('', heading ?? snippet.heading, indentAll(snippet.code(statements)));
  }
  return lines;
}

/** The IaC tool that owns the repository, from its tags, as a person would name it; or null. */
export function iacOwnerOf(tags: Readonly<Record<string, string>> | undefined): string | null {
  if (tags === undefined) return null;
  const stack = tags['aws:cloudformation:stack-name'];
  if (stack !== undefined) return `CloudFormation stack ${stack}`;
  for (const [key, value] of Object.entries(tags)) {
    const k = key.toLowerCase();
    const v = value.toLowerCase();
    if ((k === 'managed-by' || k === 'managedby' || k === 'managed_by') && v.length > 0) {
      return ownerName(v) ?? value;
    }
    if (k === 'terraform' || k.startsWith('terraform:') || k === 'tf_workspace') return 'Terraform';
    if (k.startsWith('pulumi:')) return 'Pulumi';
  }
  return null;
}

/**
 * The tool a `managed-by` value names, by whole words: "aws-sam" and "CDK" are tools, "samantha" is a person and
 * "cdktf" is CDK for Terraform, whose repositories Terraform keeps.
 */
const OWNER_WORDS: readonly [RegExp, string][] = [
  [/^(terraform|opentofu|tofu|cdktf|terragrunt)$/, 'Terraform'],
  [/^pulumi$/, 'Pulumi'],
  [/^cdk$/, 'AWS CDK'],
  [/^(cloudformation|cfn)$/, 'CloudFormation'],
  [/^(serverless|sls)$/, 'Serverless Framework'],
  [/^sam$/, 'AWS SAM'],
];

function ownerName(value: string): string | null {
  const words = value.split(/[^a-z0-9]+/);
  for (const [word, owner] of OWNER_WORDS) {
    if (words.some((w) => word.test(w))) return owner;
  }
  return null;
}

function toolOfOwner(owner: string): IacTool | null {
  const tools: readonly [string, IacTool][] = [
    ['CloudFormation', 'cloudformation'],
    ['Terraform', 'terraform'],
    ['Pulumi', 'pulumi'],
    ['AWS CDK', 'cdk'],
    ['Serverless Framework', 'serverless'],
    ['AWS SAM', 'sam'],
  ];
  return tools.find(([prefix]) => owner.startsWith(prefix))?.[1] ?? null;
}

function isIacTool(tool: string): tool is IacTool {
  return Object.hasOwn(SNIPPETS, tool);
}

function cdkStatement(statement: Statement): string {
  const principal = (statement['Principal'] ?? {}) as Readonly<Record<string, unknown>>;
  const principals = [
    ...listOf(principal['Service']).map((s) => `new iam.ServicePrincipal(${JSON.stringify(s)})`),
    ...listOf(principal['AWS']).map((arn) => `new iam.ArnPrincipal(${JSON.stringify(arn)})`),
  ];
  const lines = [
    'repository.addToResourcePolicy(new iam.PolicyStatement({',
    `  sid: ${JSON.stringify(statement['Sid'])},`,
    `  principals: [${principals.join(', ')}],`,
    `  actions: [${listOf(statement['Action'])
      .map((action) => JSON.stringify(action))
      .join(', ')}],`,
  ];
  if (statement['Condition'] !== undefined) {
    lines.push(`  conditions: ${JSON.stringify(statement['Condition'])},`);
  }
  lines.push('}));');
  return lines.join('\n');
}

/** An AWS::ECR::Repository in YAML; JSON is YAML, so the statements stay exactly as the fix wrote them. */
function cloudFormationYaml(parents: readonly string[], statements: readonly Statement[]): string {
  const pad = ' '.repeat(parents.length * 2);
  return [
    ...parents,
    `${pad}Repository: # your AWS::ECR::Repository`,
    `${pad}  Type: AWS::ECR::Repository`,
    `${pad}  Properties:`,
    `${pad}    RepositoryPolicyText:`,
    `${pad}      Version: "2012-10-17"`,
    `${pad}      Statement: # merge with your existing statements`,
    indentAll(json(statements), `${pad}        `),
  ].join('\n');
}

function listOf(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** A JSON list with one statement a line: copied as it is, and short enough to read in an e-mail. */
function json(statements: readonly Statement[]): string {
  return [
    '[',
    statements.map((statement) => `  ${JSON.stringify(statement)}`).join(',\n'),
    ']',
  ].join('\n');
}

function indentAll(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

/** Indents every line but the first (which continues a line of the snippet). */
function indentTail(text: string, prefix: string): string {
  return text.split('\n').join(`\n${prefix}`);
}
