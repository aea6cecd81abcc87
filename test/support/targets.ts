import type { ImageReference, Partition, Target } from '../../lambda/domain/decision';

/** A located target for tests, cross-account unless the accounts are the same. */
export function makeTarget(
  overrides: {
    registryAccount?: string;
    consumerAccount?: string;
    region?: string;
    partition?: Partition;
    repositoryName?: string;
    functionName?: string | null;
  } = {}
): Target {
  const registryAccount = overrides.registryAccount ?? '111111111111';
  const consumerAccount = overrides.consumerAccount ?? '222222222222';
  const region = overrides.region ?? 'eu-west-1';
  const partition = overrides.partition ?? 'aws';
  const repositoryName = overrides.repositoryName ?? 'platform/payments-worker';
  const functionName =
    overrides.functionName === undefined ? 'payments-worker' : overrides.functionName;
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  const image: ImageReference = {
    uri: `${registryAccount}.dkr.ecr.${region}.${suffix}/${repositoryName}:1.0.0`,
    registryAccount,
    region,
    partition,
    repositoryName,
    tag: '1.0.0',
    digest: null,
  };
  return {
    partition,
    region,
    registryAccount,
    repositoryName,
    repositoryArn: `arn:${partition}:ecr:${region}:${registryAccount}:repository/${repositoryName}`,
    consumerAccount,
    functionArn:
      functionName === null
        ? null
        : `arn:${partition}:lambda:${region}:${consumerAccount}:function:${functionName}`,
    functionName,
    image,
    crossAccount: registryAccount !== consumerAccount,
  };
}
