/**
 * parseFunctionName: every form of FunctionName that CreateFunction and UpdateFunctionCode accept.
 */
import { parseFunctionName } from '../../lambda/domain/function-name';

describe('parseFunctionName', () => {
  it.each([
    ['my-function', 'my-function', null, null, null, null],
    ['my-function:prod', 'my-function', 'prod', null, null, null],
    ['my-function:$LATEST', 'my-function', '$LATEST', null, null, null],
    // `function:NAME` names function NAME, not function "function" with qualifier NAME.
    ['function:my-function', 'my-function', null, null, null, null],
    ['function:my-function:7', 'my-function', '7', null, null, null],
    ['function', 'function', null, null, null, null],
    ['123456789012:function:my-function', 'my-function', null, '123456789012', null, null],
    ['123456789012:function:my-function:live', 'my-function', 'live', '123456789012', null, null],
    [
      'arn:aws:lambda:us-west-2:123456789012:function:my-function',
      'my-function',
      null,
      '123456789012',
      'us-west-2',
      'aws',
    ],
    [
      'arn:aws-cn:lambda:cn-north-1:123456789012:function:My_Function-2:$LATEST',
      'My_Function-2',
      '$LATEST',
      '123456789012',
      'cn-north-1',
      'aws-cn',
    ],
    [
      'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:3',
      'f',
      '3',
      '123456789012',
      'us-gov-west-1',
      'aws-us-gov',
    ],
  ])('reads %s', (text, name, qualifier, account, region, partition) => {
    expect(parseFunctionName(text)).toEqual({ name, qualifier, account, region, partition });
  });

  it.each([
    '',
    'bad name',
    'a'.repeat(65),
    'function:',
    'my-function:',
    'my-function:a:b',
    'my-function:a b',
    '12345:function:my-function',
    'arn:aws:s3:::bucket',
    'arn:aws-iso:lambda:us-iso-east-1:123456789012:function:f',
    'arn:aws:lambda:us-west-2:123456789012:layer:my-layer',
    `my-function:${'q'.repeat(129)}`,
    'x'.repeat(50_000),
  ])('refuses %p', (text) => {
    expect(parseFunctionName(text)).toBeNull();
  });
});
