/**
 * The drift guard's EventBridge pattern (DESIGN.md, "After the fix"): successful ECR calls that change or remove a
 * repository policy. Used by every member account's forwarding rule and by the central rules that route them to the
 * fixer's queue.
 */
import { Match, type EventPattern } from 'aws-cdk-lib/aws-events';

import { POLICY_CALL_NAMES } from '../lambda/domain/grant-decision';

/**
 * Matches `AWS API Call via CloudTrail` events from ECR for `SetRepositoryPolicy`, `DeleteRepositoryPolicy` and
 * `DeleteRepository` that succeeded (`errorCode` exists only on failed calls). ECR records them without a version
 * suffix, so the names match exactly. Like the failed-deploy events, they reach the default bus with an ordinary rule
 * as long as a CloudTrail trail logs the account and region.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/logging-using-cloudtrail.html
 */
export const POLICY_CHANGE_PATTERN: EventPattern = {
  source: ['aws.ecr'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['ecr.amazonaws.com'],
    eventName: [...POLICY_CALL_NAMES],
    errorCode: Match.doesNotExist(),
  },
};
