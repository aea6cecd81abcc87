import { Annotations, Token } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
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
   * Reserves an event `source` to the code of one function: `events:PutEvents` of that source is denied to every
   * principal but the function's role, and to that role too outside the function's code (`lambda:SourceFunctionArn`,
   * absent from any other request: a negated condition on an absent key matches). The organization's principals may
   * put events on this bus, so without it any of them could put a decision event, and a team's automation that acts
   * on decision events would act on a forged one.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html (`events:source`)
   * https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html
   */
  public reserveSource(source: string, roleArn: string, functionArn: string): void {
    const sid = source.replace(/[^A-Za-z0-9]/g, '');
    const deny = (suffix: string, condition: Record<string, unknown>) =>
      new PolicyStatement({
        sid: `Only${sid}${suffix}`,
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.eventBus.eventBusArn],
        // events:source is multivalued (one value per entry of the PutEvents call): any entry with the source counts.
        conditions: { 'ForAnyValue:StringEquals': { 'events:source': source }, ...condition },
      });
    this.eventBus.addToResourcePolicy(
      deny('Role', { ArnNotEquals: { 'aws:PrincipalArn': roleArn } })
    );
    this.eventBus.addToResourcePolicy(
      deny('Function', {
        ArnNotLike: { 'lambda:SourceFunctionArn': [functionArn, `${functionArn}:*`] },
      })
    );
  }
}
