/**
 * The scan of a large account: 2,000 container-image functions on 100 repositories (80 in the scanned account, 20 in a
 * shared registry account), through the real scan engine (`Scanner`) over stand-ins whose every call takes 20–40 ms.
 * Counts the AWS calls, the calls in flight, and compares the wall time with the shortest time those same calls could
 * take at the chosen concurrency.
 */
import { InMemoryRegistry } from '../lambda/adapters/in-memory';
import { InMemoryFunctionInventory } from '../lambda/adapters/in-memory-functions';
import { createLimiter } from '../lambda/application/concurrency';
import type { FunctionInventory } from '../lambda/application/scan-ports';
import { Scanner } from '../lambda/application/scanner';
import type { Config } from '../lambda/domain/config';
import { parseConfig } from '../lambda/domain/config';
import { decideForPolicy } from '../lambda/domain/decide';
import type { ScanContext, ScannedFunction } from '../lambda/domain/scan-call';
import { scanCall } from '../lambda/domain/scan-call';
import { locateFunction, summarizeFindings } from '../lambda/domain/scan';
import type { Operation } from './latency-adapters';
import { SimulatedAws, SimulatedRegistry } from './latency-adapters';

export interface ScanBenchOptions {
  readonly functions: number;
  readonly repositories: number;
  readonly concurrency: number;
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
}

export interface ScanBenchResult {
  readonly options: ScanBenchOptions;
  readonly wallMs: number;
  readonly calls: Readonly<Partial<Record<Operation, number>>>;
  readonly totalCalls: number;
  readonly pages: number;
  /** The bound as its formula counts: functions + repositories + list pages (one call per repository). */
  readonly budget: number;
  /**
   * The same bound with a repository read being what the issue says it is, "each repository's policy and tags read
   * once": one GetRepositoryPolicy per repository, one ListTagsForResource per repository whose tags can change its
   * verdict (its policy lacks the grant), and one AssumeRole per other registry account, from the world built, not
   * from the calls counted.
   */
  readonly readBudget: number;
  /** Repositories whose policy lacks the grant, and registry accounts other than the scanned one, in the world. */
  readonly repositoriesWithoutGrant: number;
  readonly otherRegistryAccounts: number;
  /** Repositories whose tags were read (a fix was in question) and registry accounts assumed into. */
  readonly tagReads: number;
  readonly assumeRoles: number;
  readonly peakInFlight: number;
  /** max(the sequential ListFunctions chain, all call latencies / concurrency), from this run's latencies. */
  readonly lowerBoundMs: number;
  readonly summary: Readonly<Record<string, number>>;
}

export const ACCOUNT = '222222222222';
const SHARED = '111111111111';
const REGION = 'eu-west-1';

/** The inventory with the simulated latency on each call. */
export class SimulatedInventory implements FunctionInventory {
  readonly account = ACCOUNT;
  readonly region = REGION;

  constructor(
    private readonly aws: SimulatedAws,
    private readonly inner: InMemoryFunctionInventory
  ) {}

  async listFunctions(marker: string | null) {
    await this.aws.call('lambda:ListFunctions');
    return this.inner.listFunctions(marker);
  }

  async describe(summary: Parameters<FunctionInventory['describe']>[0]) {
    await this.aws.call('lambda:GetFunction');
    return this.inner.describe(summary);
  }
}

