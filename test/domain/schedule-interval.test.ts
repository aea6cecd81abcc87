import fc from 'fast-check';

import { longestScheduleGapMinutes } from '../../lambda/domain/schedule-interval';
import { scheduleExpressionProblem } from '../../lambda/domain/schedule-expression';

const HOUR = 60;
const DAY = 24 * HOUR;

describe('longestScheduleGapMinutes', () => {
  it.each([
    ['rate(1 hour)', HOUR],
    ['rate(90 minutes)', 90],
    ['rate(12 hours)', 12 * HOUR],
    ['rate(1 day)', DAY],
    ['rate(3 days)', 3 * DAY],
    ['rate(7 days)', 7 * DAY],
  ])('a rate runs every interval: %s → %i minutes', (expression, minutes) => {
    expect(longestScheduleGapMinutes(expression)).toBe(minutes);
  });

  it.each([
    // Every day, once or several times.
    ['cron(0 3 * * ? *)', DAY],
    ['cron(30 3 ? * * *)', DAY],
    ['cron(0 */6 * * ? *)', 6 * HOUR],
    ['cron(0 0/8 * * ? *)', 8 * HOUR],
    ['cron(0 9-17 * * ? *)', 16 * HOUR], // 17:00 to 09:00 the next day
    ['cron(0 9-17/4 * * ? *)', 16 * HOUR], // 9, 13, 17
    ['cron(0 2,14 * * ? *)', 12 * HOUR],
    ['cron(0 1,4,22 * * ? *)', 18 * HOUR],
    ['cron(0 * * * ? *)', HOUR],
    // Given days of the week (1 = Sunday), by number or name, across the week's end.
    ['cron(0 3 ? * MON *)', 7 * DAY],
    ['cron(0 3 ? * mon,thu *)', 4 * DAY], // Thursday to Monday
    ['cron(0 3 ? * MON-FRI *)', 3 * DAY], // Friday to Monday
    ['cron(0 3 ? * 2-6 *)', 3 * DAY],
    ['cron(0 3 ? * 1,3,5,7 *)', 2 * DAY], // Sun, Tue, Thu, Sat: Saturday to Sunday is one day
    ['cron(0 6,18 ? * SAT,SUN *)', 5 * DAY + 12 * HOUR], // Sunday 18:00 to Saturday 06:00
  ])('a weekly cron expression: %s → %i minutes', (expression, minutes) => {
    expect(scheduleExpressionProblem(expression)).toBeNull();
    expect(longestScheduleGapMinutes(expression)).toBe(minutes);
  });

  it.each([
    'cron(0 4 L * ? *)', // last day of the month
    'cron(0 4 1 * ? *)', // a day of the month
    'cron(0 4 */2 * ? *)', // every other day of the month: the month's end breaks the rhythm
    'cron(59 23 15W * ? *)',
    'cron(0 5 ? JAN,JUL MON *)', // given months
    'cron(0 5 ? * MON 2027)', // a given year
    'cron(0 5 ? * 2#1 *)', // the first Monday of the month
    'cron(0 5 ? * 6L *)', // the last Friday of the month
  ])('cannot tell from the calendar-dependent %s', (expression) => {
    expect(longestScheduleGapMinutes(expression)).toBeNull();
  });

  it.each([
    'daily',
    'rate(2 weeks)',
    'cron(0 3 * * ?)',
    'cron(0 24 * * ? *)', // hour out of range
    'cron(0 5-3 * * ? *)', // range backwards
    'cron(0 3/0 * * ? *)', // step zero
    'cron(0 h * * ? *)',
    'cron(0 3 ? * FUNDAY *)',
    'cron(0 3 ? * 8 *)',
    'cron(0 3 ? * MON-BAD *)',
    'cron(0 3,,4 * * ? *)',
  ])('answers null for what is not a valid weekly schedule: %s', (expression) => {
    expect(longestScheduleGapMinutes(expression)).toBeNull();
  });

  it('never answers less than the time between two runs of a daily schedule at given hours', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1 }), (hours) => {
        const sorted = [...hours].sort((a, b) => a - b);
        const gaps = sorted.map((hour, i) =>
          i === 0
            ? hour + 24 - (sorted[sorted.length - 1] as number)
            : hour - (sorted[i - 1] as number)
        );
        expect(longestScheduleGapMinutes(`cron(0 ${hours.join(',')} * * ? *)`)).toBe(
          Math.max(...gaps) * HOUR
        );
      })
    );
  });
});
