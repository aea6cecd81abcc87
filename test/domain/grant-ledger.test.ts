import {
  accountOfOwnedValue,
  changesPolicy,
  type GrantDecision,
} from '../../lambda/domain/grant-decision';
import {
  byConsumer,
  liveGrants,
  ownedValuesOf,
  type LedgerRecord,
} from '../../lambda/domain/grant-ledger';
import { ACCOUNTS_SID, SERVICE_SID } from '../../lambda/domain/planner';

const PATTERN_222 = 'arn:aws:lambda:eu-west-1:222222222222:function:*';
const ROOT_222 = 'arn:aws:iam::222222222222:root';
const PATTERN_444 = 'arn:aws:lambda:eu-west-1:444444444444:function:*';

function record(overrides: Partial<LedgerRecord> & Pick<LedgerRecord, 'decidedAt'>): LedgerRecord {
  return {
    kind: 'fix',
    state: 'applied',
    outcome: 'fix',
    reason: 'repository-policy-missing-grant',
    eventId: `event-${overrides.decidedAt}`,
    eventTime: '2026-03-01T00:00:00Z',
    functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:orders',
    grants: [],
    removed: [],
    ...overrides,
  };
}

const fixed222 = record({
  decidedAt: '2026-03-01T10:00:00.000Z',
  grants: [
    { sid: SERVICE_SID, added: [PATTERN_222] },
    { sid: ACCOUNTS_SID, added: [ROOT_222] },
  ],
});
const fixed444 = record({
  decidedAt: '2026-03-01T11:00:00.000Z',
  functionArn: null,
  grants: [{ sid: SERVICE_SID, added: [PATTERN_444] }],
});
const revoked222 = record({
  decidedAt: '2026-03-02T10:00:00.000Z',
  kind: 'revoke',
  state: 'intent',
  outcome: 'revoke',
  reason: 'consumer-revoked',
  removed: [
    { sid: SERVICE_SID, values: [PATTERN_222] },
    { sid: ACCOUNTS_SID, values: [ROOT_222] },
  ],
});

describe('liveGrants', () => {
  it('makes the values of applied fixes live, whatever order the records come in', () => {
    const live = liveGrants([fixed444, fixed222]);

    expect(live.map((grant) => [grant.sid, grant.value, grant.consumerAccount])).toEqual([
      [ACCOUNTS_SID, ROOT_222, '222222222222'],
      [SERVICE_SID, PATTERN_222, '222222222222'],
      [SERVICE_SID, PATTERN_444, '444444444444'],
    ]);
    expect(live[0]).toEqual(
      expect.objectContaining({
        functionArn: fixed222.functionArn,
        grantedBy: fixed222.eventId,
        reported: false,
      })
    );
  });

  it('ignores records that wrote nothing: intents, failures, recorded decisions of a fix', () => {
    const unfinished = [
      { ...fixed222, state: 'intent' as const },
      { ...fixed222, state: 'failed' as const },
      { ...fixed222, state: 'recorded' as const },
    ];

    expect(liveGrants(unfinished)).toEqual([]);
  });

  it('ends what a revoke took out from its intent on, and only what it took out', () => {
    expect(liveGrants([fixed222, fixed444, revoked222]).map((grant) => grant.value)).toEqual([
      PATTERN_444,
    ]);
  });

  it('does not end anything for a revoke that changed nothing (a recorded decision)', () => {
    const recorded = { ...revoked222, state: 'recorded' as const };

    expect(liveGrants([fixed222, recorded])).toHaveLength(2);
  });

  it('makes a grant live again when a later fix makes it anew', () => {
    const again = { ...fixed222, decidedAt: '2026-03-03T10:00:00.000Z', eventId: 'again' };

    expect(liveGrants([again, revoked222, fixed222]).map((grant) => grant.grantedBy)).toEqual([
      'again',
      'again',
    ]);
  });

  it('orders records decided at the same moment by event time and id', () => {
    const sameTime = { ...revoked222, decidedAt: fixed222.decidedAt, eventId: 'z-revoke' };
    const earlierEvent = { ...fixed222, eventId: 'a-fix' };

    expect(liveGrants([sameTime, earlierEvent])).toEqual([]);
    expect(liveGrants([{ ...sameTime, eventId: '0-revoke' }, earlierEvent])).toHaveLength(2);
  });

  it('marks values a drift report found missing as reported, until a restore makes them live again', () => {
    const report = record({
      decidedAt: '2026-03-02T12:00:00.000Z',
      kind: 'drift',
      state: 'recorded',
      outcome: 'needs-human',
      reason: 'grant-removed',
      removed: [{ sid: SERVICE_SID, values: [PATTERN_222, PATTERN_444] }],
    });
    const restore = record({
      decidedAt: '2026-03-03T12:00:00.000Z',
      kind: 'drift',
      outcome: 'fix',
      reason: 'grant-removed',
      grants: [{ sid: SERVICE_SID, added: [PATTERN_222] }],
    });

    const reported = liveGrants([fixed222, report]);
    const restored = liveGrants([fixed222, report, restore]);

    expect(reported.map((grant) => [grant.value, grant.reported])).toEqual([
      [ROOT_222, false],
      [PATTERN_222, true],
    ]);
    expect(restored.every((grant) => !grant.reported)).toBe(true);
  });

  it('ends every grant a deleted repository took with it', () => {
    const deleted = record({
      decidedAt: '2026-03-04T00:00:00.000Z',
      kind: 'drift',
      state: 'recorded',
      outcome: 'needs-human',
      reason: 'repository-deleted',
      removed: [
        { sid: SERVICE_SID, values: [PATTERN_222] },
        { sid: ACCOUNTS_SID, values: [ROOT_222] },
      ],
    });

    expect(liveGrants([fixed222, deleted])).toEqual([]);
  });

  it('skips values that name no account', () => {
    const odd = record({
      decidedAt: '2026-03-01T00:00:00.000Z',
      grants: [{ sid: 'Other', added: ['x'] }],
    });

    expect(liveGrants([odd])).toEqual([]);
  });
});

describe('ledger helpers', () => {
  it('groups by consumer and turns grants back into owned values', () => {
    const live = liveGrants([fixed222, fixed444]);

    expect([...byConsumer(live).keys()]).toEqual(['222222222222', '444444444444']);
    expect(ownedValuesOf(live)).toEqual([
      { sid: ACCOUNTS_SID, values: [ROOT_222] },
      { sid: SERVICE_SID, values: [PATTERN_222, PATTERN_444] },
    ]);
  });

  it('reads the account of an owned value', () => {
    expect(accountOfOwnedValue(PATTERN_444)).toBe('444444444444');
    expect(accountOfOwnedValue('arn:aws-us-gov:iam::333333333333:root')).toBe('333333333333');
    expect(accountOfOwnedValue('arn:aws:iam::333333333333:role/x')).toBeNull();
  });

  it('tells a decision that changes the policy', () => {
    const base = { policyAfter: null, deletesPolicy: false } as Pick<
      GrantDecision,
      'policyAfter' | 'deletesPolicy'
    >;

    expect(changesPolicy(base as GrantDecision)).toBe(false);
    expect(changesPolicy({ ...base, deletesPolicy: true } as GrantDecision)).toBe(true);
    expect(changesPolicy({ ...base, policyAfter: '{}' } as GrantDecision)).toBe(true);
  });
});
