/**
 * Notices of revoke and drift decisions: which are worth sending (`notifyOn`), their text, and publishing them with
 * the message attributes subscription filter policies use (one consumer account per notice, so a team's filter on
 * `consumerAccount` receives its own).
 */
import type { Config } from '../domain/config';
import type { GrantDecision } from '../domain/grant-decision';
import { renderGrantNotification } from '../domain/grant-notification';
import type { RenderedNotification } from '../domain/notification';
import type { Notifier } from './ports';

export class GrantNotices {
  constructor(
    private readonly notifier: Notifier | null,
    private readonly config: Pick<Config, 'mode' | 'notifyOn'>
  ) {}

  wanted(decision: GrantDecision): boolean {
    return this.notifier !== null && this.config.notifyOn.includes(decision.outcome);
  }

  render(decision: GrantDecision, applied: boolean): RenderedNotification {
    return renderGrantNotification(decision, { mode: this.config.mode, applied });
  }

  /** Call only when `wanted(decision)`. Resolves to the message id. */
  publish(decision: GrantDecision, notice: RenderedNotification): Promise<string> {
    return (this.notifier as Notifier).publish({
      ...notice,
      attributes: {
        outcome: decision.outcome,
        reason: decision.reason,
        consumerAccount: decision.consumerAccount ?? 'unknown',
        repository: decision.repository.repositoryName,
      },
    });
  }
}
