/**
 * EventBridge schedule expressions for the sweep (`sweepSchedule`): `rate(VALUE UNIT)` or `cron(6 fields)`, checked
 * here so that a typo stops synth with a message instead of failing the CloudFormation deployment in every account.
 * Grammar: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */

/** What is wrong with an expression (a clause starting with "must", no trailing period), or null when it is fine. */
export function scheduleExpressionProblem(expression: string): string | null {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate !== null) return rateProblem(rate[1] as string);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron !== null) return cronProblem(cron[1] as string);
  return 'must be "off", "rate(VALUE UNIT)" such as "rate(1 day)", or "cron(MIN HOUR DAY MONTH WEEKDAY YEAR)"';
}

/**
 * A sweep reads every function of an account; more often than hourly it would overlap itself in large accounts and
 * cost calls for nothing (a broken function stays broken until someone acts).
 */
const MIN_RATE_MINUTES = 60;
const MINUTES_PER_UNIT: Readonly<Record<string, number>> = { minute: 1, hour: 60, day: 1440 };

function rateProblem(body: string): string | null {
  const match = /^([1-9]\d{0,5}) (minute|hour|day)(s?)$/.exec(body);
  if (match === null) {
    return 'must be rate(VALUE UNIT) with a positive whole number and minute(s), hour(s) or day(s), e.g. "rate(1 day)" or "rate(12 hours)"';
  }
  const [value, unit, plural] = match.slice(1) as [string, string, string];
  const count = Number(value);
  // EventBridge rejects "rate(1 days)" and "rate(2 day)".
  if ((count === 1) !== (plural === '')) {
    return `must use the singular unit for 1 and the plural otherwise (EventBridge rejects anything else): write "rate(${count} ${unit}${count === 1 ? '' : 's'})"`;
  }
  if (count * (MINUTES_PER_UNIT[unit] as number) < MIN_RATE_MINUTES) {
    return 'must not sweep more than once an hour: use "rate(1 hour)" or longer';
  }
  return null;
}

const CRON_FIELDS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'minutes', pattern: /^[\d,\-*/]+$/ },
  { name: 'hours', pattern: /^[\d,\-*/]+$/ },
  { name: 'day-of-month', pattern: /^([\d,\-*/LW]+|\?)$/ },
  { name: 'month', pattern: /^[\dA-Za-z,\-*/]+$/ },
  { name: 'day-of-week', pattern: /^([\dA-Za-z,\-*L#]+|\?)$/ },
  { name: 'year', pattern: /^[\d,\-*/]+$/ },
];

function cronProblem(body: string): string | null {
  const fields = body.split(' ');
  if (fields.length !== CRON_FIELDS.length || fields.some((field) => field === '')) {
    return 'must be cron(...) with six fields separated by single spaces (minutes hours day-of-month month day-of-week year), e.g. "cron(0 3 * * ? *)"';
  }
  for (const [index, field] of fields.entries()) {
    const { name, pattern } = CRON_FIELDS[index] as { name: string; pattern: RegExp };
    if (!pattern.test(field)) return `must have a valid ${name} field in cron(...), not "${field}"`;
  }
  const [, , dayOfMonth, , dayOfWeek] = fields as [string, string, string, string, string, string];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    return 'must have "?" in exactly one of day-of-month and day-of-week, e.g. "cron(0 3 * * ? *)"';
  }
  if (!/^[1-5]?\d$/.test(fields[0] as string)) {
    return 'must not sweep more than once an hour: give the minutes field one value from 0 to 59, e.g. "cron(0 3 * * ? *)"';
  }
  return null;
}
