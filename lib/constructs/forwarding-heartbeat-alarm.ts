import { Fn, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IRule } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';

import type { HeartbeatWindow } from '../forwarding-heartbeat-window';

export interface ForwardingHeartbeatAlarmProps {
  /** The rule on the central bus that matches the member accounts' sweep requests (and nothing of this account). */
  readonly rule: IRule;
  /** Name of the central bus the rule is on (a plain string: it is a dimension of the metric). */
  readonly eventBusName: string;
  /** How long without a request before the alarm fires (`forwardingHeartbeatWindow`). */
  readonly window: HeartbeatWindow;
  /** What the on-call engineer should check: the alarm's e-mail carries it. */
  readonly alarmDescription: string;
}

/**
 * The heartbeat of the forwarding path, in the central account: every member account and region sends a sweep
 * request through the central bus on `sweepSchedule`, along the same path (rule, role, bus policy) as its failed
 * deploys. When none arrives for the window, that path is broken for the whole organization (a changed
 * `organizationId` or bus policy, member stacks sent to another central account or region, an SCP on
 * `events:PutEvents`), the very failures whose member alarms cannot reach anyone, because their notices take the
 * broken path too.
 *
 * The metric is EventBridge's `MatchedEvents` of that rule (dimensions `EventBusName` and `RuleName`: a rule on a
 * custom bus). It counts the requests the bus received and matched, whether or not the sweep queue then took them
 * (the sweep dead-letter queue's alarm covers that), and needs nothing of the member accounts. Not `Invocations`,
 * which counts deliveries to the target, nor the sweep queue's `NumberOfMessagesSent`, which also counts the central
 * account's own scheduled requests and the sweeper's continuations, so it never falls silent.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
 *
 * EventBridge sends no datapoint for an hour without a match, so "nothing arrived" is missing data, and how CloudWatch
 * treats it decides the alarm. With `breaching`, a new alarm, which has no data at all, goes to ALARM at its first
 * evaluation: every installation would e-mail a false alarm before the member accounts' first sweep (a day after
 * their stacks exist). With `missing` (this alarm), an alarm whose whole evaluation range has no data goes to
 * INSUFFICIENT_DATA, and one with some good datapoints in that range stays OK; actions run only when the state
 * changes. So a new alarm waits in INSUFFICIENT_DATA, turns OK with the first requests, and turns INSUFFICIENT_DATA
 * again (notifying: the INSUFFICIENT_DATA action) once no request has arrived for the window and the rest of the
 * range CloudWatch reads. Should EventBridge send zeros instead, `window` zero-datapoints in a row breach the
 * threshold and the ALARM action notifies: the same condition.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html ("Alarms invoke actions for
 * sustained state changes only")
 *
 * What it cannot see: a path broken before the alarm ever heard a request (it never leaves INSUFFICIENT_DATA): a new
 * installation with a wrong `organizationId`, or a central stack moved to another region (a new alarm there) whose
 * member stacks still send to the old one; the deployment pre-checks and a look at the alarm after the rollout cover
 * those. And one account or Region that stops alone (the others keep the heartbeat).
 *
 * @example
 * new ForwardingHeartbeatAlarm(this, 'ForwardingHeartbeat', { rule, eventBusName: 'lambda-ecr-autofix',
 *   window: forwardingHeartbeatWindow('rate(1 day)') as HeartbeatWindow, alarmDescription: '…' });
 */
export class ForwardingHeartbeatAlarm extends Alarm {
  constructor(scope: Construct, id: string, props: ForwardingHeartbeatAlarmProps) {
    const { window } = props;
    super(scope, id, {
      alarmName: `${Stack.of(scope).stackName}-forwarding-heartbeat-lost`,
      alarmDescription: props.alarmDescription,
      metric: new Metric({
        namespace: 'AWS/Events',
        metricName: 'MatchedEvents',
        dimensionsMap: {
          EventBusName: props.eventBusName,
          RuleName: ruleNameOnBus(props.rule),
        },
        statistic: 'Sum',
        period: window.period,
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: window.evaluationPeriods,
      datapointsToAlarm: window.evaluationPeriods,
      treatMissingData: TreatMissingData.MISSING,
    });
  }
}

/**
 * The rule's name, from its ARN (`arn:PARTITION:events:REGION:ACCOUNT:rule/BUS/RULE`): the part after the bus name,
 * which has no `/` (only partner event buses have one, and the CDK refuses it in a bus name of its own). The ARN's
 * form is documented; what `Ref` returns for a rule on a custom bus is not.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html#amazoneventbridge-resources-for-iam-policies
 */
function ruleNameOnBus(rule: IRule): string {
  return Fn.select(2, Fn.split('/', rule.ruleArn));
}
