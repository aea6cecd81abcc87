/**
 * Raw calls to moto_server for services whose SDK clients are not dependencies of the project (SQS, IAM): only the
 * integration tests need them, to arrange resources and to read what SNS delivered. moto does not check signatures;
 * it takes the account from the access key in the `Authorization` header (an assumed-role key maps to the role's
 * account), so these calls act in the same account as the SDK clients given the same credentials.
 */

export interface MotoCaller {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly region: string;
}

function authorization(caller: MotoCaller, service: string): string {
  return (
    `AWS4-HMAC-SHA256 Credential=${caller.accessKeyId}/20260101/${caller.region}/${service}/aws4_request, ` +
    'SignedHeaders=host, Signature=0'
  );
}

/** An AWS JSON 1.0 call (SQS). */
export async function jsonCall<T>(
  caller: MotoCaller,
  service: string,
  target: string,
  body: Record<string, unknown>
): Promise<T> {
  const response = await fetch(`${caller.endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': target,
      authorization: authorization(caller, service),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${target} failed: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** An AWS Query call (IAM); returns the XML body. */
export async function queryCall(
  caller: MotoCaller,
  service: string,
  parameters: Record<string, string>
): Promise<string> {
  const response = await fetch(`${caller.endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: authorization(caller, service),
    },
    body: new URLSearchParams(parameters).toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${parameters.Action} failed: HTTP ${response.status} ${text}`);
  return text;
}

/** IAM CreateRole in the caller's account; returns the role ARN. */
export async function createRole(
  caller: MotoCaller,
  roleName: string,
  trustPolicy: Record<string, unknown>
): Promise<string> {
  const xml = await queryCall(caller, 'iam', {
    Action: 'CreateRole',
    Version: '2010-05-08',
    RoleName: roleName,
    AssumeRolePolicyDocument: JSON.stringify(trustPolicy),
  });
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(xml)?.[1];
  if (arn === undefined) throw new Error(`CreateRole returned no Arn: ${xml}`);
  return arn;
}

export interface SqsMessage {
  readonly Body: string;
}

/** Creates an SQS queue; returns its URL and ARN. */
export async function createQueue(
  caller: MotoCaller,
  name: string
): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await jsonCall<{ QueueUrl: string }>(
    caller,
    'sqs',
    'AmazonSQS.CreateQueue',
    {
      QueueName: name,
    }
  );
  const { Attributes } = await jsonCall<{ Attributes: { QueueArn: string } }>(
    caller,
    'sqs',
    'AmazonSQS.GetQueueAttributes',
    { QueueUrl, AttributeNames: ['QueueArn'] }
  );
  return { url: QueueUrl, arn: Attributes.QueueArn };
}

export async function receiveMessages(caller: MotoCaller, queueUrl: string): Promise<SqsMessage[]> {
  const { Messages } = await jsonCall<{ Messages?: SqsMessage[] }>(
    caller,
    'sqs',
    'AmazonSQS.ReceiveMessage',
    { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }
  );
  return Messages ?? [];
}
