/**
 * IAM principal ARNs: roles, users and role sessions reduced to the entity behind them.
 */
import { describePrincipal, parsePrincipalArn } from '../../lambda/domain/principal-arn';

describe('parsePrincipalArn', () => {
  it.each([
    [
      'arn:aws:iam::222222222222:role/platform-deployer',
      { partition: 'aws', account: '222222222222', kind: 'role', name: 'platform-deployer' },
    ],
    [
      'arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Dev_5a1b',
      { partition: 'aws', account: '222222222222', kind: 'role', name: 'AWSReservedSSO_Dev_5a1b' },
    ],
    [
      'arn:aws-cn:sts::222222222222:assumed-role/deployer/jane.doe@example.com',
      { partition: 'aws-cn', account: '222222222222', kind: 'assumed-role', name: 'deployer' },
    ],
    [
      'arn:aws-us-gov:iam::222222222222:user/ops/dev.alice',
      { partition: 'aws-us-gov', account: '222222222222', kind: 'user', name: 'dev.alice' },
    ],
  ])('parses %s', (arn, expected) => {
    // Act
    const principal = parsePrincipalArn(arn);

    // Assert
    expect(principal).toEqual(expected);
  });

  it.each([
    'arn:aws:iam::222222222222:root',
    'arn:aws:sts::222222222222:federated-user/bob',
    'arn:aws:sts::222222222222:assumed-role/no-session',
    'arn:aws:sts::222222222222:assumed-role//session',
    'arn:aws:iam::222222222222:assumed-role/r/s',
    'arn:aws:sts::222222222222:role/r',
    'arn:aws:iam::222222222222:role/path/',
    'arn:aws:iam::2222:role/r',
    'cloudformation.amazonaws.com',
  ])('does not parse %s', (arn) => {
    // Act
    const principal = parsePrincipalArn(arn);

    // Assert
    expect(principal).toBeNull();
  });
});

describe('describePrincipal', () => {
  it.each([
    ['arn:aws:iam::222222222222:role/path/deployer', 'role deployer'],
    ['arn:aws:sts::222222222222:assumed-role/deployer/s', 'role deployer'],
    ['arn:aws:iam::222222222222:user/dev.alice', 'user dev.alice'],
    ['arn:aws:iam::222222222222:root', 'arn:aws:iam::222222222222:root'],
  ])('describes %s as %j', (arn, text) => {
    // Act
    const description = describePrincipal(arn);

    // Assert
    expect(description).toBe(text);
  });
});
