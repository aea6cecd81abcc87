/** What STS answers an AssumeRole of the registry role with, in tests: temporary credentials valid for an hour. */
import type { AssumeRoleCommandOutput } from '@aws-sdk/client-sts';

export function assumedRole(): Pick<AssumeRoleCommandOutput, 'Credentials'> {
  return {
    Credentials: {
      AccessKeyId: 'ASIAEXAMPLE',
      SecretAccessKey: 'secret',
      SessionToken: 'token',
      Expiration: new Date(Date.now() + 3_600_000),
    },
  };
}
