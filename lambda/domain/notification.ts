/**
 * The e-mail a person reads: an ASCII subject of at most 99 characters and a plain-text body that says what failed,
 * what changed, what to do now, how to make it permanent and how to undo it — or, for `needs-human`, the exact cause
 * and the next step. The body always fits SNS's 256 KB limit; only the diff is ever shortened, never the facts.
 */
import type { Decision, DeployCall, StatementChange, Target } from './decision';
import { LAMBDA_SERVICE, PULL_ACTIONS, SERVICE_SID } from './planner';
import { parseImageUri } from './image-uri';
import { lineDiff } from './text-diff';
import { deployToolOf } from './user-agent';

/** SNS subjects must be under 100 characters: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html */
export const MAX_SUBJECT_LENGTH = 99;
/** SNS messages are at most 256 KB (262,144 bytes): https://docs.aws.amazon.com/sns/latest/api/API_Publish.html */
export const MAX_MESSAGE_BYTES = 262_144;
const MESSAGE_BUDGET = MAX_MESSAGE_BYTES - 2_048;
/** Facts longer than this (only a hostile or broken event has them) are cut so that the message still fits. */
const MAX_FACT_LENGTH = 2_000;

export interface NotificationContext {
  readonly mode: 'enforce' | 'dry-run';
  /** Whether the policy was written (enforce mode, fix, verified). */
  readonly applied: boolean;
  /** The repository's tags, when read: they tell whether the repository is managed by IaC. */
  readonly repositoryTags?: Readonly<Record<string, string>>;
}

export interface RenderedNotification {
  readonly subject: string;
  readonly message: string;
}

const PRODUCT = '[lambda-ecr-autofix]';
/** The container asset repository the CDK bootstrap stack creates: cdk-QUALIFIER-container-assets-ACCOUNT-REGION. */
const CDK_ASSETS_REPOSITORY = /^cdk-[a-z0-9]+-container-assets-\d{12}-[a-z0-9-]+$/;

/** What is known about an event that could not be processed, for the `error` notification. */
export interface FailedEvent {
  readonly messageId: string;
  readonly attempts: number;
  readonly error: string;
  /** The parsed call, when the event could be parsed. */
  readonly call: DeployCall | null;
  /** Where the message goes now, e.g. the DLQ's name. */
  readonly deadLetterQueue: string | null;
}

/** The notification for an event that failed on its last attempt and goes to the dead-letter queue. */
export function renderErrorNotification(failed: FailedEvent): RenderedNotification {
  const call = failed.call;
  const where = call === null ? '' : ` from ${call.consumerAccount} (${call.region})`;
  const subject = toAscii(`${PRODUCT} ERROR: could not process an event${where}`).slice(
    0,
    MAX_SUBJECT_LENGTH
  );
  const sections: string[][] = [
    [
      'WHAT HAPPENED',
      `lambda-ecr-autofix failed to process this event ${failed.attempts} times; it now goes to the dead-letter queue${failed.deadLetterQueue === null ? '' : ` ${failed.deadLetterQueue}`}.`,
      `Last error: ${fact(failed.error)}`,
    ],
  ];
  if (call !== null) sections.push(['THE FAILED CALL', ...describeCall(call)]);
  sections.push([
    'WHAT TO DO',
    ...numbered([
      "Read the fixer's log (CloudWatch Logs, filter on the message id) for the cause.",
      'Fix the cause (often a missing member role permission or an SCP), then move the message back from the dead-letter queue to the queue (aws sqs start-message-move-task).',
      'Meanwhile, fix the repository policy by hand if the deploy is urgent: run "lambda-ecr-autofix plan" with this event to see the statements.',
    ]),
  ]);
  sections.push(['ABOUT THIS MESSAGE', `Message id: ${failed.messageId}. Outcome: error.`]);
  return { subject, message: sections.map(renderSection).join('\n\n') };
}

/** Subject and body for one decision. */
export function renderNotification(
  decision: Decision,
  context: NotificationContext
): RenderedNotification {
  return {
    subject: renderSubject(decision, context),
    message: renderBody(decision, context),
  };
}

/** The subject line: outcome, consumer account, repository and region, ASCII, at most 99 characters. */
export function renderSubject(decision: Decision, context: NotificationContext): string {
  const target = decision.target;
  const account = target?.consumerAccount ?? decision.call?.consumerAccount ?? 'unknown account';
  const region = target?.region ?? decision.call?.region;
  const suffix = region === undefined ? '' : ` (${region})`;
  const head = `${PRODUCT} ${headline(decision, context)}: ${account} `;
  const verb = subjectVerb(decision, context);
  const repository =
    decision.outcome === 'ignored'
      ? (decision.call?.functionName ?? 'an unknown function')
      : (target?.repositoryName ?? imageRepositoryOf(decision.call) ?? 'an ECR image');
  const room = MAX_SUBJECT_LENGTH - head.length - verb.length - suffix.length;
  return toAscii(`${head}${verb}${shorten(repository, room)}${suffix}`).slice(
    0,
    MAX_SUBJECT_LENGTH
  );
}

