import {
  LastUpdateStatus,
  LastUpdateStatusReasonCode,
  State,
  StateReasonCode,
} from '@aws-sdk/client-lambda';

import type { FunctionStateFacts } from '../../lambda/domain/function-state';
import {
  FUNCTION_STATES,
  IMAGE_CODES,
  LAST_UPDATE_STATUSES,
  NORMAL_CODES,
  OTHER_FAILURE_CODES,
  assessFunctionState,
} from '../../lambda/domain/function-state';

const active: FunctionStateFacts = {
  state: 'Active',
  stateReasonCode: null,
  stateReason: null,
  lastUpdateStatus: 'Successful',
  lastUpdateStatusReasonCode: null,
  lastUpdateStatusReason: null,
};

/** Every code the SDK (the API model Lambda publishes) knows, for either field. */
const SDK_CODES = [
  ...new Set([...Object.values(StateReasonCode), ...Object.values(LastUpdateStatusReasonCode)]),
];
/** The codes that mean the image cannot be pulled or used, as the API reference describes them. */
const EXPECTED_IMAGE = {
  ImageAccessDenied: 'image-access-denied',
  ImageDeleted: 'image-deleted',
  InvalidImage: 'image-invalid',
} as const;
const EXPECTED_NORMAL = ['Creating', 'Restoring', 'Idle', 'DrainingDurableExecutions'];

describe('the code tables', () => {
  it('know every State, LastUpdateStatus and reason code of the Lambda API model', () => {
    expect([...FUNCTION_STATES].sort()).toEqual(Object.values(State).sort());
    expect([...LAST_UPDATE_STATUSES].sort()).toEqual(Object.values(LastUpdateStatus).sort());
    const known = [
      ...Object.keys(IMAGE_CODES),
      ...NORMAL_CODES,
      ...Object.keys(OTHER_FAILURE_CODES),
    ];
    expect([...known].sort()).toEqual([...SDK_CODES].sort());
    expect(new Set(known).size).toBe(known.length);
  });
});

