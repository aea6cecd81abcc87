/**
 * Lambda functions in memory, behind the scan's `FunctionInventory`, for the demo and the tests: pages like
 * ListFunctions (at most `pageSize` functions and an opaque marker), answers GetFunction, and can be told to fail or
 * to lose a function between the listing and the describing, as a deletion during a scan would.
 */
import type { ScannedFunction } from '../domain/scan-call';
import type { FunctionInventory, FunctionPage, FunctionSummary } from '../application/scan-ports';

/** A function to hold: a zip function has no image and is listed with `packageType: 'Zip'`. */
export type InMemoryLambdaFunction = ScannedFunction & { readonly packageType?: 'Image' | 'Zip' };

export class InMemoryFunctionInventory implements FunctionInventory {
  /** Calls of each operation, failed ones included. */
  readonly calls = { listFunctions: 0, describe: 0 };
  /** Thrown by the next `describe` of this function name, then cleared. */
  readonly failDescribe = new Map<string, Error>();
  /** Thrown by the next `listFunctions`, then cleared. */
  failNextList?: Error;
  private readonly functions: InMemoryLambdaFunction[] = [];

  constructor(
    readonly account: string,
    readonly region: string,
    private readonly pageSize = 50
  ) {}

  add(...functions: InMemoryLambdaFunction[]): this {
    for (const fn of functions) {
      if (fn.account !== this.account || fn.region !== this.region) {
        throw new Error(`${fn.functionArn} is not in ${this.account}/${this.region}.`);
      }
      this.remove(fn.functionName);
      this.functions.push(fn);
    }
    return this;
  }

  /** Deletes a function (a later `describe` answers null, like GetFunction's ResourceNotFoundException). */
  remove(functionName: string): void {
    const index = this.functions.findIndex((fn) => fn.functionName === functionName);
    if (index >= 0) this.functions.splice(index, 1);
  }

  /** Replaces a function's facts, e.g. its state. */
  update(functionName: string, change: Partial<InMemoryLambdaFunction>): void {
    const index = this.functions.findIndex((fn) => fn.functionName === functionName);
    const current = this.functions[index];
    if (current === undefined) throw new Error(`No function ${functionName}.`);
    this.functions[index] = { ...current, ...change };
  }

  listFunctions(marker: string | null): Promise<FunctionPage> {
    this.calls.listFunctions += 1;
    const failure = this.failNextList;
    if (failure !== undefined) {
      this.failNextList = undefined;
      return Promise.reject(failure);
    }
    const start = marker === null ? 0 : Number(marker.replace(/^page-/, ''));
    const page = this.functions.slice(start, start + this.pageSize);
    const end = start + page.length;
    return Promise.resolve({
      functions: page.map((fn) => ({
        functionName: fn.functionName,
        functionArn: fn.functionArn,
        packageType: fn.packageType ?? 'Image',
      })),
      nextMarker: end < this.functions.length ? `page-${end}` : null,
    });
  }

  describe(summary: FunctionSummary): Promise<ScannedFunction | null> {
    this.calls.describe += 1;
    const failure = this.failDescribe.get(summary.functionName);
    if (failure !== undefined) {
      this.failDescribe.delete(summary.functionName);
      return Promise.reject(failure);
    }
    const found = this.functions.find((fn) => fn.functionName === summary.functionName);
    if (found === undefined) return Promise.resolve(null);
    const scanned: Record<string, unknown> & ScannedFunction = { ...found };
    delete scanned['packageType'];
    return Promise.resolve(scanned);
  }
}
