/**
 * Which decisions are worth a notice (`notifyOn`), their text, and publishing them with the message attributes that
 * subscription filter policies use.
 */
import type { Config } from '../domain/config';
import type { Decision } from '../domain/decision';
import { renderNotification, type RenderedNotification } from '../domain/notification';
import type { UndoContext } from '../domain/undo-instructions';
import type { Notifier } from './ports';

export class Notices {
  constructor(
    private readonly notifier: Notifier | null,
    private readonly config: Pick<Config, 'mode' | 'notifyOn'>,
    /** What the FIXED notices' `revoke` command names (the audit table, the central region). */
    private readonly undo: UndoContext = {}
  ) {}

  /** Whether a notice is sent for this outcome at all (a notifier, and the outcome listed in `notifyOn`). */
  wanted(decision: Decision): boolean {
    return this.notifier !== null && this.config.notifyOn.includes(decision.outcome);
  }

  /** The notice's text. `applied`: the fix is in the policy (FIXED), else proposed or not applied. */
  render(
    decision: Decision,
    applied: boolean,
    tags: Readonly<Record<string, string>> | undefined
  ): RenderedNotification {
    return renderNotification(decision, {
      mode: this.config.mode,
      applied,
      undo: this.undo,
      ...(tags === undefined ? {} : { repositoryTags: tags }),
    });
  }

  /** Publishes `notice` for `decision`; resolves to the message id. Call only when `wanted(decision)`. */
  publish(decision: Decision, notice: RenderedNotification): Promise<string> {
    const notifier = this.notifier as Notifier;
    return notifier.publish({
      ...notice,
      attributes: {
        outcome: decision.outcome,
        reason: decision.reason,
        consumerAccount: decision.call?.consumerAccount ?? 'unknown',
        repository: decision.target?.repositoryName ?? 'unknown',
      },
    });
  }
}
