import { Annotations, Token } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AnyPrincipal, Effect, Policy, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

import { CENTRAL_BUS_NAME } from '../names';

export interface CentralEventBusProps {
  /**
   * AWS Organizations id whose accounts may put events on the bus (`aws:PrincipalOrgID`).
   * @default - no resource policy: only the central account itself may put events
   */
  readonly organizationId?: string;
  /**
   * Name of the bus. Member stacks compute its ARN from the central account and region, so keep the default.
   * @default 'lambda-ecr-autofix'
   */
  readonly eventBusName?: string;
}

/**
 * The custom event bus that member accounts forward failed-deploy events to.
 *
 * Its resource policy lets any principal of the organization put events, and nobody else. A member's forwarding rule
 * therefore needs a role with `events:PutEvents` on this bus (EventBridge requires a role when permission comes
 * through the organization). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 *
 * @example
 * const bus = new CentralEventBus(this, 'Bus', { organizationId: 'o-a1b2c3d4e5' });
 */
export class CentralEventBus extends Construct {
  /** The bus. */
  public readonly eventBus: EventBus;

  constructor(scope: Construct, id: string, props: CentralEventBusProps = {}) {
    super(scope, id);
    const { organizationId } = props;
    if (
      organizationId !== undefined &&
      !Token.isUnresolved(organizationId) &&
      !/^o-[a-z0-9]{10,32}$/.test(organizationId)
    ) {
      throw new Error(
        `CentralEventBus: organizationId must be an AWS Organizations id like "o-a1b2c3d4e5", got "${organizationId}".`
      );
    }

    this.eventBus = new EventBus(this, 'Bus', {
      eventBusName: props.eventBusName ?? CENTRAL_BUS_NAME,
      description:
        'lambda-ecr-autofix: failed Lambda image deploys forwarded by the organization accounts',
    });

    if (organizationId === undefined) {
      Annotations.of(this).addWarningV2(
        'lambda-ecr-autofix:no-organization',
        'organizationId is not set: no other account may forward events to the central bus, so only the central ' +
          "account's own default bus is watched. Set organizationId to cover the organization."
      );
      return;
    }
    this.eventBus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OrganizationAccountsPutEvents',
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.eventBus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': organizationId } },
      })
    );
  }

  /**
   * Reserves an event `source` to the code of the functions of one role (`writer`), or to nobody. The organization's
   * principals may put events on this bus, so without it any of them could put a decision event, and a team's
   * automation that acts on decision events would act on a forged one:
   *
   * - the bus policy denies `events:PutEvents` of that source to every principal but the writer's role
   *   (`aws:PrincipalArn`), or to every principal without a writer;
   * - a policy of the writer's role denies it outside the code of the writer's functions (`lambda:SourceFunctionArn`,
   *   absent from any other request: a negated condition on an absent key matches). That half cannot live in the bus policy:
   *   Lambda documents the key for identity-based policies and SCPs only ("You can't use the lambda:SourceFunctionArn
   *   condition key in resource-based policies"), and the bus policy's `Allow` for the organization covers the role
   *   too, whatever the role's own `Allow`s say.
   *
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html (`events:source`)
   * https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html
   *
   * @returns the writer's role's policy, if there is a writer
   */
  public reserveSource(source: string, writer?: SourceWriter): Policy | undefined {
    const sid = source.replace(/[^A-Za-z0-9]/g, '');
    // events:source is multivalued (one value per entry of the PutEvents call): any entry with the source counts.
    const ofTheSource = { 'ForAnyValue:StringEquals': { 'events:source': source } };
    this.eventBus.addToResourcePolicy(
      new PolicyStatement({
        sid: `Only${sid}Role`,
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.eventBus.eventBusArn],
        conditions:
          writer === undefined
            ? ofTheSource
            : { ...ofTheSource, ArnNotEquals: { 'aws:PrincipalArn': writer.role.roleArn } },
      })
    );
    if (writer === undefined) return undefined;
    if (writer.functionArns.length === 0) {
      throw new Error(
        `CentralEventBus.reserveSource: the writer of "${source}" names no function; give at least one function ARN, ` +
          'or no writer to reserve the source to nobody.'
      );
    }
    // A policy of its own, not the role's default policy: it names the function, which depends on that one.
    return new Policy(this, `Only${sid}Function`, {
      roles: [writer.role],
      statements: [
        new PolicyStatement({
          sid: `Only${sid}Function`,
          effect: Effect.DENY,
          actions: ['events:PutEvents'],
          resources: [this.eventBus.eventBusArn],
          conditions: {
            ...ofTheSource,
            ArnNotLike: {
              'lambda:SourceFunctionArn': writer.functionArns.flatMap((arn) => [arn, `${arn}:*`]),
            },
          },
        }),
      ],
    });
  }
}

/** The functions whose code may put events of a reserved source on the bus, and the role they share. */
export interface SourceWriter {
  /** The functions' execution role. */
  readonly role: IRole;
  /** The functions' ARNs, at least one (their versions and aliases are included). */
  readonly functionArns: readonly string[];
}
