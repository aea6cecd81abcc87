/**
 * The e-mail a person reads: an ASCII subject of at most 99 characters and a plain-text body whose first screen says
 * what happened, what changed (one line per statement), what to do now and how to undo it — or, for `needs-human`,
 * the exact cause and the next steps — followed by the details (the call, the repository, the policy diff, the code
 * that keeps the fix). The body always fits SNS's 256 KB limit; only the diff is ever shortened, never the facts.
 */
import type { Decision, DeployCall, StatementChange, Target } from './decision';
import { LAMBDA_SERVICE, PULL_ACTIONS, SERVICE_SID } from './planner';
import { chooseIacTool, iacOwnerOf, permanentSnippets } from './iac-snippets';
import { parseImageUri } from './image-uri';
import { repositoryArnOf } from './repository-arn';
import { scanFinder } from './scan-call';
import {
  fact,
  indent,
  numbered,
  renderSection,
  shorten,
  toAscii,
  truncateToBytes,
  utf8Length,
} from './notification-text';
import { lineDiff } from './text-diff';
import { undoInstructions, type UndoContext } from './undo-instructions';
import { deployToolOf } from './user-agent';

/** SNS subjects must be under 100 characters: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html */
export const MAX_SUBJECT_LENGTH = 99;
/** SNS messages are at most 256 KB (262,144 bytes): https://docs.aws.amazon.com/sns/latest/api/API_Publish.html */
export const MAX_MESSAGE_BYTES = 262_144;
const MESSAGE_BUDGET = MAX_MESSAGE_BYTES - 2_048;

export interface NotificationContext {
  readonly mode: 'enforce' | 'dry-run';
  /** Whether the policy was written (enforce mode, fix, verified). */
  readonly applied: boolean;
  /** The repository's tags, when read: they tell whether the repository is managed by IaC. */
  readonly repositoryTags?: Readonly<Record<string, string>>;
  /** What the undo section's `revoke` command needs to name (the audit table, the central region). */
  readonly undo?: UndoContext;
}

export interface RenderedNotification {
  readonly subject: string;
  readonly message: string;
}

const PRODUCT = '[lambda-ecr-autofix]';
/** The container asset repository the CDK bootstrap stack creates: cdk-QUALIFIER-container-assets-ACCOUNT-REGION. */
const CDK_ASSETS_REPOSITORY = /^cdk-[a-z0-9]+-container-assets-\d{12}-[a-z0-9-]+$/;
/** Where the first screen ends and the details begin. */
const DETAILS = ['-'.repeat(72), 'DETAILS'].join('\n');

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
  sections.push([
    'WHAT TO DO',
    ...numbered([
      "Read the fixer's log (CloudWatch Logs, filter on the message id) for the cause.",
      'Fix the cause (often a missing member role permission or an SCP), then move the message back from the dead-letter queue to the queue (aws sqs start-message-move-task).',
      `Meanwhile, if the deploy is urgent, see what to add to the repository policy by hand: ${eventCommand(call)}${planInputs(call)} (docs/operations.md, "Getting the event of a failed deploy").`,
    ]),
  ]);
  if (call !== null) sections.push([DETAILS], ['THE FAILED CALL', ...describeCall(call)]);
  sections.push(['ABOUT THIS MESSAGE', `Message id: ${failed.messageId}. Outcome: error.`]);
  return { subject, message: sections.map(renderSection).join('\n\n') };
}

/**
 * The rest of the `plan` step: the repository's policy and tags as they are (without them `plan` decides for a
 * repository with no policy and no share tag), then the command. Only the event when its image is not an ECR URI.
 */
function planInputs(call: DeployCall | null): string {
  const uri = call?.requestImageUri ?? null;
  const parsed = uri === null ? null : parseImageUri(uri);
  if (parsed === null || !parsed.ok)
    return ', then run "lambda-ecr-autofix plan --event event.json"';
  const image = parsed.image;
  const repository = `--region ${image.region} --registry-id ${image.registryAccount} --repository-name ${fact(image.repositoryName)}`;
  const arn = repositoryArnOf(
    image.partition,
    image.region,
    image.registryAccount,
    image.repositoryName
  );
  return (
    `; in account ${image.registryAccount}, run "aws ecr get-repository-policy ${repository} --query policyText --output text > policy.json" ` +
    `and "aws ecr list-tags-for-resource --region ${image.region} --resource-arn ${fact(arn)} > tags.json", ` +
    'then run "lambda-ecr-autofix plan --event event.json --policy policy.json --tags tags.json" (without --policy when the repository has no policy)'
  );
}

