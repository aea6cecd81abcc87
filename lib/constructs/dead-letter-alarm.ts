import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface DeadLetterAlarmProps {
  /** The dead-letter queue to watch. */
  readonly deadLetterQueue: IQueue;
  /** Name of the alarm: it is the subject of the alarm's e-mail, and rules may match it. */
  readonly alarmName: string;
  /** What waits in the queue and where the runbook is: the alarm's e-mail carries it. */
  readonly alarmDescription: string;
}

/**
 * An alarm when a dead-letter queue holds a message: one message visible at any time in 5 minutes (`Maximum`). A
 * message in a dead-letter queue is work that failed every retry and waits to be replayed, so one is enough. No data
 * (an empty queue sends no metric after a while) is not a breach.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 *
 * @example
 * new DeadLetterAlarm(this, 'DeadLetterAlarm', { deadLetterQueue, alarmName: 'x-dlq-not-empty', alarmDescription: '…' });
 */
export class DeadLetterAlarm extends Alarm {
  constructor(scope: Construct, id: string, props: DeadLetterAlarmProps) {
    super(scope, id, {
      alarmName: props.alarmName,
      alarmDescription: props.alarmDescription,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
