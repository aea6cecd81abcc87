/**
 * The audit log's conditional semantics as one script of calls (AuditWrite in lambda/application/ports.ts). The
 * in-memory stand-in's test checks the transcript against what the rules say; the integration test runs the same script
 * against DynamoDbAuditLog on moto_server and checks that both give the same transcript and the same final records.
 */
import type { AuditLog, AuditRecord, AuditWrite } from '../../lambda/application/ports';
import { FIXED_RECORD } from './audit-records';

const T0 = '2026-03-01T12:00:00.000Z';
const T1 = '2026-03-01T12:00:05.000Z';
const T2 = '2026-03-01T12:00:09.000Z';
const LONG_AGO = '2026-03-01T11:00:00.000Z';
const BEFORE_T0 = '2026-03-01T11:57:00.000Z';
const AFTER_T1 = '2026-03-01T12:00:06.000Z';

function recordOf(eventId: string, fields: Partial<AuditRecord>): AuditRecord {
  return {
    ...FIXED_RECORD,
    eventId,
    state: 'recorded',
    notifiedAt: null,
    notificationId: null,
    ...fields,
  };
}

const intent = (
  eventId: string,
  owner: string,
  updatedAt: string,
  staleBefore: string
): AuditWrite => ({
  kind: 'intent',
  record: recordOf(eventId, { state: 'intent', owner, updatedAt }),
  staleBefore,
});
const decision = (eventId: string, owner: string, updatedAt = T2): AuditWrite => ({
  kind: 'decision',
  record: recordOf(eventId, {
    state: 'recorded',
    owner,
    updatedAt,
    outcome: 'already-allowed',
    reason: 'grant-already-present',
    grants: [],
  }),
});
const replace = (
  eventId: string,
  fields: Partial<AuditRecord>,
  expected: AuditRecord['state'],
  owner: string,
  updatedAt: string
): AuditWrite => ({
  kind: 'replace',
  record: recordOf(eventId, { updatedAt: T2, ...fields }),
  expected: { state: expected, owner, updatedAt },
});

/** One line of the transcript: what a call returned, with conflicts reduced to the record found. */
export type TranscriptLine = { step: string; result: unknown };

function summarize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(summarize);
  if (typeof value === 'object' && value !== null && 'status' in value) {
    const result = value as { status: string; existing?: AuditRecord | null };
    if (result.status !== 'conflict') return result.status;
    return {
      conflict:
        result.existing === null ? null : `${result.existing?.state}/${result.existing?.owner}`,
    };
  }
  return value;
}

/** Runs the script; the last line is every record left, in key order. */
export async function runAuditLogScript(
  log: AuditLog,
  records: () => Promise<readonly AuditRecord[]>
): Promise<TranscriptLine[]> {
  const transcript: TranscriptLine[] = [];
  const step = async (name: string, call: () => Promise<unknown>): Promise<void> => {
    let result: unknown;
    try {
      result = summarize(await call());
    } catch (error) {
      result = {
        rejected: (error as Error).message.includes('multiple operations on one item')
          ? 'duplicate key'
          : (error as Error).message,
      };
    }
    transcript.push({ step: name, result });
  };
  const key = (eventId: string) => ({
    repositoryArn: FIXED_RECORD.repositoryArn,
    eventTime: FIXED_RECORD.eventTime,
    eventId,
  });

  await step('first writes', () =>
    log.write([intent('k1', 'A', T0, BEFORE_T0), decision('k2', 'A'), decision('k3', 'A')])
  );
  await step('a decision never replaces an intent', () => log.write([decision('k1', 'B')]));
  await step("another run's live intent stays", () =>
    log.write([intent('k1', 'B', T1, BEFORE_T0)])
  );
  await step('the owner may write its intent again', () =>
    log.write([intent('k1', 'A', T1, BEFORE_T0)])
  );
  await step('a stale expectation does not replace', () =>
    log.write([replace('k1', { state: 'applied', owner: 'A' }, 'intent', 'A', T0)])
  );
  await step('the owner completes its intent', () =>
    log.write([replace('k1', { state: 'applied', owner: 'A' }, 'intent', 'A', T1)])
  );
  await step('an intent never replaces an applied record', () =>
    log.write([intent('k1', 'B', T2, '2099-01-01T00:00:00.000Z')])
  );
  await step('a decision never replaces an applied record', () => log.write([decision('k1', 'B')]));
  await step('marks the notice sent once', async () => [
    await log.markNotified(key('k1'), T2, 'message-1'),
    await log.markNotified(key('k1'), T2, 'message-2'),
    await log.markNotified(key('k2'), T2, 'message-3'),
    await log.markNotified(key('missing'), T2, 'message-4'),
  ]);
  await step('decisions and intents replace recorded decisions', () =>
    log.write([decision('k2', 'B'), intent('k3', 'B', T1, BEFORE_T0)])
  );
  await step('the intent fails', () =>
    log.write([replace('k3', { state: 'failed', owner: 'B', error: 'refused' }, 'intent', 'B', T1)])
  );
  await step('a decision never replaces a failed write', () => log.write([decision('k3', 'A')]));
  await step('an intent replaces a failed write', () =>
    log.write([intent('k3', 'A', T2, BEFORE_T0)])
  );
  await step('a replace of a missing record', () =>
    log.write([replace('k5', { state: 'applied' }, 'intent', 'A', T1)])
  );
  await step('a dead run’s intent', () => log.write([intent('k6', 'A', LONG_AGO, LONG_AGO)]));
  await step('is taken over once stale', () => log.write([intent('k6', 'B', T2, AFTER_T1)]));
  await step('one conflict in a call does not stop the others', () =>
    log.write([decision('k7', 'A'), decision('k1', 'A'), decision('k8', 'A')])
  );
  await step('a key twice in one call is refused', () =>
    log.write([decision('k9', 'A'), decision('k9', 'B')])
  );
  await step('more than one transaction’s worth', async () => {
    const results = await log.write(
      Array.from({ length: 130 }, (_, index) =>
        decision(`bulk-${String(index).padStart(3, '0')}`, 'A')
      )
    );
    return [...new Set(results.map((result) => result.status))];
  });
  await step(
    'an applied write whose notice is still owed, and a write failed in flight',
    async () => [
      ...(await log.write([intent('k10', 'A', T2, BEFORE_T0), intent('k11', 'A', T2, BEFORE_T0)])),
      ...(await log.write([
        replace('k10', { state: 'applied', owner: 'A' }, 'intent', 'A', T2),
        replace('k11', { state: 'failed', owner: 'A', error: 'timeout' }, 'intent', 'A', T2),
      ])),
    ]
  );
  await step('lists the unsettled records (intents, failed writes, notices owed)', async () =>
    (await log.list({ repositoryArn: FIXED_RECORD.repositoryArn, unsettled: true }))
      .map((record) => `${record.eventId}/${record.state}`)
      .sort()
  );
  await step('finds', async () => [
    (await log.find(key('k1')))?.notificationId,
    await log.find(key('missing')),
  ]);
  const left = [...(await records())].sort((a, b) => a.eventId.localeCompare(b.eventId));
  transcript.push({ step: 'records', result: left });
  return transcript;
}
