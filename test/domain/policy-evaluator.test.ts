import type { JsonObject } from '../../lambda/domain/policy-document';
import { policyFromJson } from '../../lambda/domain/policy-document';
import type {
  AccessRequest,
  Evaluation,
  RequestContext,
  RequestPrincipal,
  Tri,
} from '../../lambda/domain/policy-evaluator';
import { allOf, anyOf, evaluatePolicy, wildcardMatch } from '../../lambda/domain/policy-evaluator';

const REPOSITORY = 'arn:aws:ecr:eu-west-1:111111111111:repository/platform/app';
const FUNCTION = 'arn:aws:lambda:eu-west-1:222222222222:function:payments';
const ROLE = 'arn:aws:iam::222222222222:role/deployer';
const SESSION = 'arn:aws:sts::222222222222:assumed-role/deployer/ci';
const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];

const LAMBDA: RequestPrincipal = { kind: 'service', service: 'lambda.amazonaws.com' };
const ACCOUNT: RequestPrincipal = {
  kind: 'account',
  accountId: '222222222222',
  partition: 'aws',
  callerArns: [],
};
const ROLE_SESSION: RequestPrincipal = { ...ACCOUNT, callerArns: [SESSION, ROLE] };

/** What Lambda's pull carries (see the planner), plus aws:SourceAccount. */
const SERVICE_CONTEXT: RequestContext = {
  'aws:SourceArn': FUNCTION,
  'aws:SourceAccount': '222222222222',
  'aws:PrincipalIsAWSService': 'true',
  'aws:PrincipalServiceName': 'lambda.amazonaws.com',
  'aws:PrincipalOrgID': null,
  'aws:PrincipalAccount': null,
  'aws:PrincipalArn': null,
};

const ACCOUNT_CONTEXT: RequestContext = {
  'aws:PrincipalAccount': '222222222222',
  'aws:PrincipalIsAWSService': 'false',
  'aws:PrincipalOrgID': 'o-a1b2c3d4e5',
  'aws:PrincipalArn': ROLE,
  'aws:SourceArn': null,
  'aws:SourceAccount': null,
  'aws:PrincipalServiceName': null,
};

interface Ask {
  readonly principal?: RequestPrincipal;
  readonly action?: string;
  readonly context?: RequestContext;
}

function evaluate(statements: readonly JsonObject[], ask: Ask = {}): Evaluation {
  const parsed = policyFromJson({ Version: '2012-10-17', Statement: statements });
  if (!parsed.ok) throw new Error(parsed.problem);
  const principal = ask.principal ?? LAMBDA;
  const request: AccessRequest = {
    principal,
    action: ask.action ?? 'ecr:BatchGetImage',
    resource: REPOSITORY,
    context: ask.context ?? (principal.kind === 'service' ? SERVICE_CONTEXT : ACCOUNT_CONTEXT),
  };
  return evaluatePolicy(parsed.policy, request);
}

/** Whether one Allow statement with these parts (defaults: Principal "*", Action ecr:*) applies. */
function allows(parts: JsonObject, ask: Ask = {}): Tri {
  return evaluate([{ Effect: 'Allow', Principal: '*', Action: 'ecr:*', ...parts }], ask).allowed;
}

/** Whether one Deny statement with these parts (defaults: Principal "*", Action ecr:*) applies. */
function denies(parts: JsonObject, ask: Ask = {}): Tri {
  return evaluate([{ Effect: 'Deny', Principal: '*', Action: 'ecr:*', ...parts }], ask).denied;
}

/** A statement that has exactly the given keys (no defaults). */
function allowsExactly(statement: JsonObject, ask: Ask = {}): Tri {
  return evaluate([{ Effect: 'Allow', ...statement }], ask).allowed;
}

