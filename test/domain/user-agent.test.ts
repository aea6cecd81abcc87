/**
 * deployToolOf: the deployment tool behind a call, from real fixture user agents and realistic ones for other tools.
 */
import type { DeployCall } from '../../lambda/domain/decision';
import { deployToolOf } from '../../lambda/domain/user-agent';
import { callFrom, makeCall } from '../support/events';

const NO_CALLER: DeployCall['caller'] = {
  arn: null,
  type: null,
  principalArn: null,
  invokedBy: null,
};

describe('deployToolOf', () => {
  it.each([
    ['create-function-cross-account-ecr-denied.json', 'terraform', 'Terraform 1.9.5'],
    ['create-function-repository-does-not-exist.json', 'terraform', 'Terraform 1.9.5'],
    ['create-function-cdk-cloudformation-ecr-denied.json', 'cdk', 'AWS CDK (CloudFormation)'],
    ['create-function-zip-failure.json', 'cdk', 'AWS CDK (CloudFormation)'],
    ['create-function-unsupported-media-type.json', 'cloudformation', 'AWS CloudFormation'],
    ['create-function-image-uri-invalid-cross-region.json', 'cloudformation', 'AWS CloudFormation'],
    ['create-function-same-account-ecr-denied.json', 'aws-cli', 'AWS CLI 2.17.60'],
    ['create-function-legacy-same-account-only.json', 'aws-cli', 'AWS CLI 2.1.15'],
    ['update-function-code-ecr-denied.json', 'aws-cli', 'AWS CLI 2.17.60'],
    [
      'create-function-caller-identity-policy-denied.json',
      'ack',
      'AWS Controllers for Kubernetes (lambda-1.5.2)',
    ],
    [
      'create-function-github-actions-digest-ecr-denied.json',
      'sdk',
      'AWS SDK for JavaScript 3.637.0',
    ],
    ['create-function-scp-explicit-deny.json', 'console', 'AWS Management Console'],
  ])('names the tool of %s: %s', (fixture, tool, label) => {
    // Arrange
    const call = callFrom(fixture);

    // Act
    const found = deployToolOf(call);

    // Assert
    expect(found).toEqual({ tool, label });
  });

  it.each([
    [
      'APN/1.0 HashiCorp/1.0 OpenTofu/1.8.3 (+https://opentofu.org) terraform-provider-aws/5.70.0 aws-sdk-go-v2/1.32.0 ua/2.1 os/linux lang/go#1.22.7',
      'terraform',
      'OpenTofu 1.8.3',
    ],
    [
      'APN/1.0 Pulumi/1.0 PulumiAwsNative/1.12.0 aws-sdk-go-v2/1.30.3 ua/2.1 os/linux lang/go#1.22.5',
      'pulumi',
      'Pulumi (AWS Native provider 1.12.0)',
    ],
    [
      'APN/1.0 Pulumi/1.0 Pulumi-Aws/6.54.2 (+https://www.pulumi.com) terraform-provider-aws/5.68.0 aws-sdk-go-v2/1.31.0',
      'pulumi',
      'Pulumi (AWS provider 6.54.2)',
    ],
    ['APN/1.0 Pulumi/1.0 aws-sdk-go-v2/1.30.3', 'pulumi', 'Pulumi'],
    [
      'aws-sdk-nodejs/2.1692.0 linux/v20.17.0 exec-env/AWS_ECS_FARGATE promise serverless/3.39.0',
      'serverless',
      'Serverless Framework 3.39.0',
    ],
    [
      'Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144 aws-sam-cli/1.120.0',
      'sam',
      'AWS SAM CLI 1.120.0',
    ],
    [
      'aws-sdk-js/3.637.0 ua/2.1 os/darwin#23.6.0 lang/js md/nodejs#20.17.0 api/lambda#3.637.0 aws-cdk/2.160.0',
      'cdk',
      'AWS CDK 2.160.0 (hotswap)',
    ],
    [
      'aws-cli/1.33.44 md/Botocore#1.34.162 ua/2.0 os/linux#5.10.223 md/arch#x86_64 lang/python#3.9.16 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.34.162',
      'aws-cli',
      'AWS CLI 1.33.44',
    ],
    [
      'aws-sdk-go-v2/1.30.5 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/lambda#1.58.1',
      'sdk',
      'AWS SDK for Go v2 1.30.5',
    ],
    [
      'Boto3/1.35.20 md/Botocore#1.35.20 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.12.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.20',
      'sdk',
      'AWS SDK for Python (Boto3) 1.35.20',
    ],
    [
      'aws-sdk-java/2.28.6 Linux/6.1.102 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy',
      'sdk',
      'AWS SDK for Java 2.28.6',
    ],
    [
      'aws-sdk-kotlin/1.3.30 ua/2.1 api/lambda#1.3.30 os/linux#6.8 lang/kotlin#2.0.20',
      'sdk',
      'aws-sdk-kotlin 1.3.30',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0',
      'console',
      'AWS Management Console',
    ],
    ['console.amazonaws.com', 'console', 'AWS Management Console'],
    ['AWS Internal', 'unknown', 'unknown tool (AWS Internal)'],
    [
      `custom-deployer/${'9'.repeat(100)}`,
      'unknown',
      `unknown tool (custom-deployer/${'9'.repeat(43)}\u2026)`,
    ],
    [
      // Cut right after the emoji's surrogate pair would be fine; cut between its halves, never.
      `${'x'.repeat(56)}\u{1F680}${'y'.repeat(10)}`,
      'unknown',
      `unknown tool (${'x'.repeat(56)}\u{1F680}y\u2026)`,
    ],
    // 59 characters, then an emoji: the cut at 60 must not keep its first half (SNS refuses lone surrogates).
    [`x/${'y'.repeat(57)}\u{1F680}z`, 'unknown', `unknown tool (x/${'y'.repeat(57)}\u2026)`],
    ['a\nb', 'unknown', 'unknown tool (a b)'],
    [null, 'unknown', 'unknown tool'],
  ])('recognises %j as %s', (userAgent, tool, label) => {
    // Arrange
    const call = makeCall({ userAgent, caller: NO_CALLER });

    // Act
    const found = deployToolOf(call);

    // Assert
    expect(found).toEqual({ tool, label });
  });

  it.each([
    // Terraform's AWS provider names itself even where the Terraform/OpenTofu token is missing.
    [
      'terraform-provider-aws/5.66.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.5 ua/2.1 os/linux lang/go#1.22.6',
      'terraform',
      'Terraform (AWS provider 5.66.0)',
    ],
    // A word inside another product's name or a metadata value is not the tool.
    [
      'aws-cli/2.17.60 md/awscrt#0.21.2 ua/2.0 os/linux exec-env/pulumi-cleanup md/command#lambda.update-function-code',
      'aws-cli',
      'AWS CLI 2.17.60',
    ],
    [
      'Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 app/Pulumi-migrator',
      'sdk',
      'AWS SDK for Python (Boto3) 1.34.144',
    ],
    ['aws-sdk-java/2.25.0 aws-serverless/2.0.1', 'sdk', 'AWS SDK for Java 2.25.0'],
    [
      'aws-sdk-js/3.637.0 ua/2.1 app/my-aws-cdk/1.0 lang/js',
      'sdk',
      'AWS SDK for JavaScript 3.637.0',
    ],
    [
      'aws-sdk-js/3.637.0 ua/2.1 app/terraform-drift-fixer lang/js',
      'sdk',
      'AWS SDK for JavaScript 3.637.0',
    ],
    [
      'aws-sdk-js/3.637.0 ua/2.1 app/x-aws-sam-cli/1.0 lang/js',
      'sdk',
      'AWS SDK for JavaScript 3.637.0',
    ],
  ])(
    'names the tool only from its own token, not a lookalike: %j is %s',
    (userAgent, tool, label) => {
      // Arrange
      const call = makeCall({ userAgent, caller: NO_CALLER });

      // Act
      const found = deployToolOf(call);

      // Assert
      expect(found).toEqual({ tool, label });
    }
  );

  it('recognises a CloudFormation call by invokedBy alone', () => {
    // Arrange
    const call = makeCall({
      userAgent: null,
      caller: { ...NO_CALLER, invokedBy: 'cloudformation.amazonaws.com' },
    });

    // Act
    const found = deployToolOf(call);

    // Assert
    expect(found).toEqual({ tool: 'cloudformation', label: 'AWS CloudFormation' });
  });

  it('recognises a console call by invokedBy', () => {
    // Arrange
    const call = makeCall({
      userAgent: null,
      caller: { ...NO_CALLER, invokedBy: 'console.amazonaws.com' },
    });

    // Act
    const found = deployToolOf(call);

    // Assert
    expect(found).toEqual({ tool: 'console', label: 'AWS Management Console' });
  });

  it('recognises a SAM stack by the tag SAM puts on its functions', () => {
    // Arrange
    const call = makeCall({
      userAgent: 'cloudformation.amazonaws.com',
      caller: {
        ...NO_CALLER,
        principalArn: 'arn:aws:iam::222222222222:role/sam-pipeline-deployer',
      },
      requestTags: { 'lambda:createdBy': 'SAM' },
    });

    // Act
    const found = deployToolOf(call);

    // Assert
    expect(found).toEqual({ tool: 'sam', label: 'AWS SAM (CloudFormation)' });
  });

  it('does not take a non-role principal for the CDK execution role', () => {
    // Arrange
    const call = makeCall({
      userAgent: 'cloudformation.amazonaws.com',
      caller: { ...NO_CALLER, principalArn: 'cdk-hnb659fds-cfn-exec-role-222222222222-us-east-1' },
    });

    // Act
    const found = deployToolOf(call);

    // Assert
    expect(found.tool).toBe('cloudformation');
  });
});
