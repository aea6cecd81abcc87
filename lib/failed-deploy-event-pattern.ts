/**
 * The one EventBridge pattern of the product, used by the central rules and by every member account's forwarding
 * rule: CloudTrail records of failed Lambda `CreateFunction*` / `UpdateFunctionCode*` calls.
 */
import { Match, type EventPattern } from 'aws-cdk-lib/aws-events';

/**
 * Matches `AWS API Call via CloudTrail` events from Lambda whose call failed.
 *
 * - CloudTrail names the calls with an API version suffix (`CreateFunction20150331`,
 *   `UpdateFunctionCode20150331v2`), hence `prefix`. A prefix also lets `CreateFunctionUrlConfig*` through; that is
 *   deliberate and cheap: the handler classifies every event and answers `ignored` (`not-a-lambda-deploy`) for it.
 * - `errorCode` exists only on failed calls.
 * - No `packageType` filter: UpdateFunctionCode requests carry none, and zip failures are cheap to ignore.
 *
 * Write events such as these reach the default bus with an ordinary rule (no
 * `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`), as long as a CloudTrail trail logs the account and region.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html
 */
export const FAILED_IMAGE_DEPLOY_PATTERN: EventPattern = {
  source: ['aws.lambda'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['lambda.amazonaws.com'],
    eventName: Match.anyOf(Match.prefix('CreateFunction'), Match.prefix('UpdateFunctionCode')),
    errorCode: Match.exists(),
  },
};
