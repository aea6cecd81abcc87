import {
  Aws,
  CfnCondition,
  CfnResource,
  Fn,
  Token,
  type ICfnConditionExpression,
} from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnWaitConditionHandle } from 'aws-cdk-lib/aws-cloudformation';
import { EventBus, type Rule } from 'aws-cdk-lib/aws-events';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';

import { parseConfig } from '../lambda/domain/config';
import { ConfigError } from '../lambda/domain/config-error';
import { EventForwarder } from './constructs/event-forwarder';
import { RegistryAccessRole } from './constructs/registry-access-role';
import { SweepTrigger } from './constructs/sweep-trigger';
import { FAILED_IMAGE_DEPLOY_PATTERN } from './failed-deploy-event-pattern';
import { POLICY_CHANGE_PATTERN } from './policy-change-event-pattern';
import {
  CENTRAL_BUS_NAME,
  FIXER_ROLE_NAME,
  MEMBER_FORWARDING_ALARM_NAME,
  validateNames,
} from './names';

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * What a member account must know of the central installation besides its account and region. A `LambdaEcrAutofix`
 * with `organizationId` offers exactly this as `memberSettings`.
 */
export interface LambdaEcrAutofixMemberSettings {
  /** The AWS Organizations id (`o-…`): the registry role trusts the fixer only from inside it. */
  readonly organizationId: string;
  /**
   * Name of the registry role, which the fixer assumes (the central installation's `registryRoleName`).
   * @default 'LambdaEcrAutofixRegistryAccess'
   */
  readonly registryRoleName?: string;
  /**
   * Repositories with this tag (`key=value`, or `key` for any value) are never patched: the registry role denies
   * `ecr:SetRepositoryPolicy` on them.
   * @default 'lambda-ecr-autofix=off'
   */
  readonly optOutTag?: string;
  /**
   * `dry-run` gives the registry role no `ecr:SetRepositoryPolicy`.
   * @default 'enforce'
   */
  readonly mode?: 'enforce' | 'dry-run';
  /**
   * Name of the central event bus (the central installation's `eventBusName`).
   * @default 'lambda-ecr-autofix'
   */
  readonly eventBusName?: string;
  /**
   * Name of the fixer's role in the central account, which the registry role trusts (the central installation's
   * `fixerRoleName`).
   * @default 'LambdaEcrAutofixFixer'
   */
  readonly fixerRoleName?: string;
  /**
   * How often this account and region ask the central fixer for a sweep (an EventBridge schedule expression), or
   * `off`: the central installation's `sweepSchedule`. With sweeps, the registry role may also `lambda:ListFunctions`.
   * @default 'rate(1 day)'
   */
  readonly sweepSchedule?: string;
  /**
   * The central installation's `driftAction`: with `off`, this account does not forward repository-policy changes
   * (successful ECR `SetRepositoryPolicy`, `DeleteRepositoryPolicy`, `DeleteRepository`) for the drift guard.
   * @default 'notify'
   */
  readonly driftAction?: 'notify' | 'restore' | 'off';
}

/** Properties of `LambdaEcrAutofixMember`. */
export interface LambdaEcrAutofixMemberProps extends LambdaEcrAutofixMemberSettings {
  /** Account id of the central installation (12 digits, or a token such as a parameter). */
  readonly centralAccountId: string;
  /** Region of the central installation (e.g. `eu-west-1`, or a token). */
  readonly centralRegion: string;
  /**
   * The one region per account in which to create the (account-global) registry role. Deploy this construct in that
   * region of every account, and in the others only for the forwarding.
   * @default - the role is created wherever this construct is deployed: deploy it with the role in one region per
   * account only
   */
  readonly registryRoleRegion?: string;
}

