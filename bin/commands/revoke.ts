/**
 * `revoke`: take one consumer (or one function of it) out of the fixer's statements of one repository, with the
 * fixer's own registry access, lease, read–write–verify loop and write-ahead audit (lambda/application/revoke.ts).
 */
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';

import { DecisionEventPublisher } from '../../lambda/application/decision-events';
import {
  RegistryRoleUnavailableError,
  RepositoryNotFoundError,
  messageOf,
} from '../../lambda/application/errors';
import { revokeConsumer, type RevokeResult } from '../../lambda/application/revoke';
import { createAwsClients, type AwsClients } from '../../lambda/adapters/aws-clients';
import { DynamoDbAuditLog } from '../../lambda/adapters/dynamodb-audit-log';
import { DynamoDbRepositoryLocks } from '../../lambda/adapters/dynamodb-repository-locks';
import { EventBridgeDecisionEvents } from '../../lambda/adapters/eventbridge-decision-events';
import { StsRegistryAccess } from '../../lambda/adapters/registry-access';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier';
import { systemClock } from '../../lambda/adapters/system-clock';
import type { RepositoryTarget } from '../../lambda/domain/grant-decision';
import { imageFromRepositoryArn } from '../../lambda/domain/repository-arn';
import { ApplyError } from './apply';
import { readConfig } from './inputs';
import { grantOutcomeJson, grantOutcomeText } from './output';
import {
  AUDIT_TABLE_ENV,
  auditTableOption,
  clientOptionsOf,
  validateAwsOptions,
} from './aws-options';
import { UsageError } from './usage-error';

export const REVOKE_HELP = `Usage: lambda-ecr-autofix revoke --repository ARN --consumer ACCOUNT [--function NAME]
                                [--audit-table NAME] [--topic-arn ARN] [--event-bus ARN] [--config FILE]
                                [--region R] [--endpoint-url URL] [--registry-profile NAME]
                                [--dry-run] [--json]

Takes one consumer account (or one of its functions) out of lambda-ecr-autofix's own statements
(LambdaEcrAutofixService, LambdaEcrAutofixAccounts) of one repository, and nothing else: re-reads and
verifies like a fix, records the revoke in the audit table before writing, and sends a REVOKED notice.

Options:
  --repository ARN       the repository: arn:aws:ecr:REGION:ACCOUNT:repository/NAME
  --consumer ACCOUNT     the consumer account to take out (its aws:SourceArn patterns and account root)
  --function NAME        only this function's patterns (grants made with grantScope "function"); the
                         account root goes too when no pattern of the account is left
  --audit-table NAME     the audit table (the central stack's AuditTableName output; default
                         $${AUDIT_TABLE_ENV}). Required unless --dry-run: without the record, the drift guard
                         would take the removal for drift
  --topic-arn ARN        SNS topic for the REVOKED notice (checked before anything is written)
  --event-bus ARN        the central bus, for the decision event (decisionEvents in --config)
  --config FILE          configuration JSON (organizationId, notifyOn, decisionEvents, ...)
  --region R             the central region (audit table, topic, bus); default AWS_REGION, else the
                         repository's region
  --endpoint-url URL     send every AWS call to URL (e.g. http://127.0.0.1:5000 for moto_server)
  --registry-profile NAME  credentials of the registry account (an AWS profile) for the ECR calls; the
                         audit table, topic and bus keep the default credentials
  --dry-run              show the change, write nothing (no record, no notice)
  --json                 print one JSON object: outcome, reason, explanation, repository, consumer,
                         removed, policyBefore, policyAfter, applied, messageId, notification
  -h, --help             show this help

Credentials: ECR is called with your own credentials when they belong to the registry account (or with
--registry-profile); otherwise revoke tries the registry role, which trusts only the fixer role, so
run it as the repository owner. Exit status: 0 for any decision; 1 when AWS calls failed; 2 for usage
errors; 3 when the policy was written and verified but the notice could not be sent (run the same
command again to send it).`;

export interface RevokeOptions {
  readonly repository: string;
  readonly consumer: string;
  readonly function?: string | undefined;
  readonly auditTable?: string | undefined;
  readonly topicArn?: string | undefined;
  readonly eventBus?: string | undefined;
  readonly config?: string | undefined;
  readonly region?: string | undefined;
  readonly endpointUrl?: string | undefined;
  readonly registryProfile?: string | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
}

const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const EVENT_BUS_ARN = /^arn:aws(-cn|-us-gov)?:events:[a-z0-9-]+:\d{12}:event-bus\/[\w.\-/]{1,256}$/;

