/**
 * ECR repositories behind aws-sdk-client-mock, for handler and CLI tests that run the real adapters: each repository's
 * policy is kept in a map (a repository without one answers with the SDK's real RepositoryPolicyNotFoundException, as
 * ECR does), SetRepositoryPolicy stores the text it is given, and every repository has the same tags.
 */
import {
  type ECRClient,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  RepositoryPolicyNotFoundException,
  SetRepositoryPolicyCommand,
  type Tag,
} from '@aws-sdk/client-ecr';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export interface RepositoryInput {
  readonly registryId?: string;
  readonly repositoryName?: string;
}

/** `111111111111/platform/app`: the map key of a repository (`?` for a part the call leaves out). */
export const registryAndName = (input: RepositoryInput): string =>
  `${input.registryId ?? '?'}/${input.repositoryName ?? '?'}`;

export interface FakeEcrOptions {
  /** The policies by key; the test reads and seeds it. */
  readonly policies: Map<string, string>;
  /** What ListTagsForResource answers for every repository. */
  readonly tags: readonly Tag[];
  /** The map key of a call's repository; `registryAndName` unless given. */
  readonly key?: (input: RepositoryInput) => string;
  /** Called with the key of each SetRepositoryPolicy, before the policy is stored. */
  readonly onWrite?: (key: string) => void;
}

export function fakeEcrRepositories(ecr: AwsClientStub<ECRClient>, options: FakeEcrOptions): void {
  const { policies, key = registryAndName } = options;
  ecr
    .on(GetRepositoryPolicyCommand)
    .callsFake((input: RepositoryInput) => {
      const policyText = policies.get(key(input));
      if (policyText === undefined) {
        throw new RepositoryPolicyNotFoundException({
          $metadata: {},
          message: 'Repository policy does not exist',
        });
      }
      return { policyText };
    })
    .on(SetRepositoryPolicyCommand)
    .callsFake((input: RepositoryInput & { policyText?: string }) => {
      options.onWrite?.(key(input));
      policies.set(key(input), input.policyText ?? '');
      return { policyText: input.policyText };
    })
    .on(ListTagsForResourceCommand)
    .resolves({ tags: [...options.tags] });
}
