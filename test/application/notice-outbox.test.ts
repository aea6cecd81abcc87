/**
 * The notice outbox (lambda/application/notice-outbox.ts): an applied write's notice goes out at least once, and of two
 * senders exactly one marks it sent. With the in-memory audit log, and with the DynamoDB adapter over
 * aws-sdk-client-mock (a fake table that evaluates the adapter's conditions and answers with the SDK's real exception
 * classes).
 */
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { DynamoDbAuditLog, toItem } from '../../lambda/adapters/dynamodb-audit-log';
import { FixedClock, InMemoryAuditLog, InMemoryNotifier } from '../../lambda/adapters/in-memory';
import { createLimiter } from '../../lambda/application/concurrency';
import type { NoticeOutboxDependencies } from '../../lambda/application/notice-outbox';
import { NoticeOutbox, mergeReports } from '../../lambda/application/notice-outbox';
import type { AuditLog, AuditRecord } from '../../lambda/application/ports';
import { LIVE_INTENT_MS } from '../../lambda/application/write-ahead-audit';
import { parseConfig } from '../../lambda/domain/config';
import { FIXED_RECORD } from '../support/audit-records';
import { FakeDynamoDbTable } from '../support/fake-dynamodb';

const NOW = '2026-03-01T12:30:00.000Z';
const LONG_AGO = '2026-03-01T12:00:02.456Z';
const REPOSITORY = FIXED_RECORD.repositoryArn;
/** The policy the fix of FIXED_RECORD wrote: its grant is there. */
const GRANTED = FIXED_RECORD.policyPlanned;
const EMPTY = '{"Version":"2012-10-17","Statement":[]}';

/** FIXED_RECORD (an applied fix) whose notice was never sent. */
const OWED: AuditRecord = { ...FIXED_RECORD, notifiedAt: null, notificationId: null, error: null };

function recordOf(eventId: string, fields: Partial<AuditRecord>): AuditRecord {
  return { ...OWED, eventId, ...fields };
}

function outboxOver(audit: AuditLog, extra: Partial<NoticeOutboxDependencies> = {}) {
  const notifier = new InMemoryNotifier();
  const outbox = new NoticeOutbox({
    audit,
    notifier,
    config: parseConfig({}, 'test'),
    clock: new FixedClock(NOW),
    runId: 'outbox-run',
    ...extra,
  });
  return { outbox, notifier };
}

