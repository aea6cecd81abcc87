/**
 * Audit records from decisions, and decisions from audit records: the shapes the write-ahead audit writes and reads
 * (the record type and its meaning are in ports.ts and docs/architecture.md).
 */
import type { Config } from '../domain/config';
import type { Decision, DeployCall, StatementChange, Target } from '../domain/decision';
import { ownedGrantsPresent, ownedValuesAbsent } from '../domain/owned-grants';
import { parsePolicy } from '../domain/policy-document';
import type { AuditKey, AuditRecord, AuditState, AuditWrite } from './ports';

/** A fresh record of `decision` in `state`. */
export function recordOf(
  decision: Decision,
  state: AuditState,
  now: Date,
  facts: { readonly owner: string; readonly mode: Config['mode']; readonly retentionDays: number }
): AuditRecord {
  const call = decision.call as DeployCall;
  const stamp = now.toISOString();
  // One flat literal, without spreads: a burst builds thousands of these.
  return {
    repositoryArn: decision.target?.repositoryArn ?? 'none',
    eventId: call.eventId,
    eventTime: call.eventTime,
    kind: 'fix',
    state,
    decidedAt: stamp,
    updatedAt: stamp,
    owner: facts.owner,
    consumerAccount: call.consumerAccount,
    callerArn: call.caller.arn,
    functionArn: decision.target?.functionArn ?? null,
    outcome: decision.outcome,
    reason: decision.reason,
    explanation: decision.explanation,
    mode: facts.mode,
    policyBefore: decision.policyBefore,
    policyPlanned: decision.policyAfter,
    policyAfter: null,
    grants:
      decision.outcome === 'fix'
        ? decision.grants.map(({ sid, change, added }) => ({ sid, change, added: [...added] }))
        : [],
    removed: [],
    error: null,
    notice: null,
    notifiedAt: null,
    notificationId: null,
    expiresAt: Math.floor(now.getTime() / 1000) + facts.retentionDays * 86_400,
  };
}

/** Decisions worth a record: everything but `ignored` (which names no repository). */
export function recordable(decision: Decision): boolean {
  return decision.outcome !== 'ignored' && decision.call !== null;
}

export function keyOf(decision: Decision): AuditKey {
  const call = decision.call as DeployCall;
  return {
    repositoryArn: decision.target?.repositoryArn ?? 'none',
    eventId: call.eventId,
    eventTime: call.eventTime,
  };
}

export function replaceOf(existing: AuditRecord, record: AuditRecord): AuditWrite {
  return {
    kind: 'replace',
    record,
    expected: { state: existing.state, owner: existing.owner, updatedAt: existing.updatedAt },
  };
}

export function notifiedFields(
  sent: { id: string } | { error: unknown } | undefined,
  now: Date
): Pick<AuditRecord, 'notifiedAt' | 'notificationId'> {
  return sent !== undefined && 'id' in sent
    ? { notifiedAt: now.toISOString(), notificationId: sent.id }
    : { notifiedAt: null, notificationId: null };
}

/** The decision an earlier attempt recorded, as the decision of this delivery (same call and target). */
export function decisionFromRecord(
  record: AuditRecord,
  call: DeployCall | null,
  target: Target | null
): Decision {
  const parsed = parsePolicy(record.policyPlanned);
  const statementOf = (sid: string): Readonly<Record<string, unknown>> =>
    (parsed.ok ? parsed.policy.statements.find((s) => s['Sid'] === sid) : undefined) ?? {};
  return {
    outcome: record.outcome,
    reason: record.reason,
    explanation: record.explanation,
    nextSteps: [],
    call,
    target,
    policyBefore: record.policyBefore,
    policyAfter: record.policyPlanned,
    grants: record.grants.map((grant): StatementChange => ({
      ...grant,
      statement: statementOf(grant.sid),
    })),
  };
}

/**
 * Whether the change a record announced is in `policyText`: the values a fix or a drift restore adds are there, or the
 * values a revoke takes out are gone. False for a record that announced no change. An interrupted write whose change
 * is in the policy was that write ("it was our write"): its record may be completed.
 */
export function changeInPolicy(
  record: Pick<AuditRecord, 'grants' | 'removed'>,
  policyText: string | null
): boolean {
  if (record.grants.length > 0) return ownedGrantsPresent(policyText, record.grants);
  if (record.removed.length > 0) {
    return ownedValuesAbsent(
      policyText,
      record.removed.map((entry) => ({ sid: entry.sid, added: entry.values }))
    );
  }
  return false;
}
