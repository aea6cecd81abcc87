/**
 * Realistic repository policies of a chosen size, as a platform team's shared registry accumulates them: an
 * organization-wide pull statement, a CI publisher, Lambda's own auto-added statement for some account, a Deny guard
 * that exempts AWS services, and read grants for many accounts.
 */
export interface PolicyOptions {
  /** Approximate length in characters (pretty-printed JSON). */
  readonly size: number;
  /** Makes the text unique (a different Sid), so no cache can recognise it. */
  readonly variant?: number;
  /** Include the grants lambda-ecr-autofix would add for consumer 222222222222 in eu-west-1. */
  readonly granted?: boolean;
}

export function realisticPolicy(options: PolicyOptions): string {
  const statements: Record<string, unknown>[] = [
    {
      Sid: `OrgPull${options.variant ?? ''}`,
      Effect: 'Allow',
      Principal: '*',
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:DescribeImages'],
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
    },
    {
      Sid: 'CiPublish',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111111111111:role/ci-publisher' },
      Action: [
        'ecr:BatchCheckLayerAvailability',
        'ecr:CompleteLayerUpload',
        'ecr:InitiateLayerUpload',
        'ecr:PutImage',
        'ecr:UploadLayerPart',
      ],
    },
    {
      Sid: 'LambdaECRImageRetrievalPolicy',
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Condition: {
        StringLike: { 'aws:sourceArn': 'arn:aws:lambda:eu-west-1:111111111111:function:*' },
      },
    },
    {
      Sid: 'DenyOutsideOrganization',
      Effect: 'Deny',
      Principal: '*',
      Action: 'ecr:*',
      Condition: {
        StringNotEqualsIfExists: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
      },
    },
  ];
  if (options.granted === true) {
    statements.push(
      {
        Sid: 'LambdaEcrAutofixService',
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Condition: {
          StringLike: { 'aws:SourceArn': ['arn:aws:lambda:eu-west-1:222222222222:function:*'] },
        },
      },
      {
        Sid: 'LambdaEcrAutofixAccounts',
        Effect: 'Allow',
        Principal: { AWS: ['arn:aws:iam::222222222222:root'] },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      }
    );
  }
  const render = (): string =>
    JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 2);
  for (let reader = 0; render().length < options.size; reader++) {
    statements.splice(statements.length - (options.granted === true ? 2 : 0), 0, {
      Sid: `ReadOnly${reader}`,
      Effect: 'Allow',
      Principal: { AWS: [`arn:aws:iam::${String(400000000000 + reader * 7919)}:root`] },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:DescribeImages'],
    });
  }
  return render();
}
