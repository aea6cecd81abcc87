import { Aws, RemovalPolicy, Token } from 'aws-cdk-lib';
import {
  Grant,
  PolicyStatement,
  ServicePrincipal,
  type Conditions,
  type IGrantable,
} from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationTopicProps {
  /**
   * E-mail addresses to subscribe. Each receives a confirmation e-mail from SNS first.
   * @default - no subscription (subscribe later, or filter on the message attributes from your own subscriber)
   */
  readonly emails?: readonly string[];
  /**
   * Name of an event bus of this account whose rules may publish to the topic (`allowRule` names each rule).
   * @default - no EventBridge rule may publish
   */
  readonly eventBusName?: string;
}

/**
 * The KMS actions SNS needs on behalf of a principal of this account publishing to an encrypted topic (the fixer):
 * exactly these two, where `Topic.grantPublish` would grant `kms:GenerateDataKey*`.
 */
const PUBLISHER_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * The KMS actions AWS documents for AWS services (CloudWatch alarms, EventBridge) publishing to an encrypted topic.
 * https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
 */
export const SERVICE_PUBLISHER_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'];

/**
 * The SNS topic that carries every notification: the fixer's decisions, the CloudWatch alarms, and the member
 * accounts' forwarding alarms (through an EventBridge rule).
 *
 * - Encrypted with a customer-managed KMS key (rotation on), because the AWS-managed `alias/aws/sns` key cannot be
 *   used by CloudWatch alarms. The key policy lets `cloudwatch.amazonaws.com` (and, with `eventBusName`,
 *   `events.amazonaws.com`) use the key with the documented actions, only for this account (`aws:SourceAccount`) and
 *   only for its alarms (`aws:SourceArn` `…:alarm:*`) or the bus's rules (`…:rule/BUS/*`). The fixer gets the key
 *   through `grantPublish`. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
 * - The topic policy refuses publishing without TLS, lets CloudWatch alarms of this account and region publish, and
 *   each rule passed to `allowRule`.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
 *
 * @example
 * const notifications = new NotificationTopic(this, 'Notifications', { emails: ['ops@example.com'] });
 * notifications.grantPublish(fixerFunction);
 */
export class NotificationTopic extends Construct {
  /** The customer-managed key that encrypts the topic. */
  public readonly key: Key;
  /** The topic. */
  public readonly topic: Topic;
  private allowedRules = 0;

  constructor(scope: Construct, id: string, props: NotificationTopicProps = {}) {
    super(scope, id);
    const emails = props.emails ?? [];
    for (const email of emails) {
      if (!Token.isUnresolved(email) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
        throw new Error(
          `NotificationTopic: emails must be e-mail addresses like ops@example.com, got "${email}".`
        );
      }
    }

    this.key = new Key(this, 'Key', {
      description: 'lambda-ecr-autofix: encrypts the notification topic',
      enableKeyRotation: true,
      // The key protects messages in flight only; nothing at rest depends on it after uninstall.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const alarmsOfThisAccount = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`;
    const thisAccount = { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } };
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: SERVICE_PUBLISHER_KEY_ACTIONS,
        // In a key policy, "*" means this key.
        resources: ['*'],
        conditions: { ...thisAccount, ArnLike: { 'aws:SourceArn': alarmsOfThisAccount } },
      })
    );
    if (props.eventBusName !== undefined) {
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: 'EventBridgeRulesPublishToEncryptedTopic',
          principals: [new ServicePrincipal('events.amazonaws.com')],
          actions: SERVICE_PUBLISHER_KEY_ACTIONS,
          resources: ['*'],
          // A pattern, not each rule's ARN: the rule targets the topic, which uses this key, so naming the rule here
          // would be a circular reference.
          conditions: {
            ...thisAccount,
            ArnLike: {
              'aws:SourceArn': `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${props.eventBusName}/*`,
            },
          },
        })
      );
    }

    this.topic = new Topic(this, 'Topic', {
      displayName: 'lambda-ecr-autofix',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { ArnLike: { 'aws:SourceArn': alarmsOfThisAccount }, ...thisAccount },
      })
    );
    for (const email of emails) this.topic.addSubscription(new EmailSubscription(email));
  }

  /**
   * Lets EventBridge publish for this one rule (`aws:SourceArn`), which must live on the `eventBusName` bus so that
   * the key policy admits it too.
   */
  public allowRule(ruleArn: string): void {
    this.allowedRules += 1;
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: `EventBridgeRule${this.allowedRules}Publishes`,
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': ruleArn },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      })
    );
  }

  /**
   * The identity-policy statements that let a principal of this account publish: `sns:Publish` on the topic (under
   * `conditions` if given) and exactly the two KMS actions SNS needs, only through SNS (`kms:ViaService`).
   * For a policy that must not live in the grantee's default policy (e.g. conditions naming the grantee itself).
   */
  public publishStatements(conditions?: Conditions): PolicyStatement[] {
    return [
      new PolicyStatement({
        sid: 'PublishNotifications',
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions,
      }),
      new PolicyStatement({
        sid: 'EncryptNotifications',
        actions: PUBLISHER_KEY_ACTIONS,
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': this.snsService() } },
      }),
    ];
  }

  /** Lets `grantee` publish, with the permissions of `publishStatements`, in its default policy. */
  public grantPublish(grantee: IGrantable): Grant {
    const publish = Grant.addToPrincipal({
      grantee,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
    });
    return publish.combine(
      Grant.addToPrincipal({
        grantee,
        actions: PUBLISHER_KEY_ACTIONS,
        resourceArns: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': this.snsService() } },
      })
    );
  }

  /** SNS's service name in this region, for `kms:ViaService`. */
  private snsService(): string {
    return `sns.${Aws.REGION}.${Aws.URL_SUFFIX}`;
  }
}
