/**
 * The AWS SDK v3 clients of one container (Lambda) or one CLI run, configured once: the SDK's `standard` retry mode
 * (exponential backoff with jitter on throttling, transient and 5xx errors, bounded by a retry quota) and an optional
 * endpoint that every client uses, so the CLI and the integration tests can talk to a local `moto_server`.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 *
 * Clients are built on first use: a Lambda invocation that only needs ECR and SNS never pays for the others. The
 * fixer builds `FixerAwsClients`, which has no Lambda client: the fixer never calls Lambda, and the Lambda client
 * would add about 20 KB gzip to its bundle (measured with esbuild, as bench/bundle.ts builds it). `AwsClients` adds
 * it for the commands and entry points that list or read functions.
 *
 * Every request has a connection and a request timeout (the SDK's default is to wait forever): a call that hangs
 * fails with a `TimeoutError`, which the standard retry mode retries, and after the last attempt the event fails, is
 * reported as a batch item failure and comes back from SQS, well within the function's timeout.
 * https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-configuring-requesthandler.html
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient, type ECRClientConfig } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';

/** Static credentials or a credentials provider, exactly as the SDK clients accept them. */
export type AwsCredentialsInput = NonNullable<ECRClientConfig['credentials']>;

/** How many times a request is sent at most (the first attempt included). The SDK's default is 3. */
export const MAX_ATTEMPTS = 4;

/** How long one attempt may wait for the TCP/TLS connection, and for the whole request and response. */
export interface Timeouts {
  readonly connectionMs: number;
  readonly requestMs: number;
}

/**
 * ECR, STS, SNS, DynamoDB and Lambda answer these calls in well under a second. A hung call gives up after
 * MAX_ATTEMPTS × 5 s plus the retry backoff (about 21 s), a third of the fixer's 60 s timeout (lib/sizing.ts).
 */
export const DEFAULT_TIMEOUTS: Timeouts = { connectionMs: 3_000, requestMs: 5_000 };

export interface AwsClientsOptions {
  /** The region of the fixer (the clients without an explicit region). */
  readonly region: string;
  /** Send every request here instead of the AWS endpoints, e.g. `http://127.0.0.1:5000` for `moto_server`. */
  readonly endpoint?: string;
  /**
   * The fixer's own credentials.
   * @default the SDK's default credential provider chain
   */
  readonly credentials?: AwsCredentialsInput;
  /** @default DEFAULT_TIMEOUTS */
  readonly timeouts?: Timeouts;
}

/** The shared client configuration for a region, with the fixer's or the given credentials. */
export interface ClientConfig {
  readonly region: string;
  readonly retryMode: 'standard';
  readonly maxAttempts: number;
  /** Options of the SDK's NodeHttpHandler (@smithy/node-http-handler), which each client builds from them. */
  readonly requestHandler: {
    readonly connectionTimeout: number;
    readonly requestTimeout: number;
    /** Without it, an exceeded requestTimeout only logs a warning and the call goes on waiting. */
    readonly throwOnRequestTimeout: true;
  };
  readonly endpoint?: string;
  readonly credentials?: AwsCredentialsInput;
}

/** The clients the fixer uses: ECR, STS, SNS, DynamoDB and EventBridge (decision events). */
export class FixerAwsClients {
  private ecrClient: ECRClient | undefined;
  private eventBridgeClient: EventBridgeClient | undefined;
  private stsClient: STSClient | undefined;
  private snsClient: SNSClient | undefined;
  private dynamoDbClient: DynamoDBClient | undefined;

  constructor(protected readonly options: AwsClientsOptions) {}

  /** ECR in the fixer's region with the fixer's credentials. */
  get ecr(): ECRClient {
    return (this.ecrClient ??= this.createEcrClient(this.options.region));
  }

  get sts(): STSClient {
    return (this.stsClient ??= new STSClient(this.configFor(this.options.region)));
  }

  get sns(): SNSClient {
    return (this.snsClient ??= new SNSClient(this.configFor(this.options.region)));
  }

  get dynamodb(): DynamoDBClient {
    return (this.dynamoDbClient ??= new DynamoDBClient(this.configFor(this.options.region)));
  }

  /** EventBridge in the fixer's region (the central bus is there). */
  get eventBridge(): EventBridgeClient {
    return (this.eventBridgeClient ??= new EventBridgeClient(this.configFor(this.options.region)));
  }

  /** A new ECR client for a repository's region, with other credentials (an assumed role) when given. */
  createEcrClient(region: string, credentials?: AwsCredentialsInput): ECRClient {
    return new ECRClient(this.configFor(region, credentials));
  }

  /** The configuration every client gets; `credentials` replaces the fixer's own. */
  configFor(region: string, credentials?: AwsCredentialsInput): ClientConfig {
    const chosen = credentials ?? this.options.credentials;
    const timeouts = this.options.timeouts ?? DEFAULT_TIMEOUTS;
    return {
      region,
      retryMode: 'standard',
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: {
        connectionTimeout: timeouts.connectionMs,
        requestTimeout: timeouts.requestMs,
        throwOnRequestTimeout: true,
      },
      ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
      ...(chosen === undefined ? {} : { credentials: chosen }),
    };
  }
}

/** The fixer's clients plus Lambda (functions of an account: scan, sweep). */
export class AwsClients extends FixerAwsClients {
  private lambdaClient: LambdaClient | undefined;

  /** Lambda in the fixer's region with the fixer's credentials. */
  get lambda(): LambdaClient {
    return (this.lambdaClient ??= this.createLambdaClient(this.options.region));
  }

  /** A new Lambda client for a function's region, with other credentials (an assumed role) when given. */
  createLambdaClient(region: string, credentials?: AwsCredentialsInput): LambdaClient {
    return new LambdaClient(this.configFor(region, credentials));
  }
}

export function createAwsClients(options: AwsClientsOptions): AwsClients {
  return new AwsClients(options);
}
