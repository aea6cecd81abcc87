/**
 * Decision events of the sweep, in the central template (issue 9, point 4): with `decisionEvents` on and
 * `sweepAction: "fix"` the sweeper is told the central bus (DECISION_EVENT_BUS), may put events on it only from its own
 * code, and the fixer role's `Deny` that keeps the reserved source to the writers' code admits it; with a report-only
 * sweep or `decisionEvents: false` the sweeper gets none of this. Permissions are simulated with iam-simulate.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';

import type { ConfigInput } from '../../lambda/domain/config';
import { CentralEventBus } from '../../lib/constructs/central-event-bus';
import {
  DECISION_EVENT_DETAIL_TYPE,
  DECISION_EVENT_SOURCE,
} from '../../lambda/domain/decision-event';
import {
  ORGANIZATION_CONFIG,
  buildApp,
  resourcesOf,
  statementsOfRole,
  templateJson,
  type CfnTemplateJson,
  type Statement,
} from './app-fixture';
import {
  ORGANIZATION,
  REGION,
  ACCOUNT,
  arnOf,
  concrete,
  decide,
  type Decision,
  type PolicyJson,
} from './policy-simulation';

/** One synthesized central stack and what the tests read from it. */
interface Central {
  readonly template: CfnTemplateJson;
  readonly fixerRoleId: string;
  readonly fixerId: string;
  readonly sweeperId: string;
  readonly busId: string;
}

function central(input: ConfigInput): Central {
  const template = templateJson(Template.fromStack(buildApp(input).stacks.central));
  const parsed = Template.fromJSON(template);
  const functionId = (prefix: string): string =>
    resourcesOf(parsed, 'AWS::Lambda::Function').find(([id]) => id.startsWith(prefix))?.[0] ??
    '(none)';
  return {
    template,
    fixerRoleId:
      resourcesOf(parsed, 'AWS::IAM::Role').find(
        ([, role]) => role.Properties?.RoleName === 'LambdaEcrAutofixFixer'
      )?.[0] ?? '(none)',
    fixerId: functionId('FixerFunction'),
    sweeperId: functionId('SweeperFunction'),
    busId: resourcesOf(parsed, 'AWS::Events::EventBus')[0]?.[0] ?? '(none)',
  };
}

