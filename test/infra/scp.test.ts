/**
 * The SCP that docs/security-model.md prints ("SCP that protects the fixer"), evaluated with iam-simulate against the
 * names the central stack's resources get when deployed: what the templates cannot forbid (invoking the functions
 * directly, rewriting the topics' policies, setting the alarms' texts), the SCP forbids to everyone but the deployment.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Template } from 'aws-cdk-lib/assertions';

import { ORGANIZATION_CONFIG, buildApp, templateJson, type CfnTemplateJson } from './app-fixture';
import {
  ACCOUNT,
  REGION,
  allowing,
  arnOf,
  decide,
  type Decision,
  type PolicyJson,
} from './policy-simulation';

const SECURITY_MODEL = path.join(__dirname, '..', '..', 'docs', 'security-model.md');
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const DEPLOYMENT = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;

/** The SCP as the page prints it, for the central account `ACCOUNT`. */
function documentedScp(): PolicyJson {
  const page = fs.readFileSync(SECURITY_MODEL, 'utf8');
  const section = page.slice(page.indexOf('### SCP that protects the fixer'));
  const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (json === undefined) throw new Error('No SCP in docs/security-model.md.');
  return JSON.parse(json.replaceAll('CENTRAL', ACCOUNT)) as PolicyJson;
}

/** The name CloudFormation gives a resource without one: stack name, logical id and a random suffix. */
function generatedName(stackName: string, logicalId: string): string {
  return `${stackName}-${logicalId}-Ab12Cd34Ef56`.slice(0, 64);
}

