/**
 * Which deployment tool made a call, from CloudTrail's `userAgent`, `invokedBy` and the caller's role, so a
 * notification can say "Terraform 1.9.5" and suggest the fix in that tool's terms. Best effort: user agents are
 * free text, and anything unrecognised is `unknown`.
 */
import { cleanText } from './bounded-text';
import type { DeployCall } from './decision';
import { parsePrincipalArn } from './principal-arn';

/** The deployment tools a notification can name. */
export type DeployTool =
  | 'terraform'
  | 'cloudformation'
  | 'cdk'
  | 'sam'
  | 'serverless'
  | 'pulumi'
  | 'console'
  | 'aws-cli'
  | 'sdk'
  | 'ack'
  | 'unknown';

/** A tool and a human label such as "Terraform 1.9.5" or "AWS CDK (CloudFormation)". */
export interface DeployToolInfo {
  readonly tool: DeployTool;
  readonly label: string;
}

const CLOUDFORMATION = 'cloudformation.amazonaws.com';
/** The CDK bootstrap's deployment role: `cdk-QUALIFIER-cfn-exec-role-ACCOUNT-REGION`. */
const CDK_EXEC_ROLE = /^cdk-[a-z0-9]+-cfn-exec-role-/;
const VERSION = '(\\d[\\w.+-]*)';
/**
 * A product token starts the user agent or follows a space: `terraform-drift-fixer`, `app/Pulumi-migrator` or
 * `aws-serverless/2.0` merely contain a tool's name, and must not make a notice speak of that tool.
 */
const TOKEN = '(?<![^\\s(])';
const PULUMI_PROVIDER = new RegExp(`${TOKEN}Pulumi-?Aws(Native)?\\/${VERSION}`, 'i');

/** Recognisers for direct API callers, most specific first: ACK and Terraform user agents also name their SDK. */
const USER_AGENT_RULES: readonly {
  readonly pattern: RegExp;
  readonly info: (match: RegExpExecArray) => DeployToolInfo;
}[] = [
  {
    // e.g. `aws-sdk-go/1.55.5 (go1.22.5; linux; amd64) aws-controllers-k8s/lambda-1.5.2`
    pattern: /\baws-controllers-k8s\/([\w.-]+)/,
    info: (match) => ({
      tool: 'ack',
      label: `AWS Controllers for Kubernetes (${group(match, 1)})`,
    }),
  },
  {
    // e.g. `APN/1.0 Pulumi/1.0 PulumiAwsNative/1.12.0` (pulumi-aws-native) or `… Pulumi-Aws/6.50.0 …`
    pattern: new RegExp(`${TOKEN}Pulumi(?:-?Aws(?:Native)?)?\\/`, 'i'),
    info: (match) => {
      const provider = PULUMI_PROVIDER.exec(match.input);
      return {
        tool: 'pulumi',
        label:
          provider === null
            ? 'Pulumi'
            : `Pulumi (${provider[1] === undefined ? 'AWS' : 'AWS Native'} provider ${group(provider, 2)})`,
      };
    },
  },
  {
    // e.g. `APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.66.0 …`
    pattern: new RegExp(`${TOKEN}(Terraform|OpenTofu)\\/${VERSION}`),
    info: (match) => ({ tool: 'terraform', label: `${group(match, 1)} ${group(match, 2)}` }),
  },
  {
    // Terraform's AWS provider, where the Terraform token is missing: `terraform-provider-aws/5.66.0 (+https://…)`
    pattern: new RegExp(`${TOKEN}terraform-provider-aws\\/${VERSION}`),
    info: (match) => ({ tool: 'terraform', label: `Terraform (AWS provider ${group(match, 1)})` }),
  },
  {
    // e.g. `aws-sdk-nodejs/2.1692.0 linux/v20.17.0 … serverless/3.39.0` (`serverless deploy function`)
    pattern: new RegExp(`${TOKEN}serverless(?:-framework)?\\/${VERSION}`, 'i'),
    info: (match) => ({ tool: 'serverless', label: `Serverless Framework ${group(match, 1)}` }),
  },
  {
    // e.g. `Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 … aws-sam-cli/1.120.0` (`sam sync`)
    pattern: new RegExp(`${TOKEN}aws-sam-cli\\/${VERSION}`),
    info: (match) => ({ tool: 'sam', label: `AWS SAM CLI ${group(match, 1)}` }),
  },
  {
    // e.g. `aws-sdk-js/3.637.0 … aws-cdk/2.160.0` (`cdk deploy --hotswap` calls Lambda directly)
    pattern: new RegExp(`${TOKEN}aws-cdk\\/${VERSION}`),
    info: (match) => ({ tool: 'cdk', label: `AWS CDK ${group(match, 1)} (hotswap)` }),
  },
  {
    // A browser: the console calls the API from the page.
    pattern: /^Mozilla\//,
    info: () => CONSOLE,
  },
  {
    // e.g. `aws-cli/2.17.60 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 …`
    pattern: new RegExp(`\\baws-cli\\/${VERSION}`),
    info: (match) => ({ tool: 'aws-cli', label: `AWS CLI ${group(match, 1)}` }),
  },
  {
    // e.g. `aws-sdk-js/3.637.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.17.0 api/lambda#3.637.0`
    pattern: new RegExp(`\\b(aws-sdk-[a-z0-9-]+|Boto3|botocore)\\/${VERSION}`, 'i'),
    info: (match) => {
      const sdk = group(match, 1);
      return { tool: 'sdk', label: `${SDK_NAMES[sdk.toLowerCase()] ?? sdk} ${group(match, 2)}` };
    },
  },
];

