import { Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget } from 'aws-cdk-lib/aws-events-targets';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

import { SWEEP_RULE_NAME } from '../sweep-request-pattern';

export interface SweepTriggerProps {
  /** EventBridge schedule expression, e.g. `rate(1 day)` (validated as `sweepSchedule`). */
  readonly schedule: string;
  /** The central bus. */
  readonly targetBus: IEventBus;
  /** A role EventBridge may assume to put events on `targetBus` (the event forwarder's). */
  readonly role: IRole;
}

/**
 * A scheduled rule on this account's default bus, named `lambda-ecr-autofix-sweep`, whose "Scheduled Event" asks the
 * central fixer to sweep this account and Region. It needs no permission of its own in the central account and gives
 * the central account none here: the event carries this account and Region in its envelope (set by EventBridge),
 * and the fixer sweeps exactly those, through the registry role.
 *
 * Scheduled rules are EventBridge's older scheduling feature (EventBridge Scheduler is the newer one); they are used
 * here because their events come from `aws.events`, a source no principal can put on a bus itself.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 *
 * @example
 * new SweepTrigger(this, 'Sweep', { schedule: 'rate(1 day)', targetBus, role });
 */
export class SweepTrigger extends Construct {
  /** The scheduled rule. */
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SweepTriggerProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Rule', {
      ruleName: SWEEP_RULE_NAME,
      description: 'lambda-ecr-autofix: asks the central fixer to sweep this account and Region',
      schedule: Schedule.expression(props.schedule),
      targets: [
        // No dead-letter queue: a request EventBridge cannot deliver within its retries (24 hours) is replaced by the
        // next scheduled one, and what would stop it (the central bus, the role) stops the forwarder too, whose
        // dead-letter queue has an alarm.
        new EventBusTarget(props.targetBus, { role: props.role }),
      ],
    });
  }
}
