/**
 * Issue 8, infrastructure: the fixer acts only on events that check out (DESIGN.md, "Provenance", last paragraph).
 * Each requirement is checked on the synthesized templates, and where it is a permission, by evaluating the request
 * with iam-simulate (test/infra/policy-simulation.ts) rather than by reading the statement's spelling.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Template } from 'aws-cdk-lib/assertions';

import {
  WITHOUT_SWEEPS,
  actionsOf,
  buildApp,
  memberDeploymentOf,
  memberOf,
  resourcesOf,
  statementsOfRole,
  templateJson,
  type CfnTemplateJson,
  type Statement,
} from './app-fixture';
import { evaluateCondition } from './cfn-conditions';
import { matchesPattern, type JsonValue } from './event-pattern-matcher';
import {
  ACCOUNT,
  MEMBER_ACCOUNT,
  ORGANIZATION,
  REGION,
  allowing,
  arnOf,
  concrete,
  decide,
  type Decision,
  type PolicyJson,
} from './policy-simulation';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected exactly one ${what}, found ${items.length}.`);
  return items[0] as T;
}

function idWhere(
  template: CfnTemplateJson,
  type: string,
  test: (props: Record<string, unknown>) => boolean,
  what: string
): string {
  return only(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === type && test(r.Properties ?? {}))
      .map(([id]) => id),
    what
  );
}

function queuePolicyOf(template: CfnTemplateJson, queueId: string): PolicyJson {
  const [, policy] = only(
    Object.entries(template.Resources).filter(
      ([, r]) =>
        r.Type === 'AWS::SQS::QueuePolicy' &&
        JSON.stringify(r.Properties?.Queues) === JSON.stringify([{ Ref: queueId }])
    ),
    `policy of ${queueId}`
  );
  return concrete(policy.Properties?.PolicyDocument as PolicyJson, template);
}

const session = (roleArn: string, name = 'session'): string =>
  roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + `/${name}`;

describe('provenance in the central stack', () => {
  let central: CfnTemplateJson;
  let ids: {
    queue: string;
    deadLetterQueue: string;
    organizationRule: string;
    localRule: string;
    memberAlarmRule: string;
    replayRole: string;
    fixerRole: string;
    fixer: string;
  };

  beforeAll(() => {
    const built = buildApp(WITHOUT_SWEEPS);
    central = templateJson(Template.fromStack(built.stacks.central));
    const rule = (description: RegExp) =>
      idWhere(
        central,
        'AWS::Events::Rule',
        (p) => description.test(String(p.Description)),
        `${description}`
      );
    ids = {
      queue: idWhere(
        central,
        'AWS::SQS::Queue',
        (p) => p.RedrivePolicy !== undefined,
        'work queue'
      ),
      deadLetterQueue: idWhere(
        central,
        'AWS::SQS::Queue',
        (p) => p.RedrivePolicy === undefined,
        'DLQ'
      ),
      organizationRule: rule(/forwarded by organization accounts/),
      localRule: rule(/in this account and region/),
      memberAlarmRule: rule(/member account could not forward/),
      replayRole: idWhere(
        central,
        'AWS::IAM::Role',
        (p) => /replays dead letters/.test(String(p.Description)),
        'replay role'
      ),
      fixerRole: idWhere(
        central,
        'AWS::IAM::Role',
        (p) => p.RoleName === 'LambdaEcrAutofixFixer',
        'fixer role'
      ),
      fixer: only(
        resourcesOf(Template.fromStack(built.stacks.central), 'AWS::Lambda::Function').map(
          ([id]) => id
        ),
        'function'
      ),
    };
  });

  const identityOf = (roleId: string): PolicyJson[] =>
    statementsOfRole(Template.fromJSON(central), roleId).map((statement) =>
      concrete({ Version: '2012-10-17', Statement: [statement] }, central)
    );

  describe('only the project rules (and the replay role) may send to the work queue', () => {
    const send = (
      principal: string,
      context: Record<string, string>,
      identityPolicies: PolicyJson[] = []
    ): Promise<Decision> =>
      decide({
        principal,
        action: 'sqs:SendMessage',
        resource: arnOf(central, ids.queue),
        context,
        identityPolicies,
        resourcePolicy: queuePolicyOf(central, ids.queue),
      });
    const fromRule = (ruleArn: string) => ({
      'aws:SourceArn': ruleArn,
      'aws:SourceAccount': ACCOUNT,
    });

    it('admits EventBridge for the organization rule and the local rule', async () => {
      // Act
      const decisions = await Promise.all([
        send('events.amazonaws.com', fromRule(arnOf(central, ids.organizationRule))),
        send('events.amazonaws.com', fromRule(arnOf(central, ids.localRule))),
      ]);

      // Assert
      expect(decisions).toEqual(['Allowed', 'Allowed']);
    });

    it('denies EventBridge for any other rule, of this account or another', async () => {
      // Act
      const decisions = await Promise.all([
        send(
          'events.amazonaws.com',
          fromRule(`arn:aws:events:${REGION}:${ACCOUNT}:rule/someone-elses`)
        ),
        send('events.amazonaws.com', fromRule(arnOf(central, ids.memberAlarmRule))),
        send('events.amazonaws.com', {
          'aws:SourceArn': `arn:aws:events:${REGION}:${MEMBER_ACCOUNT}:rule/lambda-ecr-autofix/x`,
          'aws:SourceAccount': MEMBER_ACCOUNT,
        }),
      ]);

      // Assert
      expect(decisions).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied', 'ExplicitlyDenied']);
    });

    it('denies a principal of the central account whose own IAM policy allows sqs:SendMessage (or sqs:*)', async () => {
      // Arrange
      const app = `arn:aws:iam::${ACCOUNT}:role/SomeApplication`;

      // Act
      const decisions = await Promise.all([
        send(session(app), { 'aws:PrincipalArn': app }, [allowing('sqs:SendMessage')]),
        send(session(app), { 'aws:PrincipalArn': app }, [allowing('sqs:*')]),
        send(
          `arn:aws:iam::${ACCOUNT}:user/admin`,
          { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/admin` },
          [allowing('*')]
        ),
      ]);

      // Assert
      expect(decisions).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied', 'ExplicitlyDenied']);
    });

    it('denies the fixer role itself, even if it were given sqs:SendMessage', async () => {
      // Arrange
      const fixerRole = arnOf(central, ids.fixerRole);

      // Act
      const decision = await send(session(fixerRole), { 'aws:PrincipalArn': fixerRole }, [
        ...identityOf(ids.fixerRole),
        allowing('sqs:SendMessage'),
      ]);

      // Assert
      expect(decision).toBe('ExplicitlyDenied');
    });

    it('admits the replay role, with only its own permissions', async () => {
      // Arrange
      const replayRole = arnOf(central, ids.replayRole);

      // Act
      const decision = await send(
        session(replayRole, 'operator'),
        { 'aws:PrincipalArn': replayRole },
        identityOf(ids.replayRole)
      );

      // Assert
      expect(decision).toBe('Allowed');
    });

    it("still lets the fixer's event source mapping receive, delete and hide messages", async () => {
      // Arrange
      const fixerRole = arnOf(central, ids.fixerRole);

      // Act
      const decisions = await Promise.all(
        [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
        ].map((action) =>
          decide({
            principal: session(fixerRole),
            action,
            resource: arnOf(central, ids.queue),
            context: { 'aws:PrincipalArn': fixerRole },
            identityPolicies: identityOf(ids.fixerRole),
            resourcePolicy: queuePolicyOf(central, ids.queue),
          })
        )
      );

      // Assert
      expect(decisions).toEqual(['Allowed', 'Allowed', 'Allowed', 'Allowed']);
    });
  });

  describe('and to the dead-letter queue', () => {
    const sendToDlq = (
      principal: string,
      context: Record<string, string>,
      identityPolicies: PolicyJson[] = []
    ): Promise<Decision> =>
      decide({
        principal,
        action: 'sqs:SendMessage',
        resource: arnOf(central, ids.deadLetterQueue),
        context,
        identityPolicies,
        resourcePolicy: queuePolicyOf(central, ids.deadLetterQueue),
      });

    it('admits EventBridge for each of the three rules (events it could not deliver)', async () => {
      // Act
      const decisions = await Promise.all(
        [ids.organizationRule, ids.localRule, ids.memberAlarmRule].map((rule) =>
          sendToDlq('events.amazonaws.com', {
            'aws:SourceArn': arnOf(central, rule),
            'aws:SourceAccount': ACCOUNT,
          })
        )
      );

      // Assert
      expect(decisions).toEqual(['Allowed', 'Allowed', 'Allowed']);
    });

    it('denies everyone else, the replay role and other rules included', async () => {
      // Arrange
      const app = `arn:aws:iam::${ACCOUNT}:role/SomeApplication`;
      const replayRole = arnOf(central, ids.replayRole);

      // Act
      const decisions = await Promise.all([
        sendToDlq(session(app), { 'aws:PrincipalArn': app }, [allowing('sqs:SendMessage')]),
        sendToDlq(session(replayRole), { 'aws:PrincipalArn': replayRole }, [
          allowing('sqs:SendMessage'),
        ]),
        sendToDlq('events.amazonaws.com', {
          'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/someone-elses`,
          'aws:SourceAccount': ACCOUNT,
        }),
      ]);

      // Assert
      expect(decisions).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied', 'ExplicitlyDenied']);
    });

    it('accepts redrive only from the work queue, which therefore has a fixed name', () => {
      // Arrange
      const dlq = central.Resources[ids.deadLetterQueue]?.Properties ?? {};
      const queue = central.Resources[ids.queue]?.Properties ?? {};

      // Assert
      expect(queue.QueueName).toBe('lambda-ecr-autofix-work');
      expect(concrete(dlq.RedriveAllowPolicy, central)).toEqual({
        redrivePermission: 'byQueue',
        sourceQueueArns: [arnOf(central, ids.queue)],
      });
    });
  });

  describe('rule filters', () => {
    const fixture = (file: string): Record<string, JsonValue> =>
      JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as Record<string, JsonValue>;
    const patternOf = (ruleId: string): JsonValue =>
      concrete(central.Resources[ruleId]?.Properties?.EventPattern as JsonValue, central);

    it("matches only this account's own events on the default bus", () => {
      // Arrange
      const event = fixture('update-function-code-ecr-denied.json');
      const detail = event.detail as Record<string, JsonValue>;
      const own = {
        ...event,
        account: ACCOUNT,
        detail: { ...detail, recipientAccountId: ACCOUNT },
      };
      const other = {
        ...event,
        account: MEMBER_ACCOUNT,
        detail: { ...detail, recipientAccountId: MEMBER_ACCOUNT },
      };

      // Act
      const local = patternOf(ids.localRule);

      // Assert
      expect((local as Record<string, JsonValue>).account).toEqual([ACCOUNT]);
      expect(matchesPattern(local, own)).toBe(true);
      expect(matchesPattern(local, other)).toBe(false);
    });

    it("matches the organization's forwarded events on the central bus, which only the organization may use", () => {
      // Arrange
      const event = fixture('update-function-code-ecr-denied.json');
      const bus = only(
        resourcesOf(Template.fromJSON(central), 'AWS::Events::EventBusPolicy').filter(
          ([, policy]) => (policy.Properties?.Statement as { Effect?: string }).Effect === 'Allow'
        ),
        'bus policy that allows'
      )[1];

      // Assert
      expect(
        matchesPattern(patternOf(ids.organizationRule), { ...event, account: MEMBER_ACCOUNT })
      ).toBe(true);
      expect(bus.Properties?.Statement).toEqual(
        expect.objectContaining({
          Condition: { StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION } },
        })
      );
    });
  });

  describe('the fixer role', () => {
    const fixerFunction = () => arnOf(central, ids.fixer);
    /** The registry role of a member account, with its trust policy, as the member template creates it. */
    const registryRole = (): { arn: string; trust: PolicyJson } => {
      const built = buildApp(WITHOUT_SWEEPS);
      const member = templateJson(Template.fromStack(memberOf(built)));
      const id = idWhere(
        member,
        'AWS::IAM::Role',
        (p) => p.RoleName === 'LambdaEcrAutofixRegistryAccess',
        'registry role'
      );
      const trust = concrete(
        member.Resources[id]?.Properties?.AssumeRolePolicyDocument as PolicyJson,
        member,
        {
          CentralAccountId: ACCOUNT,
        }
      );
      return { arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/LambdaEcrAutofixRegistryAccess`, trust };
    };
    const assumeRegistryRole = (sourceFunctionArn: string | undefined): Promise<Decision> => {
      const fixerRole = arnOf(central, ids.fixerRole);
      const { arn, trust } = registryRole();
      return decide({
        principal: session(fixerRole, 'fixer'),
        action: 'sts:AssumeRole',
        resource: arn,
        resourceAccount: MEMBER_ACCOUNT,
        context: {
          'aws:PrincipalArn': fixerRole,
          'aws:PrincipalOrgID': ORGANIZATION,
          'aws:ResourceOrgID': ORGANIZATION,
          ...(sourceFunctionArn === undefined
            ? {}
            : { 'lambda:SourceFunctionArn': sourceFunctionArn }),
        },
        identityPolicies: identityOf(ids.fixerRole),
        resourcePolicy: trust,
      });
    };

    it("may assume a member account's registry role from the fixer function's code", async () => {
      expect(await assumeRegistryRole(fixerFunction())).toBe('Allowed');
    });

    it('may not from another function it was passed to, nor with its credentials used elsewhere', async () => {
      // Act
      const decisions = await Promise.all([
        assumeRegistryRole(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:SomethingElse`),
        assumeRegistryRole(undefined),
      ]);

      // Assert
      expect(decisions).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
    });

    it('carries lambda:SourceFunctionArn = the fixer function on every permission except logs and the queue', () => {
      // Arrange
      const statements = statementsOfRole(Template.fromJSON(central), ids.fixerRole).filter(
        (s) => s.Effect === 'Allow'
      );
      const unconditioned = (s: Statement) =>
        s.Condition?.ArnLike?.['lambda:SourceFunctionArn'] === undefined;
      const fixer = fixerFunction();

      // Assert: Lambda writes logs for the function and polls the queue outside its code, without the key.
      // KMS is called by SNS on the fixer's behalf, limited by kms:ViaService instead.
      expect(statements.filter(unconditioned).flatMap(actionsOf).sort()).toEqual(
        [
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ].sort()
      );
      for (const statement of statements.filter((s) => !unconditioned(s))) {
        expect(
          concrete(statement.Condition?.ArnLike?.['lambda:SourceFunctionArn'], central)
        ).toEqual([fixer, `${fixer}:*`]);
      }
      const kms = only(
        statements.filter((s) => actionsOf(s).includes('kms:Decrypt')),
        'KMS statement'
      );
      expect(concrete(kms.Condition, central)).toEqual({
        StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` },
      });
    });

    it('is trusted by Lambda only; IAM cannot narrow that to one function, which docs/security-model.md covers', () => {
      // Assert
      expect(central.Resources[ids.fixerRole]?.Properties?.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      });
    });
  });
});

describe('the registry role trusts the fixer role by its ARN, inside the organization', () => {
  let member: CfnTemplateJson;
  let trust: PolicyJson;
  const fixerRole = `arn:aws:iam::${ACCOUNT}:role/LambdaEcrAutofixFixer`;
  const registryRole = `arn:aws:iam::${MEMBER_ACCOUNT}:role/LambdaEcrAutofixRegistryAccess`;

  beforeAll(() => {
    member = templateJson(Template.fromStack(memberOf(buildApp(WITHOUT_SWEEPS))));
    const id = idWhere(
      member,
      'AWS::IAM::Role',
      (p) => p.RoleName === 'LambdaEcrAutofixRegistryAccess',
      'registry role'
    );
    trust = member.Resources[id]?.Properties?.AssumeRolePolicyDocument as PolicyJson;
  });

  const assume = (principalArn: string, organization: string): Promise<Decision> =>
    decide({
      principal: session(principalArn),
      action: 'sts:AssumeRole',
      resource: registryRole,
      resourceAccount: MEMBER_ACCOUNT,
      context: { 'aws:PrincipalArn': principalArn, 'aws:PrincipalOrgID': organization },
      identityPolicies: [allowing('sts:AssumeRole')],
      resourcePolicy: concrete(trust, member, { CentralAccountId: ACCOUNT }),
    });

  it('names the role itself as the principal (not the account root with a PrincipalArn condition)', () => {
    // Assert
    expect(concrete(trust, member, { CentralAccountId: ACCOUNT })).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: fixerRole },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION } },
        },
      ],
    });
  });

  it('lets the fixer role assume it from inside the organization, and nobody else', async () => {
    // Act
    const decisions = await Promise.all([
      assume(fixerRole, ORGANIZATION),
      assume(fixerRole, 'o-zz9y8x7w6v'),
      assume(`arn:aws:iam::${ACCOUNT}:role/LambdaEcrAutofixFixer2`, ORGANIZATION),
      assume(`arn:aws:iam::${ACCOUNT}:role/Admin`, ORGANIZATION),
      assume(`arn:aws:iam::${MEMBER_ACCOUNT}:role/LambdaEcrAutofixFixer`, ORGANIZATION),
    ]);

    // Assert
    expect(decisions).toEqual([
      'Allowed',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);
  });

  it('is created only after the fixer role exists: the StackSet waits for the central stack', () => {
    // Arrange
    const built = buildApp(WITHOUT_SWEEPS);

    // Assert
    expect(memberDeploymentOf(built).dependencies).toEqual([built.stacks.central]);
    expect(JSON.stringify(Template.fromStack(built.stacks.central).toJSON())).not.toContain(
      'AWS::CloudFormation::StackSet'
    );
  });
});

describe('registryAccounts decides whether the fixer may patch its own account', () => {
  const centralEcr = (
    input: Parameters<typeof buildApp>[0],
    env?: { account: string; region: string }
  ) => {
    const template = templateJson(Template.fromStack(buildApp(input, { env }).stacks.central));
    const policies = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('ecr:')
    );
    return { template, policies };
  };

  it('may with ["*"]', () => {
    // Act
    const { policies } = centralEcr(WITHOUT_SWEEPS);

    // Assert
    expect(policies).toHaveLength(1);
    expect(policies[0]?.[1].Condition).toBeUndefined();
  });

  it.each([
    ['lists it', [ACCOUNT, MEMBER_ACCOUNT], 1, 1],
    ['does not list it', [MEMBER_ACCOUNT], 0, 0],
  ])(
    'with the account known at synth time, may only if the list %s',
    (_what, registryAccounts, count, writers) => {
      // Act
      const { template, policies } = centralEcr(
        { ...WITHOUT_SWEEPS, registryAccounts },
        { account: ACCOUNT, region: REGION }
      );

      // Assert
      expect(policies).toHaveLength(count);
      expect(template.Conditions).toBeUndefined();
      expect(JSON.stringify(template).split('ecr:SetRepositoryPolicy').length - 1).toBe(
        // the Allow and the opt-out Deny
        2 * writers
      );
    }
  );

  it.each([1, 2, 10, 11, 25])(
    'environment-agnostic, decides at deploy time whether this account is among %d listed accounts',
    (n) => {
      // Arrange
      const registryAccounts = Array.from({ length: n }, (_, i) => String(300000000000 + i));
      const { template, policies } = centralEcr({ ...WITHOUT_SWEEPS, registryAccounts });
      const [, policy] = only(policies, 'ECR policy');
      const inAccount = (account: string) =>
        evaluateCondition(
          { Condition: policy.Condition },
          { conditions: template.Conditions ?? {}, refs: { 'AWS::AccountId': account } }
        );

      // Assert
      expect(registryAccounts.map(inAccount)).toEqual(registryAccounts.map(() => true));
      expect(inAccount(ACCOUNT)).toBe(false);
    }
  );
});

describe('KMS: services publishing to the encrypted topic', () => {
  let central: CfnTemplateJson;
  let keyPolicy: PolicyJson;
  let keyArn: string;

  beforeAll(() => {
    central = templateJson(Template.fromStack(buildApp(WITHOUT_SWEEPS).stacks.central));
    const [keyId, key] = only(resourcesOf(Template.fromJSON(central), 'AWS::KMS::Key'), 'key');
    keyPolicy = concrete(key.Properties?.KeyPolicy as PolicyJson, central);
    keyArn = arnOf(central, keyId);
  });

  const generateDataKey = (service: string, context: Record<string, string>): Promise<Decision> =>
    decide({
      principal: service,
      action: 'kms:GenerateDataKey',
      resource: keyArn,
      context,
      resourcePolicy: keyPolicy,
    });

  it('grants CloudWatch and EventBridge the documented actions, only for this account', () => {
    // Arrange
    const services = (keyPolicy.Statement as Statement[]).filter(
      (s) => (s.Principal as { Service?: string }).Service !== undefined
    );

    // Assert
    expect(
      services.map((s) => [(s.Principal as { Service: string }).Service, s.Action, s.Condition])
    ).toEqual([
      [
        'cloudwatch.amazonaws.com',
        ['kms:Decrypt', 'kms:GenerateDataKey*'],
        {
          StringEquals: { 'aws:SourceAccount': ACCOUNT },
          ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:*` },
        },
      ],
      [
        'events.amazonaws.com',
        ['kms:Decrypt', 'kms:GenerateDataKey*'],
        {
          StringEquals: { 'aws:SourceAccount': ACCOUNT },
          ArnLike: {
            'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix/*`,
          },
        },
      ],
    ]);
  });

  it("lets this account's alarms and central-bus rules use the key, and no other account's", async () => {
    // Act
    const decisions = await Promise.all([
      generateDataKey('cloudwatch.amazonaws.com', {
        'aws:SourceAccount': ACCOUNT,
        'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:LambdaEcrAutofix-function-errors`,
      }),
      generateDataKey('events.amazonaws.com', {
        'aws:SourceAccount': ACCOUNT,
        'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix/MemberAlarmRule`,
      }),
      generateDataKey('cloudwatch.amazonaws.com', {
        'aws:SourceAccount': MEMBER_ACCOUNT,
        'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${MEMBER_ACCOUNT}:alarm:x`,
      }),
      generateDataKey('events.amazonaws.com', {
        'aws:SourceAccount': ACCOUNT,
        'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/other-bus/x`,
      }),
    ]);

    // Assert
    expect(decisions).toEqual(['Allowed', 'Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
  });
});
