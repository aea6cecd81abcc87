/**
 * How long the central heartbeat alarm listens before it calls the member accounts' silence a failure, from the sweep
 * schedule they run (`sweepSchedule`).
 */
import { Duration } from 'aws-cdk-lib';

import { longestScheduleGapMinutes } from '../lambda/domain/schedule-interval';

/**
 * One hour: short enough that the alarm notices soon after its window, long enough for CloudWatch's seven-day limit
 * on an alarm's evaluation (periods of an hour or more; under an hour the limit is one day).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html (`Period`)
 */
export const HEARTBEAT_PERIOD = Duration.hours(1);

/** CloudWatch refuses an alarm whose period times evaluation periods exceeds seven days (periods of an hour or more). */
export const MAX_HEARTBEAT_WINDOW = Duration.days(7);

/** The most slack the window allows beyond the schedule's longest gap: a late or retried request, a lost datapoint. */
const MAX_SLACK_MINUTES = 24 * 60;

/** The alarm's window: `evaluationPeriods` periods of `period` without a single member sweep request. */
export interface HeartbeatWindow {
  readonly kind: 'window';
  /** The schedule's longest gap between two runs. */
  readonly scheduleGap: Duration;
  /** How long without a request before the alarm fires: `period` × `evaluationPeriods`. */
  readonly window: Duration;
  readonly period: Duration;
  readonly evaluationPeriods: number;
}

/** No alarm, and why (the synth warning says it). */
export interface NoHeartbeat {
  readonly kind: 'none';
  readonly reason: string;
}

/**
 * The window for a valid `sweepSchedule` other than `off`: the schedule's longest gap plus as much again, at most a
 * day (a daily schedule: two days; hourly: two hours; every three days: four days), in whole hours. One missed or late
 * run of every member account at once is tolerated; two are not. `none` when the gap cannot be told (a calendar-
 * dependent cron expression) or the window would exceed CloudWatch's seven days (e.g. a weekly schedule).
 */
export function forwardingHeartbeatWindow(schedule: string): HeartbeatWindow | NoHeartbeat {
  const gapMinutes = longestScheduleGapMinutes(schedule);
  if (gapMinutes === null) {
    return {
      kind: 'none',
      reason:
        `the time between two runs of sweepSchedule "${schedule}" depends on the calendar (a day of the month, ` +
        'L, W, #, given months or years), so no alarm can tell a missing run from a long gap',
    };
  }
  const periodMinutes = HEARTBEAT_PERIOD.toMinutes();
  const windowMinutes =
    Math.ceil((gapMinutes + Math.min(gapMinutes, MAX_SLACK_MINUTES)) / periodMinutes) *
    periodMinutes;
  if (windowMinutes > MAX_HEARTBEAT_WINDOW.toMinutes()) {
    return {
      kind: 'none',
      reason:
        `sweepSchedule "${schedule}" runs as rarely as every ${describeMinutes(gapMinutes)}, and the alarm would ` +
        `have to wait ${describeMinutes(windowMinutes)}, more than the 7 days CloudWatch allows an alarm to look back`,
    };
  }
  return {
    kind: 'window',
    scheduleGap: Duration.minutes(gapMinutes),
    window: Duration.minutes(windowMinutes),
    period: HEARTBEAT_PERIOD,
    evaluationPeriods: windowMinutes / periodMinutes,
  };
}

/** `2 days`, `36 hours`, `90 minutes`: the largest whole unit. */
export function describeMinutes(minutes: number): string {
  const [count, unit] =
    minutes % 1440 === 0
      ? [minutes / 1440, 'day']
      : minutes % 60 === 0
        ? [minutes / 60, 'hour']
        : [minutes, 'minute'];
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
