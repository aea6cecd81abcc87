/**
 * The scan of one account in one Region: list the functions page by page, describe every container-image function,
 * read each repository's policy once (and its tags only when a fix is in question), and decide every function with
 * the domain's `assessFunction`. The `scan` command and the scheduled sweep both run this code.
 *
 * Every AWS call goes through one `Limiter`, so the calls in flight never exceed `concurrency`; the next
 * ListFunctions page jumps the queue, because every other call waits on the pages. A repository is read as soon as
 * its first function is described, so reads overlap with the describing of the rest.
 */
import type { Config } from '../domain/config';
import type { Target } from '../domain/decision';
import type { LocatedFunction, RepositoryReading, ScanFinding } from '../domain/scan';
import {
  assessFunction,
  locateFunction,
  lookupFailed,
  needsTags,
  unreadable,
} from '../domain/scan';
import type { ScanContext, ScannedFunction } from '../domain/scan-call';
import type { Limiter } from './concurrency';
import {
  RegistryAccessDeniedError,
  RegistryRoleUnavailableError,
  RepositoryNotFoundError,
} from './errors';
import type { RegistryAccess, RepositoryPolicyStore, RepositoryRef } from './ports';
import type { FunctionInventory, FunctionSummary } from './scan-ports';

export interface ScannerDependencies {
  readonly config: Config;
  /** Opens repository policy stores: directly in the scanner's own account, through the registry role elsewhere. */
  readonly registry: RegistryAccess;
  readonly limiter: Limiter;
  readonly context: ScanContext;
  /** Names the assumed-role sessions in registry accounts' CloudTrail. */
  readonly sessionName: string;
  /** Told after each page and each described function (the CLI shows it on a terminal). */
  readonly progress?: (progress: ScanProgress) => void;
}

export interface ScanProgress {
  readonly region: string;
  readonly pages: number;
  readonly imageFunctions: number;
  readonly described: number;
}

/** One verdict, with the function as described (null when GetFunction failed). */
export interface ScanEntry {
  readonly fn: ScannedFunction | null;
  readonly finding: ScanFinding;
}

export interface RegionScan {
  readonly account: string;
  readonly region: string;
  readonly entries: readonly ScanEntry[];
  /** Functions ListFunctions named that GetFunction no longer found (deleted during the scan): not reported. */
  readonly deleted: number;
  readonly pages: number;
  /** Where to continue; null when the last page was scanned. */
  readonly nextMarker: string | null;
  /** The repositories whose policy the scan read, with the policy text (null: none); unreadable ones left out. */
  readonly repositories: ReadonlyMap<string, string | null>;
}

export interface ScanRegionOptions {
  /** Continue from this ListFunctions marker. @default null (the first page) */
  readonly startMarker?: string | null;
  /** Asked after each page whether to list the next one (the sweep stops in time). @default always */
  readonly continueAfterPage?: () => boolean;
}

/** A repository's policy, read once; its tags, read at most once and only when needed. */
interface RepositoryState {
  readonly policy: Promise<
    | {
        readonly ok: true;
        readonly store: RepositoryPolicyStore;
        readonly policyText: string | null;
      }
    | { readonly ok: false; readonly reading: RepositoryReading }
  >;
  tags?: Promise<
    | { readonly ok: true; readonly tags: Readonly<Record<string, string>> }
    | { readonly ok: false; readonly reading: RepositoryReading }
  >;
}

export class Scanner {
  constructor(private readonly deps: ScannerDependencies) {}

