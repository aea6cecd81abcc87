import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import { decide } from '../../lambda/domain/decide';
import {
  SCAN_ERROR_MESSAGE,
  imageOf,
  scanCall,
  scanDeployEvent,
} from '../../lambda/domain/scan-call';
import { CONFIG, SCAN_CONTEXT, consentTags, makeFunction } from '../support/scan';

describe('scanCall and scanDeployEvent', () => {
  it('describe the same call: the event parses back to exactly the scan call', () => {
    const fn = makeFunction();

    const parsed = parseDeployEvent(scanDeployEvent(fn, SCAN_CONTEXT));

    expect(parsed).toEqual({ ok: true, call: scanCall(fn, SCAN_CONTEXT) });
  });

  it('ask the question of a deploy Lambda refused, in the function’s account and Region', () => {
    const call = scanCall(makeFunction(), SCAN_CONTEXT);

    expect(call).toEqual(
      expect.objectContaining({
        api: 'UpdateFunctionCode',
        consumerAccount: '222222222222',
        region: 'eu-west-1',
        errorCode: 'AccessDeniedException',
        errorMessage: SCAN_ERROR_MESSAGE,
        functionName: 'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker',
        requestImageUri:
          '111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:1.4.2',
        caller: { arn: null, type: null, principalArn: null, invokedBy: null },
        userAgent: 'lambda-ecr-autofix scan by arn:aws:iam::222222222222:user/alice',
      })
    );
    expect(call.eventId).toMatch(/^scan-20260101T000000Z-test-[0-9a-f]{8}$/);
  });

  it('give each function of a run its own event id, and each run new ones', () => {
    const a = scanCall(makeFunction({ functionName: 'a' }), SCAN_CONTEXT).eventId;
    const b = scanCall(makeFunction({ functionName: 'b' }), SCAN_CONTEXT).eventId;
    const again = scanCall(makeFunction({ functionName: 'a' }), { ...SCAN_CONTEXT, runId: 'r2' });

    expect(a).not.toBe(b);
    expect(again.eventId).toMatch(/^scan-r2-/);
    expect(scanCall(makeFunction({ functionName: 'a' }), SCAN_CONTEXT).eventId).toBe(a);
  });

  it('fall back to the pinned digest, and to no image at all', () => {
    const pinned = makeFunction({ imageUri: null });
    const none = makeFunction({ imageUri: null, resolvedImageUri: null });

    expect(imageOf(pinned)).toBe(pinned.resolvedImageUri);
    expect(parseDeployEvent(scanDeployEvent(none, SCAN_CONTEXT))).toEqual({
      ok: true,
      call: scanCall(none, SCAN_CONTEXT),
    });
    expect(scanCall(none, SCAN_CONTEXT).requestImageUri).toBeNull();
  });

  it('bound the user agent', () => {
    const call = scanCall(makeFunction(), { ...SCAN_CONTEXT, by: 'x'.repeat(1000) });

    expect(call.userAgent).toHaveLength(256);
  });

  it('lead the offline decision core to a fix for a repository without a policy', () => {
    const decision = decide(
      scanDeployEvent(makeFunction(), SCAN_CONTEXT),
      { policyText: null, tags: consentTags(makeFunction()) },
      CONFIG
    );

    expect(decision.outcome).toBe('fix');
    expect(decision.target?.functionArn).toBe(
      'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker'
    );
  });
});