function environmentOf(stack: Central, functionId: string): Record<string, unknown> {
  const fn = stack.template.Resources[functionId];
  return (fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

function roleStatements(stack: Central): Statement[] {
  return statementsOfRole(Template.fromJSON(stack.template), stack.fixerRoleId);
}

/** The role's Allows of events:PutEvents, as (function logical ids named by lambda:SourceFunctionArn). */
function putEventsAllowedTo(stack: Central): string[] {
  return roleStatements(stack)
    .filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes('events:PutEvents'))
    .flatMap((s) => functionsNamed(s.Condition?.ArnLike?.['lambda:SourceFunctionArn']));
}

/** The function ARNs (by logical id) of the role's own Deny of the reserved source outside its writers' code. */
function reservedSourceWriters(stack: Central): string[] | null {
  const deny = roleStatements(stack).find(
    (s) => s.Effect === 'Deny' && s.Sid === 'OnlylambdaecrautofixFunction'
  );
  if (deny === undefined) return null;
  return functionsNamed(deny.Condition?.ArnNotLike?.['lambda:SourceFunctionArn']);
}

/** The logical ids of the functions a list of `Fn::GetAtt`s (and their `…:*` joins) names, each once. */
function functionsNamed(value: unknown): string[] {
  const ids = JSON.stringify(value ?? null).match(/"([A-Za-z0-9]+)","Arn"/g) ?? [];
  return [...new Set(ids.map((match) => match.split('"')[1] as string))].sort();
}

/** Simulates a decision event put on the central bus by the fixer role, from the code of `functionArn`. */
function put(stack: Central, functionArn: string): Promise<Decision> {
  const role = arnOf(stack.template, stack.fixerRoleId);
  const parsed = Template.fromJSON(stack.template);
  const busPolicy: PolicyJson = {
    Version: '2012-10-17',
    Statement: resourcesOf(parsed, 'AWS::Events::EventBusPolicy').map(([, policy]) =>
      concrete(policy.Properties?.Statement, stack.template)
    ),
  };
  return decide({
    principal: `${role.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/s`,
    action: 'events:PutEvents',
    resource: arnOf(stack.template, stack.busId),
    context: {
      'aws:PrincipalArn': role,
      'aws:PrincipalOrgID': ORGANIZATION,
      'events:source': [DECISION_EVENT_SOURCE],
      'events:detail-type': [DECISION_EVENT_DETAIL_TYPE],
      'lambda:SourceFunctionArn': functionArn,
    },
    identityPolicies: roleStatements(stack).map((statement) =>
      concrete({ Version: '2012-10-17', Statement: [statement] }, stack.template)
    ),
    resourcePolicy: busPolicy,
  });
}

const ELSEWHERE = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:SomethingElse`;

describe('decision events of the sweep in the central template', () => {
  describe('with decisionEvents on and sweepAction "fix"', () => {
    let stack: Central;
    beforeAll(() => {
      stack = central({ ...ORGANIZATION_CONFIG, sweepAction: 'fix' });
    });

    it('tells the sweeper the central bus, as the fixer', () => {
      const bus = { 'Fn::GetAtt': [stack.busId, 'Arn'] };
      expect(environmentOf(stack, stack.sweeperId)['DECISION_EVENT_BUS']).toEqual(bus);
      expect(environmentOf(stack, stack.fixerId)['DECISION_EVENT_BUS']).toEqual(bus);
    });

    it('allows events:PutEvents on the central bus only, each copy only from its own function', () => {
      const allows = roleStatements(stack).filter(
        (s) => s.Effect === 'Allow' && [s.Action].flat().includes('events:PutEvents')
      );
      expect(allows).toHaveLength(2);
      for (const allow of allows) {
        expect(allow.Resource).toEqual({ 'Fn::GetAtt': [stack.busId, 'Arn'] });
      }
      expect(putEventsAllowedTo(stack)).toEqual([stack.fixerId, stack.sweeperId].sort());
    });

    it("admits the sweeper's code in the role's Deny of the reserved source (the fixer's and the sweeper's ARNs)", () => {
      expect(reservedSourceWriters(stack)).toEqual([stack.fixerId, stack.sweeperId].sort());
    });

    it('lets the fixer and the sweeper put a decision event from their own code, and nothing else with the role', async () => {
      const decisions = await Promise.all([
        put(stack, arnOf(stack.template, stack.fixerId)),
        put(stack, arnOf(stack.template, stack.sweeperId)),
        put(stack, `${arnOf(stack.template, stack.sweeperId)}:live`),
        put(stack, ELSEWHERE),
      ]);

      expect(decisions).toEqual(['Allowed', 'Allowed', 'Allowed', 'ExplicitlyDenied']);
    });
  });

  describe('with a report-only sweep (the default)', () => {
    let stack: Central;
    beforeAll(() => {
      stack = central(ORGANIZATION_CONFIG);
    });

    it('gives the sweeper no bus and no permission, and keeps the reserved source to the fixer', async () => {
      expect(environmentOf(stack, stack.sweeperId)).not.toHaveProperty('DECISION_EVENT_BUS');
      expect(environmentOf(stack, stack.fixerId)).toHaveProperty('DECISION_EVENT_BUS');
      expect(putEventsAllowedTo(stack)).toEqual([stack.fixerId]);
      expect(reservedSourceWriters(stack)).toEqual([stack.fixerId]);
      await expect(put(stack, arnOf(stack.template, stack.sweeperId))).resolves.toBe(
        'ExplicitlyDenied'
      );
      await expect(put(stack, arnOf(stack.template, stack.fixerId))).resolves.toBe('Allowed');
    });
  });

  describe('with decisionEvents false', () => {
    let stack: Central;
    beforeAll(() => {
      stack = central({ ...ORGANIZATION_CONFIG, sweepAction: 'fix', decisionEvents: false });
    });

    it('gives neither function a bus or a permission, and the bus refuses the source to everyone', async () => {
      expect(environmentOf(stack, stack.sweeperId)).not.toHaveProperty('DECISION_EVENT_BUS');
      expect(environmentOf(stack, stack.fixerId)).not.toHaveProperty('DECISION_EVENT_BUS');
      expect(putEventsAllowedTo(stack)).toEqual([]);
      // No writer, so no role Deny either: the bus policy's Deny for every principal does it.
      expect(reservedSourceWriters(stack)).toBeNull();
      const decisions = await Promise.all([
        put(stack, arnOf(stack.template, stack.sweeperId)),
        put(stack, arnOf(stack.template, stack.fixerId)),
      ]);
      expect(decisions).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied']);
    });
  });
});

describe('CentralEventBus.reserveSource', () => {
  const scope = () => {
    const stack = new Stack(new App(), 'Test');
    const role = new Role(stack, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    });
    return { stack, role, bus: new CentralEventBus(stack, 'Bus') };
  };

  it('denies the source outside the code of every writer function (each with its versions and aliases)', () => {
    const { stack, role, bus } = scope();
    const first = 'arn:aws:lambda:eu-west-1:111111111111:function:fixer';
    const second = 'arn:aws:lambda:eu-west-1:111111111111:function:sweeper';

    const policy = bus.reserveSource('team-source', { role, functionArns: [first, second] });

    expect(policy).toBeDefined();
    const template = Template.fromStack(stack);
    const roleId = resourcesOf(template, 'AWS::IAM::Role')[0]?.[0] as string;
    const statements = statementsOfRole(template, roleId);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'OnlyteamsourceFunction',
        Effect: 'Deny',
        Condition: {
          'ForAnyValue:StringEquals': { 'events:source': 'team-source' },
          ArnNotLike: {
            'lambda:SourceFunctionArn': [first, `${first}:*`, second, `${second}:*`],
          },
        },
      })
    );
  });

  it('refuses a writer without a function (that would deny the role everywhere, silently)', () => {
    const { role, bus } = scope();

    expect(() => bus.reserveSource('team-source', { role, functionArns: [] })).toThrow(
      'CentralEventBus.reserveSource: the writer of "team-source" names no function; give at least one function ' +
        'ARN, or no writer to reserve the source to nobody.'
    );
  });
});