function headline(decision: Decision, context: NotificationContext): string {
  switch (decision.outcome) {
    case 'fix':
      return context.applied
        ? 'FIXED'
        : context.mode === 'dry-run'
          ? 'PROPOSED FIX'
          : 'FIX NOT APPLIED';
    case 'already-allowed':
      return 'ALREADY ALLOWED';
    case 'needs-human':
      return 'ACTION NEEDED';
    case 'ignored':
      return 'IGNORED';
  }
}

/** The repository named by the call's image URI, when the target could not be located (e.g. another region). */
function imageRepositoryOf(call: DeployCall | null): string | null {
  const uri = call?.requestImageUri;
  if (uri === undefined || uri === null) return null;
  const parsed = parseImageUri(uri);
  return parsed.ok ? parsed.image.repositoryName : null;
}

function subjectVerb(decision: Decision, context: NotificationContext): string {
  switch (decision.outcome) {
    case 'fix':
      return context.applied ? 'can now pull ' : 'cannot pull ';
    case 'already-allowed':
      return 'may already pull ';
    case 'needs-human':
      return 'cannot pull ';
    case 'ignored':
      return `${decision.call?.api ?? 'event'} of `;
  }
}

function renderBody(decision: Decision, context: NotificationContext): string {
  const sections: string[][] = [];
  sections.push(['WHAT HAPPENED', decision.explanation]);
  if (decision.call !== null) sections.push(['THE FAILED CALL', ...describeCall(decision.call)]);
  if (decision.target !== null)
    sections.push(['THE REPOSITORY', ...describeTarget(decision.target)]);

  const iacOwner = iacOwnerOf(context.repositoryTags);
  if (decision.outcome === 'fix') {
    sections.push(...fixSections(decision, context, iacOwner));
  } else if (decision.outcome === 'needs-human') {
    sections.push(['WHAT TO DO', ...numbered(decision.nextSteps)]);
    if (decision.grants.length > 0) {
      sections.push(['STATEMENTS TO ADD BY HAND', indent(statementsJson(decision.grants))]);
    }
  } else if (decision.outcome === 'already-allowed') {
    sections.push([
      'WHAT TO DO',
      'Nothing was changed. If the deploy still fails, the cause is elsewhere: check the caller role, the execution role, KMS keys and the image itself.',
    ]);
  }
  sections.push([
    'ABOUT THIS MESSAGE',
    `Outcome: ${decision.outcome}; reason: ${decision.reason}; mode: ${context.mode}.`,
    'Sent by lambda-ecr-autofix. Filter these e-mails with the SNS message attributes outcome, reason, consumerAccount and repository.',
  ]);

  if (decision.outcome !== 'fix') return sections.map(renderSection).join('\n\n');
  // The diff goes right after what changed; it is the only part ever shortened to fit SNS's limit.
  const diffAt = sections.findIndex(([title]) => title === 'MAKE IT PERMANENT');
  const heading = context.applied ? 'THE POLICY CHANGE' : 'THE PROPOSED POLICY CHANGE';
  const facts = sections.map(renderSection);
  const budget = MESSAGE_BUDGET - utf8Length(facts.join('\n\n')) - heading.length - 4;
  facts.splice(
    diffAt,
    0,
    renderSection([heading, indent(truncateToBytes(policyDiff(decision), budget))])
  );
  return facts.join('\n\n');
}

function fixSections(
  decision: Decision,
  context: NotificationContext,
  iacOwner: string | null
): string[][] {
  const target = decision.target as Target;
  const sections: string[][] = [];
  if (iacOwner !== null) {
    sections.push([
      `!!! THIS REPOSITORY IS MANAGED BY ${iacOwner.toUpperCase()} !!!`,
      `The next deploy of ${iacOwner} will overwrite the repository policy and remove this ${context.applied ? 'fix' : 'change'}. Add the statements below to its code now (see MAKE IT PERMANENT).`,
    ]);
  }
  if (context.applied) {
    sections.push(['WHAT CHANGED', ...decision.grants.map(describeGrant)]);
    sections.push(['WHAT TO DO NOW', rerunAdvice(decision.call)]);
  } else {
    sections.push([
      context.mode === 'dry-run'
        ? 'PROPOSED CHANGE (dry-run: nothing was written)'
        : 'CHANGE NOT APPLIED',
      ...decision.grants.map(describeGrant),
    ]);
    sections.push([
      'WHAT TO DO NOW',
      `Apply the change below to ${target.repositoryArn} (or set mode to "enforce"), then re-run the deploy.`,
    ]);
  }
  sections.push(['MAKE IT PERMANENT', ...permanentSnippets(decision.grants, target)]);
  if (CDK_ASSETS_REPOSITORY.test(target.repositoryName)) {
    sections.push([
      'CDK BOOTSTRAP REPOSITORY',
      `${target.repositoryName} is the asset repository of the CDK bootstrap stack: the next "cdk bootstrap" resets its policy. Keep the statements in a customized bootstrap template (cdk bootstrap --show-template > bootstrap.yaml, add them to ContainerAssetsRepository's RepositoryPolicyText, then cdk bootstrap --template bootstrap.yaml).`,
    ]);
  }
  if (context.applied) sections.push(['HOW TO UNDO', ...undoInstructions(decision, target)]);
  return sections;
}