export async function runRevoke(
  options: RevokeOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  note: (text: string) => void = () => undefined,
  /** Clients to use instead of new ones (tests wrap them to inject faults). */
  givenClients?: AwsClients
): Promise<string> {
  const config = readConfig(options.config);
  const repository = repositoryOf(options.repository);
  if (!/^\d{12}$/.test(options.consumer)) {
    throw new UsageError(`--consumer must be a 12-digit account id, got "${options.consumer}"`);
  }
  if (options.function !== undefined && !FUNCTION_NAME.test(options.function)) {
    throw new UsageError(
      `--function must be a Lambda function name (1-64 of A-Z a-z 0-9 - _), got "${options.function}"`
    );
  }
  if (options.eventBus !== undefined && !EVENT_BUS_ARN.test(options.eventBus)) {
    throw new UsageError(
      `--event-bus must be an EventBridge event bus ARN, got "${options.eventBus}"`
    );
  }
  const auditTable = auditTableOption(options.auditTable, env);
  if (auditTable === undefined && !options.dryRun) {
    throw new UsageError(
      `--audit-table NAME is required (or $${AUDIT_TABLE_ENV}): the revoke is recorded before it is written, so that the drift guard does not take it for drift; use --dry-run to only see the change`
    );
  }
  validateAwsOptions(options);
  const region =
    options.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? repository.region;
  const clientOptions = clientOptionsOf({ ...options, region }, env);
  const clients = givenClients ?? createAwsClients(clientOptions);

  let caller: { account: string; arn: string | null };
  try {
    const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
    caller = { account: identity.Account ?? '', arn: identity.Arn ?? null };
  } catch (error) {
    throw new ApplyError(
      `cannot determine the AWS account of the credentials: ${(error as Error).message}`,
      { cause: error }
    );
  }
  if (options.topicArn !== undefined && !options.dryRun) {
    try {
      await new SnsNotifier(options.topicArn, clients.sns).check();
    } catch (error) {
      throw new ApplyError(`${(error as Error).message}; nothing was changed`, { cause: error });
    }
  }
  const profile = options.registryProfile;
  const registry = new StsRegistryAccess({
    // With a registry profile, the registry account is reached with those credentials, never through the role.
    fixerAccountId: profile === undefined ? caller.account : repository.registryAccount,
    registryRoleName: config.registryRoleName,
    stsClient: clients.sts,
    createEcrClient: (ecrRegion, credentials) =>
      profile === undefined || credentials !== undefined
        ? clients.createEcrClient(ecrRegion, credentials)
        : new ECRClient({ ...clients.configFor(ecrRegion), credentials: undefined, profile }),
    clock: systemClock,
  });
  const audit =
    auditTable === undefined ? null : new DynamoDbAuditLog(clients.dynamodb, auditTable);
  const locks =
    auditTable === undefined
      ? null
      : new DynamoDbRepositoryLocks(clients.dynamodb, auditTable, systemClock);
  const decisionEvents =
    options.eventBus === undefined
      ? null
      : new DecisionEventPublisher(
          new EventBridgeDecisionEvents(clients.eventBridge, options.eventBus),
          config,
          {
            decisionEventsNotPut: (report) =>
              note(
                `warning: ${report.count} decision event(s) not put on the bus: ${String(report.error)}`
              ),
          }
        );

  let result: RevokeResult;
  try {
    result = await revokeConsumer(
      {
        config,
        registry,
        audit,
        locks,
        notifier:
          options.topicArn === undefined ? null : new SnsNotifier(options.topicArn, clients.sns),
        decisionEvents,
        clock: systemClock,
      },
      {
        repository,
        consumerAccount: options.consumer,
        functionName: options.function ?? null,
        requestedBy: caller.arn,
        dryRun: options.dryRun,
      }
    );
  } catch (error) {
    if (error instanceof RegistryRoleUnavailableError) {
      throw new ApplyError(
        `cannot reach registry account ${repository.registryAccount} from your credentials (account ${caller.account}): ` +
          `the registry role ${error.roleArn} trusts only the lambda-ecr-autofix fixer role. Keep your credentials ` +
          `(the audit table and the topic are reached with them) and add --registry-profile <a profile of account ${repository.registryAccount}> ` +
          'for the ECR calls. Nothing was changed.',
        { cause: error }
      );
    }
    if (error instanceof ResourceNotFoundException && auditTable !== undefined) {
      // The unfinished-revoke lookup and the intent come before any ECR write.
      throw new ApplyError(
        `audit table ${auditTable} not found in ${region} (${error.message}): give --region the central stack's ` +
          "Region (the table's) and --audit-table its AuditTableName output; nothing was changed",
        { cause: error }
      );
    }
    if (error instanceof RepositoryNotFoundError) {
      // The fix pipeline's message for this error is about a deploy ("push the image first"); here it means the grant
      // went with the repository.
      throw new ApplyError(
        `repository ${repository.repositoryName} does not exist in registry ${repository.registryAccount} ` +
          `(${repository.region}), so there is nothing to revoke: its policy went with it. Check --repository. ` +
          'Nothing was changed.',
        { cause: error }
      );
    }
    throw new ApplyError((error as Error).message, { cause: error });
  }
  if (result.noticeError !== null) {
    throw new ApplyError(
      `revoked and verified; notice not sent: ${messageOf(result.noticeError)} (run the same command again to send it; nothing will be written again)`,
      { cause: result.noticeError, exitCode: 3 }
    );
  }
  return options.json
    ? JSON.stringify({ ...grantOutcomeJson(result), unverified: result.unverified }, null, 2)
    : [
        grantOutcomeText(result),
        `Applied:     ${appliedText(result, options.dryRun)}`,
        `Published:   ${result.notificationId === null ? `no (${whyNot(result, options)})` : `yes, message ${result.notificationId}`}`,
      ].join('\n');
}

function repositoryOf(arn: string): RepositoryTarget {
  const parsed = imageFromRepositoryArn(arn);
  if (!parsed.ok) {
    throw new UsageError(
      `--repository must be an ECR repository ARN (arn:aws:ecr:REGION:ACCOUNT:repository/NAME): ${parsed.problem}`
    );
  }
  const { partition, region, registryAccount, repositoryName } = parsed.image;
  return { partition, region, registryAccount, repositoryName, repositoryArn: arn };
}

function appliedText(result: RevokeResult, dryRun: boolean): string {
  if (result.replayed)
    return 'yes, by an earlier run (its audit record completed now; nothing written now)';
  if (result.applied) return 'yes, written and verified';
  if (dryRun && result.decision.reason === 'consumer-revoked') return 'no (dry-run)';
  return 'no';
}

function whyNot(result: RevokeResult, options: RevokeOptions): string {
  if (options.dryRun) return 'dry-run';
  if (options.topicArn === undefined) return 'no --topic-arn given';
  if (!result.applied) return 'nothing was changed';
  return 'notifyOn leaves out "revoke"';
}