const CONSOLE: DeployToolInfo = { tool: 'console', label: 'AWS Management Console' };

const SDK_NAMES: Readonly<Record<string, string>> = {
  'aws-sdk-js': 'AWS SDK for JavaScript',
  'aws-sdk-nodejs': 'AWS SDK for JavaScript',
  'aws-sdk-go': 'AWS SDK for Go',
  'aws-sdk-go-v2': 'AWS SDK for Go v2',
  'aws-sdk-java': 'AWS SDK for Java',
  'aws-sdk-dotnet-coreclr': 'AWS SDK for .NET',
  'aws-sdk-ruby3': 'AWS SDK for Ruby',
  'aws-sdk-php': 'AWS SDK for PHP',
  'aws-sdk-rust': 'AWS SDK for Rust',
  boto3: 'AWS SDK for Python (Boto3)',
  botocore: 'AWS SDK for Python (botocore)',
};

/** Names the tool behind a deploy call (Terraform, CDK, SAM, console, CLI, …) with a human label. */
export function deployToolOf(call: DeployCall): DeployToolInfo {
  const userAgent = call.userAgent ?? '';
  // Calls CloudFormation makes on a stack's behalf carry `invokedBy` and a CloudFormation user agent.
  if (call.caller.invokedBy === CLOUDFORMATION || userAgent === CLOUDFORMATION) {
    return viaCloudFormation(call);
  }
  for (const rule of USER_AGENT_RULES) {
    const match = rule.pattern.exec(userAgent);
    if (match !== null) return rule.info(match);
  }
  if (call.caller.invokedBy === 'console.amazonaws.com' || userAgent === 'console.amazonaws.com') {
    return CONSOLE;
  }
  return {
    tool: 'unknown',
    label: userAgent === '' ? 'unknown tool' : `unknown tool (${clip(userAgent)})`,
  };
}

function viaCloudFormation(call: DeployCall): DeployToolInfo {
  const role =
    call.caller.principalArn === null ? null : parsePrincipalArn(call.caller.principalArn);
  if (role !== null && CDK_EXEC_ROLE.test(role.name)) {
    return { tool: 'cdk', label: 'AWS CDK (CloudFormation)' };
  }
  // AWS SAM tags the functions it creates `lambda:createdBy=SAM`.
  if (call.requestTags['lambda:createdBy'] === 'SAM') {
    return { tool: 'sam', label: 'AWS SAM (CloudFormation)' };
  }
  return { tool: 'cloudformation', label: 'AWS CloudFormation' };
}

/** A capture group the rule's pattern always fills. */
function group(match: RegExpExecArray, index: number): string {
  return String(match[index]);
}

/** At most 60 characters, cut on a code point boundary: a label must never split an emoji (SNS refuses the halves). */
function clip(text: string): string {
  return cleanText(text, 60);
}