describe('evaluatePolicy', () => {
  describe('the policy as a whole', () => {
    it('says no and names nothing for an empty policy', () => {
      // Act
      const result = evaluate([]);

      // Assert
      expect(result).toEqual({ allowed: 'no', denied: 'no', allowedBy: [], deniedBy: [] });
    });

    it('reports allowing and denying statements by Sid, or by position without one', () => {
      // Arrange
      const statements = [
        { Sid: 'Pull', Effect: 'Allow', Principal: '*', Action: PULL },
        { Effect: 'Allow', Principal: '*', Action: 'ecr:PutImage' },
        { Effect: 'Deny', Principal: '*', Action: 'ecr:*' },
      ];

      // Act
      const result = evaluate(statements);

      // Assert
      expect(result).toEqual({
        allowed: 'yes',
        denied: 'yes',
        allowedBy: ['Pull'],
        deniedBy: ['#3'],
      });
    });

    it('makes both answers unknown for an Effect ECR would not accept', () => {
      // Act
      const result = evaluate([{ Sid: 'Odd', Effect: 'allow', Principal: '*', Action: 'ecr:*' }]);

      // Assert
      expect(result).toEqual({
        allowed: 'unknown',
        denied: 'unknown',
        allowedBy: ['Odd'],
        deniedBy: ['Odd'],
      });
    });

    it('keeps a sure yes over statements that only may apply', () => {
      // Arrange
      const statements = [
        { Sid: 'Maybe', Effect: 'Allow', Principal: '*', Action: 'ecr:*', Condition: 'odd' },
        { Sid: 'Sure', Effect: 'Allow', Principal: '*', Action: 'ecr:*' },
      ];

      // Act
      const result = evaluate(statements);

      // Assert
      expect(result.allowed).toBe('yes');
      expect(result.allowedBy).toEqual(['Maybe', 'Sure']);
    });
  });

  describe('Principal', () => {
    it.each<[string, unknown, RequestPrincipal, Tri]>([
      ['"*" for a service', '*', LAMBDA, 'yes'],
      ['"*" for an account', '*', ACCOUNT, 'yes'],
      ['{"AWS": "*"} for an account', { AWS: '*' }, ACCOUNT, 'yes'],
      // F8: {"AWS": "*"} is documented for the IAM principals of accounts; service principals are not mentioned.
      ['{"AWS": "*"} for a service', { AWS: '*' }, LAMBDA, 'unknown'],
      ['the account id', { AWS: '222222222222' }, ACCOUNT, 'yes'],
      ['the account root ARN', { AWS: 'arn:aws:iam::222222222222:root' }, ACCOUNT, 'yes'],
      [
        'the root ARN of another partition',
        { AWS: 'arn:aws-cn:iam::222222222222:root' },
        ACCOUNT,
        'no',
      ],
      [
        'another account in a list',
        { AWS: ['333333333333', 'arn:aws:iam::333333333333:root'] },
        ACCOUNT,
        'no',
      ],
      // A grant to one identity is not a grant to an arbitrary principal of the account, the caller's included.
      ['the calling role', { AWS: ROLE }, ROLE_SESSION, 'no'],
      ['the calling session', { AWS: SESSION }, ROLE_SESSION, 'no'],
      ['a role when the caller is unknown', { AWS: ROLE }, ACCOUNT, 'no'],
      [
        'the calling role of another (CI) account',
        { AWS: 'arn:aws:iam::333333333333:role/ci' },
        { ...ACCOUNT, callerArns: ['arn:aws:iam::333333333333:role/ci'] },
        'no',
      ],
      ['an account id for a service', { AWS: '222222222222' }, LAMBDA, 'no'],
      ['the service', { Service: 'lambda.amazonaws.com' }, LAMBDA, 'yes'],
      [
        'the service in a list',
        { Service: ['ecs-tasks.amazonaws.com', 'lambda.amazonaws.com'] },
        LAMBDA,
        'yes',
      ],
      ['another service', { Service: 'ecs-tasks.amazonaws.com' }, LAMBDA, 'no'],
      ['a service for an account', { Service: 'lambda.amazonaws.com' }, ACCOUNT, 'no'],
      ['a federated principal', { Federated: 'cognito-identity.amazonaws.com' }, ACCOUNT, 'no'],
      ['a canonical user', { CanonicalUser: '79a59df900b949e55d96a1e698fbace' }, ACCOUNT, 'no'],
      ['an unknown principal type', { Group: 'admins' }, ACCOUNT, 'unknown'],
      ['a string other than "*"', '222222222222', ACCOUNT, 'unknown'],
      ['a list instead of an object', ['*'], ACCOUNT, 'unknown'],
      ['an empty list of entries', { AWS: [] }, ACCOUNT, 'unknown'],
      ['a non-string entry', { AWS: [222222222222] }, ACCOUNT, 'unknown'],
    ])('an Allow for %s', (_name, principalBlock, principal, expected) => {
      // Act
      const result = allows({ Principal: principalBlock }, { principal });

      // Assert
      expect(result).toBe(expected);
    });

    it.each<[string, JsonObject]>([
      ['neither Principal nor NotPrincipal', { Effect: 'Allow', Action: 'ecr:*' }],
      ['both Principal and NotPrincipal', { Principal: '*', NotPrincipal: '*', Action: 'ecr:*' }],
    ])('is unknown with %s', (_name, statement) => {
      // Act
      const result = allowsExactly(statement, { principal: ACCOUNT });

      // Assert
      expect(result).toBe('unknown');
    });
  });

  describe('NotPrincipal', () => {
    it('never counts an Allow with NotPrincipal as a grant', () => {
      // Act
      const result = allowsExactly(
        { NotPrincipal: { AWS: '333333333333' }, Action: 'ecr:*' },
        { principal: ACCOUNT }
      );

      // Assert
      expect(result).toBe('unknown');
    });

    it.each<[string, unknown, RequestPrincipal, Tri]>([
      ['"*"', '*', ACCOUNT, 'no'],
      ['the service', { Service: 'lambda.amazonaws.com' }, LAMBDA, 'no'],
      ['another service', { Service: 'ecs-tasks.amazonaws.com' }, LAMBDA, 'yes'],
      ['an account, for a service', { AWS: '222222222222' }, LAMBDA, 'yes'],
      ['{"AWS": "*"} for a service', { AWS: '*' }, LAMBDA, 'unknown'],
      ['{"AWS": "*"} for an account', { AWS: '*' }, ROLE_SESSION, 'no'],
      ['the account, caller unknown', { AWS: '222222222222' }, ACCOUNT, 'no'],
      ['another account', { AWS: 'arn:aws:iam::333333333333:root' }, ROLE_SESSION, 'yes'],
      // F7: AWS may check the account, then the role, then the session: all must be listed to be exempt.
      [
        'the account but not the caller',
        { AWS: 'arn:aws:iam::222222222222:root' },
        ROLE_SESSION,
        'unknown',
      ],
      [
        'the role and session but not the account',
        { AWS: [ROLE, SESSION] },
        ROLE_SESSION,
        'unknown',
      ],
      [
        'the account, the role and the session',
        { AWS: ['222222222222', ROLE, SESSION] },
        ROLE_SESSION,
        'no',
      ],
      ['an unknown principal type', { Group: 'admins' }, ACCOUNT, 'unknown'],
      ['a malformed block', { AWS: {} }, ACCOUNT, 'unknown'],
    ])('a Deny for everyone but %s', (_name, notPrincipal, principal, expected) => {
      // Act
      const result = evaluate([{ Effect: 'Deny', NotPrincipal: notPrincipal, Action: 'ecr:*' }], {
        principal,
      }).denied;

      // Assert
      expect(result).toBe(expected);
    });
  });

  describe('Action and NotAction', () => {
    it.each<[string, unknown, Tri]>([
      ['"*"', '*', 'yes'],
      ['the action', 'ecr:BatchGetImage', 'yes'],
      ['the pull actions', PULL, 'yes'],
      ['ecr:*', 'ecr:*', 'yes'],
      ['a prefix wildcard', 'ecr:BatchGet*', 'yes'],
      ['a suffix wildcard', 'ecr:*Image', 'yes'],
      ['a one-character wildcard', 'ecr:?atchGetImage', 'yes'],
      ['another letter case', 'ECR:batchgetimage', 'yes'],
      ['another action', 'ecr:PutImage', 'no'],
      ['another service', 's3:GetObject', 'no'],
      // F9: outside the IAM action grammar: no guessed answer.
      ['a wildcard in the service prefix', 'ec?:BatchGetImage', 'unknown'],
      ['"*" as the service prefix', '*:BatchGetImage', 'unknown'],
      ['no colon', 'ecr*', 'unknown'],
      ['two colons', 'ecr:BatchGetImage:x', 'unknown'],
      ['an empty list', [], 'unknown'],
      ['a non-string entry', ['ecr:*', 1], 'unknown'],
      ['a list with a pattern outside the grammar', ['ecr*', 'ecr:PutImage'], 'unknown'],
      ['a list where a later pattern matches', ['ecr*', 'ecr:BatchGet*'], 'yes'],
    ])('Action %s', (_name, action, expected) => {
      // Act
      const result = allows({ Action: action });

      // Assert
      expect(result).toBe(expected);
    });

    it.each<[string, unknown, Tri]>([
      ['another action', 'ecr:PutImage', 'yes'],
      ['the action', ['ecr:PutImage', 'ecr:BatchGetImage'], 'no'],
      ['a pattern outside the grammar', 'ecr*', 'unknown'],
    ])('NotAction %s', (_name, notAction, expected) => {
      // Act
      const result = allowsExactly({ Principal: '*', NotAction: notAction });

      // Assert
      expect(result).toBe(expected);
    });

    it.each<[string, JsonObject]>([
      ['neither Action nor NotAction', { Principal: '*' }],
      ['both Action and NotAction', { Principal: '*', Action: 'ecr:*', NotAction: 'ecr:PutImage' }],
    ])('is unknown with %s', (_name, statement) => {
      // Act
      const result = allowsExactly(statement);

      // Assert
      expect(result).toBe('unknown');
    });
  });

  describe('Resource and NotResource', () => {
    it.each<[string, unknown, Tri]>([
      ['"*"', '*', 'yes'],
      ['the repository', REPOSITORY, 'yes'],
      [
        'every repository of the registry',
        'arn:aws:ecr:eu-west-1:111111111111:repository/*',
        'yes',
      ],
      ['a wildcard region', 'arn:aws:ecr:*:111111111111:repository/platform/app', 'yes'],
      [
        'a one-character wildcard',
        'arn:aws:ecr:eu-west-?:111111111111:repository/platform/ap?',
        'yes',
      ],
      [
        'the repository in a list',
        ['arn:aws:ecr:eu-west-1:111111111111:repository/other', REPOSITORY],
        'yes',
      ],
      // F6: a `*` that ends a segment may expand beyond the colons.
      ['a short ARN whose * ends a segment', 'arn:aws:ecr:*:repository/platform/app', 'yes'],
      ['a trailing * after the service', 'arn:aws:ecr:*', 'yes'],
      ['another repository', 'arn:aws:ecr:eu-west-1:111111111111:repository/other', 'no'],
      ['another region', 'arn:aws:ecr:us-east-1:111111111111:repository/platform/app', 'no'],
      ['another registry', 'arn:aws:ecr:eu-west-1:333333333333:repository/platform/app', 'no'],
      ['a longer ARN', `${REPOSITORY}:extra`, 'no'],
      ['a longer ARN ending in *', `${REPOSITORY}:*`, 'no'],
      ['a shorter ARN without wildcard', 'arn:aws:ecr:eu-west-1:111111111111', 'no'],
      // F5: a `*` in mid-segment spanning a colon is undocumented.
      ['a mid-segment * across a colon', 'arn:aws:ecr:eu-*1:repository/platform/app', 'unknown'],
      // F4: ARN matching is case-sensitive, but how the region or account segment compares is undocumented.
      [
        'another letter case in the region',
        'arn:aws:ecr:EU-WEST-1:111111111111:repository/platform/app',
        'unknown',
      ],
      [
        'another letter case in the name',
        'arn:aws:ecr:eu-west-1:111111111111:repository/Platform/app',
        'unknown',
      ],
      [
        'a policy variable',
        'arn:aws:ecr:eu-west-1:${aws:PrincipalAccount}:repository/*',
        'unknown',
      ],
      ['an empty list', [], 'unknown'],
    ])('Resource %s', (_name, resource, expected) => {
      // Act
      const result = allows({ Resource: resource });

      // Assert
      expect(result).toBe(expected);
    });

    it.each<[string, JsonObject, Tri]>([
      ['no Resource at all (the repository the policy is attached to)', {}, 'yes'],
      [
        'NotResource naming another repository',
        { NotResource: 'arn:aws:ecr:*:*:repository/other' },
        'yes',
      ],
      [
        'NotResource naming this repository',
        { NotResource: 'arn:aws:ecr:*:*:repository/platform/*' },
        'no',
      ],
      [
        'both Resource and NotResource',
        { Resource: '*', NotResource: 'arn:aws:ecr:*:*:repository/other' },
        'unknown',
      ],
    ])('%s', (_name, parts, expected) => {
      // Act
      const result = allows(parts);

      // Assert
      expect(result).toBe(expected);
    });
  });

  describe('Condition', () => {
    it.each<[string, unknown, Tri]>([
      ['a condition that is not an object', 'aws:SourceArn', 'unknown'],
      ['an operator block that is not an object', { StringEquals: ['aws:SourceArn'] }, 'unknown'],
      [
        'an operator we do not model',
        { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } },
        'unknown',
      ],
      [
        'a set operator we do not know',
        { 'ForSomeValues:StringEquals': { 'aws:SourceArn': FUNCTION } },
        'unknown',
      ],
      ['a key whose value is unknown', { StringEquals: { 'aws:SourceVpce': 'vpce-1' } }, 'unknown'],
      [
        'a policy variable',
        { StringEquals: { 'aws:SourceAccount': '${aws:PrincipalAccount}' } },
        'unknown',
      ],
      ['an empty list of values', { StringEquals: { 'aws:SourceArn': [] } }, 'unknown'],
      ['an object as a value', { StringEquals: { 'aws:SourceArn': { a: 1 } } }, 'unknown'],
      ['an empty condition block', {}, 'yes'],
      [
        'two conditions that both hold',
        {
          StringEquals: { 'aws:SourceAccount': '222222222222' },
          ArnLike: { 'aws:SourceArn': 'arn:aws:lambda:*:222222222222:function:*' },
        },
        'yes',
      ],
      [
        'two conditions, one failing',
        {
          StringEquals: { 'aws:SourceAccount': '222222222222' },
          ArnLike: { 'aws:SourceArn': 'arn:aws:lambda:*:333333333333:function:*' },
        },
        'no',
      ],
      [
        'any letter case in the key',
        { StringEquals: { 'AWS:SOURCEACCOUNT': '222222222222' } },
        'yes',
      ],
      [
        'any letter case in the operator',
        { stringequals: { 'aws:SourceAccount': '222222222222' } },
        'yes',
      ],
      ['a number as the value', { StringEquals: { 'aws:SourceAccount': 222222222222 } }, 'yes'],
      ['a boolean as the value', { Bool: { 'aws:PrincipalIsAWSService': true } }, 'yes'],
    ])('%s', (_name, condition, expected) => {
      // Act
      const result = allows({ Condition: condition });

      // Assert
      expect(result).toBe(expected);
    });

    describe('string operators on a present key (aws:SourceArn)', () => {
      it.each<[string, string | string[], Tri]>([
        ['StringEquals', FUNCTION, 'yes'],
        ['StringEquals', [FUNCTION.toUpperCase(), FUNCTION], 'yes'],
        ['StringEquals', FUNCTION.toUpperCase(), 'no'],
        ['StringEquals', 'arn:aws:lambda:eu-west-1:222222222222:function:*', 'no'],
        ['StringNotEquals', FUNCTION, 'no'],
        ['StringNotEquals', 'arn:aws:lambda:eu-west-1:222222222222:function:reports', 'yes'],
        ['StringEqualsIgnoreCase', FUNCTION.toUpperCase(), 'yes'],
        ['StringEqualsIgnoreCase', 'x', 'no'],
        ['StringNotEqualsIgnoreCase', FUNCTION.toUpperCase(), 'no'],
        ['StringNotEqualsIgnoreCase', 'x', 'yes'],
        ['StringLike', 'arn:aws:lambda:*:222222222222:function:pay*', 'yes'],
        ['StringLike', 'arn:aws:lambda:eu-west-1:222222222222:function:paymen??', 'yes'],
        ['StringLike', 'arn:aws:lambda:*:222222222222:function:PAY*', 'no'],
        ['StringNotLike', 'arn:aws:lambda:*:222222222222:function:pay*', 'no'],
        ['StringNotLike', ['arn:aws:lambda:*:333333333333:*', 'x'], 'yes'],
      ])('%s %j', (operator, values, expected) => {
        // Act
        const result = allows({ Condition: { [operator]: { 'aws:SourceArn': values } } });

        // Assert
        expect(result).toBe(expected);
      });
    });

    describe('ARN operators', () => {
      it.each<[string, string | string[], Tri]>([
        ['ArnEquals', FUNCTION, 'yes'],
        ['ArnEquals', 'arn:aws:lambda:*:222222222222:function:*', 'yes'],
        ['ArnLike', 'arn:aws:lambda:eu-west-?:222222222222:function:payments', 'yes'],
        ['ArnLike', 'arn:aws:lambda:*:333333333333:function:*', 'no'],
        ['ArnLike', 'arn:aws:lambda:*:222222222222:function:PAYMENTS', 'no'],
        // Components match one by one: a `*` does not run into the next component.
        ['ArnLike', 'arn:aws:lambda:*:function:payments', 'no'],
        ['ArnNotEquals', FUNCTION, 'no'],
        ['ArnNotLike', 'arn:aws:lambda:*:333333333333:function:*', 'yes'],
        // F2: not an ARN on one side: undocumented, so no guessed answer (a negated operator would turn it into a match).
        ['ArnLike', '*', 'unknown'],
        ['ArnNotLike', 'arn:aws:lambda:*', 'unknown'],
        ['ArnNotEquals', ['222222222222', 'arn:aws:lambda:*:333333333333:function:*'], 'unknown'],
        // One value that surely matches decides, whatever the others are.
        ['ArnLike', ['*', FUNCTION], 'yes'],
        ['ArnNotLike', ['*', FUNCTION], 'no'],
      ])('%s %j on aws:SourceArn', (operator, values, expected) => {
        // Act
        const result = allows({ Condition: { [operator]: { 'aws:SourceArn': values } } });

        // Assert
        expect(result).toBe(expected);
      });

      it('is unknown when the request value is not an ARN', () => {
        // Act
        const result = allows({
          Condition: { ArnNotEquals: { 'aws:SourceAccount': 'arn:aws:iam::333333333333:root' } },
        });

        // Assert
        expect(result).toBe('unknown');
      });
    });

    describe('Bool', () => {
      it.each<[unknown, Tri]>([
        ['true', 'yes'],
        ['TRUE', 'yes'],
        [true, 'yes'],
        ['false', 'no'],
        [['false', 'true'], 'yes'],
        // F3: not a boolean: undocumented.
        ['yes', 'unknown'],
      ])('Bool aws:PrincipalIsAWSService %j for a service', (value, expected) => {
        // Act
        const result = allows({ Condition: { Bool: { 'aws:PrincipalIsAWSService': value } } });

        // Assert
        expect(result).toBe(expected);
      });

      it('is unknown on a key whose value is not a boolean', () => {
        // Act
        const result = allows({ Condition: { Bool: { 'aws:SourceArn': FUNCTION } } });

        // Assert
        expect(result).toBe('unknown');
      });
    });

    describe('a key known to be absent (aws:PrincipalOrgID for a service)', () => {
      it.each<[string, Tri]>([
        ['StringEquals', 'no'],
        ['StringLike', 'no'],
        ['ArnLike', 'no'],
        ['Bool', 'no'],
        ['StringNotEquals', 'yes'],
        ['ArnNotLike', 'yes'],
        ['StringEqualsIfExists', 'yes'],
        ['StringNotEqualsIfExists', 'yes'],
        ['ForAllValues:StringEquals', 'yes'],
        ['ForAllValues:StringNotEquals', 'yes'],
        ['ForAllValues:StringEqualsIfExists', 'yes'],
        ['ForAnyValue:StringEquals', 'no'],
        ['ForAnyValue:StringNotEquals', 'no'],
        // F1: ForAnyValue (false when absent) and IfExists (true when absent) contradict each other.
        ['ForAnyValue:StringEqualsIfExists', 'unknown'],
      ])('%s', (operator, expected) => {
        // Act
        const result = allows({
          Condition: { [operator]: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
        });

        // Assert
        expect(result).toBe(expected);
      });
    });

    describe('set operators on a present single-valued key', () => {
      it.each<[string, string[], Tri]>([
        ['ForAnyValue:StringEquals', ['x', '222222222222'], 'yes'],
        ['ForAnyValue:StringEquals', ['x'], 'no'],
        ['ForAllValues:StringLike', ['2222*'], 'yes'],
        ['ForAllValues:StringNotEquals', ['222222222222'], 'no'],
        ['forallvalues:stringequalsifexists', ['222222222222'], 'yes'],
      ])('%s %j on aws:SourceAccount', (operator, values, expected) => {
        // Act
        const result = allows({ Condition: { [operator]: { 'aws:SourceAccount': values } } });

        // Assert
        expect(result).toBe(expected);
      });
    });

    describe('Null', () => {
      it.each<[string, string, unknown, Tri]>([
        ['absent key, "true"', 'aws:PrincipalOrgID', 'true', 'yes'],
        ['absent key, "false"', 'aws:PrincipalOrgID', 'false', 'no'],
        ['present key, "false"', 'aws:SourceArn', 'false', 'yes'],
        ['present key, true', 'aws:SourceArn', true, 'no'],
        ['present key, "TRUE" or "false"', 'aws:SourceArn', ['TRUE', 'false'], 'yes'],
        ['a value other than true or false', 'aws:SourceArn', 'maybe', 'unknown'],
        ['a key whose presence is unknown', 'aws:SourceVpce', 'true', 'unknown'],
      ])('%s', (_name, key, value, expected) => {
        // Act
        const result = allows({ Condition: { Null: { [key]: value } } });

        // Assert
        expect(result).toBe(expected);
      });

      it.each(['NullIfExists', 'ForAllValues:Null', 'ForAnyValue:Null'])(
        'is unknown as %s',
        (operator) => {
          // Act
          const result = allows({ Condition: { [operator]: { 'aws:PrincipalOrgID': 'true' } } });

          // Assert
          expect(result).toBe('unknown');
        }
      );
    });
  });

  describe('Deny statements', () => {
    it.each<[string, JsonObject, Ask, Tri]>([
      ['everyone', {}, {}, 'yes'],
      [
        'outside the organization, for a service (the key is absent)',
        { Condition: { StringNotEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } },
        {},
        'yes',
      ],
      [
        'outside the organization, for a member account',
        { Condition: { StringNotEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } },
        { principal: ACCOUNT },
        'no',
      ],
      [
        'other functions than the account’s',
        {
          Condition: {
            ArnNotLike: { 'aws:SourceArn': 'arn:aws:lambda:*:222222222222:function:*' },
          },
        },
        {},
        'no',
      ],
      ['pushes only', { Action: ['ecr:PutImage', 'ecr:InitiateLayerUpload'] }, {}, 'no'],
      // A Deny naming the caller blocks this deploy, whichever account the caller belongs to.
      ['the calling role', { Principal: { AWS: ROLE } }, { principal: ROLE_SESSION }, 'yes'],
      ['the calling session', { Principal: { AWS: SESSION } }, { principal: ROLE_SESSION }, 'yes'],
      [
        'the calling role of a CI account',
        { Principal: { AWS: 'arn:aws:iam::333333333333:role/ci' } },
        { principal: { ...ACCOUNT, callerArns: ['arn:aws:iam::333333333333:role/ci'] } },
        'yes',
      ],
      [
        'another role of the account than the known caller',
        { Principal: { AWS: 'arn:aws:iam::222222222222:role/intern' } },
        { principal: ROLE_SESSION },
        'no',
      ],
      [
        'a role of the account, the caller unknown (it may be that role)',
        { Principal: { AWS: 'arn:aws:iam::222222222222:role/intern' } },
        { principal: ACCOUNT },
        'unknown',
      ],
      [
        'a role of another account, the caller unknown',
        { Principal: { AWS: 'arn:aws:iam::333333333333:role/intern' } },
        { principal: ACCOUNT },
        'no',
      ],
      [
        'plain HTTP only (a TLS guard), for a request over HTTPS',
        { Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        { context: { 'aws:SecureTransport': 'true' } },
        'no',
      ],
      [
        'an unmodelled operator',
        { Condition: { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } },
        {},
        'unknown',
      ],
    ])('a Deny for %s', (_name, parts, ask, expected) => {
      // Act
      const result = denies(parts, ask);

      // Assert
      expect(result).toBe(expected);
    });
  });

  describe('the two requests the planner makes', () => {
    it('lets Lambda pull with the seed-style cross-account statements', () => {
      // Arrange
      const statements = [
        {
          Sid: 'LambdaECRImageCrossAccountRetrievalPolicy',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: PULL,
          Condition: {
            StringLike: { 'aws:sourceARN': 'arn:aws:lambda:eu-west-1:222222222222:function:*' },
          },
        },
        {
          Sid: 'CrossAccountPermission',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::222222222222:root' },
          Action: PULL,
        },
      ];

      // Act
      const service = evaluate(statements, { principal: LAMBDA });
      const account = evaluate(statements, { principal: ACCOUNT, action: PULL[1] });

      // Assert
      expect(service).toMatchObject({
        allowed: 'yes',
        denied: 'no',
        allowedBy: ['LambdaECRImageCrossAccountRetrievalPolicy'],
      });
      expect(account).toMatchObject({
        allowed: 'yes',
        denied: 'no',
        allowedBy: ['CrossAccountPermission'],
      });
    });

    it('exempts services from an organization guard, and denies accounts outside it', () => {
      // Arrange
      const guard = {
        Sid: 'DenyOutsideOrgExceptServices',
        Effect: 'Deny',
        Principal: '*',
        Action: 'ecr:*',
        Condition: {
          StringNotEqualsIfExists: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
          BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
        },
      };
      const outsider: RequestContext = { ...ACCOUNT_CONTEXT, 'aws:PrincipalOrgID': 'o-zz9y8x7w6v' };

      // Act
      const service = evaluate([guard], { principal: LAMBDA }).denied;
      const member = evaluate([guard], { principal: ACCOUNT }).denied;
      const stranger = evaluate([guard], { principal: ACCOUNT, context: outsider }).denied;

      // Assert
      expect([service, member, stranger]).toEqual(['no', 'no', 'yes']);
    });
  });
});

describe('wildcardMatch with and without letter case', () => {
  it.each([
    ['ecr:*', 'ecr:BatchGetImage', false, true],
    ['ECR:BATCH*', 'ecr:batchgetimage', true, true],
    ['ECR:BATCH*', 'ecr:batchgetimage', false, false],
    ['ecr:Éclair', 'ecr:éclair', true, true],
    ['ecr:Éclair', 'ecr:eclair', true, false],
    ['a*b?d', 'axxbcd', false, true],
    ['a*b?d', 'axxbd', false, false],
  ])('matches %s against %s (ignoring case: %s): %s', (pattern, value, ignoreCase, expected) => {
    expect(wildcardMatch(pattern, value, ignoreCase)).toBe(expected);
  });
});

describe('anyOf and allOf (Kleene logic)', () => {
  it.each<[Tri[], Tri, Tri]>([
    [[], 'no', 'yes'],
    [['yes'], 'yes', 'yes'],
    [['no'], 'no', 'no'],
    [['unknown'], 'unknown', 'unknown'],
    [['yes', 'unknown'], 'yes', 'unknown'],
    [['no', 'unknown'], 'unknown', 'no'],
    [['yes', 'no'], 'yes', 'no'],
  ])('%j → any %s, all %s', (values, any, all) => {
    // Act & Assert
    expect([anyOf(values), allOf(values)]).toEqual([any, all]);
  });
});

describe('wildcardMatch', () => {
  it.each<[string, string, boolean]>([
    ['', '', true],
    ['*', '', true],
    ['*', 'anything', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbbd', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*bc', 'abcbc', true],
    ['abc', 'abcd', false],
    ['abcd', 'abc', false],
    ['a**', 'a', true],
    ['ABC', 'abc', false],
  ])('%j against %j is %s', (pattern, value, expected) => {
    // Act & Assert
    expect(wildcardMatch(pattern, value)).toBe(expected);
  });
});