function describeCall(call: DeployCall): string[] {
  const tool = deployToolOf(call);
  const lines = [
    `Call:      ${call.eventName} in account ${call.consumerAccount}, ${call.region}`,
    `Function:  ${fact(call.functionName ?? '(not named in the event)')}`,
    `Image:     ${fact(call.requestImageUri ?? '(not in the request)')}`,
    `Caller:    ${fact(call.caller.arn ?? '(unknown)')}`,
    `Tool:      ${fact(tool.label)}`,
    `Time:      ${fact(call.eventTime)}`,
    `Event id:  ${fact(call.eventId)}`,
  ];
  if (call.errorCode !== null) {
    lines.push(`Error:     ${fact(call.errorCode)}: ${fact(call.errorMessage)}`);
  }
  return lines;
}

function describeTarget(target: Target): string[] {
  return [
    `Repository: ${target.repositoryArn}`,
    `Registry:   account ${target.registryAccount}${target.crossAccount ? ' (another account than the function)' : ' (same account as the function)'}`,
    `Function:   ${target.functionArn ?? '(unknown)'}`,
  ];
}

function describeGrant(grant: StatementChange): string {
  const verb = grant.change === 'created' ? 'Added statement' : 'Extended statement';
  const what =
    grant.sid === SERVICE_SID
      ? `lets ${LAMBDA_SERVICE} pull for ${grant.added.join(', ')}`
      : `lets ${grant.added.join(', ')} pull`;
  return `- ${verb} ${grant.sid}: ${what} (${PULL_ACTIONS.join(', ')}).`;
}

function rerunAdvice(call: DeployCall | null): string {
  const tool = call === null ? 'unknown' : deployToolOf(call).tool;
  const how: Record<string, string> = {
    terraform: 'Re-run `terraform apply`.',
    cloudformation:
      'Re-deploy the CloudFormation stack (it rolled back, or is in UPDATE_ROLLBACK_COMPLETE).',
    cdk: 'Re-run `cdk deploy` (the stack rolled back).',
    sam: 'Re-run `sam deploy`.',
    serverless: 'Re-run `serverless deploy`.',
    pulumi: 'Re-run `pulumi up`.',
    console: 'Retry the change in the Lambda console.',
    'aws-cli': 'Re-run the same `aws lambda` command.',
  };
  return `The repository now allows the pull. ${how[tool] ?? 'Re-run the deploy that failed.'}`;
}

function permanentSnippets(grants: readonly StatementChange[], target: Target): string[] {
  const statements = grants.map((grant) => grant.statement);
  const json = JSON.stringify(statements, null, 2);
  return [
    `The fix lives only in the repository policy of ${target.repositoryArn}. Keep it in the code that owns the repository:`,
    '',
    'AWS CDK (TypeScript):',
    indent(cdkSnippet(grants)),
    '',
    'CloudFormation (AWS::ECR::Repository, RepositoryPolicyText.Statement):',
    indent(json),
    '',
    'Terraform (aws_ecr_repository_policy; merge with your existing statements):',
    indent(terraformSnippet(statements)),
  ];
}

function cdkSnippet(grants: readonly StatementChange[]): string {
  return grants
    .map((grant) => {
      const principals = principalValues(grant.statement);
      const condition = sourceArnValues(grant.statement);
      const principalCode =
        grant.sid === SERVICE_SID
          ? `new iam.ServicePrincipal('${LAMBDA_SERVICE}')`
          : principals.map((arn) => `new iam.ArnPrincipal('${arn}')`).join(', ');
      const lines = [
        'repository.addToResourcePolicy(new iam.PolicyStatement({',
        `  sid: '${grant.sid}',`,
        `  principals: [${principalCode}],`,
        `  actions: [${PULL_ACTIONS.map((a) => `'${a}'`).join(', ')}],`,
      ];
      if (condition.length > 0) {
        lines.push(
          `  conditions: { StringLike: { 'aws:SourceArn': [${condition.map((c) => `'${c}'`).join(', ')}] } },`
        );
      }
      lines.push('}));');
      return lines.join('\n');
    })
    .join('\n');
}

