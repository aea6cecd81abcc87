/**
 * Issue 9, infrastructure: the drift guard's events travel from the member accounts to the fixer's queue (and only
 * successful repository-policy changes do); decision events go to the central bus only, from the fixer only, and no
 * rule of the central stack brings them back to the fixer. Patterns are evaluated against fixture events, permissions
 * with iam-simulate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Template } from 'aws-cdk-lib/assertions';

import {
  DECISION_EVENT_DETAIL_TYPE,
  DECISION_EVENT_SOURCE,
} from '../../lambda/domain/decision-event';
import {
  ORGANIZATION_CONFIG,
  buildApp,
  memberOf,
  resourcesOf,
  statementsOfRole,
  templateJson,
  type CfnTemplateJson,
} from './app-fixture';
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
  type PolicyJson,
} from './policy-simulation';

const ECR_EVENTS = path.join(__dirname, '..', 'fixtures', 'ecr-events');
const DEPLOY_EVENTS = path.join(__dirname, '..', 'fixtures', 'events');
const ecrEvent = (name: string): Record<string, JsonValue> =>
  JSON.parse(fs.readFileSync(path.join(ECR_EVENTS, `${name}.json`), 'utf8')) as Record<
    string,
    JsonValue
  >;

type Rule = [string, { Properties?: Record<string, unknown> }];

function rulesOf(template: CfnTemplateJson): Rule[] {
  return resourcesOf(Template.fromJSON(template), 'AWS::Events::Rule');
}

const isPolicyChangeRule = ([, rule]: Rule): boolean =>
  String(JSON.stringify(rule.Properties?.EventPattern)).includes('"aws.ecr"');
const patternOf = ([, rule]: Rule): JsonValue => rule.Properties?.EventPattern as JsonValue;

describe('the drift guard and decision events in the templates', () => {
  let central: CfnTemplateJson;
  let member: CfnTemplateJson;

  beforeAll(() => {
    const built = buildApp(ORGANIZATION_CONFIG);
    central = templateJson(Template.fromStack(built.stacks.central));
    member = templateJson(Template.fromStack(memberOf(built)));
  });

  describe('the member forwarding rule for repository-policy changes', () => {
    const memberRule = (): Rule => {
      const rules = rulesOf(member).filter(isPolicyChangeRule);
      expect(rules).toHaveLength(1);
      return rules[0] as Rule;
    };

    it.each([
      'ecr-set-repository-policy-removes-grants',
      'ecr-set-repository-policy-by-fixer',
      'ecr-delete-repository-policy',
      'ecr-delete-repository',
    ])('forwards the successful call of %s', (name) => {
      expect(matchesPattern(patternOf(memberRule()), ecrEvent(name))).toBe(true);
    });

    it('forwards no failed call, no other ECR call, no Lambda event', () => {
      const putImage = ecrEvent('ecr-set-repository-policy-removes-grants');
      (putImage['detail'] as Record<string, JsonValue>)['eventName'] = 'PutImage';
      const deploy = JSON.parse(
        fs.readFileSync(
          path.join(DEPLOY_EVENTS, 'create-function-cross-account-ecr-denied.json'),
          'utf8'
        )
      ) as JsonValue;

      expect(
        matchesPattern(patternOf(memberRule()), ecrEvent('ecr-set-repository-policy-failed'))
      ).toBe(false);
      expect(matchesPattern(patternOf(memberRule()), putImage)).toBe(false);
      expect(matchesPattern(patternOf(memberRule()), deploy)).toBe(false);
    });

    it('sends them to the central bus through the forwarder role, with its dead-letter queue', () => {
      const [, rule] = memberRule();
      const targets = rule.Properties?.Targets as {
        Arn: unknown;
        RoleArn: unknown;
        DeadLetterConfig: unknown;
      }[];

      expect(targets).toHaveLength(1);
      expect(
        JSON.stringify(
          concrete(targets[0]?.Arn, member, { CentralAccountId: ACCOUNT, CentralRegion: REGION })
        )
      ).toBe(JSON.stringify(`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/lambda-ecr-autofix`));
      expect(targets[0]?.RoleArn).toBeDefined();
      expect(targets[0]?.DeadLetterConfig).toBeDefined();
    });
  });

  describe('the central routing', () => {
    it('routes the forwarded changes on the central bus, and the central account\u2019s own on its default bus, to the work queue', () => {
      const rules = rulesOf(central).filter(isPolicyChangeRule);
      const onBus = rules.filter(([, r]) => r.Properties?.EventBusName !== undefined);
      const onDefault = rules.filter(([, r]) => r.Properties?.EventBusName === undefined);
      const event = ecrEvent('ecr-set-repository-policy-removes-grants');

      expect(onBus).toHaveLength(1);
      expect(onDefault).toHaveLength(1);
      for (const [, rule] of rules) {
        const targets = rule.Properties?.Targets as { Arn: unknown }[];
        expect(JSON.stringify(targets.map((t) => t.Arn))).toContain('"Queue');
      }
      expect(
        matchesPattern(patternOf(onBus[0] as Rule), { ...event, account: MEMBER_ACCOUNT })
      ).toBe(true);
      const local = concrete(patternOf(onDefault[0] as Rule), central);
      expect(matchesPattern(local, { ...event, account: ACCOUNT })).toBe(true);
      expect(matchesPattern(local, { ...event, account: MEMBER_ACCOUNT })).toBe(false);
    });

    it('lets the two drift rules send to the work queue (and no other rule)', async () => {
      const queueId = resourcesOf(Template.fromJSON(central), 'AWS::SQS::Queue').find(
        ([, q]) => q.Properties?.RedrivePolicy !== undefined
      )?.[0] as string;
      const queuePolicy = resourcesOf(Template.fromJSON(central), 'AWS::SQS::QueuePolicy').find(
        ([, p]) => JSON.stringify(p.Properties?.Queues).includes(`"${queueId}"`)
      )?.[1];
      const policy = concrete(queuePolicy?.Properties?.PolicyDocument as PolicyJson, central);
      const send = (sourceArn: string) =>
        decide({
          principal: 'events.amazonaws.com',
          action: 'sqs:SendMessage',
          resource: arnOf(central, queueId),
          context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': ACCOUNT },
          resourcePolicy: policy,
        });

      const decisions = await Promise.all([
        ...rulesOf(central)
          .filter(isPolicyChangeRule)
          .map(([id]) => send(arnOf(central, id))),
        send(`arn:aws:events:${REGION}:${ACCOUNT}:rule/lambda-ecr-autofix/SomeOtherRule`),
      ]);

      expect(decisions).toEqual(['Allowed', 'Allowed', 'ExplicitlyDenied']);
    });

    it('has no rule that would bring a decision event back to the fixer', () => {
      const decision: JsonValue = {
        version: '0',
        id: 'x',
        'detail-type': DECISION_EVENT_DETAIL_TYPE,
        source: DECISION_EVENT_SOURCE,
        account: ACCOUNT,
        region: REGION,
        resources: [],
        detail: { kind: 'fix', outcome: 'fix', consumerAccount: MEMBER_ACCOUNT },
      };

      // Scheduled rules (the sweep) have no pattern: they match no event at all.
      const patterned = rulesOf(central).filter(
        ([, rule]) => rule.Properties?.EventPattern !== undefined
      );
      expect(patterned.length).toBeGreaterThanOrEqual(5);
      for (const rule of patterned) {
        expect(matchesPattern(concrete(patternOf(rule), central), decision)).toBe(false);
      }
    });
  });

  describe('decision events', () => {
    const fixerRoleId = (): string =>
      resourcesOf(Template.fromJSON(central), 'AWS::IAM::Role').find(
        ([, r]) => r.Properties?.RoleName === 'LambdaEcrAutofixFixer'
      )?.[0] as string;
    const fixerIdentity = (): PolicyJson[] =>
      statementsOfRole(Template.fromJSON(central), fixerRoleId()).map((statement) =>
        concrete({ Version: '2012-10-17', Statement: [statement] }, central)
      );
    const fixerFunction = (): string =>
      arnOf(
        central,
        resourcesOf(Template.fromJSON(central), 'AWS::Lambda::Function')[0]?.[0] as string
      );
    const busId = (): string =>
      resourcesOf(Template.fromJSON(central), 'AWS::Events::EventBus')[0]?.[0] as string;
    const busPolicy = (): PolicyJson => ({
      Version: '2012-10-17',
      Statement: resourcesOf(Template.fromJSON(central), 'AWS::Events::EventBusPolicy').map(
        ([, p]) => concrete(p.Properties?.Statement, central)
      ),
    });
    const put = (options: {
      principalRole: string;
      bus: string;
      sourceFunctionArn?: string;
      source?: string;
      identity: PolicyJson[];
      account?: string;
      orgId?: string;
    }) =>
      decide({
        principal: `${options.principalRole.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/s`,
        action: 'events:PutEvents',
        resource: options.bus,
        context: {
          'aws:PrincipalArn': options.principalRole,
          'aws:PrincipalOrgID': options.orgId ?? ORGANIZATION,
          // Multivalued: one value per entry of the call; a forger may mix in an innocent one.
          'events:source': [options.source ?? DECISION_EVENT_SOURCE, 'aws.ecr'],
          'events:detail-type': [DECISION_EVENT_DETAIL_TYPE],
          ...(options.sourceFunctionArn === undefined
            ? {}
            : { 'lambda:SourceFunctionArn': options.sourceFunctionArn }),
        },
        identityPolicies: options.identity,
        resourcePolicy: busPolicy(),
      });

    it('lets the fixer put them on the central bus only, and only from its own code', async () => {
      const fixerRole = arnOf(central, fixerRoleId());
      const identity = fixerIdentity();
      const centralBus = arnOf(central, busId());

      const decisions = await Promise.all([
        put({
          principalRole: fixerRole,
          bus: centralBus,
          sourceFunctionArn: fixerFunction(),
          identity,
        }),
        put({
          principalRole: fixerRole,
          bus: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
          sourceFunctionArn: fixerFunction(),
          identity,
        }),
        put({
          principalRole: fixerRole,
          bus: centralBus,
          sourceFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:SomethingElse`,
          identity,
        }),
        put({ principalRole: fixerRole, bus: centralBus, identity }),
      ]);

      // The organization may put events on the bus, so the fixer role outside its function is refused by the Deny.
      expect(decisions).toEqual([
        'Allowed',
        'ImplicitlyDenied',
        'ExplicitlyDenied',
        'ExplicitlyDenied',
      ]);
    });

    it('denies anybody else of the organization a decision event on the central bus, whatever their own policy allows', async () => {
      const other = `arn:aws:iam::${MEMBER_ACCOUNT}:role/platform-admin`;
      const centralBus = arnOf(central, busId());

      const [spoofed, forwarded, fixerElsewhere] = await Promise.all([
        put({ principalRole: other, bus: centralBus, identity: [allowing('events:PutEvents')] }),
        put({
          principalRole: other,
          bus: centralBus,
          source: 'aws.ecr',
          identity: [allowing('events:PutEvents')],
        }),
        // The fixer role with its own policies, and an Allow of events:PutEvents added by mistake.
        put({
          principalRole: arnOf(central, fixerRoleId()),
          bus: centralBus,
          sourceFunctionArn: `arn:aws:lambda:${REGION}:${MEMBER_ACCOUNT}:function:Impostor`,
          identity: [...fixerIdentity(), allowing('events:PutEvents')],
        }),
      ]);

      expect(spoofed).toBe('ExplicitlyDenied');
      expect(forwarded).toBe('Allowed');
      expect(fixerElsewhere).toBe('ExplicitlyDenied');
    });
  });

  describe('with driftAction "off"', () => {
    it('forwards and routes no repository-policy change, and still allows decision events', () => {
      const built = buildApp({ ...ORGANIZATION_CONFIG, driftAction: 'off', decisionEvents: false });
      const offCentral = templateJson(Template.fromStack(built.stacks.central));
      const offMember = templateJson(Template.fromStack(memberOf(built)));

      expect(rulesOf(offCentral).filter(isPolicyChangeRule)).toEqual([]);
      expect(rulesOf(offMember).filter(isPolicyChangeRule)).toEqual([]);
      const fixer = resourcesOf(Template.fromJSON(offCentral), 'AWS::Lambda::Function')[0]?.[1];
      expect(
        (fixer?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables[
          'DECISION_EVENT_BUS'
        ]
      ).toBeUndefined();
      const fixerRole = resourcesOf(Template.fromJSON(offCentral), 'AWS::IAM::Role').find(
        ([, r]) => r.Properties?.RoleName === 'LambdaEcrAutofixFixer'
      )?.[0] as string;
      expect(
        statementsOfRole(Template.fromJSON(offCentral), fixerRole).flatMap((s) => [s.Action].flat())
      ).not.toContain('events:PutEvents');
    });
  });

  describe('with decisionEvents false', () => {
    it('lets nobody put a decision event on the central bus, not even the fixer from its own code', async () => {
      // Arrange
      const off = templateJson(
        Template.fromStack(
          buildApp({ ...ORGANIZATION_CONFIG, decisionEvents: false }).stacks.central
        )
      );
      const roleId = resourcesOf(Template.fromJSON(off), 'AWS::IAM::Role').find(
        ([, r]) => r.Properties?.RoleName === 'LambdaEcrAutofixFixer'
      )?.[0] as string;
      const fixerId = resourcesOf(Template.fromJSON(off), 'AWS::Lambda::Function').find(([id]) =>
        id.startsWith('FixerFunction')
      )?.[0] as string;
      const busPolicy: PolicyJson = {
        Version: '2012-10-17',
        Statement: resourcesOf(Template.fromJSON(off), 'AWS::Events::EventBusPolicy').map(([, p]) =>
          concrete(p.Properties?.Statement, off)
        ),
      };
      const put = (principalRole: string, context: Record<string, string>) =>
        decide({
          principal: `${principalRole.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/s`,
          action: 'events:PutEvents',
          resource: arnOf(
            off,
            resourcesOf(Template.fromJSON(off), 'AWS::Events::EventBus')[0]?.[0] as string
          ),
          context: {
            'aws:PrincipalArn': principalRole,
            'aws:PrincipalOrgID': ORGANIZATION,
            'events:source': DECISION_EVENT_SOURCE,
            ...context,
          },
          identityPolicies: [allowing('events:PutEvents')],
          resourcePolicy: busPolicy,
        });

      // Act
      const decisions = await Promise.all([
        put(arnOf(off, roleId), { 'lambda:SourceFunctionArn': arnOf(off, fixerId) }),
        put(`arn:aws:iam::${MEMBER_ACCOUNT}:role/platform-admin`, {}),
      ]);

      // Assert
      expect(decisions).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied']);
    });
  });
});