describe('NoticeOutbox with the in-memory audit log', () => {
  let audit: InMemoryAuditLog;

  beforeEach(() => {
    audit = new InMemoryAuditLog();
  });

  it('sends the stored notice of an applied record once, with the pipeline’s attributes, and marks it', async () => {
    audit.put(OWED);
    audit.put(recordOf('already-sent', { notifiedAt: NOW, notificationId: 'earlier' }));
    audit.put(recordOf('decided', { state: 'recorded', outcome: 'already-allowed' }));
    const { outbox, notifier } = outboxOver(audit);

    const first = await outbox.flush([{ repositoryArn: REPOSITORY }]);
    const second = await outbox.flush([{ repositoryArn: REPOSITORY }]);

    expect(notifier.messages).toEqual([
      {
        subject: OWED.notice?.subject,
        message: OWED.notice?.message,
        attributes: {
          outcome: 'fix',
          reason: 'repository-policy-missing-grant',
          consumerAccount: '222222222222',
          repository: 'platform/payments-worker',
        },
      },
    ]);
    expect(first).toEqual({
      sent: [
        expect.objectContaining({
          eventId: OWED.eventId,
          subject: OWED.notice?.subject,
          messageId: 'in-memory-message-1',
          marked: true,
        }),
      ],
      unsent: [],
      completed: 0,
      busy: [],
    });
    expect(second).toEqual({ sent: [], unsent: [], completed: 0, busy: [] });
    expect(audit.records.find((r) => r.eventId === OWED.eventId)).toMatchObject({
      state: 'applied',
      notifiedAt: NOW,
      notificationId: 'in-memory-message-1',
    });
    // One Query per repository and flush, nothing else read.
    expect(audit.calls.list).toBe(2);
  });

  it('two concurrent senders: both may send, exactly one marks the record', async () => {
    audit.put(OWED);
    const one = outboxOver(audit, { runId: 'one' });
    const two = outboxOver(audit, { runId: 'two' });

    const [a, b] = await Promise.all([
      one.outbox.flush([{ repositoryArn: REPOSITORY }]),
      two.outbox.flush([{ repositoryArn: REPOSITORY }]),
    ]);

    const sent = [...a.sent, ...b.sent];
    expect(sent.filter((notice) => notice.marked)).toHaveLength(1);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    const record = audit.records[0] as AuditRecord;
    expect(record.notifiedAt).toBe(NOW);
    expect(sent.find((notice) => notice.marked)?.messageId).toBe(record.notificationId);
    expect(audit.calls.markNotified).toBe(sent.length);
  });

  it('completes an interrupted write whose grant is in the policy, then sends its notice', async () => {
    const stale = recordOf('stale-intent', { state: 'intent', updatedAt: LONG_AGO, owner: 'dead' });
    const inFlight = recordOf('failed-in-flight', {
      state: 'failed',
      error: 'TimeoutError: socket hang up',
    });
    audit.put(stale);
    audit.put(inFlight);
    const { outbox, notifier } = outboxOver(audit);

    const report = await outbox.flush([{ repositoryArn: REPOSITORY, policyText: GRANTED }]);

    expect(report.completed).toBe(2);
    expect(report.sent.map((notice) => notice.eventId).sort()).toEqual([
      'failed-in-flight',
      'stale-intent',
    ]);
    expect(notifier.messages).toHaveLength(2);
    for (const record of audit.records) {
      expect(record).toMatchObject({
        state: 'applied',
        owner: 'outbox-run',
        updatedAt: NOW,
        policyAfter: GRANTED,
        error: null,
        notifiedAt: NOW,
      });
    }
  });

  it('leaves alone what is not an interrupted write of its own change', async () => {
    const live = recordOf('live-intent', {
      state: 'intent',
      owner: 'another-run',
      updatedAt: new Date(Date.parse(NOW) - LIVE_INTENT_MS + 1_000).toISOString(),
    });
    const decided = recordOf('verification-failed', {
      state: 'failed',
      outcome: 'needs-human',
      reason: 'verification-failed',
    });
    const absent = recordOf('not-in-policy', { state: 'intent', updatedAt: LONG_AGO });
    for (const record of [live, decided, absent]) audit.put(record);
    const { outbox, notifier } = outboxOver(audit);

    const withGrant = await outbox.settle([live, decided], GRANTED);
    const withoutGrant = await outbox.settle([absent], EMPTY);
    const unread = await outbox.settle([absent], undefined);

    expect([withGrant, withoutGrant, unread]).toEqual([
      {
        sent: [],
        unsent: [],
        completed: 0,
        busy: [expect.objectContaining({ eventId: 'live-intent' })],
      },
      { sent: [], unsent: [], completed: 0, busy: [] },
      { sent: [], unsent: [], completed: 0, busy: [] },
    ]);
    expect(notifier.calls).toBe(0);
    expect(audit.records.map((record) => record.state)).toEqual(['intent', 'failed', 'intent']);
  });

  it('completes a revoke whose values are out of the policy, and sends its REVOKED notice', async () => {
    const revoke = recordOf('revoke-1', {
      kind: 'revoke',
      state: 'failed',
      outcome: 'revoke',
      reason: 'consumer-revoked',
      grants: [],
      removed: [
        {
          sid: 'LambdaEcrAutofixService',
          values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
        },
      ],
      notice: { subject: '[lambda-ecr-autofix] REVOKED: …', message: 'revoked' },
    });
    audit.put(revoke);
    const { outbox, notifier } = outboxOver(audit);

    expect(await outbox.settle([revoke], GRANTED)).toEqual({
      sent: [],
      unsent: [],
      completed: 0,
      busy: [],
    });
    const report = await outbox.settle([revoke], EMPTY);

    expect(report.completed).toBe(1);
    expect(notifier.messages.map((m) => [m.subject, m.attributes.outcome])).toEqual([
      ['[lambda-ecr-autofix] REVOKED: …', 'revoke'],
    ]);
  });

  it('sends nothing that is not wanted, and still completes the record', async () => {
    const stale = recordOf('stale-intent', { state: 'intent', updatedAt: LONG_AGO });
    audit.put(stale);
    audit.put(recordOf('no-notice', { notice: null }));
    const quiet = outboxOver(audit, { config: parseConfig({ notifyOn: ['error'] }, 'test') });
    const silent = outboxOver(audit, { notifier: null });

    const report = await quiet.outbox.flush([{ repositoryArn: REPOSITORY, policyText: GRANTED }]);
    const again = await silent.outbox.flush([{ repositoryArn: REPOSITORY, policyText: GRANTED }]);

    expect(report).toEqual({ sent: [], unsent: [], completed: 1, busy: [] });
    expect(again).toEqual({ sent: [], unsent: [], completed: 0, busy: [] });
    expect(quiet.notifier.calls).toBe(0);
    expect(audit.records.map((record) => [record.state, record.notifiedAt])).toEqual([
      ['applied', null],
      ['applied', null],
    ]);
  });

  it('reports what it could not send, and leaves the record owed', async () => {
    audit.put(OWED);
    const { outbox, notifier } = outboxOver(audit);
    notifier.failNext(1);

    const report = await outbox.flush([{ repositoryArn: REPOSITORY }]);

    expect(report.sent).toEqual([]);
    expect(report.unsent).toEqual([
      expect.objectContaining({
        eventId: OWED.eventId,
        subject: OWED.notice?.subject,
        error: 'not sent: SNS Publish failed (simulated).',
      }),
    ]);
    expect(audit.records[0]?.notifiedAt).toBeNull();
  });

  it('counts a notice sent but not marked as still owed (the next run sends it again)', async () => {
    audit.put(OWED);
    jest.spyOn(audit, 'markNotified').mockRejectedValueOnce(new Error('throttled'));
    const { outbox } = outboxOver(audit);

    const report = await outbox.flush([{ repositoryArn: REPOSITORY }]);

    expect(report.unsent).toEqual([
      expect.objectContaining({
        error: 'sent as message in-memory-message-1 but not marked as sent: throttled',
      }),
    ]);
  });

  it('leaves a record another run completed meanwhile to that run; reports one it could not complete', async () => {
    const stale = recordOf('stale-intent', { state: 'intent', updatedAt: LONG_AGO });
    audit.put(stale);
    audit.beforeWrite = () => {
      // Another run completes the record between the outbox's read and its write.
      audit.put({ ...stale, state: 'applied', owner: 'other', notifiedAt: NOW });
      audit.beforeWrite = undefined;
    };
    const { outbox, notifier } = outboxOver(audit);

    const changed = await outbox.settle([stale], GRANTED);
    audit.put(stale);
    audit.failNextWrite = new Error('ProvisionedThroughputExceededException');
    const refused = await outbox.settle([stale], GRANTED);
    jest.spyOn(audit, 'write').mockResolvedValueOnce([{ status: 'unwritten', reason: 'busy' }]);
    const unwritten = await outbox.settle([stale], GRANTED);

    expect(changed).toEqual({ sent: [], unsent: [], completed: 0, busy: [] });
    expect(refused.unsent).toEqual([
      expect.objectContaining({
        error: 'its record could not be completed: ProvisionedThroughputExceededException',
      }),
    ]);
    expect(unwritten.unsent).toEqual([
      expect.objectContaining({ error: 'its record could not be completed: busy' }),
    ]);
    expect(notifier.calls).toBe(0);
  });

  it('reads each repository once, within the limiter', async () => {
    const other = 'arn:aws:ecr:eu-west-1:111111111111:repository/other';
    audit.put(OWED);
    audit.put(recordOf('other', { repositoryArn: other }));
    const limiter = createLimiter(1);
    const { outbox } = outboxOver(audit, { limiter });

    const report = await outbox.flush([{ repositoryArn: REPOSITORY }, { repositoryArn: other }]);

    expect(report.sent.map((notice) => notice.repositoryArn).sort()).toEqual(
      [REPOSITORY, other].sort()
    );
    expect(audit.calls.list).toBe(2);
    expect(limiter.peak).toBe(1);
  });

  it('reads the policy itself only for a repository with an interrupted write to check', async () => {
    const other = 'arn:aws:ecr:eu-west-1:111111111111:repository/other';
    audit.put(recordOf('stale-intent', { state: 'intent', updatedAt: LONG_AGO }));
    audit.put(recordOf('owed', { repositoryArn: other }));
    const reads: string[] = [];
    const { outbox, notifier } = outboxOver(audit);

    const report = await outbox.flush(
      [{ repositoryArn: REPOSITORY }, { repositoryArn: other }],
      (repositoryArn) => {
        reads.push(repositoryArn);
        return Promise.resolve(GRANTED);
      }
    );
    const deleted = new InMemoryAuditLog();
    deleted.put(recordOf('stale-intent', { state: 'intent', updatedAt: LONG_AGO }));
    const gone = await outboxOver(deleted).outbox.flush([{ repositoryArn: REPOSITORY }], () =>
      Promise.resolve(undefined)
    );

    expect(reads).toEqual([REPOSITORY]);
    expect(report.completed).toBe(1);
    expect(notifier.messages).toHaveLength(2);
    expect(gone).toEqual({ sent: [], unsent: [], completed: 0, busy: [] });
    expect(deleted.records[0]?.state).toBe('intent');
  });

  it('merges reports', () => {
    expect(
      mergeReports([
        { sent: [], unsent: [], completed: 1, busy: [] },
        { sent: [], unsent: [], completed: 2, busy: [] },
      ])
    ).toEqual({ sent: [], unsent: [], completed: 3, busy: [] });
  });
});

