import {
  Aws,
  CfnCondition,
  CfnParameter,
  CfnResource,
  Fn,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import { CfnWaitConditionHandle } from 'aws-cdk-lib/aws-cloudformation';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { Construct, IConstruct } from 'constructs';

import { ConfigError, type Config } from '../lambda/domain/config';
import { AssetFreeSynthesizer } from './asset-free-synthesizer';
import { EventForwarder } from './constructs/event-forwarder';
import { RegistryAccessRole } from './constructs/registry-access-role';
import { SweepTrigger } from './constructs/sweep-trigger';
import { FAILED_IMAGE_DEPLOY_PATTERN } from './failed-deploy-event-pattern';
import {
  CENTRAL_BUS_NAME,
  CONTEXT_KEY,
  FIXER_ROLE_NAME,
  MEMBER_FORWARDING_ALARM_NAME,
} from './names';

/** Names of the member stack's CloudFormation parameters (the StackSet passes them). */
export const MEMBER_PARAMETERS = {
  centralAccountId: 'CentralAccountId',
  centralRegion: 'CentralRegion',
  registryRoleRegion: 'RegistryRoleRegion',
} as const;

export interface MemberStackProps extends StackProps {
  /**
   * The validated configuration; `organizationId`, `registryRoleName`, `mode`, `optOutTag` and `sweepSchedule` are
   * used.
   */
  readonly config: Config;
}

/**
 * What every member account needs, in every enabled region:
 *
 * - a rule on the default bus forwarding failed Lambda image deploys to the central bus (with its role and
 *   dead-letter queue), and an alarm when that queue holds an event, whose state changes go to the central bus too
 *   (the central stack e-mails them); except in the central account's own region, which the central stack watches
 *   directly;
 * - once per account (in the region named by `RegistryRoleRegion`, or wherever it is deployed when that is empty),
 *   the registry role the fixer assumes, except in the central account, where the fixer acts with its own role. It
 *   trusts the fixer role by ARN, so the central stack must exist first.
 *
 * One template serves both ways of deploying it: the central stack's service-managed StackSet, and
 * `cdk deploy Member/LambdaEcrAutofixMember --parameters CentralAccountId=… --parameters CentralRegion=…` per account
 * and region. It holds no assets and needs no CDK bootstrap (`AssetFreeSynthesizer`); everything it must know about
 * the central account arrives as parameters, and the central resources have fixed names.
 */
export class MemberStack extends Stack {
  /** The central account id (parameter). */
  public readonly centralAccountId: CfnParameter;
  /** The central region (parameter). */
  public readonly centralRegion: CfnParameter;
  /** The region in which to create the global registry role (parameter). */
  public readonly registryRoleRegion: CfnParameter;
  /** The forwarding rule, its role and dead-letter queue. */
  public readonly forwarder: EventForwarder;
  /** The registry role. */
  public readonly registryRole: RegistryAccessRole;
  /** The scheduled sweep request; absent with `sweepSchedule: "off"`. */
  public readonly sweepTrigger?: SweepTrigger;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, {
      description:
        'lambda-ecr-autofix member: forwards failed Lambda image deploys to the central account and lets the fixer ' +
        'patch ECR repository policies here',
      ...stackProps,
      synthesizer: new AssetFreeSynthesizer(),
      analyticsReporting: false,
    });
    if (config.organizationId === undefined) {
      throw new ConfigError(`cdk.json context "${CONTEXT_KEY}"`, [
        '"organizationId" is required for member accounts (got nothing): set it to your AWS Organizations id, ' +
          'e.g. "o-a1b2c3d4e5" (aws organizations describe-organization)',
      ]);
    }

    this.centralAccountId = new CfnParameter(this, MEMBER_PARAMETERS.centralAccountId, {
      type: 'String',
      description: 'Account id of the lambda-ecr-autofix central stack',
      allowedPattern: '^\\d{12}$',
      constraintDescription: 'must be a 12-digit AWS account id',
    });
    this.centralRegion = new CfnParameter(this, MEMBER_PARAMETERS.centralRegion, {
      type: 'String',
      description: 'Region of the lambda-ecr-autofix central stack',
      allowedPattern: '^[a-z]{2}(-[a-z]+)+-\\d$',
      constraintDescription: 'must be an AWS region such as eu-west-1',
    });
    this.registryRoleRegion = new CfnParameter(this, MEMBER_PARAMETERS.registryRoleRegion, {
      type: 'String',
      default: '',
      description:
        'The one region per account in which to create the (global) registry role; empty: the region of this stack',
      allowedPattern: '^([a-z]{2}(-[a-z]+)+-\\d)?$',
      constraintDescription: 'must be empty or an AWS region such as eu-west-1',
    });

    const centralAccountId = this.centralAccountId.valueAsString;
    const centralRegion = this.centralRegion.valueAsString;
    const inCentralAccount = Fn.conditionEquals(Aws.ACCOUNT_ID, centralAccountId);
    const forwardEvents = new CfnCondition(this, 'ForwardEvents', {
      // The central stack's own rule covers its account and region; forwarding too would deliver every event twice.
      expression: Fn.conditionNot(
        Fn.conditionAnd(inCentralAccount, Fn.conditionEquals(Aws.REGION, centralRegion))
      ),
    });
    const createRegistryRole = new CfnCondition(this, 'CreateRegistryRole', {
      // IAM is global: one role per account. The fixer reaches its own account's repositories with its own role.
      expression: Fn.conditionAnd(
        Fn.conditionNot(inCentralAccount),
        Fn.conditionOr(
          Fn.conditionEquals(this.registryRoleRegion.valueAsString, ''),
          Fn.conditionEquals(this.registryRoleRegion.valueAsString, Aws.REGION)
        )
      ),
    });

    const centralBus = EventBus.fromEventBusArn(
      this,
      'CentralBus',
      `arn:${Aws.PARTITION}:events:${centralRegion}:${centralAccountId}:event-bus/${CENTRAL_BUS_NAME}`
    );
    this.forwarder = new EventForwarder(this, 'Forwarder', {
      targetBus: centralBus,
      eventPattern: FAILED_IMAGE_DEPLOY_PATTERN,
      description:
        'lambda-ecr-autofix: forwards failed Lambda image deploys to the central account',
      alarmName: MEMBER_FORWARDING_ALARM_NAME,
    });
    onlyIf(forwardEvents, this.forwarder);
    if (config.sweepSchedule !== 'off') {
      // Same place as the forwarder, with its role; the central stack schedules its own Region.
      this.sweepTrigger = new SweepTrigger(this, 'Sweep', {
        schedule: config.sweepSchedule,
        targetBus: centralBus,
        role: this.forwarder.role,
      });
      onlyIf(forwardEvents, this.sweepTrigger);
    }

    this.registryRole = new RegistryAccessRole(this, 'RegistryRole', {
      roleName: config.registryRoleName,
      trustedRoleArn: `arn:${Aws.PARTITION}:iam::${centralAccountId}:role/${FIXER_ROLE_NAME}`,
      organizationId: config.organizationId,
      mode: config.mode,
      optOutTag: config.optOutTag,
      listFunctions: config.sweepSchedule !== 'off',
    });
    onlyIf(createRegistryRole, this.registryRole);

    // CloudFormation refuses a stack whose every resource is excluded by its condition, which is the case in the
    // central account's own region. This no-op resource keeps that stack instance valid.
    new CfnWaitConditionHandle(this, 'Placeholder');
  }
}

/** Puts every CloudFormation resource under `scope` behind `condition`. */
function onlyIf(condition: CfnCondition, scope: IConstruct): void {
  for (const child of scope.node.findAll()) {
    if (CfnResource.isCfnResource(child)) child.cfnOptions.condition = condition;
  }
}
