import { Aws, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Grant, PolicyStatement, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
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
}

/** The KMS actions SNS needs from a publisher of an encrypted topic (and from nobody else here). */
const PUBLISH_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * The SNS topic that carries every notification: the fixer's decisions and the CloudWatch alarms.
 *
 * - Encrypted with a customer-managed KMS key (rotation on), because the AWS-managed `alias/aws/sns` key cannot be
 *   used by CloudWatch alarms. The key policy lets `cloudwatch.amazonaws.com` use the key; the fixer gets the key
 *   through `grantPublish`. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
 * - The topic policy refuses publishing without TLS, and lets CloudWatch alarms of this account and region publish.
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
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: PUBLISH_KEY_ACTIONS,
        // In a key policy, "*" means this key.
        resources: ['*'],
      })
    );

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
        conditions: {
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      })
    );
    for (const email of emails) this.topic.addSubscription(new EmailSubscription(email));
  }

  /**
   * Lets `grantee` publish: `sns:Publish` on the topic and exactly the two KMS actions SNS needs on the key
   * (`Topic.grantPublish` would grant `kms:GenerateDataKey*`).
   */
  public grantPublish(grantee: IGrantable): Grant {
    const publish = Grant.addToPrincipalOrResource({
      grantee,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
      resource: this.topic,
    });
    return publish.combine(this.key.grant(grantee, ...PUBLISH_KEY_ACTIONS));
  }
}
