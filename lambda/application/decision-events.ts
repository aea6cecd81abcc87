/**
 * Publishing decision events (DESIGN.md, "After the fix: decision events") next to the notices.
 *
 * A failed PutEvents never fails the event, nor is it retried by redelivering the message: the decision is already
 * recorded in the audit table and told by the notice (the primary channel); redelivering would repeat the notices
 * of every decision that has no write behind it (a `needs-human` is notified again on each delivery). So the SDK
 * retries the call itself (standard retry mode, MAX_ATTEMPTS in aws-clients.ts), and what still fails is logged with
 * the decisions' details and counted (metric `DecisionEventsNotPut`, alarmed in the central stack): an operator can put
 * them again from the log or read them from `history`.
 */
import type { Config } from '../domain/config';
import type { DecisionEventDetail } from '../domain/decision-event';
import type { DecisionEvents } from './ports';

/** Where failed puts are reported (the handler: a log line and a metric; the CLI: a line on stderr). */
export interface DecisionEventsTelemetry {
  decisionEventsNotPut(report: {
    readonly count: number;
    readonly eventIds: readonly (string | null)[];
    readonly error: unknown;
  }): void;
}

export class DecisionEventPublisher {
  constructor(
    private readonly events: DecisionEvents | null,
    private readonly config: Pick<Config, 'decisionEvents' | 'notifyOn'>,
    private readonly telemetry: DecisionEventsTelemetry
  ) {}

  /** Whether an outcome is worth an event: `decisionEvents` on, a bus, and the outcome in `notifyOn`. */
  wanted(outcome: DecisionEventDetail['outcome']): boolean {
    return (
      this.events !== null && this.config.decisionEvents && this.config.notifyOn.includes(outcome)
    );
  }

  /** Puts the wanted ones; never throws (see above). */
  async publish(details: readonly DecisionEventDetail[]): Promise<void> {
    const wanted = details.filter((detail) => this.wanted(detail.outcome));
    if (wanted.length === 0 || this.events === null) return;
    try {
      await this.events.put(wanted);
    } catch (error) {
      this.telemetry.decisionEventsNotPut({
        count: wanted.length,
        eventIds: wanted.map((detail) => detail.eventId),
        error,
      });
    }
  }
}