/**
 * What a member account needs, in every region to cover, for teams that deploy member accounts with their own
 * pipelines (the central construct's `memberDeployment` does it with a StackSet):
 *
 * - a rule on the default bus forwarding failed Lambda image deploys to the central bus (with its role and
 *   dead-letter queue), and an alarm when that queue holds an event, whose state changes go to the central bus too
 *   (the central installation e-mails them); except in the central account's own region, which the central
 *   installation watches directly (CloudFormation condition `ForwardEvents`);
 * - with `sweepSchedule`, a scheduled rule (in the same places as the forwarder) that asks the central fixer to sweep
 *   this account and region for functions that can no longer pull their image;
 * - once per account (in `registryRoleRegion`), the registry role the fixer assumes, except in the central account,
 *   where the fixer acts with its own role (condition `CreateRegistryRole`). It trusts the fixer role by ARN, so
 *   the central installation must be deployed first.
 *
 * The conditions are decided at deploy time, so one template serves every account and region. A no-op
 * `AWS::CloudFormation::WaitConditionHandle` keeps a stack valid where both conditions are false. The construct holds
 * no assets: its stack needs no CDK bootstrap if its synthesizer asks for none (`LambdaEcrAutofixMemberStack`).
 *
 * @example
 * new LambdaEcrAutofixMember(this, 'LambdaEcrAutofix', {
 *   centralAccountId: '111111111111',
 *   centralRegion: 'eu-west-1',
 *   organizationId: 'o-a1b2c3d4e5',
 *   registryRoleRegion: 'eu-west-1',
 * });
 */
export class LambdaEcrAutofixMember extends Construct {
  /** True except in the central account's own region: whether the forwarder exists. */
  public readonly forwardEvents: CfnCondition;
  /** True in `registryRoleRegion` of every account but the central one: whether the registry role exists. */
  public readonly createRegistryRole: CfnCondition;
  /** The rule on the default bus that forwards failed deploys to the central bus. */
  public readonly forwardingRule: Rule;
  /** The role EventBridge assumes to put events on the central bus. */
  public readonly forwardingRole: Role;
  /** Events that could not be forwarded (kept 14 days). */
  public readonly forwardingDeadLetterQueue: Queue;
  /** Fires when an event waits in `forwardingDeadLetterQueue`; its state changes are forwarded to the central bus. */
  public readonly forwardingAlarm: Alarm;
  /** The registry role the fixer assumes. */
  public readonly registryRole: Role;
  /** The rule that forwards repository-policy changes (the drift guard); absent with `driftAction: 'off'`. */
  public readonly policyChangeRule?: Rule;
  /** The scheduled rule that asks the central fixer to sweep this account and region; absent with sweeps off. */
  public readonly sweepRule?: Rule;

