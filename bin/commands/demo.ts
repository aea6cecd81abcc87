/**
 * `demo`: replays the bundled example events end to end — the same pipeline the Lambda runs — against a local
 * moto_server when one is on the PATH, else against in-memory stand-ins, and prints each decision and the e-mail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { EventResult, Telemetry } from '../../lambda/application/fix-pipeline';
import { createLimiter } from '../../lambda/application/concurrency';
import { applyScanFixes } from '../../lambda/application/scan-fixes';
import type { RegionScan, ScanEntry } from '../../lambda/application/scanner';
import { Scanner } from '../../lambda/application/scanner';
import type { Config } from '../../lambda/domain/config';
import { parseConfig } from '../../lambda/domain/config';
import type { ScanContext } from '../../lambda/domain/scan-call';
import type { DemoFunction, DemoRepository, DemoWorld, SentMessage } from './demo-world';
import { openWorld } from './demo-world';
import type { ScanReport } from './scan-output';
import { fixesText, scanText } from './scan-output';
import { checkText } from './output';

export const DEMO_HELP = `Usage: lambda-ecr-autofix demo [--verbose]

Replays the bundled example events (examples/events) end to end through the fixer pipeline and prints
each decision and the subject of the e-mail it sends. Needs no AWS account: it starts a local
moto_server on 127.0.0.1 when one is on the PATH (real AWS SDK clients), else uses in-memory
stand-ins, and says which.

Options:
  --verbose    print each e-mail in full
  --brief      print only the subject of each e-mail (the default; kept for older scripts)
  -h, --help   show this help`;

/** The examples folder of the package: beside bin/ from the sources, beside dist/ once bundled. */
const EXAMPLES = [join(__dirname, '..', '..', 'examples'), join(__dirname, '..', 'examples')].find(
  (candidate) => existsSync(join(candidate, 'config.json'))
) as string;
/** The package's root folder: a clone, or where npm installed the package. */
const PACKAGE_ROOT = dirname(EXAMPLES);

/** The repositories of the demo organization, as their owners left them. */
const REPOSITORIES: readonly DemoRepository[] = [
  { account: '222222222222', region: 'us-east-1', name: 'orders-api' },
  {
    account: '111111111111',
    region: 'eu-west-1',
    name: 'platform/payments-worker',
    policyText: example('policies/payments-worker.json'),
    // The owner shares it with the two workload accounts (DESIGN.md, "Sharing and consent").
    tags: { team: 'platform', 'lambda-ecr-autofix:share': '222222222222 444444444444' },
  },
  {
    account: '111111111111',
    region: 'eu-west-1',
    name: 'platform/base-python',
    policyText: example('policies/base-python.json'),
  },
  {
    account: '222222222222',
    region: 'ap-southeast-2',
    name: 'cdk-hnb659fds-container-assets-222222222222-ap-southeast-2',
    tags: { 'aws:cloudformation:stack-name': 'CDKToolkit' },
  },
  {
    account: '111111111111',
    region: 'us-west-2',
    name: 'platform/thumbnailer',
    tags: { 'lambda-ecr-autofix': 'off' },
  },
  { account: '222222222222', region: 'us-east-1', name: 'bedrock-proxy-api' },
  // Not shared: its owner has not consented to other accounts pulling it.
  {
    account: '111111111111',
    region: 'eu-west-1',
    name: 'risk/fraud-model',
    tags: { team: 'risk' },
  },
];

interface Step {
  readonly title: string;
  readonly event: string;
}

const STEPS: readonly Step[] = [
  {
    title: 'Same account, repository without a policy',
    event: 'create-function-same-account-ecr-denied.json',
  },
  {
    title: 'Central registry in another account (Terraform deploy)',
    event: 'create-function-cross-account-ecr-denied.json',
  },
  {
    title: 'The same failure delivered again (replay)',
    event: 'create-function-cross-account-ecr-denied.json',
  },
  {
    title: 'A second consumer account, same repository',
    event: 'create-function-second-consumer-ecr-denied.json',
  },
  {
    title: "Another account's repository that its owner has not shared",
    event: 'create-function-unshared-repository-ecr-denied.json',
  },
  {
    title: 'CDK asset repository owned by CloudFormation',
    event: 'create-function-cdk-cloudformation-ecr-denied.json',
  },
  {
    title: 'Repository that opted out by tag',
    event: 'create-function-github-actions-digest-ecr-denied.json',
  },
  {
    title: 'Repository policy with a Deny guard',
    event: 'create-function-cross-account-no-resource-policy.json',
  },
  {
    title: 'Service control policy denies the pull',
    event: 'create-function-scp-explicit-deny.json',
  },
  {
    title: 'Image tag that was never pushed',
    event: 'create-function-image-tag-does-not-exist.json',
  },
  {
    title: 'Image built with provenance attestations',
    event: 'create-function-unsupported-media-type.json',
  },
  { title: 'A zip function failing for another reason', event: 'create-function-zip-failure.json' },
  { title: 'An event cut short in transit (not JSON)', event: 'malformed-truncated-event.json' },
];

