/**
 * How long a valid sweep schedule (`sweepSchedule`, already checked by `scheduleExpressionProblem`) can leave between
 * two of its runs: the central heartbeat alarm must wait at least that long before it calls silence a failure.
 * Grammar and time zone (cron expressions run in UTC): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */

const MINUTES_PER_UNIT: Readonly<Record<string, number>> = { minute: 1, hour: 60, day: 1440 };
const HOURS_PER_WEEK = 7 * 24;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

/**
 * The longest time, in minutes, between two consecutive runs of a valid schedule expression; `null` when it cannot be
 * told from the expression alone: a cron expression that does not repeat every week (a day of the month, `L`, `W`,
 * `#`, given months or years), whose gaps depend on the calendar.
 *
 * `rate(VALUE UNIT)` runs every VALUE UNITs. A weekly cron expression (every day, or given days of the week) runs at
 * the given hours of the given days, at one minute past the hour (the schedule check allows one value there), so its
 * longest gap is the longest one between those hours of the week, across the week's end.
 */
export function longestScheduleGapMinutes(expression: string): number | null {
  const rate = /^rate\(([1-9]\d*) (minute|hour|day)s?\)$/.exec(expression);
  if (rate !== null) return Number(rate[1]) * (MINUTES_PER_UNIT[rate[2] as string] as number);
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (cron === null) return null;
  const [, , hoursField, dayOfMonth, month, dayOfWeek, year] = cron as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (month !== '*' || year !== '*') return null;
  if (dayOfMonth !== '?' && dayOfMonth !== '*') return null;
  const hours = expandField(hoursField, 0, 23, (token) => token);
  const days =
    dayOfWeek === '?' || dayOfWeek === '*'
      ? [1, 2, 3, 4, 5, 6, 7]
      : expandField(dayOfWeek, 1, 7, dayNumber);
  if (hours === null || days === null) return null;
  const runs = days
    .flatMap((day) => hours.map((hour) => (day - 1) * 24 + hour))
    .sort((a, b) => a - b);
  let longest = (runs[0] as number) + HOURS_PER_WEEK - (runs[runs.length - 1] as number);
  for (let index = 1; index < runs.length; index += 1) {
    longest = Math.max(longest, (runs[index] as number) - (runs[index - 1] as number));
  }
  return longest * 60;
}

/**
 * The values a cron field lists, from `min` to `max`: `*`, `N`, `A-B`, `*\/S`, `A/S`, `A-B/S`, and comma-separated
 * lists of these; `null` for anything else (`L`, `W`, `#`, a value out of range, an empty list).
 */
function expandField(
  field: string,
  min: number,
  max: number,
  name: (token: string) => string
): number[] | null {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const match = /^(\*|(\w+)(?:-(\w+))?)(?:\/(\d+))?$/.exec(part);
    if (match === null) return null;
    const [, whole, first, last, step] = match;
    const start = whole === '*' ? min : Number(name(first as string));
    const end =
      whole === '*'
        ? max
        : last !== undefined
          ? Number(name(last))
          : step === undefined
            ? start
            : max;
    const by = step === undefined ? 1 : Number(step);
    if (![start, end].every((n) => Number.isInteger(n) && n >= min && n <= max)) return null;
    if (start > end || by < 1) return null;
    for (let value = start; value <= end; value += by) values.add(value);
  }
  return [...values];
}

/** A day of the week as EventBridge numbers it (1 = Sunday … 7 = Saturday), from its number or three-letter name. */
function dayNumber(token: string): string {
  const index = DAY_NAMES.indexOf(token.toUpperCase() as (typeof DAY_NAMES)[number]);
  return index === -1 ? token : String(index + 1);
}
