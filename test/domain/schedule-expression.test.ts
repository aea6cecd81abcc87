import { scheduleExpressionProblem } from '../../lambda/domain/schedule-expression';

describe('scheduleExpressionProblem', () => {
  it.each([
    'rate(1 hour)',
    'rate(2 hours)',
    'rate(1 day)',
    'rate(7 days)',
    'rate(60 minutes)',
    'rate(90 minutes)',
    'cron(0 3 * * ? *)',
    'cron(15 */6 ? * MON-FRI *)',
    'cron(0 4 L * ? 2027)',
    'cron(0 5 ? JAN,JUL 2#1 *)',
    'cron(59 23 15W * ? *)',
  ])('accepts %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeNull();
  });

  it.each([
    ['daily', /^must be "off", "rate\(VALUE UNIT\)"/],
    ['rate(day)', /positive whole number/],
    ['rate(0 days)', /positive whole number/],
    ['rate(1.5 days)', /positive whole number/],
    ['rate(2 weeks)', /minute\(s\), hour\(s\) or day\(s\)/],
    ['rate(1 days)', /write "rate\(1 day\)"/],
    ['rate(2 hour)', /write "rate\(2 hours\)"/],
    ['rate(59 minutes)', /more than once an hour/],
    ['rate(1 minute)', /more than once an hour/],
    ['cron(0 3 * * ?)', /six fields/],
    ['cron(0  3 * * ? *)', /six fields/],
    ['cron(0 3 * * ? * *)', /six fields/],
    ['cron(0 3 * * * *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 3 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 3 x * ? *)', /valid day-of-month field in cron\(\.\.\.\), not "x"/],
    ['cron(0 3 * * ? y)', /valid year field/],
    ['cron(0 h * * ? *)', /valid hours field/],
    ['cron(a 3 * * ? *)', /valid minutes field/],
    ['cron(0 3 * ! ? *)', /valid month field/],
    ['cron(0 3 ? * $ *)', /valid day-of-week field/],
    ['cron(* 3 * * ? *)', /more than once an hour/],
    ['cron(0/30 3 * * ? *)', /more than once an hour/],
    ['cron(0,30 3 * * ? *)', /more than once an hour/],
    ['cron(60 3 * * ? *)', /more than once an hour/],
  ])('rejects %s', (expression, problem) => {
    expect(scheduleExpressionProblem(expression)).toMatch(problem);
  });
});
