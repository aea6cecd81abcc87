/**
 * AWS partitions as far as lambda-ecr-autofix supports them: which partition a Region belongs to and the DNS suffix
 * of its Amazon ECR registry hosts.
 */
import type { Partition } from './decision';

/**
 * The partition of a Region: `cn-*` → `aws-cn`, `us-gov-*` → `aws-us-gov`, anything else → `aws`.
 * Region names per partition: https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html
 */
export function partitionOfRegion(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The DNS suffix of a partition's service endpoints (ECR: https://docs.aws.amazon.com/general/latest/gr/ecr.html). */
export function dnsSuffixOf(partition: Partition): string {
  return partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/** The private registry host Docker clients and Lambda use: `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]`. */
export function registryHostOf(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.${dnsSuffixOf(partitionOfRegion(region))}`;
}

// Region names look like `eu-west-1`, `us-gov-west-1`, `cn-northwest-1`, `ap-southeast-5`.
const REGION_NAME = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;
// Regions of partitions the fixer does not support (ISO, ISO-B, ISO-E, ISO-F, European Sovereign Cloud): their
// names look like commercial ones, but their endpoints and ARNs do not.
const OTHER_PARTITION_REGION = /^(?:us-iso|us-isob|eu-isoe|us-isof|eusc)-/;

/**
 * Whether `region` is shaped like an AWS Region name (`eu-west-1`), at most 32 characters (the longest today has 14);
 * says nothing about whether it exists.
 */
export function isRegionName(region: string): boolean {
  return region.length <= 32 && REGION_NAME.test(region);
}

/** Whether `region` belongs to `aws`, `aws-cn` or `aws-us-gov`, the partitions lambda-ecr-autofix supports. */
export function isSupportedRegion(region: string): boolean {
  return isRegionName(region) && !OTHER_PARTITION_REGION.test(region);
}
