/**
 * Reads and writes one registry's repository policies and tags over the ECR API.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetRepositoryPolicy.html
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html
 */
import {
  DeleteRepositoryPolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  SetRepositoryPolicyCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';

import type { RepositoryPolicyStore, RepositoryRef } from '../application/ports';
import { repositoryArnOf } from './arns';
import {
  InvalidPolicyError,
  RegistryAccessDeniedError,
  RepositoryNotFoundError,
  sdkErrorMessage,
  sdkErrorName,
} from '../application/errors';

export interface EcrPolicyStoreOptions {
  /**
   * Who the client acts as, named in access-denied messages.
   * @default 'the fixer role'
   */
  readonly principal?: string;
}

/**
 * A `RepositoryPolicyStore` over an `ECRClient`. The client must be in the repository's region and act in (or be
 * allowed into) the repository's account; `registryId` is always sent explicitly so a wrong client fails loudly
 * instead of touching a same-named repository elsewhere.
 */
export class EcrPolicyStore implements RepositoryPolicyStore {
  private readonly principal: string;

  constructor(
    private readonly ecr: ECRClient,
    options: EcrPolicyStoreOptions = {}
  ) {
    this.principal = options.principal ?? 'the fixer role';
  }

  async getPolicy(repository: RepositoryRef): Promise<string | null> {
    try {
      const output = await this.ecr.send(
        new GetRepositoryPolicyCommand({
          registryId: repository.registryAccount,
          repositoryName: repository.repositoryName,
        })
      );
      return output.policyText ?? null;
    } catch (error) {
      if (sdkErrorName(error) === 'RepositoryPolicyNotFoundException') return null;
      throw this.translate(error, 'ecr:GetRepositoryPolicy', repository);
    }
  }

  async setPolicy(repository: RepositoryRef, policyText: string): Promise<string> {
    try {
      const output = await this.ecr.send(
        // Never `force`: ECR's lock-out protection stays on for every policy we write.
        new SetRepositoryPolicyCommand({
          registryId: repository.registryAccount,
          repositoryName: repository.repositoryName,
          policyText,
        })
      );
      // ECR echoes the stored text; fall back to what we sent if a compatible endpoint omits it.
      return output.policyText ?? policyText;
    } catch (error) {
      if (sdkErrorName(error) === 'InvalidParameterException') {
        throw new InvalidPolicyError(
          repository,
          sdkErrorMessage(error) ?? 'InvalidParameterException.',
          {
            cause: error,
          }
        );
      }
      throw this.translate(error, 'ecr:SetRepositoryPolicy', repository);
    }
  }

  async deletePolicy(repository: RepositoryRef): Promise<void> {
    try {
      await this.ecr.send(
        new DeleteRepositoryPolicyCommand({
          registryId: repository.registryAccount,
          repositoryName: repository.repositoryName,
        })
      );
    } catch (error) {
      // Already gone (a rerun, or another writer): the outcome the caller wants.
      if (sdkErrorName(error) === 'RepositoryPolicyNotFoundException') return;
      throw this.translate(error, 'ecr:DeleteRepositoryPolicy', repository);
    }
  }

  async getTags(repository: RepositoryRef): Promise<Readonly<Record<string, string>>> {
    try {
      const output = await this.ecr.send(
        new ListTagsForResourceCommand({ resourceArn: repositoryArnOf(repository) })
      );
      const tags: Record<string, string> = {};
      for (const tag of output.tags ?? []) {
        if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
      }
      return tags;
    } catch (error) {
      throw this.translate(error, 'ecr:ListTagsForResource', repository);
    }
  }

  /** The domain error for a known ECR failure, else the SDK error itself (so the queue retries it). */
  private translate(error: unknown, action: string, repository: RepositoryRef): unknown {
    switch (sdkErrorName(error)) {
      case 'RepositoryNotFoundException':
        return new RepositoryNotFoundError(repository, { cause: error });
      case 'AccessDeniedException':
      case 'AccessDenied':
        return new RegistryAccessDeniedError(action, this.principal, repository, {
          cause: error,
          awsMessage: sdkErrorMessage(error),
        });
      default:
        return error;
    }
  }
}
