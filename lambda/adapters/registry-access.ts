/**
 * Opens policy stores (and other clients) in the accounts of the organization: the fixer's own account with its own
 * credentials, every other account through `sts:AssumeRole` on the member role the member stack deploys there.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { ECRClient } from '@aws-sdk/client-ecr';

import type { Partition } from '../domain/decision';
import type {
  Clock,
  RegistryAccess,
  RepositoryPolicyStore,
  RepositoryRef,
} from '../application/ports';
import type { AwsCredentialsInput } from './aws-clients';
import { roleArnOf } from './arns';
import { EcrPolicyStore } from './ecr-policy-store';
import { RegistryRoleUnavailableError, sdkErrorMessage, sdkErrorName } from '../application/errors';

/** Assumed-role sessions last 15 minutes, the minimum STS allows: one event needs seconds. */
export const SESSION_DURATION_SECONDS = 900;
/** Cached credentials are replaced this long before they expire, so no call starts with a dying session. */
export const CREDENTIALS_REFRESH_MARGIN_MS = 60_000;

/** Temporary credentials of an assumed role. */
export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** Credentials for a call into an account: undefined means the fixer's own. */
export type AccountCredentials = (() => Promise<TemporaryCredentials>) | undefined;

export interface StsRegistryAccessOptions {
  /** The account the fixer runs in: its repositories are reached without AssumeRole. */
  readonly fixerAccountId: string;
  /** The member role's name in every other account, e.g. `LambdaEcrAutofixRegistryAccess`. */
  readonly registryRoleName: string;
  /** STS with the fixer's own credentials. */
  readonly stsClient: STSClient;
  /** Builds an ECR client for a region; `credentials` undefined = the fixer's own. */
  readonly createEcrClient: (region: string, credentials?: AwsCredentialsInput) => ECRClient;
  /** Decides when cached credentials are stale. */
  readonly clock: Pick<Clock, 'now'>;
}

/**
 * AssumeRole error codes that mean "the member role is missing or does not trust the fixer". STS answers
 * `AccessDenied` for both (it does not reveal whether a role exists); the others are defensive.
 */
const ROLE_UNAVAILABLE_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'NoSuchEntity',
  'NoSuchEntityException',
]);

/**
 * An STS `RoleSessionName` from a free-form name: characters outside `[\w+=,.@-]` become `-`, at most 64 characters.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_RequestParameters
 */
export function toRoleSessionName(name: string): string {
  const sanitized = name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  // RoleSessionName needs at least 2 characters.
  return sanitized.length >= 2 ? sanitized : 'lambda-ecr-autofix';
}

/**
 * `RegistryAccess` over STS. Credentials are cached per account and partition until a minute before they expire
 * (the first event's session name therefore names the session for its lifetime); clients are cached per account and
 * region and pull fresh credentials through a provider, so a cached client outlives the session it started with.
 */
export class StsRegistryAccess implements RegistryAccess {
  private readonly sessions = new Map<string, Promise<TemporaryCredentials>>();
  private readonly ecrClients = new Map<string, ECRClient>();

  constructor(private readonly options: StsRegistryAccessOptions) {}

  async storeFor(repository: RepositoryRef, sessionName: string): Promise<RepositoryPolicyStore> {
    const { registryAccount: account, region, partition } = repository;
    const credentials = await this.credentialsFor(account, partition, sessionName);
    const key = `${account}/${region}`;
    let client = this.ecrClients.get(key);
    if (client === undefined) {
      client = this.options.createEcrClient(region, credentials);
      this.ecrClients.set(key, client);
    }
    const principal =
      credentials === undefined
        ? `the fixer role (account ${account})`
        : roleArnOf(partition, account, this.options.registryRoleName);
    return new EcrPolicyStore(client, { principal });
  }

  /**
   * Credentials for calls into `account`: undefined for the fixer's own account, else a provider of the member role's
   * cached credentials. Assumes the role right away, so a missing role surfaces here as
   * `RegistryRoleUnavailableError`.
   */
  async credentialsFor(
    account: string,
    partition: Partition,
    sessionName: string
  ): Promise<AccountCredentials> {
    if (account === this.options.fixerAccountId) return undefined;
    await this.sessionFor(account, partition, sessionName);
    return () => this.sessionFor(account, partition, sessionName);
  }

  private sessionFor(
    account: string,
    partition: Partition,
    sessionName: string
  ): Promise<TemporaryCredentials> {
    const key = `${partition}/${account}`;
    const cached = this.sessions.get(key);
    if (cached !== undefined) {
      return cached.then((credentials) => {
        if (this.isFresh(credentials)) return credentials;
        // Another caller may have started the refresh already.
        const current = this.sessions.get(key);
        if (current !== undefined && current !== cached) return current;
        return this.assume(key, account, partition, sessionName);
      });
    }
    return this.assume(key, account, partition, sessionName);
  }

  private isFresh(credentials: TemporaryCredentials): boolean {
    const remaining = credentials.expiration.getTime() - this.options.clock.now().getTime();
    return remaining > CREDENTIALS_REFRESH_MARGIN_MS;
  }

  /** One AssumeRole, shared by concurrent callers; a failure is not cached. */
  private assume(
    key: string,
    account: string,
    partition: Partition,
    sessionName: string
  ): Promise<TemporaryCredentials> {
    const roleArn = roleArnOf(partition, account, this.options.registryRoleName);
    const pending = this.callAssumeRole(roleArn, account, sessionName);
    this.sessions.set(key, pending);
    pending.catch(() => {
      if (this.sessions.get(key) === pending) this.sessions.delete(key);
    });
    return pending;
  }

  private async callAssumeRole(
    roleArn: string,
    account: string,
    sessionName: string
  ): Promise<TemporaryCredentials> {
    let output;
    try {
      output = await this.options.stsClient.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: toRoleSessionName(sessionName),
          DurationSeconds: SESSION_DURATION_SECONDS,
        })
      );
    } catch (error) {
      if (ROLE_UNAVAILABLE_ERRORS.has(sdkErrorName(error) ?? '')) {
        throw new RegistryRoleUnavailableError(account, roleArn, {
          cause: error,
          awsMessage: sdkErrorMessage(error),
        });
      }
      throw error;
    }
    const credentials = output.Credentials;
    if (
      credentials?.AccessKeyId === undefined ||
      credentials.SecretAccessKey === undefined ||
      credentials.SessionToken === undefined ||
      credentials.Expiration === undefined
    ) {
      throw new Error(`AssumeRole on ${roleArn} returned no complete credentials.`);
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    };
  }
}

const callerAccounts = new WeakMap<STSClient, Promise<string>>();

/**
 * The account the given credentials belong to (`sts:GetCallerIdentity`, which needs no permission), asked once per
 * client. The CLI uses it as `fixerAccountId`; the Lambda knows its account from its own ARN.
 */
export function discoverAccountId(sts: STSClient): Promise<string> {
  let pending = callerAccounts.get(sts);
  if (pending === undefined) {
    pending = sts.send(new GetCallerIdentityCommand({})).then((output) => {
      if (output.Account === undefined) throw new Error('GetCallerIdentity returned no Account.');
      return output.Account;
    });
    callerAccounts.set(sts, pending);
    pending.catch(() => callerAccounts.delete(sts));
  }
  return pending;
}
