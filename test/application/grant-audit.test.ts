/**
 * The write-ahead records of revoke and the drift guard when the audit table is in the way: a record of another write
 * under the same key, another run's live intent, a write DynamoDB refuses again and again.
 */
import { GrantAudit, type GrantKey } from '../../lambda/application/grant-audit';
import { GrantNotices } from '../../lambda/application/grant-notices';
import { FixedClock, InMemoryAuditLog } from '../../lambda/adapters/in-memory';
import type { AuditLog } from '../../lambda/application/ports';
import { parseConfig } from '../../lambda/domain/config';
import type { GrantDecision } from '../../lambda/domain/grant-decision';

const DECISION: GrantDecision = {
  kind: 'revoke',
  outcome: 'revoke',
  reason: 'consumer-revoked',
  explanation: 'Takes account 222222222222 out.',
  nextSteps: [],
  repository: {
    partition: 'aws',
    region: 'eu-west-1',
    registryAccount: '111111111111',
    repositoryName: 'platform/payments-worker',
    repositoryArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/payments-worker',
  },
  consumerAccount: '222222222222',
  functionArn: null,
  policyBefore: null,
  policyAfter: '{"Statement":[]}',
  deletesPolicy: false,
  removed: [
    {
      sid: 'LambdaEcrAutofixService',
      values: ['arn:aws:lambda:eu-west-1:222222222222:function:*'],
    },
  ],
  grants: [],
  call: null,
};
const KEY: GrantKey = {
  eventId: 'revoke-1',
  eventTime: '2026-03-02T00:00:00.000Z',
  actorArn: null,
};

function audit(log: AuditLog, runId = 'run-1') {
  const clock = new FixedClock('2026-03-02T00:00:00.000Z');
  return {
    clock,
    grantAudit: new GrantAudit({
      config: parseConfig({}, 'test'),
      audit: log,
      notices: new GrantNotices(null, parseConfig({}, 'test')),
      clock,
      runId,
    }),
  };
}

describe('GrantAudit', () => {
  it('refuses an intent over another run\u2019s live intent, and over a write\u2019s record', async () => {
    const log = new InMemoryAuditLog();
    const other = audit(log, 'other-run');
    const [live] = await other.grantAudit.writeIntents([{ decision: DECISION, key: KEY }]);
    const mine = audit(log).grantAudit;

    await expect(mine.writeIntents([{ decision: DECISION, key: KEY }])).rejects.toThrow(
      /being completed by another lambda-ecr-autofix run \(other-run/
    );
    await other.grantAudit.complete(live!, DECISION, KEY, '{"Statement":[]}');
    await expect(mine.writeIntents([{ decision: DECISION, key: KEY }])).rejects.toThrow(
      /an earlier applied record is in the way/
    );
  });

  it('fails when DynamoDB leaves an intent or a decision unwritten', async () => {
    const log = new InMemoryAuditLog();
    const refusing: AuditLog = {
      ...log,
      write: (writes) =>
        Promise.resolve(
          writes.map(() => ({ status: 'unwritten' as const, reason: 'TransactionConflict' }))
        ),
      markNotified: (k, a, i) => log.markNotified(k, a, i),
      markAnnounced: (k, a) => log.markAnnounced(k, a),
      find: (k) => log.find(k),
      list: (f) => log.list(f),
    };
    const { grantAudit } = audit(refusing);

    await expect(grantAudit.writeIntents([{ decision: DECISION, key: KEY }])).rejects.toThrow(
      /could not be written \(TransactionConflict\)/
    );
    await expect(grantAudit.recordDecisions([{ decision: DECISION, key: KEY }])).rejects.toThrow(
      /could not be written \(TransactionConflict\)/
    );
  });

  it('fails when the record changed before it could be completed', async () => {
    const log = new InMemoryAuditLog();
    const { grantAudit } = audit(log);
    const [intent] = await grantAudit.writeIntents([{ decision: DECISION, key: KEY }]);
    log.put({ ...intent!, owner: 'someone-else' });

    await expect(grantAudit.fail(intent!, new Error('boom'))).rejects.toThrow(
      /the record changed meanwhile/
    );
  });

  it('resumes nothing for a recorded decision or a record whose change is not in the policy', async () => {
    const log = new InMemoryAuditLog();
    const { grantAudit, clock } = audit(log);
    const [intent] = await grantAudit.writeIntents([{ decision: DECISION, key: KEY }]);
    clock.advance(600_000);
    const still = JSON.stringify({
      Statement: [
        {
          Sid: 'LambdaEcrAutofixService',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          Condition: {
            StringLike: { 'aws:SourceArn': ['arn:aws:lambda:eu-west-1:222222222222:function:*'] },
          },
        },
      ],
    });

    expect(await grantAudit.resume(intent!, DECISION, KEY, still)).toBeNull();
    expect(
      await grantAudit.resume({ ...intent!, state: 'recorded' }, DECISION, KEY, null)
    ).toBeNull();
  });
});
