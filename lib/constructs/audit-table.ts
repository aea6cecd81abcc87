import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** The key and TTL attribute names the handler writes (see `AuditRecord` in lambda/application/ports.ts). */
export const AUDIT_TABLE_KEYS = {
  partitionKey: 'repositoryArn',
  sortKey: 'eventKey',
  timeToLiveAttribute: 'expiresAt',
} as const;

export interface AuditTableProps {
  /**
   * What happens to the table (and its audit records) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The audit trail: one item per decision, with the policy before and after, keyed by repository ARN and
 * `eventTime#eventId`.
 *
 * On-demand capacity (a few writes a day is the usual load), point-in-time recovery, encryption at rest with the
 * AWS-managed `aws/dynamodb` key, and a TTL attribute so records expire after `auditRetentionDays`. Retained on stack
 * deletion by default: it is an audit record.
 *
 * @example
 * const audit = new AuditTable(this, 'Audit');
 * audit.table.grant(fixerFunction, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
 */
export class AuditTable extends Construct {
  /** The table. */
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: AuditTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: AUDIT_TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: AUDIT_TABLE_KEYS.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: AUDIT_TABLE_KEYS.timeToLiveAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
