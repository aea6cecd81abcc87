/**
 * Which grants the fixer has made on a repository and not taken back, read from the repository's audit records
 * (DESIGN.md, "Audit": the audit table is the source of truth; `revoke` and the drift guard read grants from it).
 *
 * The records are replayed in the order they were decided (`decidedAt`, the time an intent was written under the
 * repository lease, so the order of the writes):
 * - an `applied` fix or drift restore makes each value it added live;
 * - a revoke takes the values it removed out, from its intent on: a revoke records its intent before it writes, so the
 *   ECR event of its own write always finds the grant already taken out (a revoke that failed before writing takes
 *   it out too: if the grant is still in the policy, nothing is missing, and the owner asked for it to go);
 * - a drift report (`grant-removed`) marks the values it found missing as reported: they stay live (nobody revoked
 *   them) but are not reported again until a fix or restore makes them live anew;
 * - a deleted repository (`repository-deleted`) ends every grant it lists: they went with the repository.
 */
import type { Outcome, Reason } from './decision';
import type { OwnedValues } from './grant-decision';
import { accountOfOwnedValue } from './grant-decision';

/** The fields of an audit record the ledger reads (`AuditRecord` in lambda/application/ports.ts has them all). */
export interface LedgerRecord {
  readonly kind: 'fix' | 'revoke' | 'drift';
  readonly state: 'intent' | 'applied' | 'failed' | 'recorded';
  readonly outcome: Outcome;
  readonly reason: Reason;
  readonly eventId: string;
  readonly eventTime: string;
  readonly decidedAt: string;
  readonly functionArn: string | null;
  readonly grants: readonly { readonly sid: string; readonly added: readonly string[] }[];
  readonly removed: readonly OwnedValues[];
}

/** One value of an owned statement that the fixer put there and nobody took back through the fixer. */
export interface LiveGrant {
  readonly sid: string;
  readonly value: string;
  readonly consumerAccount: string;
  /** The function of the record that granted it, or null. */
  readonly functionArn: string | null;
  /** The event id of the record that granted it. */
  readonly grantedBy: string;
  /** A drift report has told about its loss already. */
  readonly reported: boolean;
}

/** The live grants of one repository, from its audit records (any order), sorted by statement and value. */
export function liveGrants(records: readonly LedgerRecord[]): LiveGrant[] {
  const live = new Map<string, LiveGrant>();
  const ordered = [...records].sort((a, b) =>
    a.decidedAt === b.decidedAt
      ? compare(`${a.eventTime}#${a.eventId}`, `${b.eventTime}#${b.eventId}`)
      : compare(a.decidedAt, b.decidedAt)
  );
  for (const record of ordered) {
    if ((record.kind === 'fix' || record.kind === 'drift') && record.state === 'applied') {
      for (const grant of record.grants) {
        for (const value of grant.added) {
          const consumerAccount = accountOfOwnedValue(value);
          if (consumerAccount === null) continue;
          live.set(keyOf(grant.sid, value), {
            sid: grant.sid,
            value,
            consumerAccount,
            functionArn: record.functionArn,
            grantedBy: record.eventId,
            reported: false,
          });
        }
      }
    }
    const ends =
      (record.kind === 'revoke' && record.outcome === 'revoke' && record.state !== 'recorded') ||
      (record.kind === 'drift' && record.reason === 'repository-deleted');
    const reports =
      record.kind === 'drift' &&
      record.outcome === 'needs-human' &&
      record.reason === 'grant-removed';
    for (const entry of record.removed) {
      for (const value of entry.values) {
        const key = keyOf(entry.sid, value);
        const grant = live.get(key);
        if (grant === undefined) continue;
        if (ends) live.delete(key);
        else if (reports) live.set(key, { ...grant, reported: true });
      }
    }
  }
  return [...live.values()].sort((a, b) => compare(keyOf(a.sid, a.value), keyOf(b.sid, b.value)));
}

/** Live grants grouped by consumer account, in account order. */
export function byConsumer(grants: readonly LiveGrant[]): Map<string, LiveGrant[]> {
  const groups = new Map<string, LiveGrant[]>();
  for (const grant of [...grants].sort((a, b) => compare(a.consumerAccount, b.consumerAccount))) {
    const group = groups.get(grant.consumerAccount) ?? [];
    group.push(grant);
    groups.set(grant.consumerAccount, group);
  }
  return groups;
}

/** Grants as owned values, one entry per statement (in Sid order), values sorted. */
export function ownedValuesOf(grants: readonly Pick<LiveGrant, 'sid' | 'value'>[]): OwnedValues[] {
  const bySid = new Map<string, string[]>();
  for (const grant of grants) bySid.set(grant.sid, [...(bySid.get(grant.sid) ?? []), grant.value]);
  return [...bySid.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([sid, values]) => ({ sid, values: [...new Set(values)].sort() }));
}

function keyOf(sid: string, value: string): string {
  return `${sid}\n${value}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