function terraformSnippet(statements: readonly Readonly<Record<string, unknown>>[]): string {
  return [
    'resource "aws_ecr_repository_policy" "this" {',
    '  repository = aws_ecr_repository.this.name',
    '  policy = jsonencode({',
    '    Version = "2012-10-17"',
    `    Statement = ${JSON.stringify(statements, null, 2).split('\n').join('\n    ')}`,
    '  })',
    '}',
  ].join('\n');
}

function undoInstructions(decision: Decision, target: Target): string[] {
  const base = `--region ${target.region} --registry-id ${target.registryAccount} --repository-name ${target.repositoryName}`;
  if (decision.policyBefore === null) {
    return [
      'The repository had no policy before. To undo, delete it:',
      indent(`aws ecr delete-repository-policy ${base}`),
    ];
  }
  return [
    'Save the previous policy (below) as before.json, then restore it:',
    indent(`aws ecr set-repository-policy ${base} --policy-text file://before.json`),
    'Previous policy:',
    indent(truncateToBytes(decision.policyBefore, 16_384)),
  ];
}

function policyDiff(decision: Decision): string {
  const before = decision.policyBefore === null ? '' : prettyJson(decision.policyBefore);
  return lineDiff(before, prettyJson(decision.policyAfter ?? ''));
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function statementsJson(grants: readonly StatementChange[]): string {
  return JSON.stringify(
    grants.map((grant) => grant.statement),
    null,
    2
  );
}

function principalValues(statement: Readonly<Record<string, unknown>>): string[] {
  const principal = statement['Principal'] as Record<string, unknown> | undefined;
  const value = principal?.['AWS'];
  return Array.isArray(value) ? value.map(String) : [];
}

function sourceArnValues(statement: Readonly<Record<string, unknown>>): string[] {
  const condition = statement['Condition'] as Record<string, Record<string, unknown>> | undefined;
  const stringLike = condition?.['StringLike'] ?? {};
  const values = Object.values(stringLike)[0];
  return Array.isArray(values) ? values.map(String) : [];
}

/** The IaC tool that owns the repository, from its tags, or null. */
export function iacOwnerOf(tags: Readonly<Record<string, string>> | undefined): string | null {
  if (tags === undefined) return null;
  const stack = tags['aws:cloudformation:stack-name'];
  if (stack !== undefined) return `CloudFormation stack ${stack}`;
  for (const [key, value] of Object.entries(tags)) {
    const k = key.toLowerCase();
    const v = value.toLowerCase();
    if ((k === 'managed-by' || k === 'managedby' || k === 'managed_by') && v.length > 0) {
      return toolName(v) ?? value;
    }
    if (k === 'terraform' || k.startsWith('terraform:') || k === 'tf_workspace') return 'Terraform';
    if (k.startsWith('pulumi:')) return 'Pulumi';
  }
  return null;
}

function toolName(value: string): string | null {
  if (value.includes('terraform')) return 'Terraform';
  if (value.includes('pulumi')) return 'Pulumi';
  if (value.includes('cdk')) return 'AWS CDK';
  if (value.includes('cloudformation')) return 'CloudFormation';
  return null;
}

function renderSection(section: readonly string[]): string {
  const [title, ...lines] = section;
  return [title, ...lines].join('\n');
}

function numbered(steps: readonly string[]): string[] {
  return steps.length === 0
    ? ['Review the failure above.']
    : steps.map((step, index) => `${index + 1}. ${step}`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function fact(text: string): string {
  return text.length <= MAX_FACT_LENGTH ? text : `${text.slice(0, MAX_FACT_LENGTH)}... (cut)`;
}

function shorten(text: string, room: number): string {
  if (text.length <= room) return text;
  // Subjects always leave room for a name: the other parts are short (an account id, an API, a region).
  const keep = Math.max(0, room - 3);
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}...${text.slice(text.length - (keep - head))}`;
}

/** Replaces anything outside printable ASCII (SNS alters such subjects) with `?`. */
function toAscii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

function truncateToBytes(text: string, budget: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= budget) return text;
  const marker = '\n... (shortened to fit the 256 KB SNS limit)';
  const end = Math.max(0, budget - utf8Length(marker));
  // Cutting bytes may split a character; the decoder turns that into U+FFFD, which is dropped.
  const cut = decoder.decode(bytes.subarray(0, end)).replace(/\uFFFD$/, '');
  return `${cut}${marker}`;
}