/** The account of the benchmark: its functions, their repositories (10 of 100 without the grant). */
export function buildWorld(
  options: Pick<ScanBenchOptions, 'functions' | 'repositories'>,
  config: Config
): {
  registry: InMemoryRegistry;
  inventory: InMemoryFunctionInventory;
  context: ScanContext;
  repositoriesWithoutGrant: number;
  otherRegistryAccounts: number;
} {
  const registry = new InMemoryRegistry({ fixerAccountId: ACCOUNT, accountsWithRole: [SHARED] });
  const inventory = new InMemoryFunctionInventory(ACCOUNT, REGION, 50);
  const context = { runId: 'bench', time: '2026-01-01T00:00:00.000Z', by: 'bench' };
  const perRepository = Math.ceil(options.functions / options.repositories);
  let repositoriesWithoutGrant = 0;
  const otherRegistryAccounts = new Set<string>();
  for (let r = 0; r < options.repositories; r++) {
    const registryAccount = r % 5 === 4 ? SHARED : ACCOUNT;
    const repositoryName = `team-${r}/service`;
    const functions: ScannedFunction[] = [];
    for (let f = 0; f < perRepository && r * perRepository + f < options.functions; f++) {
      const name = `fn-${r}-${f}`;
      const broken = f === 0 && r % 10 === 3;
      functions.push({
        functionName: name,
        functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
        account: ACCOUNT,
        region: REGION,
        imageUri: `${registryAccount}.dkr.ecr.${REGION}.amazonaws.com/${repositoryName}:1.0.${f % 3}`,
        resolvedImageUri: null,
        state: broken ? 'Inactive' : 'Active',
        stateReasonCode: broken ? 'ImageAccessDenied' : null,
        stateReason: null,
        lastUpdateStatus: 'Successful',
        lastUpdateStatusReasonCode: null,
        lastUpdateStatusReason: null,
      });
    }
    // 90 repositories grant the pull; 10 lack the grant (their functions are at risk). The shared registry's owner
    // consents to share with the scanned account (its share tag).
    const tags: Record<string, string> = { team: `team-${r}` };
    if (registryAccount === SHARED) tags['lambda-ecr-autofix:share'] = ACCOUNT;
    const first = functions[0] as ScannedFunction;
    const located = locateFunction(first, context);
    if (!located.ok) throw new Error(located.explanation);
    const granted =
      r % 10 === 7
        ? null
        : decideForPolicy(
            scanCall(first, context),
            located.target,
            { policyText: null, tags },
            config
          ).policyAfter;
    if (r % 10 !== 7 && granted === null) throw new Error(`repository ${r} got no grant`);
    if (granted === null) repositoriesWithoutGrant += 1;
    if (registryAccount !== ACCOUNT) otherRegistryAccounts.add(registryAccount);
    registry.addRepository(
      { registryAccount, region: REGION, repositoryName },
      { policyText: granted, tags }
    );
    inventory.add(...functions);
  }
  return {
    registry,
    inventory,
    context,
    repositoriesWithoutGrant,
    otherRegistryAccounts: otherRegistryAccounts.size,
  };
}

export async function runScanBench(options: ScanBenchOptions): Promise<ScanBenchResult> {
  const config = parseConfig({ organizationId: 'o-a1b2c3d4e5' }, 'bench');
  const { registry, inventory, context, repositoriesWithoutGrant, otherRegistryAccounts } =
    buildWorld(options, config);
  const aws = new SimulatedAws(options.minLatencyMs, options.maxLatencyMs);
  const limiter = createLimiter(options.concurrency);
  const scanner = new Scanner({
    config,
    registry: new SimulatedRegistry(aws, registry, ACCOUNT),
    limiter,
    context,
    sessionName: 'bench',
  });
  const started = performance.now();
  const result = await scanner.scanRegion(new SimulatedInventory(aws, inventory));
  const wallMs = performance.now() - started;

  const latency = (operation: Operation): number => aws.latencyMs.get(operation) ?? 0;
  const allLatency = [...aws.latencyMs.values()].reduce((sum, ms) => sum + ms, 0);
  return {
    options,
    wallMs,
    calls: Object.fromEntries(aws.calls),
    totalCalls: aws.total(),
    pages: result.pages,
    budget: options.functions + options.repositories + result.pages,
    readBudget:
      options.functions +
      result.pages +
      options.repositories +
      repositoriesWithoutGrant +
      otherRegistryAccounts,
    repositoriesWithoutGrant,
    otherRegistryAccounts,
    tagReads: aws.calls.get('ecr:ListTagsForResource') ?? 0,
    assumeRoles: aws.calls.get('sts:AssumeRole') ?? 0,
    peakInFlight: limiter.peak,
    lowerBoundMs: Math.max(latency('lambda:ListFunctions'), allLatency / options.concurrency),
    summary: summarizeFindings(result.entries.map((entry) => entry.finding)),
  };
}