/** How to get the event for `plan`: CloudTrail's event history by event id, else the dead-letter queue's copy. */
function eventCommand(call: DeployCall | null): string {
  if (call === null) {
    return 'save the body of this message from the dead-letter queue as event.json (aws sqs receive-message)';
  }
  return `in account ${call.consumerAccount}, run "aws cloudtrail lookup-events --region ${call.region} --lookup-attributes AttributeKey=EventId,AttributeValue=${fact(call.eventId)} > event.json"`;
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
    case 'revoke':
      return 'REVOKED';
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
    case 'revoke':
      return 'may no longer pull ';
  }
}

function renderBody(decision: Decision, context: NotificationContext): string {
  const call = decision.call;
  const target = decision.target;
  const owner = iacOwnerOf(context.repositoryTags);
  const first: string[][] = [];
  const details: (string[] | 'diff')[] = [];
  if (decision.outcome === 'fix' && owner !== null) {
    first.push([
      `!!! THIS REPOSITORY IS MANAGED BY ${owner.toUpperCase()} !!!`,
      `The next deploy of ${owner} will overwrite the repository policy and remove this ${context.applied ? 'fix' : 'change'}. Add the statements to its code now (see MAKE IT PERMANENT).`,
    ]);
  }
  first.push([
    'WHAT HAPPENED',
    ...(call === null ? [] : [callSummary(call)]),
    decision.explanation,
  ]);
  if (decision.outcome === 'fix') {
    first.push(...fixSections(decision, context));
  } else if (decision.outcome === 'needs-human') {
    first.push(['WHAT TO DO', ...numbered(decision.nextSteps)]);
    if (decision.grants.length > 0) {
      details.push(['STATEMENTS TO ADD BY HAND', indent(statementsJson(decision.grants))]);
    }
  } else if (decision.outcome === 'already-allowed') {
    first.push([
      'WHAT TO DO',
      'Nothing was changed. If the deploy still fails, the cause is elsewhere: check the caller role, the execution role, KMS keys and the image itself.',
    ]);
  }
  const finder = call === null ? null : scanFinder(call);
  if (call !== null) {
    details.push(
      finder === null
        ? ['THE FAILED CALL', ...describeCall(call)]
        : ['WHAT THE SCAN CHECKED', ...describeScanCheck(call, finder)]
    );
  }
  if (target !== null) details.push(['THE REPOSITORY', ...describeTarget(target)]);
  if (decision.outcome === 'fix') {
    const fixTarget = target as Target;
    details.push('diff');
    details.push([
      'MAKE IT PERMANENT',
      ...permanentSnippets(decision.grants, fixTarget, chooseIacTool(context.repositoryTags, call)),
    ]);
    if (CDK_ASSETS_REPOSITORY.test(fixTarget.repositoryName)) {
      details.push([
        'CDK BOOTSTRAP REPOSITORY',
        `${fixTarget.repositoryName} is the asset repository of the CDK bootstrap stack: the next "cdk bootstrap" resets its policy. Keep the statements in a customized bootstrap template (cdk bootstrap --show-template > bootstrap.yaml, add them to ContainerAssetsRepository's RepositoryPolicyText, then cdk bootstrap --template bootstrap.yaml).`,
      ]);
    }
  }
  details.push([
    'ABOUT THIS MESSAGE',
    `Outcome: ${decision.outcome}; reason: ${decision.reason}; mode: ${context.mode}.`,
    'Sent by lambda-ecr-autofix. Filter these e-mails with the SNS message attributes outcome, reason, consumerAccount and repository.',
  ]);

  const rendered = [...first, [DETAILS]].map(renderSection);
  const facts = details.filter((section) => section !== 'diff').map(renderSection);
  // The diff is the only part ever shortened to fit SNS's limit.
  const heading = context.applied ? 'THE POLICY CHANGE' : 'THE PROPOSED POLICY CHANGE';
  const budget =
    MESSAGE_BUDGET - utf8Length([...rendered, ...facts].join('\n\n')) - heading.length - 4;
  for (const section of details) {
    rendered.push(
      section === 'diff'
        ? renderSection([heading, indent(truncateToBytes(policyDiff(decision), budget))])
        : renderSection(section)
    );
  }
  return rendered.join('\n\n');
}

