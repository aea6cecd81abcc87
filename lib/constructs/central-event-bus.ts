import { Annotations, Token } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AnyPrincipal, PolicyStatement } from 'aws-cdk-lib/aws-iam';
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
}
