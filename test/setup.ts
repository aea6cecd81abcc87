import 'aws-sdk-client-mock-jest';

// Safety net: no test may reach real AWS. Fake credentials stop the SDK's credential chain before it tries the
// instance metadata service, and integration tests always set an explicit 127.0.0.1 endpoint.
process.env['AWS_ACCESS_KEY_ID'] ??= 'AKIAIOSFODNN7EXAMPLE';
process.env['AWS_SECRET_ACCESS_KEY'] ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_REGION'] ??= 'us-east-1';
// The SDK warns on every process under Node.js 20, which these machines run; the Lambda runs on Node.js 22.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