describe('assessFunctionState', () => {
  it('finds nothing wrong with an Active function whose last update succeeded', () => {
    expect(assessFunctionState(active)).toEqual({ kind: 'healthy', note: null });
  });

  it('reads the real Inactive + ImageAccessDenied combination as an image failure', () => {
    const health = assessFunctionState({
      ...active,
      state: 'Inactive',
      stateReasonCode: 'ImageAccessDenied',
      stateReason: 'The function does not have permission to access the specified image.',
    });

    expect(health).toEqual({
      kind: 'image-failure',
      reason: 'image-access-denied',
      explanation:
        'The function\'s state is Inactive with reason ImageAccessDenied (Lambda may not pull the image from Amazon ECR): "The function does not have permission to access the specified image.".',
    });
  });

  it.each(Object.entries(EXPECTED_IMAGE))(
    'reads state reason %s as image failure %s in every state',
    (code, reason) => {
      for (const state of Object.values(State)) {
        const health = assessFunctionState({ ...active, state, stateReasonCode: code });
        expect(health).toEqual(expect.objectContaining({ kind: 'image-failure', reason }));
      }
    }
  );

  it.each(Object.entries(EXPECTED_IMAGE))(
    'reads a failed last update with %s as image failure %s',
    (code, reason) => {
      const health = assessFunctionState({
        ...active,
        lastUpdateStatus: 'Failed',
        lastUpdateStatusReasonCode: code,
        lastUpdateStatusReason: 'The image cannot be pulled.',
      });

      expect(health).toEqual({
        kind: 'image-failure',
        reason,
        explanation: expect.stringMatching(
          new RegExp(`^The function's last update is Failed with reason ${code} \\(`)
        ) as string,
      });
    }
  );

  it('ignores an image code on a last update that did not fail', () => {
    for (const status of ['Successful', 'InProgress']) {
      expect(
        assessFunctionState({
          ...active,
          lastUpdateStatus: status,
          lastUpdateStatusReasonCode: 'ImageAccessDenied',
        }).kind
      ).toBe('healthy');
    }
  });

  const failureCodes = SDK_CODES.filter(
    (code) => !(code in EXPECTED_IMAGE) && !EXPECTED_NORMAL.includes(code)
  );

  it.each(failureCodes)(
    'reads state reason %s as a failure that is not a repository-policy matter',
    (code) => {
      for (const state of ['Failed', 'Inactive', 'Active', 'Deactivated']) {
        const health = assessFunctionState({ ...active, state, stateReasonCode: code });
        expect(health).toEqual({
          kind: 'other-failure',
          explanation: expect.stringContaining(
            `with reason ${code}: not an Amazon ECR repository-policy matter (look at `
          ) as string,
        });
      }
    }
  );

  it.each(failureCodes)('reads a failed last update with %s the same way', (code) => {
    const health = assessFunctionState({
      ...active,
      lastUpdateStatus: 'Failed',
      lastUpdateStatusReasonCode: code,
      lastUpdateStatusReason: 'x'.repeat(300),
    });

    expect(health.kind).toBe('other-failure');
    expect(health).toEqual({
      kind: 'other-failure',
      explanation: expect.stringContaining(
        `The function's last update is Failed with reason ${code}: "${'x'.repeat(197)}...": not`
      ) as string,
    });
  });

  it.each(EXPECTED_NORMAL)('reads state reason %s as normal life', (code) => {
    for (const state of ['Active', 'Pending', 'Inactive', 'ActiveNonInvocable']) {
      expect(assessFunctionState({ ...active, state, stateReasonCode: code }).kind).toBe('healthy');
    }
  });

  it('says when Lambda pulls the image next', () => {
    expect(assessFunctionState({ ...active, state: 'Inactive', stateReasonCode: 'Idle' })).toEqual({
      kind: 'healthy',
      note: 'The function is Inactive (idle): Lambda pulls its image again at the next invocation.',
    });
    expect(
      assessFunctionState({ ...active, state: 'Pending', stateReasonCode: 'Creating' })
    ).toEqual({
      kind: 'healthy',
      note: 'The function is Pending: Lambda is pulling its image now.',
    });
    expect(assessFunctionState({ ...active, lastUpdateStatus: 'InProgress' })).toEqual({
      kind: 'healthy',
      note: 'An update of the function is in progress: Lambda is pulling its image now.',
    });
    for (const state of ['Deactivating', 'Deactivated', 'ActiveNonInvocable']) {
      expect(assessFunctionState({ ...active, state })).toEqual({ kind: 'healthy', note: null });
    }
  });

  it('treats a function being deleted apart', () => {
    expect(assessFunctionState({ ...active, state: 'Deleting' })).toEqual({
      kind: 'deleting',
      explanation: 'Lambda is deleting the function.',
    });
  });

  it('treats Failed without a code, and unknown codes, as failures it cannot explain', () => {
    expect(assessFunctionState({ ...active, state: 'Failed' })).toEqual({
      kind: 'other-failure',
      explanation:
        "The function's state is Failed: not an Amazon ECR repository-policy matter (Lambda gives no reason code).",
    });
    expect(
      assessFunctionState({ ...active, lastUpdateStatus: 'Failed', lastUpdateStatusReason: '' })
    ).toEqual({
      kind: 'other-failure',
      explanation:
        "The function's last update is Failed: not an Amazon ECR repository-policy matter (Lambda gives no reason code).",
    });
    expect(
      assessFunctionState({ ...active, state: null, stateReasonCode: 'SomethingNew' })
    ).toEqual({
      kind: 'other-failure',
      explanation:
        "The function's state is unknown with reason SomethingNew: not an Amazon ECR repository-policy matter (a reason code lambda-ecr-autofix does not know).",
    });
    expect(
      assessFunctionState({ ...active, state: null, stateReasonCode: 'ImageDeleted' })
    ).toEqual(
      expect.objectContaining({
        explanation: expect.stringContaining('is unknown with') as string,
      })
    );
  });

  it('prefers the image failure of the state over anything the last update says', () => {
    expect(
      assessFunctionState({
        ...active,
        state: 'Inactive',
        stateReasonCode: 'ImageDeleted',
        lastUpdateStatus: 'Failed',
        lastUpdateStatusReasonCode: 'EniLimitExceeded',
      })
    ).toEqual(expect.objectContaining({ reason: 'image-deleted' }));
    expect(
      assessFunctionState({
        ...active,
        state: 'Failed',
        stateReasonCode: 'EniLimitExceeded',
        lastUpdateStatus: 'Failed',
        lastUpdateStatusReasonCode: 'ImageAccessDenied',
      })
    ).toEqual(expect.objectContaining({ reason: 'image-access-denied' }));
  });
});