/** The workload account's container-image functions, deployed before the story above (they all work today). */
const SCANNED_ACCOUNT = '222222222222';
const SCANNED_REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2'];
const FUNCTIONS: readonly DemoFunction[] = [
  {
    name: 'orders-api',
    region: 'us-east-1',
    imageUri: image('222222222222', 'us-east-1', 'orders-api:1.4.0'),
  },
  {
    name: 'bedrock-proxy',
    region: 'us-east-1',
    imageUri: image('222222222222', 'us-east-1', 'bedrock-proxy-api:0.9.1'),
  },
  {
    name: 'legacy-reports',
    region: 'us-east-1',
    imageUri: image('222222222222', 'us-east-1', 'legacy-reports:2019'),
  },
  {
    name: 'payments-worker',
    region: 'eu-west-1',
    imageUri: image('111111111111', 'eu-west-1', 'platform/payments-worker:1.4.2'),
  },
  {
    name: 'nightly-etl',
    region: 'eu-west-1',
    imageUri: image('111111111111', 'eu-west-1', 'platform/base-python:3.12'),
  },
  {
    name: 'thumbnailer',
    region: 'us-west-2',
    imageUri: image('111111111111', 'us-west-2', 'platform/thumbnailer:2.0'),
  },
].map((fn) => ({ ...fn, account: SCANNED_ACCOUNT }));

function image(account: string, region: string, repositoryAndTag: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com/${repositoryAndTag}`;
}

const QUIET: Telemetry = { decided: () => undefined, failed: () => undefined };

export interface DemoOptions {
  /** Print each e-mail in full, not only its subject. */
  readonly verbose: boolean;
  /** The moto_server executable; null forces the in-memory stand-ins. @default the one on the PATH */
  readonly motoServer?: string | null;
}

export async function runDemo(options: DemoOptions, out: (text: string) => void): Promise<string> {
  const config = parseConfig(JSON.parse(example('config.json')) as unknown, 'examples/config.json');
  const world = await openWorld(config, QUIET, options.motoServer);
  try {
    out(`lambda-ecr-autofix demo: AWS calls go to ${world.description}.`);
    out(
      `Configuration: ${examplesPath(PACKAGE_ROOT, 'config.json')} (mode ${config.mode}, grantScope ${config.grantScope}).`
    );
    for (const repository of REPOSITORIES) await world.createRepository(repository);
    out(
      `Set up ${REPOSITORIES.length} ECR repositories in accounts 111111111111 and 222222222222; platform/payments-worker is shared (tag lambda-ecr-autofix:share) with 222222222222 and 444444444444.`
    );

    const counts = new Map<string, number>();
    for (const [index, step] of STEPS.entries()) {
      const result = await replay(world, step, index);
      out('');
      out(
        `== ${index + 1}/${STEPS.length} ${step.title} (${examplesPath(PACKAGE_ROOT, `events/${step.event}`)})`
      );
      out(describeResult(result));
      for (const key of outcomesOf(result)) counts.set(key, (counts.get(key) ?? 0) + 1);
      for (const message of world.takeMessages()) out(renderEmail(message, options.verbose));
    }

    const finalPolicy = await world.policyOf({
      account: '111111111111',
      region: 'eu-west-1',
      name: 'platform/payments-worker',
    });
    out('');
    out(
      '== The policy of platform/payments-worker after the demo (CiPublish kept, two consumers merged):'
    );
    out(finalPolicy ?? '(none)');
    out('');
    out(
      `Summary: ${[...counts].map(([outcome, n]) => `${n} ${outcome}`).join(', ')}; ${await world.auditCount()} audit records written.`
    );
    await scanStory(world, config, out, options.verbose);
    if (!options.verbose) out(verboseHint(PACKAGE_ROOT));
    return nextSteps(PACKAGE_ROOT);
  } finally {
    await world.close();
  }
}

async function replay(world: DemoWorld, step: Step, index: number): Promise<EventResult> {
  const text = readFileSync(join(EXAMPLES, 'events', step.event), 'utf8');
  let event: unknown;
  try {
    event = JSON.parse(text) as unknown;
  } catch {
    // What the Lambda does with an SQS message that is not JSON: acknowledge it as an invalid event.
    event = text;
  }
  const [result] = await world.pipeline.process([
    { messageId: `demo-${index + 1}`, event, attempt: 1 },
  ]);
  return result as EventResult;
}

/** The outcomes one result counts for in the summary. */
function outcomesOf(result: EventResult): string[] {
  if (result.status === 'failed') return ['failed'];
  if (result.status === 'done') return [result.decision.outcome];
  return result.check.kind === 'ignored'
    ? ['ignored']
    : result.check.outcomes.map((outcome) => outcome.decision.outcome);
}

function describeResult(result: EventResult): string {
  if (result.status === 'failed') {
    return `   FAILED (would be retried, then sent to the DLQ): ${String(result.error)}`;
  }
  if (result.status === 'checked') {
    return checkText(result.call, result.check)
      .split('\n')
      .map((line) => `   ${line}`)
      .join('\n');
  }
  const { decision, applied } = result;
  const lines = [
    `   decision: ${decision.outcome} (${decision.reason})${decision.outcome === 'fix' ? `, applied: ${applied ? 'yes, verified' : 'no'}` : ''}`,
    `   why:      ${decision.explanation}`,
  ];
  if (result.notificationId === null) lines.push('   e-mail:   none (not in notifyOn)');
  return lines.join('\n');
}

/** How to see every e-mail in full, in the terms of where it runs: a clone has no `lambda-ecr-autofix` on its PATH. */
export function verboseHint(packageRoot: string): string {
  return isClone(packageRoot)
    ? 'Each e-mail in full: npm run demo -- --verbose.'
    : 'Each e-mail in full: lambda-ecr-autofix demo --verbose.';
}

/** A file of the examples as a person finds it: relative in a clone, the installed path otherwise. */
export function examplesPath(packageRoot: string, file: string): string {
  return isClone(packageRoot) ? `examples/${file}` : join(packageRoot, 'examples', file);
}

/** A clone has its tests; the installed package does not (package.json "files"). */
function isClone(packageRoot: string): boolean {
  return existsSync(join(packageRoot, 'test'));
}

/**
 * The demo's last line: what to try next, in the terms of where it runs. A clone has its tests and npm scripts; an
 * installed package has only the command and its documents, named by their installed paths.
 */
export function nextSteps(packageRoot: string): string {
  if (isClone(packageRoot)) {
    return 'Next: `npm run --silent cli -- plan --event FILE` decides offline for one of your own failed deploys, `npm test` runs the test suite, and README.md explains how to deploy to an AWS Organization.';
  }
  return `Next: \`lambda-ecr-autofix plan --event FILE\` decides offline for one of your own failed deploys (how to get the event: ${join(packageRoot, 'docs', 'operations.md')}); how to deploy the fixer to an AWS Organization: ${join(packageRoot, 'README.md')}.`;
}

