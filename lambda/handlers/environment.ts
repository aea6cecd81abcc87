/**
 * The Lambda's configuration, read and validated once per container from its environment variables (set by the
 * central stack). A bad value stops the container with a message that names the variable and the fix.
 */
import type { Config } from '../domain/config';
import { parseConfig } from '../domain/config';

export interface HandlerEnvironment {
  readonly config: Config;
  readonly region: string;
  readonly topicArn: string | null;
  readonly auditTableName: string | null;
  readonly fixerRoleArn: string;
  readonly fixerAccountId: string;
  /** The queue's maxReceiveCount: on that attempt a failure is final (the message goes to the DLQ). */
  readonly maxReceiveCount: number;
  readonly deadLetterQueue: string | null;
  /** The sweeper's topic that brings a sweep's continuation back to the sweep queue; null for the fixer. */
  readonly sweepContinuationTopicArn: string | null;
  /** The central bus for decision events (`DECISION_EVENT_BUS`); null: none. */
  readonly decisionEventBus: string | null;
}

export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

const ROLE_ARN = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]+$/;

export function readEnvironment(
  env: Readonly<Record<string, string | undefined>>
): HandlerEnvironment {
  const region = env['AWS_REGION'];
  if (region === undefined || region === '') {
    throw new EnvironmentError(
      'AWS_REGION is not set; the Lambda runtime sets it, set it when running locally.'
    );
  }
  let rawConfig: unknown = {};
  const configText = env['CONFIG'];
  if (configText !== undefined && configText !== '') {
    try {
      rawConfig = JSON.parse(configText) as unknown;
    } catch (error) {
      throw new EnvironmentError(
        `CONFIG must be the configuration as JSON (${(error as Error).message}); redeploy the central stack.`
      );
    }
  }
  const config = parseConfig(rawConfig, 'the CONFIG environment variable');
  const fixerRoleArn = env['FIXER_ROLE_ARN'] ?? '';
  const match = ROLE_ARN.exec(fixerRoleArn);
  if (match === null) {
    throw new EnvironmentError(
      `FIXER_ROLE_ARN must be the fixer's IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got "${fixerRoleArn}".`
    );
  }
  const maxReceiveCount = Number(env['MAX_RECEIVE_COUNT'] ?? '5');
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1) {
    throw new EnvironmentError(
      `MAX_RECEIVE_COUNT must be a positive whole number (the queue's maxReceiveCount), got "${env['MAX_RECEIVE_COUNT']}".`
    );
  }
  return {
    config,
    region,
    topicArn: nonEmpty(env['TOPIC_ARN']),
    auditTableName: nonEmpty(env['AUDIT_TABLE_NAME']),
    fixerRoleArn,
    fixerAccountId: match[1] as string,
    maxReceiveCount,
    deadLetterQueue: nonEmpty(env['DEAD_LETTER_QUEUE']),
    sweepContinuationTopicArn: nonEmpty(env['SWEEP_CONTINUATION_TOPIC_ARN']),
    decisionEventBus: nonEmpty(env['DECISION_EVENT_BUS']),
  };
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}
