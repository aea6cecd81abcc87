/**
 * The port the scan lists and describes functions through. The adapter (lambda/adapters/lambda-function-inventory.ts)
 * wraps ListFunctions and GetFunction of one account and Region; in-memory stand-ins serve the demo and the tests.
 */
import type { ScannedFunction } from '../domain/scan-call';

/** A function as ListFunctions lists it: enough to decide whether to describe it. */
export interface FunctionSummary {
  readonly functionName: string;
  readonly functionArn: string;
  /** `Image` or `Zip` (null when Lambda omits it). */
  readonly packageType: string | null;
}

export interface FunctionPage {
  readonly functions: readonly FunctionSummary[];
  /** The marker of the next page; null on the last page. */
  readonly nextMarker: string | null;
}

/** The functions of one account in one Region. */
export interface FunctionInventory {
  readonly account: string;
  readonly region: string;
  /** One ListFunctions page; `marker` null starts at the beginning. */
  listFunctions(marker: string | null): Promise<FunctionPage>;
  /** GetFunction: the image and the state; null when the function no longer exists. */
  describe(summary: FunctionSummary): Promise<ScannedFunction | null>;
}
