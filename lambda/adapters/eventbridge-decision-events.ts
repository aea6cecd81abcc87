/**
 * Decision events on the central bus over EventBridge `PutEvents` (at most 10 entries a call). PutEvents succeeds as a
 * call even when some entries fail: those are counted in `FailedEntryCount` with an error code each, and this adapter
 * turns any of them into a `DecisionEventsNotPutError`.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';

import type { DecisionEvents } from '../application/ports';
import type { DecisionEventDetail } from '../domain/decision-event';
import { DECISION_EVENT_DETAIL_TYPE, DECISION_EVENT_SOURCE } from '../domain/decision-event';

/** PutEvents takes at most 10 entries per call. */
export const PUT_EVENTS_ENTRIES = 10;

/** Some decision events were not put on the bus. */
export class DecisionEventsNotPutError extends Error {
  override readonly name = 'DecisionEventsNotPutError';

  constructor(
    readonly failed: number,
    readonly total: number,
    readonly codes: readonly string[]
  ) {
    super(
      `${failed} of ${total} decision events were not put on the central bus (${codes.join(', ') || 'no error code'}); ` +
        'the decisions are in the audit table (lambda-ecr-autofix history) and were notified as usual.'
    );
  }
}

export class EventBridgeDecisionEvents implements DecisionEvents {
  constructor(
    private readonly eventBridge: EventBridgeClient,
    /** The central bus: its ARN (or name, in the fixer's own account). */
    private readonly eventBus: string
  ) {}

  async put(details: readonly DecisionEventDetail[]): Promise<void> {
    let failed = 0;
    const codes = new Set<string>();
    for (let start = 0; start < details.length; start += PUT_EVENTS_ENTRIES) {
      const chunk = details.slice(start, start + PUT_EVENTS_ENTRIES);
      const output = await this.eventBridge.send(
        new PutEventsCommand({
          Entries: chunk.map((detail) => ({
            EventBusName: this.eventBus,
            Source: DECISION_EVENT_SOURCE,
            DetailType: DECISION_EVENT_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
            Resources: detail.repository === null ? [] : [detail.repository.arn],
          })),
        })
      );
      failed += output.FailedEntryCount ?? 0;
      for (const entry of output.Entries ?? []) {
        if (entry.ErrorCode !== undefined) codes.add(entry.ErrorCode);
      }
    }
    if (failed > 0) throw new DecisionEventsNotPutError(failed, details.length, [...codes]);
  }
}
