/**
 * Recognising a write of the fixer's own in a repository policy: whether the values one fix added to the owned
 * statements (`LambdaEcrAutofixService`, `LambdaEcrAutofixAccounts`) are still there. The write-ahead audit uses it when
 * an event comes back with an unfinished record: if the grants the record planned are in the policy, the write
 * happened ("it was our write") and the record is completed; otherwise it did not (or was undone since).
 *
 * Only statements whose `Sid` the fixer owns are looked at, so a grant someone else made in their own statement is
 * never taken for ours.
 */
import { parsePolicy, type JsonObject } from './policy-document';

/** The values one write added to one owned statement (the audit record's `grants`). */
export interface OwnedGrant {
  readonly sid: string;
  readonly added: readonly string[];
}

/**
 * True when every value of every grant is in an `Allow` statement with that grant's `Sid` (in its principal or its
 * condition). False for an empty list (there is nothing to recognise), an unreadable policy, or no policy.
 */
export function ownedGrantsPresent(
  policyText: string | null,
  grants: readonly OwnedGrant[]
): boolean {
  if (grants.length === 0 || policyText === null) return false;
  const parsed = parsePolicy(policyText);
  if (!parsed.ok) return false;
  const statements = parsed.policy.statements;
  return grants.every((grant) => {
    const values = new Set(
      statements
        .filter((statement) => statement['Sid'] === grant.sid && statement['Effect'] === 'Allow')
        .flatMap((statement) => [
          ...stringsIn(statement['Principal']),
          ...stringsIn(statement['Condition']),
        ])
    );
    return grant.added.length > 0 && grant.added.every((value) => values.has(value));
  });
}

/**
 * True when no value of `removed` is left in an `Allow` statement with its `Sid`: the revoke that planned to take them
 * out is in the policy ("it was our write"). False for an unreadable policy (nothing can be vouched for) and for an
 * empty list. A repository without a policy holds none of them.
 */
export function ownedValuesAbsent(
  policyText: string | null,
  removed: readonly OwnedGrant[]
): boolean {
  if (removed.length === 0) return false;
  if (policyText === null) return true;
  const parsed = parsePolicy(policyText);
  if (!parsed.ok) return false;
  const statements = parsed.policy.statements;
  return removed.every((entry) => {
    const values = new Set(
      statements
        .filter((statement) => statement['Sid'] === entry.sid && statement['Effect'] === 'Allow')
        .flatMap((statement) => [
          ...stringsIn(statement['Principal']),
          ...stringsIn(statement['Condition']),
        ])
    );
    return entry.added.every((value) => !values.has(value));
  });
}

/** Every string in a JSON value, at any depth (principal lists, condition operator → key → values). */
function stringsIn(value: unknown, depth = 0): string[] {
  // Owned statements are three levels deep at most; a deeper value is not one the fixer wrote.
  if (depth > 3) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap((item) => stringsIn(item, depth + 1));
  if (typeof value === 'object' && value !== null) {
    return Object.values(value as JsonObject).flatMap((item) => stringsIn(item, depth + 1));
  }
  return [];
}