describe('the SCP of docs/security-model.md', () => {
  let central: CfnTemplateJson;
  let stackName: string;
  let scp: PolicyJson;

  beforeAll(() => {
    const built = buildApp(ORGANIZATION_CONFIG);
    stackName = built.stacks.central.stackName;
    central = templateJson(Template.fromStack(built.stacks.central));
    scp = documentedScp();
  });

  const idsOf = (type: string, prefix = ''): string[] =>
    Object.entries(central.Resources)
      .filter(([id, r]) => r.Type === type && id.startsWith(prefix))
      .map(([id]) => id);
  const functionArn = (id: string) =>
    `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${generatedName(stackName, id)}`;
  const topicArn = (id: string) =>
    `arn:aws:sns:${REGION}:${ACCOUNT}:${generatedName(stackName, id)}`;
  const request = (principal: string, action: string, resource: string): Promise<Decision> =>
    decide({
      principal,
      action,
      resource,
      context: { 'aws:PrincipalArn': principal },
      identityPolicies: [allowing('*')],
      serviceControlPolicies: [scp],
    });

  it('stops a central-account administrator from invoking the fixer or the sweeper directly', async () => {
    // Arrange
    const functions = idsOf('AWS::Lambda::Function');

    // Act
    const decisions = await Promise.all([
      ...functions.map((id) => request(ADMIN, 'lambda:InvokeFunction', functionArn(id))),
      request(ADMIN, 'lambda:InvokeFunction', `${functionArn(functions[0] ?? '')}:live`),
      request(
        ADMIN,
        'lambda:InvokeFunction',
        `arn:aws:lambda:${REGION}:${ACCOUNT}:function:platform-tool`
      ),
    ]);

    // Assert: the two functions (and a qualified ARN) are refused, any other function is not.
    expect(functions).toHaveLength(2);
    expect(decisions).toEqual([
      'ExplicitlyDenied',
      'ExplicitlyDenied',
      'ExplicitlyDenied',
      'Allowed',
    ]);
  });

  it('stops anyone but the deployment from changing the code or configuration of either function', async () => {
    // Arrange: the sweeper runs with the fixer's role, so it needs the same protection.
    const changes = idsOf('AWS::Lambda::Function').flatMap((id) =>
      [
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:AddPermission',
      ].map((action): [string, string] => [action, functionArn(id)])
    );

    // Act
    const byAdmin = await Promise.all(changes.map(([a, r]) => request(ADMIN, a, r)));
    const byDeployment = await Promise.all(changes.map(([a, r]) => request(DEPLOYMENT, a, r)));

    // Assert
    expect(changes).toHaveLength(6);
    expect(byAdmin).toEqual(changes.map(() => 'ExplicitlyDenied'));
    expect(byDeployment).toEqual(changes.map(() => 'Allowed'));
  });

  it("stops anyone but the deployment from rewriting the topics' policies and the alarms' texts", async () => {
    // Arrange
    const topics = idsOf('AWS::SNS::Topic').map(topicArn);
    const alarms = idsOf('AWS::CloudWatch::Alarm').map(
      (id) => arnOf(central, id) // the alarms carry their names
    );
    const changes: Array<[string, string]> = [
      ...topics.map((arn): [string, string] => ['sns:SetTopicAttributes', arn]),
      ...alarms.map((arn): [string, string] => ['cloudwatch:SetAlarmState', arn]),
      ...alarms.map((arn): [string, string] => ['cloudwatch:PutMetricAlarm', arn]),
    ];

    // Act
    const byAdmin = await Promise.all(changes.map(([a, r]) => request(ADMIN, a, r)));
    const byDeployment = await Promise.all(changes.map(([a, r]) => request(DEPLOYMENT, a, r)));

    // Assert
    expect(topics).toHaveLength(2);
    // The five fixer alarms, the sweep dead-letter queue's and the forwarding heartbeat.
    expect(alarms).toHaveLength(7);
    expect(byAdmin).toEqual(changes.map(() => 'ExplicitlyDenied'));
    expect(byDeployment).toEqual(changes.map(() => 'Allowed'));
  });

  it('stops anyone but the deployment from changing what feeds the fixer: every queue, rule and the bus', async () => {
    // Arrange: the names the queues and rules have (their own, or generated), the bus's rules under the bus.
    const name = (id: string, key: string): string => {
      const given = central.Resources[id]?.Properties?.[key];
      return typeof given === 'string' ? given : generatedName(stackName, id);
    };
    const queues = idsOf('AWS::SQS::Queue').map(
      (id) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name(id, 'QueueName')}`
    );
    const rules = idsOf('AWS::Events::Rule').map((id) => {
      const onBus = central.Resources[id]?.Properties?.EventBusName !== undefined;
      return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${onBus ? 'lambda-ecr-autofix/' : ''}${name(id, 'Name')}`;
    });
    const changes: Array<[string, string]> = [
      ...queues.map((arn): [string, string] => ['sqs:SetQueueAttributes', arn]),
      ...rules.map((arn): [string, string] => ['events:PutTargets', arn]),
      // IAM knows no resource for the bus policy's actions: they are authorized on "*".
      ['events:PutPermission', '*'],
      ['events:RemovePermission', '*'],
    ];

    // Act
    const byAdmin = await Promise.all(changes.map(([a, r]) => request(ADMIN, a, r)));
    const byDeployment = await Promise.all(changes.map(([a, r]) => request(DEPLOYMENT, a, r)));

    // Assert: four queues; the sweep's three rules, the drift guard's two, failed deploys' two, member alarms'.
    expect(queues).toHaveLength(4);
    expect(rules).toHaveLength(8);
    expect(byAdmin).toEqual(changes.map(() => 'ExplicitlyDenied'));
    expect(byDeployment).toEqual(changes.map(() => 'Allowed'));
  });

  it("lets people do their other work: the SCP names only the installation's resources", async () => {
    // Act
    const decisions = await Promise.all([
      request(ADMIN, 'sns:SetTopicAttributes', `arn:aws:sns:${REGION}:${ACCOUNT}:platform-alerts`),
      request(ADMIN, 'sqs:SetQueueAttributes', `arn:aws:sqs:${REGION}:${ACCOUNT}:orders`),
      request(
        ADMIN,
        'cloudwatch:PutMetricAlarm',
        `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:platform-cpu`
      ),
      request(
        ADMIN,
        'events:PutTargets',
        `arn:aws:events:${REGION}:${ACCOUNT}:rule/nightly-backup`
      ),
    ]);

    // Assert
    expect(decisions).toEqual(['Allowed', 'Allowed', 'Allowed', 'Allowed']);
  });
});
