/**
 * `npm run bench`: measures the fixer and writes BENCHMARKS.md. Every figure is compared with a baseline measured in
 * the same run, on this machine; nothing here is a test (tests never assert on time).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

import { build } from 'esbuild';

import { DEFAULT_CONCURRENCY } from '../bin/commands/scan';
import { FIXER_SIZING } from '../lib/sizing';
import type { BundleResult } from './bundle';
import { measureBundle } from './bundle';
import type { BurstOptions, BurstResult } from './burst';
import type { CoreResult } from './decision-core';
import type { ScanBenchOptions, ScanBenchResult } from './scan';
import { measureDecisionCore } from './decision-core';
import type { SweepBenchResult, SweepRun } from './sweep';
import { runSweepBench } from './sweep';
import { int, kb, mb, ms, table, us, verdict } from './stats';

const ROOT = join(__dirname, '..');
const GOALS = {
  bundleGzipBytes: 150 * 1024,
  loadMs: 60,
  decisionsPerSecond: 20_000,
  p99Us: 1_000,
  peakRssBytes: 128 * 1024 * 1024,
  scanWallRatio: 1.5,
  scanPeakRssBytes: 256 * 1024 * 1024,
};

type ChildBurst = BurstResult & { rssBeforeBytes: number; peakRssBytes: number };
type ChildScan = ScanBenchResult & { rssBeforeBytes: number; peakRssBytes: number };

/**
 * The configured burst before the write-ahead audit (commit 183f730: one unconditional BatchWriteItem per 25 records,
 * no intent), measured with this benchmark's counting on this machine: 211 DynamoDB calls for 140 applied fixes.
 * The audit's budget is at most one more DynamoDB call per applied fix.
 */
const BEFORE_WRITE_AHEAD_AUDIT = { commit: '183f730', dynamodbCallsPerAppliedFix: 211 / 140 };

function runBurstInChild(options: BurstOptions): Promise<ChildBurst> {
  return runInChild<ChildBurst>('burst-child.ts', options);
}

function runScanInChild(options: ScanBenchOptions): Promise<ChildScan> {
  return runInChild<ChildScan>('scan-child.ts', options);
}