  constructor(scope: Construct, id: string, props: LambdaEcrAutofixMemberProps) {
    super(scope, id);
    const source = `LambdaEcrAutofixMember "${this.node.path}"`;
    const { organizationId, registryRoleName, optOutTag, mode, sweepSchedule, driftAction } = props;
    const eventBusName = props.eventBusName ?? CENTRAL_BUS_NAME;
    const fixerRoleName = props.fixerRoleName ?? FIXER_ROLE_NAME;
    if ((organizationId as string | undefined) === undefined) {
      throw new ConfigError(source, [
        '"organizationId" is required for member accounts (got nothing): set it to your AWS Organizations id, ' +
          'e.g. "o-a1b2c3d4e5" (aws organizations describe-organization)',
      ]);
    }
    // The same keys, validated by the same schema as the central configuration: the same messages.
    const config = parseConfig(
      { organizationId, registryRoleName, optOutTag, mode, sweepSchedule, driftAction },
      source
    );
    validateNames({ eventBusName, fixerRoleName }, source);
    validatePlace(props, source);

    const { centralAccountId, centralRegion } = props;
    const inCentralAccount = Fn.conditionEquals(Aws.ACCOUNT_ID, centralAccountId);
    this.forwardEvents = new CfnCondition(this, 'ForwardEvents', {
      // The central installation's own rule covers its account and region; forwarding too would deliver every event
      // twice.
      expression: Fn.conditionNot(
        Fn.conditionAnd(inCentralAccount, Fn.conditionEquals(Aws.REGION, centralRegion))
      ),
    });
    this.createRegistryRole = new CfnCondition(this, 'CreateRegistryRole', {
      // IAM is global: one role per account. The fixer reaches its own account's repositories with its own role.
      expression: withRegistryRoleRegion(
        Fn.conditionNot(inCentralAccount),
        props.registryRoleRegion
      ),
    });

    const centralBus = EventBus.fromEventBusArn(
      this,
      'CentralBus',
      `arn:${Aws.PARTITION}:events:${centralRegion}:${centralAccountId}:event-bus/${eventBusName}`
    );
    const forwarder = new EventForwarder(this, 'Forwarder', {
      targetBus: centralBus,
      eventPattern: FAILED_IMAGE_DEPLOY_PATTERN,
      description:
        'lambda-ecr-autofix: forwards failed Lambda image deploys to the central account',
      alarmName: MEMBER_FORWARDING_ALARM_NAME,
      // The drift guard (DESIGN.md, "After the fix"): repository-policy changes, unless driftAction is "off".
      additionalRules:
        config.driftAction === 'off'
          ? []
          : [
              {
                id: 'PolicyChangeRule',
                eventPattern: POLICY_CHANGE_PATTERN,
                description:
                  'lambda-ecr-autofix: forwards successful ECR repository-policy changes (drift guard) to the central account',
              },
            ],
    });
    onlyIf(this.forwardEvents, forwarder);
    this.forwardingRule = forwarder.rule;
    this.policyChangeRule = forwarder.additionalRules[0];
    this.forwardingRole = forwarder.role;
    this.forwardingDeadLetterQueue = forwarder.deadLetterQueue;
    this.forwardingAlarm = forwarder.alarm as Alarm;
    if (config.sweepSchedule !== 'off') {
      // Same place as the forwarder, with its role; the central installation schedules its own region.
      const trigger = new SweepTrigger(this, 'Sweep', {
        schedule: config.sweepSchedule,
        targetBus: centralBus,
        role: forwarder.role,
      });
      onlyIf(this.forwardEvents, trigger);
      this.sweepRule = trigger.rule;
    }

    const registry = new RegistryAccessRole(this, 'RegistryRole', {
      roleName: config.registryRoleName,
      trustedRoleArn: `arn:${Aws.PARTITION}:iam::${centralAccountId}:role/${fixerRoleName}`,
      organizationId: config.organizationId,
      mode: config.mode,
      optOutTag: config.optOutTag,
      listFunctions: config.sweepSchedule !== 'off',
    });
    onlyIf(this.createRegistryRole, registry);
    this.registryRole = registry.role;

    // CloudFormation refuses a stack whose every resource is excluded by its condition, which is the case in the
    // central account's own region. This no-op resource keeps that stack valid.
    new CfnWaitConditionHandle(this, 'Placeholder');
  }
}

/**
 * `condition`, and in the registry role's region: any region when none is given (empty), decided at deploy time when
 * it is a parameter. (A comparison with a constant empty string would make CloudFormation warn that it is always true.)
 */
function withRegistryRoleRegion(
  condition: ICfnConditionExpression,
  registryRoleRegion: string | undefined
): ICfnConditionExpression {
  if (registryRoleRegion === undefined || registryRoleRegion === '') return condition;
  const thisRegion = Fn.conditionEquals(registryRoleRegion, Aws.REGION);
  return Fn.conditionAnd(
    condition,
    Token.isUnresolved(registryRoleRegion)
      ? Fn.conditionOr(Fn.conditionEquals(registryRoleRegion, ''), thisRegion)
      : thisRegion
  );
}

/** The central account and region, and the registry role's region, as far as they are known at synth time. */
function validatePlace(props: LambdaEcrAutofixMemberProps, source: string): void {
  const problems: string[] = [];
  const known = (value: string) => !Token.isUnresolved(value);
  if (known(props.centralAccountId) && !ACCOUNT_ID.test(props.centralAccountId)) {
    problems.push(
      `"centralAccountId" must be a 12-digit AWS account id (got ${JSON.stringify(props.centralAccountId)})`
    );
  }
  for (const key of ['centralRegion', 'registryRoleRegion'] as const) {
    const value = props[key];
    if (value !== undefined && value !== '' && known(value) && !REGION.test(value)) {
      problems.push(
        `"${key}" must be an AWS region like "eu-west-1" (got ${JSON.stringify(value)})`
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
}

/** Puts every CloudFormation resource under `scope` behind `condition`. */
function onlyIf(condition: CfnCondition, scope: IConstruct): void {
  for (const child of scope.node.findAll()) {
    if (CfnResource.isCfnResource(child)) child.cfnOptions.condition = condition;
  }
}