function fixSections(decision: Decision, context: NotificationContext): string[][] {
  const target = decision.target as Target;
  if (context.applied) {
    return [
      ['WHAT CHANGED', ...decision.grants.map((grant) => describeGrant(grant, true))],
      ['WHAT TO DO NOW', rerunAdvice(decision.call)],
      ['HOW TO UNDO', ...undoInstructions(decision, target, context.undo)],
    ];
  }
  return [
    [
      context.mode === 'dry-run'
        ? 'WHAT WOULD CHANGE (dry-run: nothing was written)'
        : 'WHAT WOULD CHANGE (not applied: nothing was written)',
      ...decision.grants.map((grant) => describeGrant(grant, false)),
    ],
    [
      'WHAT TO DO NOW',
      `Add these statements to the policy of ${target.repositoryArn} (see THE PROPOSED POLICY CHANGE below)${context.mode === 'dry-run' ? ', or set mode to "enforce" so that the fixer does it,' : ''}${decision.call !== null && scanFinder(decision.call) !== null ? " before the function's next deploy or cold start." : ' then re-run the deploy.'}`,
    ],
  ];
}

/** One line: which call failed, where and when; or, for a scan's or a sweep's call, what it found. */
function callSummary(call: DeployCall): string {
  const finder = scanFinder(call);
  const name = fact(call.functionName ?? 'an unnamed function');
  if (finder !== null) {
    return `lambda-ecr-autofix (${fact(finder)}, at ${fact(call.eventTime)}) found that the repository policy would refuse Lambda's pull of the image of ${name} (account ${call.consumerAccount}, ${call.region}) at its next deploy or cold start.`;
  }
  const outcome = call.errorCode === null ? 'succeeded' : `failed (${fact(call.errorCode)})`;
  return `${call.api} of ${name} in account ${call.consumerAccount} (${call.region}) at ${fact(call.eventTime)} ${outcome}.`;
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

/** A scan's or a sweep's question, which no caller asked: no call, caller, tool or error to show. */
function describeScanCheck(call: DeployCall, finder: string): string[] {
  return [
    `Function:  ${fact(call.functionName ?? '(unknown)')}`,
    `Image:     ${fact(call.requestImageUri ?? '(unknown)')}`,
    `Found by:  lambda-ecr-autofix ${fact(finder)}`,
    `Time:      ${fact(call.eventTime)}`,
    `Event id:  ${fact(call.eventId)}`,
    "Question:  would the repository policy let Lambda pull this image at the function's next deploy or cold start?",
  ];
}

function describeTarget(target: Target): string[] {
  return [
    `Repository: ${target.repositoryArn}`,
    `Registry:   account ${target.registryAccount}${target.crossAccount ? ' (another account than the function)' : ' (same account as the function)'}`,
    `Function:   ${target.functionArn ?? '(unknown)'}`,
  ];
}

/** One line per statement: what was (or would be) added to it. */
function describeGrant(grant: StatementChange, applied: boolean): string {
  const verb = applied
    ? grant.change === 'created'
      ? 'Added statement'
      : 'Extended statement'
    : grant.change === 'created'
      ? 'Would add statement'
      : 'Would extend statement';
  const lets = applied ? 'lets' : 'would let';
  const what =
    grant.sid === SERVICE_SID
      ? `${lets} ${LAMBDA_SERVICE} pull for ${grant.added.join(', ')}`
      : `${lets} ${grant.added.join(', ')} pull`;
  return `- ${verb} ${grant.sid}: ${what} (${PULL_ACTIONS.join(', ')}).`;
}

function rerunAdvice(call: DeployCall | null): string {
  if (call !== null && scanFinder(call) !== null) {
    return 'The repository now allows the pull; no deploy failed, so there is nothing to re-run. If the function is Inactive because Lambda could not pull its image (ImageAccessDenied), invoke it or deploy it again so that Lambda pulls the image.';
  }
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