function renderEmail(message: SentMessage, verbose: boolean): string {
  const header = `   e-mail:   ${message.subject}`;
  if (!verbose) return header;
  const body = message.message
    .split('\n')
    .map((line) => `   | ${line}`)
    .join('\n');
  return `${header}\n${body}`;
}

function example(path: string): string {
  return readFileSync(join(EXAMPLES, path), 'utf8');
}

/**
 * The functions that deployed fine before the story: are they still fine? The same engine and report as
 * `lambda-ecr-autofix scan` (and the scheduled sweep), then `scan --fix` through the same pipeline.
 */
async function scanStory(
  world: DemoWorld,
  config: Config,
  out: (text: string) => void,
  verbose: boolean
): Promise<void> {
  for (const fn of FUNCTIONS) await world.createFunction(fn);
  const context: ScanContext = {
    runId: 'demo',
    time: new Date().toISOString(),
    by: `demo sweep of ${SCANNED_ACCOUNT}`,
  };
  const scanAll = async (): Promise<{ report: ScanReport; entries: ScanEntry[] }> => {
    const scanner = new Scanner({
      config,
      registry: world.registry,
      limiter: createLimiter(8),
      context,
      sessionName: 'lambda-ecr-autofix-demo-sweep',
    });
    const regions: RegionScan[] = [];
    for (const region of SCANNED_REGIONS) {
      regions.push(await scanner.scanRegion(await world.inventory(SCANNED_ACCOUNT, region)));
    }
    const entries = regions.flatMap((r) => r.entries);
    const report: ScanReport = {
      account: SCANNED_ACCOUNT,
      regions: SCANNED_REGIONS,
      findings: entries.map((entry) => entry.finding),
      deleted: 0,
    };
    return { report, entries };
  };

  out('');
  out(
    `== Scan of account ${SCANNED_ACCOUNT}: ${FUNCTIONS.length} container-image functions deployed before all this (what "lambda-ecr-autofix scan" prints):`
  );
  const before = await scanAll();
  out(scanText(before.report));
  out('');
  out('== scan --fix (through the fixer pipeline: audit record, notice), then the state after:');
  const fixes = await applyScanFixes(world.pipeline, before.entries, context);
  out(fixesText(fixes));
  for (const message of world.takeMessages()) out(renderEmail(message, verbose));
  out('');
  out('After the fixes:');
  out(scanText((await scanAll()).report));
  out(
    'A scheduled sweep does the same in every account and Region (sweepSchedule, default daily) and sends one digest.'
  );
}