  async scanRegion(
    inventory: FunctionInventory,
    options: ScanRegionOptions = {}
  ): Promise<RegionScan> {
    const { limiter } = this.deps;
    const repositories = new Map<string, RepositoryState>();
    const pending: Promise<ScanEntry | null>[] = [];
    const counts = { pages: 0, imageFunctions: 0, described: 0 };
    let marker = options.startMarker ?? null;
    do {
      const from = marker;
      const page = await limiter.run(() => inventory.listFunctions(from), { urgent: true });
      counts.pages += 1;
      for (const summary of page.functions) {
        if (summary.packageType !== 'Image') continue;
        counts.imageFunctions += 1;
        pending.push(
          this.scanFunction(inventory, summary, repositories).finally(() => {
            counts.described += 1;
            this.report(inventory.region, counts);
          })
        );
      }
      marker = page.nextMarker;
      this.report(inventory.region, counts);
    } while (marker !== null && (options.continueAfterPage?.() ?? true));

    const scanned = await Promise.all(pending);
    const entries = scanned.filter((entry): entry is ScanEntry => entry !== null);
    const read = new Map<string, string | null>();
    for (const [repositoryArn, state] of repositories) {
      const policy = await state.policy;
      if (policy.ok) read.set(repositoryArn, policy.policyText);
    }
    return {
      account: inventory.account,
      region: inventory.region,
      entries,
      deleted: scanned.length - entries.length,
      pages: counts.pages,
      nextMarker: marker,
      repositories: read,
    };
  }

  private report(region: string, counts: Omit<ScanProgress, 'region'>): void {
    this.deps.progress?.({ region, ...counts });
  }

  /** Describe, locate, read the repository (once per repository), decide. Null: the function was deleted. */
  private async scanFunction(
    inventory: FunctionInventory,
    summary: FunctionSummary,
    repositories: Map<string, RepositoryState>
  ): Promise<ScanEntry | null> {
    const { config, context, limiter } = this.deps;
    let fn: ScannedFunction | null;
    try {
      fn = await limiter.run(() => inventory.describe(summary));
    } catch (error) {
      const finding = lookupFailed(
        { ...summary, region: inventory.region },
        `GetFunction failed, so the scan cannot tell: ${messageOf(error)}`
      );
      return { fn: null, finding };
    }
    if (fn === null) return null;
    const located = locateFunction(fn, context);
    const reading = located.ok ? await this.readingFor(fn, located, repositories) : null;
    return { fn, finding: assessFunction(fn, located, reading, config, context) };
  }

  private async readingFor(
    fn: ScannedFunction,
    located: Extract<LocatedFunction, { ok: true }>,
    repositories: Map<string, RepositoryState>
  ): Promise<RepositoryReading> {
    const { target } = located;
    let state = repositories.get(target.repositoryArn);
    if (state === undefined) {
      state = { policy: this.readPolicy(target) };
      repositories.set(target.repositoryArn, state);
    }
    const policy = await state.policy;
    if (!policy.ok) return policy.reading;
    const { config, context } = this.deps;
    if (!needsTags(fn, target, policy.policyText, config, context)) {
      return { kind: 'read', policyText: policy.policyText, tags: null };
    }
    state.tags ??= this.readTags(policy.store, target);
    const tags = await state.tags;
    return tags.ok
      ? { kind: 'read', policyText: policy.policyText, tags: tags.tags }
      : tags.reading;
  }

  private readPolicy(target: Target): RepositoryState['policy'] {
    const ref = repositoryRef(target);
    return this.deps.limiter
      .run(async () => {
        const store = await this.deps.registry.storeFor(ref, this.deps.sessionName);
        return { store, policyText: await store.getPolicy(ref) };
      })
      .then(
        ({ store, policyText }) => ({ ok: true as const, store, policyText }),
        (error: unknown) => ({ ok: false as const, reading: readingOfError(error) })
      );
  }

  private readTags(
    store: RepositoryPolicyStore,
    target: Target
  ): NonNullable<RepositoryState['tags']> {
    return this.deps.limiter
      .run(() => store.getTags(repositoryRef(target)))
      .then(
        (tags) => ({ ok: true as const, tags }),
        (error: unknown) => ({ ok: false as const, reading: readingOfError(error) })
      );
  }
}

/** The named errors of the adapters become the reasons the scan reports; anything else is reported as it is. */
function readingOfError(error: unknown): RepositoryReading {
  if (error instanceof RepositoryNotFoundError) {
    return unreadable(error.message, error.reason, 'needs-human');
  }
  if (error instanceof RegistryRoleUnavailableError || error instanceof RegistryAccessDeniedError) {
    return unreadable(error.message, error.reason);
  }
  return unreadable(`The repository could not be read: ${messageOf(error)}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function repositoryRef(target: Target): RepositoryRef {
  return {
    partition: target.partition,
    region: target.region,
    registryAccount: target.registryAccount,
    repositoryName: target.repositoryName,
  };
}
