/**
 * Reading an ECR repository policy into a shape the evaluator and the planner can work with, without losing a byte of
 * meaning: the original statement objects are kept as they were and written back untouched. A text whose meaning
 * `JSON.parse` would change (a repeated key) or that nests too deeply to handle is refused, never rewritten.
 */
import { cleanText } from './bounded-text';
import { findJsonStructureProblem, MAX_JSON_DEPTH } from './json-structure';

/** A JSON object as it came from `JSON.parse`. */
export type JsonObject = { [key: string]: unknown };

/** A repository policy document. `statements` keeps each statement object exactly as read. */
export interface PolicyDocument {
  /** Every top-level key other than `Statement`, in its original order (`Version`, `Id`, …). */
  readonly header: readonly (readonly [string, unknown])[];
  /** Where `Statement` stood among the top-level keys, so it is written back in the same place. */
  readonly statementPosition: number;
  /** Whether `Statement` was a single object rather than a list (IAM allows both). */
  readonly singleStatement: boolean;
  readonly statements: readonly JsonObject[];
}

export type PolicyParseResult =
  | { readonly ok: true; readonly policy: PolicyDocument }
  | {
      readonly ok: false;
      readonly problem: string;
      /**
       * `invalid`: not a policy at all (not JSON, wrong shape, nested beyond reason); `ambiguous`: valid JSON whose
       * meaning depends on the reader (a key repeated in one object).
       */
      readonly kind: 'invalid' | 'ambiguous';
    };

/** The policy a repository without one effectively has. */
export const EMPTY_POLICY: PolicyDocument = {
  header: [['Version', '2012-10-17']],
  statementPosition: 1,
  singleStatement: false,
  statements: [],
};

/** How many recently parsed policy texts are remembered (a burst re-plans the same few policies many times). */
const PARSED_CACHE_SIZE = 32;
const parsedCache = new Map<string, PolicyParseResult>();

/**
 * Parses repository policy text; `null` (no policy yet) gives the empty policy. The result is shared with later calls
 * for the same text, so callers must not change it (nothing does: plans build new documents).
 */
export function parsePolicy(text: string | null): PolicyParseResult {
  if (text === null || text.trim() === '') return { ok: true, policy: EMPTY_POLICY };
  const cached = parsedCache.get(text);
  if (cached !== undefined) return cached;
  const parsed = parsePolicyText(text);
  if (parsedCache.size >= PARSED_CACHE_SIZE) {
    // Forget the oldest entry (Map keeps insertion order).
    parsedCache.delete(parsedCache.keys().next().value as string);
  }
  parsedCache.set(text, parsed);
  return parsed;
}

function parsePolicyText(text: string): PolicyParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid(`the policy is not valid JSON (${(error as Error).message})`);
  }
  const structure = findJsonStructureProblem(text, value);
  if (structure?.kind === 'too-deep') {
    return invalid(`the policy nests JSON more than ${MAX_JSON_DEPTH} levels deep`);
  }
  if (structure?.kind === 'duplicate-key') {
    return {
      ok: false,
      kind: 'ambiguous',
      problem: `the key ${JSON.stringify(cleanText(structure.key, 64))} appears twice in one JSON object (at character ${structure.offset + 1}); JSON readers keep only one of the two, so what the policy means depends on who reads it`,
    };
  }
  return policyFromJson(value);
}

function invalid(problem: string): PolicyParseResult {
  return { ok: false, kind: 'invalid', problem };
}

/** Validates an already-parsed policy value. */
export function policyFromJson(value: unknown): PolicyParseResult {
  if (!isJsonObject(value)) return invalid('the policy is not a JSON object');
  const statement = value['Statement'];
  const singleStatement = isJsonObject(statement);
  const list: unknown[] = singleStatement ? [statement] : Array.isArray(statement) ? statement : [];
  if (!singleStatement && !Array.isArray(statement)) {
    return invalid('the policy has no "Statement" list');
  }
  const statements: JsonObject[] = [];
  for (const [index, entry] of list.entries()) {
    if (!isJsonObject(entry)) return invalid(`statement ${index + 1} is not a JSON object`);
    statements.push(entry);
  }
  const keys = Object.keys(value);
  const header = Object.entries(value).filter(([key]) => key !== 'Statement');
  const statementPosition = keys.indexOf('Statement');
  return { ok: true, policy: { header, statementPosition, singleStatement, statements } };
}

/**
 * The policy as a plain JSON value, with `Statement` where it stood among the top-level keys. A single statement
 * object that grew to several statements is written as a list.
 */
export function policyToJson(policy: PolicyDocument): JsonObject {
  const statement =
    policy.singleStatement && policy.statements.length === 1
      ? policy.statements[0]
      : [...policy.statements];
  const entries: (readonly [string, unknown])[] = [...policy.header];
  entries.splice(policy.statementPosition, 0, ['Statement', statement]);
  return Object.fromEntries(entries);
}

/** Policy JSON text, indented when it fits the limit, compact otherwise (deterministic for a given policy). */
export function serializePolicy(policy: PolicyDocument, limit: number): string {
  const json = policyToJson(policy);
  const pretty = JSON.stringify(json, null, 2);
  return pretty.length <= limit ? pretty : JSON.stringify(json);
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
