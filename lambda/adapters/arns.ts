/** The ARNs the adapters address: a repository (from a `RepositoryRef`) and the member role in an account. */
import type { Partition } from '../domain/decision';
import { repositoryArnOf as repositoryArn } from '../domain/repository-arn';
import type { RepositoryRef } from '../application/ports';

/** `arn:PARTITION:ecr:REGION:ACCOUNT:repository/NAME` (the resource ListTagsForResource takes). */
export function repositoryArnOf(repository: RepositoryRef): string {
  const { partition, region, registryAccount, repositoryName } = repository;
  return repositoryArn(partition, region, registryAccount, repositoryName);
}

/** `arn:PARTITION:iam::ACCOUNT:role/NAME` */
export function roleArnOf(partition: Partition, account: string, roleName: string): string {
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}
