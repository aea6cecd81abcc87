import {
  LegacyStackSynthesizer,
  type DockerImageAssetLocation,
  type DockerImageAssetSource,
  type FileAssetLocation,
  type FileAssetSource,
} from 'aws-cdk-lib';

/**
 * Synthesizes a stack that needs no CDK bootstrap in the account it is deployed to: the template is passed inline,
 * CloudFormation runs with the deployer's own credentials, and there is no `BootstrapVersion` parameter or rule.
 * That is what a StackSet template (deployed into accounts nobody bootstrapped) and a hand-deployed member stack need.
 *
 * It refuses assets (Lambda code, Docker images), which would need a bootstrap bucket, with a message that says so.
 * (`BootstraplessSynthesizer` also refuses assets, but still names the bootstrap deploy roles.)
 */
export class AssetFreeSynthesizer extends LegacyStackSynthesizer {
  public override addFileAsset(asset: FileAssetSource): FileAssetLocation {
    throw new Error(
      `AssetFreeSynthesizer: this stack is deployed by StackSets or without CDK bootstrap and cannot hold assets; ` +
        `remove the construct that added the file asset "${asset.sourceHash}" (Lambda code belongs in the central stack).`
    );
  }

  public override addDockerImageAsset(asset: DockerImageAssetSource): DockerImageAssetLocation {
    throw new Error(
      `AssetFreeSynthesizer: this stack is deployed by StackSets or without CDK bootstrap and cannot hold assets; ` +
        `remove the construct that added the Docker image asset "${asset.sourceHash}".`
    );
  }
}
