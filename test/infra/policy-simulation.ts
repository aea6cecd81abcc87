/**
 * Evaluates the synthesized resource and identity policies with @cloud-copilot/iam-simulate, so the infrastructure
 * tests can state what a request gets (allowed, explicitly denied, implicitly denied) rather than how a statement is
 * spelled. iam-simulate is AGPL-licensed: a devDependency, imported from test files only.
 *
 * Templates hold CloudFormation references; `concrete` turns them into the ARNs a deployment in account `ACCOUNT`,
 * region `REGION` would have (physical names are invented from logical ids where CloudFormation would generate them).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

import type { CfnTemplateJson } from './app-fixture';

export const ACCOUNT = '111111111111';
export const MEMBER_ACCOUNT = '222222222222';
export const REGION = 'eu-west-1';
export const ORGANIZATION = 'o-a1b2c3d4e5';

/** A policy document as IAM takes it. */
export interface PolicyJson {
  readonly Version?: string;
  readonly Statement: unknown[];
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface SimulatedRequest {
  /** A service principal (`events.amazonaws.com`) or an IAM ARN (a role session: `arn:aws:sts::…:assumed-role/…`). */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** Account that owns the resource. */
  readonly resourceAccount?: string;
  /** Request context keys (`aws:SourceArn`, `aws:PrincipalArn`, …); a list for a multivalued key (`events:source`). */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /** The principal's identity policies. */
  readonly identityPolicies?: readonly PolicyJson[];
  /** The resource's policy (queue, topic, key or trust policy). */
  readonly resourcePolicy?: PolicyJson;
  /** SCPs of the principal's account, besides AWS's `FullAWSAccess`. */
  readonly serviceControlPolicies?: readonly PolicyJson[];
}

/** AWS's default SCP, which every level of an organization carries unless it was detached. */
const FULL_AWS_ACCESS: PolicyJson = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

/**
 * Lambda documents `lambda:SourceFunctionArn` for identity-based policies and SCPs only: "You can't use the
 * lambda:SourceFunctionArn condition key in resource-based policies."
 * https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html
 * iam-simulate evaluates it wherever it stands, so a resource policy that relies on it would pass here and fail (or
 * deny everyone) in AWS: `decide` refuses such a policy instead of simulating it.
 */
export function assertNoSourceFunctionArn(resourcePolicy: PolicyJson | undefined): void {
  if (resourcePolicy === undefined) return;
  if (/lambda:sourcefunctionarn/i.test(JSON.stringify(resourcePolicy))) {
    throw new Error(
      'This resource policy uses lambda:SourceFunctionArn, which AWS documents for identity-based policies and ' +
        `SCPs only: ${JSON.stringify(resourcePolicy)}`
    );
  }
}

/**
 * What IAM decides for the request, as iam-simulate evaluates it. Fails if a context key was not understood, or if the
 * resource policy uses a key AWS does not evaluate there (`assertNoSourceFunctionArn`).
 */
export async function decide(request: SimulatedRequest): Promise<Decision> {
  assertNoSourceFunctionArn(request.resourcePolicy);
  const response = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resourceAccount ?? ACCOUNT },
        contextVariables: Object.fromEntries(
          Object.entries(request.context ?? {}).map(([key, value]) => [
            key,
            typeof value === 'string' ? value : [...value],
          ])
        ),
      },
      identityPolicies: (request.identityPolicies ?? []).map((policy, i) => ({
        name: `identity${i}`,
        policy,
      })),
      serviceControlPolicies:
        request.serviceControlPolicies === undefined
          ? []
          : [
              {
                orgIdentifier: ORGANIZATION,
                policies: [FULL_AWS_ACCESS, ...request.serviceControlPolicies].map((policy, i) => ({
                  name: `scp${i}`,
                  policy,
                })),
              },
            ],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy,
    },
    {}
  );
  if (response.resultType !== 'single') {
    throw new Error(`iam-simulate could not run: ${JSON.stringify(response)}`);
  }
  const ignored = response.result.ignoredContextKeys ?? [];
  if (ignored.length > 0)
    throw new Error(`iam-simulate ignored context keys ${ignored.join(', ')}`);
  return response.overallResult;
}

/** An identity policy allowing `actions` on every resource: a principal whose own permissions would let it. */
export function allowing(...actions: string[]): PolicyJson {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
  };
}

/** Values for `Ref`s to template parameters. */
export type Parameters = Readonly<Record<string, string>>;

/** Where a template is deployed. */
export interface Place {
  readonly account: string;
  readonly region: string;
}

const CENTRAL: Place = { account: ACCOUNT, region: REGION };

/** The template's value with every `Ref`, `Fn::GetAtt` and `Fn::Join` replaced by what it would be when deployed. */
export function concrete<T>(
  value: T,
  template: CfnTemplateJson,
  parameters: Parameters = {},
  place: Place = CENTRAL
): T {
  return resolve(value, template, parameters, place) as T;
}

/** The deployed ARN of a resource of the template. */
export function arnOf(
  template: CfnTemplateJson,
  logicalId: string,
  place: Place = CENTRAL
): string {
  const { account: ACCOUNT, region: REGION } = place;
  const resource = template.Resources[logicalId];
  if (resource === undefined) throw new Error(`No resource ${logicalId}.`);
  const props = resource.Properties ?? {};
  const name = (key: string): string => {
    const value = props[key];
    return typeof value === 'string' ? value : logicalId;
  };
  switch (resource.Type) {
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name('QueueName')}`;
    case 'AWS::Events::Rule':
      return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${props.EventBusName === undefined ? '' : 'lambda-ecr-autofix/'}${logicalId}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/${name('RoleName')}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${logicalId}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${logicalId}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${logicalId}`;
    case 'AWS::Events::EventBus':
      return `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name('Name')}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logicalId}:*`;
    case 'AWS::CloudWatch::Alarm':
      return `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name('AlarmName')}`;
    default:
      throw new Error(`No ARN pattern for ${resource.Type} (${logicalId}).`);
  }
}

function resolve(
  value: unknown,
  template: CfnTemplateJson,
  parameters: Parameters,
  place: Place
): unknown {
  const again = (v: unknown) => resolve(v, template, parameters, place);
  if (Array.isArray(value)) return value.map(again);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const ref = object.Ref;
  if (typeof ref === 'string') {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': place.account,
      'AWS::Region': place.region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const known = parameters[ref] ?? pseudo[ref];
    if (known !== undefined) return known;
    return arnOf(template, ref, place);
  }
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt)) {
    const [id, attribute] = getAtt as [string, string];
    if (attribute !== 'Arn') throw new Error(`Cannot resolve Fn::GetAtt ${id}.${attribute}.`);
    return arnOf(template, id, place);
  }
  const join = object['Fn::Join'];
  if (Array.isArray(join)) {
    const [separator, parts] = join as [string, unknown[]];
    return parts.map(again).join(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([key, v]) => [key, again(v)]));
}