describe('NoticeOutbox with the DynamoDB audit log (aws-sdk-client-mock)', () => {
  const dynamodb = mockClient(DynamoDBClient);
  let table: FakeDynamoDbTable;

  beforeEach(() => {
    dynamodb.reset();
    table = new FakeDynamoDbTable();
    table.attach(dynamodb);
  });

  function seed(record: AuditRecord): void {
    const item = toItem(record);
    table.items.set(`${record.repositoryArn}\n${item['eventKey']?.S ?? ''}`, item);
  }

  it('two concurrent senders: exactly one UpdateItem marks it, the other meets ConditionalCheckFailedException', async () => {
    seed(OWED);
    const log = new DynamoDbAuditLog(new DynamoDBClient({ region: 'eu-west-1' }), 'audit');
    const one = outboxOver(log, { runId: 'one' });
    const two = outboxOver(log, { runId: 'two' });

    const [a, b] = await Promise.all([
      one.outbox.flush([{ repositoryArn: REPOSITORY }]),
      two.outbox.flush([{ repositoryArn: REPOSITORY }]),
    ]);

    expect([...a.sent, ...b.sent].map((notice) => notice.marked).sort()).toEqual([false, true]);
    expect(table.calls).toEqual({ Query: 2, UpdateItem: 2 });
    const item = [...table.items.values()][0];
    expect(item?.['notifiedAt']).toEqual({ S: NOW });
  });

  it('queries only the unsettled records of the repository, and completes an interrupted write', async () => {
    seed(recordOf('stale-intent', { state: 'intent', updatedAt: LONG_AGO }));
    seed(recordOf('notified', { notifiedAt: NOW, notificationId: 'm-0' }));
    seed(recordOf('recorded', { state: 'recorded', outcome: 'already-allowed', grants: [] }));
    seed(
      recordOf('elsewhere', { repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/x' })
    );
    const log = new DynamoDbAuditLog(new DynamoDBClient({ region: 'eu-west-1' }), 'audit');
    const { outbox, notifier } = outboxOver(log);

    const report = await outbox.flush([{ repositoryArn: REPOSITORY, policyText: GRANTED }]);

    expect(report).toEqual({
      sent: [expect.objectContaining({ eventId: 'stale-intent', marked: true })],
      unsent: [],
      completed: 1,
      busy: [],
    });
    expect(notifier.messages).toHaveLength(1);
    expect(table.calls).toEqual({ Query: 1, TransactWriteItems: 1, UpdateItem: 1 });
  });

  it('lets a failed Query through (the caller retries)', async () => {
    table.failNext.set(
      'Query',
      new ProvisionedThroughputExceededException({
        $metadata: { httpStatusCode: 400 },
        message: 'Throughput exceeded',
      })
    );
    const log = new DynamoDbAuditLog(
      new DynamoDBClient({ region: 'eu-west-1', maxAttempts: 1 }),
      'audit'
    );

    await expect(outboxOver(log).outbox.flush([{ repositoryArn: REPOSITORY }])).rejects.toThrow(
      'Throughput exceeded'
    );
  });
});
