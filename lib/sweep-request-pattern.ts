/**
 * The EventBridge pattern of a sweep request: the "Scheduled Event" of the `lambda-ecr-autofix-sweep` rule that every
 * member account runs on its default bus and forwards to the central bus. The fixer checks the same facts again
 * (lambda/domain/sweep-request.ts): a rule ARN of the envelope's own account and Region.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
 */
import { Match, type EventPattern } from 'aws-cdk-lib/aws-events';

import { SWEEP_RULE_NAME } from '../lambda/domain/sweep-request';

export { SWEEP_RULE_NAME };

export const SWEEP_REQUEST_PATTERN: EventPattern = {
  source: ['aws.events'],
  detailType: ['Scheduled Event'],
  resources: Match.suffix(`:rule/${SWEEP_RULE_NAME}`),
};