/** Bundles a bench entry and runs it with plain `node`, so its memory is its own. */
async function runInChild<T>(entry: string, options: object): Promise<T> {
  const directory = mkdtempSync(join(tmpdir(), 'lambda-ecr-autofix-bench-child-'));
  const outfile = join(directory, 'child.cjs');
  await build({
    entryPoints: [join(__dirname, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'error',
    define: { __dirname: JSON.stringify(__dirname) },
  });
  const result = spawnSync(process.execPath, [outfile, JSON.stringify(options)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (result.status !== 0) throw new Error(`${entry} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<void> {
  const started = Date.now();
  // Timings on a shared machine say little when other processes compete for the CPU: the report says how busy it was.
  const loadAtStart = loadavg()[0] ?? 0;
  const runs = Number(process.env['BENCH_RUNS'] ?? 21);
  if (process.env['BENCH_ONLY'] === 'scan') {
    await scanOnly(started, loadAtStart);
    return;
  }
  log(`Bundle and module load (${runs} interleaved runs each)…`);
  const bundle = await measureBundle(runs);
  log('Decision core…');
  const core = measureDecisionCore(Number(process.env['BENCH_SECONDS'] ?? 0.8));
  log('Burst (1,000 events, configured batching)…');
  const base: BurstOptions = {
    events: 1000,
    consumers: 50,
    repositories: 20,
    batchSize: FIXER_SIZING.batchSize,
    concurrency: FIXER_SIZING.maxConcurrency,
    minLatencyMs: 20,
    maxLatencyMs: 40,
  };
  const configured = await runBurstInChild(base);
  log('Burst baselines (batch 10; one event per invocation on 250 events)…');
  const batchOf10 = await runBurstInChild({ ...base, batchSize: 10 });
  const oneByOne = await runBurstInChild({ ...base, events: 250, batchSize: 1 });
  log('Burst in a single container (memory of one Lambda execution environment)…');
  const single = await runBurstInChild({ ...base, concurrency: 1 });
  const { scans, sweep } = await measureScan();
  const seconds = (Date.now() - started) / 1000;

  const markdown = render(
    bundle,
    core,
    [configured, batchOf10, oneByOne, single],
    scans,
    sweep,
    seconds,
    loadAtStart
  );
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), markdown);
  log(markdown);
  log(`Wrote BENCHMARKS.md in ${seconds.toFixed(0)} s.`);
}

const SCAN_BASE: ScanBenchOptions = {
  functions: 2000,
  repositories: 100,
  concurrency: DEFAULT_CONCURRENCY,
  minLatencyMs: 20,
  maxLatencyMs: 40,
};

async function measureScan(): Promise<{ scans: [ChildScan, ChildScan]; sweep: SweepBenchResult }> {
  log('Scan of 2,000 functions on 100 repositories (concurrency 8, the default, and 32)…');
  const scans: [ChildScan, ChildScan] = [
    await runScanInChild(SCAN_BASE),
    await runScanInChild({ ...SCAN_BASE, concurrency: 32 }),
  ];
  log('Sweep of the same account with sweepAction "fix": what the notice outbox reads…');
  const sweep = await runSweepBench(SCAN_BASE);
  return { scans, sweep };
}

/**
 * `BENCH_ONLY=scan npm run bench`: the scan and sweep benchmarks alone, printed with the machine and its load;
 * BENCHMARKS.md is left as it is (it holds one full run, every figure with its baseline of the same run).
 */
async function scanOnly(started: number, loadAtStart: number): Promise<void> {
  const { scans, sweep } = await measureScan();
  const cpu = cpus();
  const seconds = (Date.now() - started) / 1000;
  log(`# Scan and sweep only (BENCH_ONLY=scan, ${seconds.toFixed(0)} s; BENCHMARKS.md not written)

${cpu.length} × ${cpu[0]?.model ?? 'unknown'}, ${platform()} ${release()}, Node.js ${process.version}, load average ${loadAtStart.toFixed(1)} when the run started.

| Goal | Target | Measured | Verdict |
|---|---|---|---|
${scanSummaryRows(scans, sweep)}

${scanSection(scans, sweep)}`);
}

/** The scan's and the sweep's rows of the summary table. */
function scanSummaryRows([scan]: readonly [ChildScan, ChildScan], sweep: SweepBenchResult): string {
  const [sweepFirst, sweepNext, , sweepFailing, sweepRedelivered] = sweep.runs as [
    SweepRun,
    SweepRun,
    SweepRun,
    SweepRun,
    SweepRun,
  ];
  const quietSweeps = [sweepFirst, sweepNext].every((run) => run.queries === 0);
  return `| Scan, 2,000 functions / 100 repositories: AWS calls ≤ functions + repositories + list pages, counting one call per repository | ≤ ${int(scan.budget)} | ${int(scan.totalCalls)} (+${scan.tagReads} tag reads, +${scan.assumeRoles} AssumeRole; see Scan) | ${verdict(scan.totalCalls <= scan.budget)} |
| Scan: the same bound with a repository read being its policy and tags, read once: a policy per repository, tags per repository whose tags can change its verdict (${scan.repositoriesWithoutGrant} lack the grant), an AssumeRole per other registry account (${scan.otherRegistryAccounts}) | ≤ ${int(scan.readBudget)} | ${int(scan.totalCalls)} | ${verdict(scan.totalCalls <= scan.readBudget)} |
| Scan: each repository's policy read once, its tags at most once | ${scan.options.repositories} and ≤ ${scan.options.repositories} | ${int(scan.calls['ecr:GetRepositoryPolicy'] ?? 0)} and ${scan.tagReads} | ${verdict((scan.calls['ecr:GetRepositoryPolicy'] ?? 0) === scan.options.repositories && scan.tagReads <= scan.options.repositories)} |
| Scan: calls in flight bounded by the concurrency | ≤ ${scan.options.concurrency} | ${scan.peakInFlight} | ${verdict(scan.peakInFlight <= scan.options.concurrency)} |
| Scan: wall time ≤ 1.5 × the shortest time for its calls at concurrency ${scan.options.concurrency} | ≤ ${GOALS.scanWallRatio} × | ${(scan.wallMs / scan.lowerBoundMs).toFixed(2)} × (${ms(scan.wallMs)} for ${ms(scan.lowerBoundMs)}) | ${verdict(scan.wallMs <= GOALS.scanWallRatio * scan.lowerBoundMs)} |
| Scan: peak RSS | ≤ 256 MB | ${mb(scan.peakRssBytes)} | ${verdict(scan.peakRssBytes <= GOALS.scanPeakRssBytes)} |
| Sweep (\`sweepAction: "fix"\`): audit-table reads for owed notices by a sweep that owes none | 0 | ${sweepFirst.queries} (fixing), ${sweepNext.queries} (nothing to fix) | ${verdict(quietSweeps)} |
| Sweep: every FIXED notice sent once, also when SNS fails the first two tries | ${sweepFailing.writes} | ${sweepFailing.fixedNotices + sweepRedelivered.fixedNotices} | ${verdict(sweepFailing.fixedNotices + sweepRedelivered.fixedNotices === sweepFailing.writes)} |`;
}

function render(
  bundle: BundleResult,
  core: CoreResult,
  bursts: readonly ChildBurst[],
  scans: readonly [ChildScan, ChildScan],
  sweep: SweepBenchResult,
  seconds: number,
  loadAtStart: number
): string {
  const cpu = cpus();
  const load = bundle.load;
  const loadDelta = load.fixer.median - load.bare.median;
  const naiveDelta = load.naive.median - load.bare.median;
  const mapsDelta = load.fixerWithSourceMaps.median - load.bare.median;
  const fixes = core.cases.filter((c) => c.outcome === 'fix');
  const distinctFixes = fixes.filter((c) => c.texts === 'distinct');
  const slowest = Math.min(...distinctFixes.map((c) => c.perSecond));
  const worstP99 = Math.max(...core.cases.map((c) => c.latencyUs.p99));
  const mean2to8 =
    distinctFixes.reduce((sum, c) => sum + c.perSecond, 0) / Math.max(1, distinctFixes.length);
  const [configured, batchOf10, oneByOne, single] = bursts as [
    ChildBurst,
    ChildBurst,
    ChildBurst,
    ChildBurst,
  ];
  const first = core.scaling[0] as { size: number; medianUs: number };
  const last = core.scaling[core.scaling.length - 1] as { size: number; medianUs: number };
  const growth = last.medianUs / first.medianUs;
  const sizeGrowth = last.size / first.size;
  // One Lambda execution environment runs one invocation at a time: the single-container run is its memory.
  const peak = single.peakRssBytes;
  const perFix = configured.dynamodbCalls / Math.max(1, configured.appliedFixes);
  const auditBudget = BEFORE_WRITE_AHEAD_AUDIT.dynamodbCallsPerAppliedFix + 1;
  const oneNoticePerFix = bursts.every(
    (b) =>
      b.appliedFixes === b.fixedNotices &&
      b.appliedFixes === b.appliedRecords &&
      b.appliedRecords === b.notifiedRecords
  );

  const burstRow = (name: string, b: ChildBurst): string[] => [
    name,
    int(b.options.events),
    `${b.options.batchSize} / ${b.options.concurrency}`,
    int(b.invocations),
    ms(b.wallMs),
    (b.totalCalls / b.options.events).toFixed(2),
    (b.dynamodbCalls / Math.max(1, b.appliedFixes)).toFixed(2),
    `${b.appliedFixes} / ${b.fixedNotices} / ${b.appliedRecords}`,
    int(b.writes),
    String(b.maxWritesPerRepository),
    String(b.batchesWithRepeatedWrites),
    String(b.writesOnReplay),
    `${b.lostGrants} of ${b.pairs}`,
    mb(b.peakRssBytes),
  ];

  return `# Benchmarks

Written by \`npm run bench\` (${seconds.toFixed(0)} s) on ${new Date().toISOString().slice(0, 10)}. Figures are from this
machine and this run; each is compared with a baseline measured in the same run. Tests never assert on time.
\`BENCH_ONLY=scan npm run bench\` runs the scan and sweep benchmarks alone and prints them (this file is not written).

| Machine | |
|---|---|
| CPU | ${cpu.length} × ${cpu[0]?.model ?? 'unknown'} |
| Memory | ${mb(totalmem())} |
| OS | ${platform()} ${release()} |
| Node.js | ${process.version} (the Lambda runs Node.js 24 on arm64) |
| Load average when the run started | ${loadAtStart.toFixed(1)} on ${cpu.length} cores${loadAtStart > cpu.length ? ': other processes competed for the CPU, so the timings are inflated' : ''} |

A bare \`node -e 0\` takes ${ms(load.bare.median)} here: this is a slow machine, and absolute times on Lambda differ.

## Summary

| Goal | Target | Measured | Verdict |
|---|---|---|---|
| Deployable bundle (index.mjs, gzip) | ≤ ${kb(GOALS.bundleGzipBytes)} | ${kb(bundle.codeGzipBytes)} | ${verdict(bundle.codeGzipBytes <= GOALS.bundleGzipBytes)} |
| Module load above \`node -e 0\` (median of ${bundle.runs}) | ≤ ${GOALS.loadMs} ms | ${ms(loadDelta)} | ${verdict(loadDelta <= GOALS.loadMs)} |
| Plan decisions per second, 2–8 KB policies (slowest size; distinct texts, fix) | ≥ ${int(GOALS.decisionsPerSecond)} | ${int(slowest)} (mean over sizes ${int(mean2to8)}) | ${verdict(slowest >= GOALS.decisionsPerSecond)} |
| p99 latency of a decision (worst case) | ≤ 1 ms | ${us(worstP99)} | ${verdict(worstP99 <= GOALS.p99Us)} |
| Time growth with policy size, ${kb(first.size)} → ${kb(last.size)} | linear or better | ×${growth.toFixed(1)} for ×${sizeGrowth.toFixed(1)} size | ${verdict(growth <= sizeGrowth * 1.25)} |
| Burst: at most one write per repository per batch | 0 batches with more | ${configured.batchesWithRepeatedWrites} | ${verdict(configured.batchesWithRepeatedWrites === 0)} |
| Burst: zero writes once the grants exist | 0 | ${configured.writesOnReplay} | ${verdict(configured.writesOnReplay === 0)} |
| Burst: no lost grant | 0 | ${configured.lostGrants} of ${configured.pairs} pairs | ${verdict(configured.lostGrants === 0)} |
| Write-ahead audit: DynamoDB calls per applied fix (configured burst) | ≤ ${auditBudget.toFixed(2)} (before: ${BEFORE_WRITE_AHEAD_AUDIT.dynamodbCallsPerAppliedFix.toFixed(2)} at ${BEFORE_WRITE_AHEAD_AUDIT.commit}, + 1) | ${perFix.toFixed(2)} | ${verdict(perFix <= auditBudget)} |
| Burst: one FIXED notice and one applied, notified record per applied fix (every run) | equal | ${bursts.map((b) => `${b.appliedFixes} / ${b.fixedNotices} / ${b.appliedRecords} / ${b.notifiedRecords}`).join('; ')} | ${verdict(oneNoticePerFix)} |
| Peak RSS of the handler process under the burst | ≤ 128 MB | ${mb(peak)} | ${verdict(peak <= GOALS.peakRssBytes)} |
${scanSummaryRows(scans, sweep)}

## Bundle

What \`cdk synth\` produces for the fixer (\`NodejsFunction\`, local esbuild: ESM, minified, tree-shaken SDK v3 clients
imported per command, \`zod/mini\`, an environment-only credential provider in place of the SDK's default chain).

| | Raw | Gzip |
|---|---|---|
| Fixer \`index.mjs\` | ${kb(bundle.codeBytes)} | ${kb(bundle.codeGzipBytes)} |
| Its source map (shipped, not loaded at start) | ${kb(bundle.mapBytes)} | ${kb(bundle.mapGzipBytes)} |
| Baseline: naive bundle of the ECR, STS and SNS clients (aggregated clients, CommonJS, not minified) | ${kb(bundle.naiveBytes)} | ${kb(bundle.naiveGzipBytes)} |
| The sweeper \`index.mjs\` (the fixer's second entry point: scan, sweep and the fix pipeline; no budget of its own) | ${kb(bundle.sweeperBytes)} | ${kb(bundle.sweeperGzipBytes)} |

## Module load

Wall time of a process that loads the module and exits, ${bundle.runs} runs each, interleaved.

| Command | Median | p95 | Max | Above \`node -e 0\` |
|---|---|---|---|---|
| \`node -e 0\` (baseline) | ${ms(load.bare.median)} | ${ms(load.bare.p95)} | ${ms(load.bare.max)} | — |
| naive ECR+STS+SNS bundle | ${ms(load.naive.median)} | ${ms(load.naive.p95)} | ${ms(load.naive.max)} | ${ms(naiveDelta)} |
| fixer \`index.mjs\` (as deployed) | ${ms(load.fixer.median)} | ${ms(load.fixer.p95)} | ${ms(load.fixer.max)} | ${ms(loadDelta)} |
| fixer with \`--enable-source-maps\` | ${ms(load.fixerWithSourceMaps.median)} | ${ms(load.fixerWithSourceMaps.p95)} | ${ms(load.fixerWithSourceMaps.max)} | ${ms(mapsDelta)} |

First invocation, creating the dependencies (configuration, Powertools, SDK clients; no AWS call): median
${ms(bundle.init.median)}, p95 ${ms(bundle.init.p95)}.

What the load is made of (goal ${loadDelta <= GOALS.loadMs ? 'met' : 'not met'}): four SDK v3 clients (ECR, STS, SNS,
DynamoDB; no Lambda client since the fixer stopped calling Lambda) with their shared Smithy runtime and the Node.js
built-ins they import (\`https\`, \`crypto\`, \`stream\`, …), the decision core with \`zod/mini\`, and Powertools
Logger and Metrics. Parsing the source map at start (\`--enable-source-maps\`) would add ${ms(mapsDelta - loadDelta)}
more, which is why the function ships the map without enabling it.

## Tracing

The function runs without X-Ray tracing. Tracing SDK calls needs the Powertools Tracer
(\`@aws-lambda-powertools/tracer\`, which bundles \`aws-xray-sdk-core\`); this is what it would cost, measured on the fixer
bundled with FixerFunction's esbuild options, once as it is and once with the Tracer capturing its SDK clients:

| | Raw | Gzip | Module load (median) | Above \`node -e 0\` |
|---|---|---|---|---|
| fixer | ${kb(bundle.tracer.withoutBytes)} | ${kb(bundle.tracer.withoutGzipBytes)} | ${ms(load.variantWithout.median)} | ${ms(load.variantWithout.median - load.bare.median)} |
| fixer + Powertools Tracer | ${kb(bundle.tracer.withBytes)} | ${kb(bundle.tracer.withGzipBytes)} | ${ms(load.variantWithTracer.median)} | ${ms(load.variantWithTracer.median - load.bare.median)} |
| difference | +${kb(bundle.tracer.withBytes - bundle.tracer.withoutBytes)} | +${kb(bundle.tracer.withGzipBytes - bundle.tracer.withoutGzipBytes)} | +${ms(load.variantWithTracer.median - load.variantWithout.median)} | |

${
  bundle.tracer.withGzipBytes > GOALS.bundleGzipBytes
    ? `With the Tracer the bundle would be ${kb(bundle.tracer.withGzipBytes)} gzip, above the ${kb(GOALS.bundleGzipBytes)} goal, so tracing is off (\`Tracing.ACTIVE\` was removed from the function): an active trace without SDK subsegments only shows the invocation's total time, which the \`REPORT\` log line and the dashboard already give.`
    : `With the Tracer the bundle would be ${kb(bundle.tracer.withGzipBytes)} gzip, within the ${kb(GOALS.bundleGzipBytes)} goal: tracing could be turned on again.`
}

## Decision core

\`decide()\` for a failed cross-account CreateFunction (parse and validate the event, classify, locate, guard, evaluate
the policy for Lambda and for the account, plan, serialize). Policies are realistic shared-registry policies (an
organization statement, a CI publisher, Lambda's auto-added statement, a Deny guard exempting AWS services, and read
grants for many accounts). "Distinct" gives every call a policy text it has not seen (no cache helps); "repeated" is a
burst against one repository (the parsed policy is reused). Baseline: \`JSON.parse\` + \`JSON.stringify\` of the same
texts, the floor any planner pays.

${table(
  [
    'Policy',
    'Outcome',
    'Texts',
    'Decisions/s',
    'p50',
    'p95',
    'p99',
    'Max',
    'Baseline parse+stringify/s',
  ],
  core.cases.map((c) => [
    kb(c.actualSize),
    c.outcome,
    c.texts,
    int(c.perSecond),
    us(c.latencyUs.median),
    us(c.latencyUs.p95),
    us(c.latencyUs.p99),
    us(c.latencyUs.max),
    int(c.baselinePerSecond),
  ])
)}

Growth with size (distinct texts, fix outcome; at 10 KB the fix no longer fits ECR's limit and the decision becomes
\`policy-too-large\`):

${table(
  ['Policy', 'Median µs per decision', 'µs per KB'],
  core.scaling.map((s) => [kb(s.size), us(s.medianUs), (s.medianUs / (s.size / 1024)).toFixed(1)])
)}

## Burst

${int(configured.options.events)} failed CreateFunction events from ${configured.options.consumers} consumer accounts
against ${configured.options.repositories} repositories in 4 registry accounts, through the real handler code
(\`createHandler\` → \`FixPipeline\`), each simulated AWS call taking 20–40 ms, SQS batches of the given size with at most
the given concurrent invocations (each a container with its own credential cache). Afterwards the same failures are
delivered again ("writes on replay"), and every (consumer, repository) pair is checked against the final policies.
DynamoDB calls are the write-ahead audit (one conditional TransactWriteItems with a repository group's intents before
each write, one per batch for all the records, an UpdateItem only when a notice is sent late) and the repository
leases (a conditional PutItem per attempt to take one, a DeleteItem to give it back).

${table(
  [
    'Run',
    'Events',
    'Batch / concurrency',
    'Invocations',
    'Wall time',
    'AWS calls per event',
    'DynamoDB calls per applied fix',
    'Applied fixes / FIXED notices / applied records',
    'Writes',
    'Max writes per repository',
    'Batches writing a repository twice',
    'Writes on replay',
    'Lost grants',
    'Peak RSS',
  ],
  [
    burstRow('configured', configured),
    burstRow('batch 10', batchOf10),
    burstRow('baseline: one event per invocation', oneByOne),
    burstRow('one container (memory)', single),
  ]
)}

AWS calls of the configured run: ${Object.entries(configured.calls)
    .map(([operation, count]) => `${operation} ${int(count ?? 0)}`)
    .join(', ')}. Outcomes of the pairs after the burst: ${Object.entries(configured.outcomes)
    .map(([outcome, count]) => `${count} ${outcome}`)
    .join(', ')}.

Memory: a Lambda execution environment processes one batch at a time, so the single-container run is the figure that
matters: its process peaked at ${mb(peak)} (${mb(single.rssBeforeBytes)} right after loading). The other runs simulate
${configured.options.concurrency} containers in one process, so their peaks are upper bounds. The benchmark process
also holds the simulated AWS (repositories, the audit table, every event) that Lambda would not. The function is configured with ${FIXER_SIZING.memorySize} MB because Lambda allots CPU
in proportion to memory and the cold start (module load and client creation, above) is CPU-bound, at a cost of cents a
month for this rarely invoked function. Batch size ${FIXER_SIZING.batchSize} with a ${FIXER_SIZING.maxBatchingWindow.toSeconds()} s
window and at most ${FIXER_SIZING.maxConcurrency} concurrent invocations: larger batches group more events per
repository (fewer calls per event than batches of 10 or single events, above), and the repository leases keep
concurrent invocations from overwriting each other's grants.

${scanSection(scans, sweep)}`;
}

/** The Scan section: the scans at both concurrencies, how the call bound is read, the sweep's notice outbox. */
function scanSection(scans: readonly [ChildScan, ChildScan], sweep: SweepBenchResult): string {
  const [scan, wideScan] = scans;
  const scanRow = (b: ChildScan): string[] => [
    String(b.options.concurrency),
    ms(b.wallMs),
    ms(b.lowerBoundMs),
    `${(b.wallMs / b.lowerBoundMs).toFixed(2)} ×`,
    int(b.totalCalls),
    String(b.peakInFlight),
    mb(b.peakRssBytes),
  ];
  const [, sweepNext, sweepAgain, sweepFailing, sweepRedelivered] = sweep.runs as [
    SweepRun,
    SweepRun,
    SweepRun,
    SweepRun,
    SweepRun,
  ];
  const sweepRow = (run: SweepRun): string[] => [
    run.name,
    int(run.calls),
    int(run.queries),
    String(run.writes),
    String(run.fixedNotices),
    String(run.lateNotices),
    run.outcome,
  ];
  return `## Scan

\`scan\` (and the scheduled sweep) of one account with ${int(scan.options.functions)} container-image functions on
${scan.options.repositories} repositories (${scan.options.repositories * 0.8} in the account, ${scan.options.repositories * 0.2} in a shared registry account), through the
real scan engine (\`Scanner\`: one limiter for every call, the next ListFunctions page first, each repository's policy read
once as soon as its first function is described), over stand-ins whose every call takes ${scan.options.minLatencyMs}–${scan.options.maxLatencyMs} ms. 90
repositories grant the pull, 10 lack the grant; 10 functions are Inactive with ImageAccessDenied. The shortest possible
time is the larger of the ListFunctions chain (each page needs the previous page's marker) and the sum of every call's
latency divided by the concurrency; both are computed from this run's own latencies.

${table(
  [
    'Concurrency',
    'Wall time',
    'Shortest possible',
    'Ratio',
    'AWS calls',
    'Peak in flight',
    'Peak RSS',
  ],
  [scanRow(scan), scanRow(wideScan)]
)}

AWS calls at concurrency ${scan.options.concurrency}: ${Object.entries(scan.calls)
    .map(([operation, count]) => `${operation} ${int(count ?? 0)}`)
    .join(', ')}. Verdicts: ${Object.entries(scan.summary)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ')}.

How the bound is read. The issue's formula, "functions + repositories + list pages" (${int(scan.budget)}), counts one GetFunction
per function (ListFunctions omits the state and the image), one call per repository and one call per page; the issue
also says what a repository costs: "each repository's policy and tags read once". ECR has no call that returns both
(GetRepositoryPolicy, ListTagsForResource), so a repository read is one call or two. The scan makes
${int(scan.calls['lambda:GetFunction'] ?? 0)} GetFunction + ${scan.pages} ListFunctions + ${int(scan.calls['ecr:GetRepositoryPolicy'] ?? 0)} GetRepositoryPolicy, plus ${scan.tagReads} ListTagsForResource, one for each
repository whose policy lacks the grant, and ${scan.assumeRoles} AssumeRole for the shared registry account: ${int(scan.totalCalls)} calls,
${int(scan.totalCalls - scan.budget)} over the formula counted with one call per repository, and ${scan.totalCalls <= scan.readBudget ? 'within' : 'over'} it read as above (${int(scan.readBudget)}: the
${scan.repositoriesWithoutGrant} repositories without the grant and the ${scan.otherRegistryAccounts} other registry account come from the world built, not from the calls counted).
The extra calls cannot go without losing a verdict: a repository whose policy lacks the grant is \`at-risk\` or
\`needs-human\` depending on its tags (the opt-out tag, in every account, and the owner's share tag for another
account), and a repository of another account is read only through its registry role. A repository whose policy grants
the pull costs one call: its tags cannot change an \`ok\`, so they are not read. A sweep of this account fits in
one invocation of the sweeper (120 s, of which it lists for about 80 s before handing over to the next message).

### The sweep's notice outbox

The same account swept with \`sweepAction: "fix"\` through the real \`Sweeper\`, fix pipeline and notice outbox (the calls
counted, no latency simulated). A fix of the sweep is an event the sweep made up: once the fix is in the policy, the
function is \`ok\` and no later scan makes that event again, so a FIXED notice that could not be sent is sent by the
outbox from the audit table (a Query per repository). It reads only where a notice can be owed: the repositories of
fixes that failed (at once), every repository the sweep read when the message is delivered again (an earlier attempt
failed after its fixes; a dead-letter redrive counts too), and the repositories an earlier part handed over. A sweep
that owes nothing reads nothing, so the scan's bound above holds for every normal sweep.

${table(
  [
    'Sweep',
    'AWS calls',
    'of which audit Queries',
    'Policy writes',
    'FIXED notices',
    'Late notices (digest)',
    'Outcome',
  ],
  sweep.runs.map(sweepRow)
)}

A redelivered message reads the audit table once per repository (${sweepAgain.queries} Queries for ${sweep.repositories} repositories,
${int(sweepAgain.calls)} calls in all against ${int(sweepNext.calls)} for the same sweep delivered once); the part whose notices failed
tried them once more at once (${sweepFailing.queries} Queries), then failed instead of sending its digest, so that SQS delivered it
again: that delivery sent all ${sweepRedelivered.fixedNotices} and the digest said so.`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error instanceof Error ? error.stack : error)}\n`);
  process.exitCode = 1;
});
