/**
 * Partitions: which one a Region belongs to, its ECR DNS suffix, and which Region names the fixer supports.
 */
import {
  dnsSuffixOf,
  isRegionName,
  isSupportedRegion,
  partitionOfRegion,
  registryHostOf,
} from '../../lambda/domain/partition';

describe('partitionOfRegion', () => {
  it.each([
    ['us-east-1', 'aws'],
    ['eu-west-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-gov-east-1', 'aws-us-gov'],
  ])('puts %s in %s', (region, partition) => {
    // Act
    const found = partitionOfRegion(region);

    // Assert
    expect(found).toBe(partition);
  });
});

describe('dnsSuffixOf and registryHostOf', () => {
  it.each([
    ['aws', 'amazonaws.com'],
    ['aws-us-gov', 'amazonaws.com'],
    ['aws-cn', 'amazonaws.com.cn'],
  ] as const)('gives %s the suffix %s', (partition, suffix) => {
    // Act
    const found = dnsSuffixOf(partition);

    // Assert
    expect(found).toBe(suffix);
  });

  it('builds the registry host of a China Region', () => {
    // Act
    const host = registryHostOf('111111111111', 'cn-north-1');

    // Assert
    expect(host).toBe('111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn');
  });
});

describe('isRegionName and isSupportedRegion', () => {
  it.each([
    ['eu-west-1', true, true],
    ['ap-southeast-5', true, true],
    ['us-gov-west-1', true, true],
    ['us-iso-east-1', true, false],
    ['eusc-de-east-1', true, false],
    ['Europe', false, false],
    ['us-east', false, false],
    ['', false, false],
  ])('%j: a Region name %p, supported %p', (region, name, supported) => {
    // Act
    const result = [isRegionName(region), isSupportedRegion(region)];

    // Assert
    expect(result).toEqual([name, supported]);
  });
});
