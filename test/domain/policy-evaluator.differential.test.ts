/**
 * Differential tests: our repository-policy evaluator against @cloud-copilot/iam-simulate.
 *
 * iam-simulate is AGPL-licensed: it is a devDependency and may only ever be imported from test files.
 *
 * Every run generates a repository policy and one pull request (Lambda's service principal, or an IAM principal of an
 * account), evaluates it with both, and compares wherever our evaluator commits to an answer (`yes`/`no`). Our
 * `unknown` answers are by design and are only counted. The simulator is asked for the resource policy alone
 * (no identity policies, SCPs, RCPs), and its per-statement analysis of that resource policy is read:
 * - "denied" = at least one Deny statement of the resource policy applies (explicit deny),
 * - "allowed" = at least one Allow statement applies (for a cross-account principal, including account-level
 *   matches: the resource policy alone decides for the resource side).
 *
 * The account request is the planner's: an arbitrary IAM principal of the account (see RequestPrincipal). Its
 * "allowed" is therefore compared with the simulator asked as the account's root (only a grant to the account, or to
 * everyone, lets any principal of it pull; a grant to the caller's role does not), and its "denied" with the simulator
 * asked as the caller (a Deny naming the caller blocks the deploy). Like the planner, our context does not know
 * `aws:PrincipalArn` for an arbitrary principal.
 *
 * Cases where the simulator models something differently from AWS are excluded by `simulatorDiffers`, each naming
 * its finding in docs/evaluator-findings.md.
 */
import type { SingleResourceSimulationResult } from '@cloud-copilot/iam-simulate';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';

import type { JsonObject } from '../../lambda/domain/policy-document';
import { policyFromJson } from '../../lambda/domain/policy-document';
import type {
  AccessRequest,
  Evaluation,
  RequestPrincipal,
  Tri,
} from '../../lambda/domain/policy-evaluator';
import { evaluatePolicy } from '../../lambda/domain/policy-evaluator';

const REGISTRY = '111111111111';
const CONSUMER = '222222222222';
const OTHER = '333333333333';
const ORG = 'o-a1b2c3d4e5';
const OTHER_ORG = 'o-zz9y8x7w6v';
const REGION = 'eu-west-1';
const REPOSITORY_ARN = `arn:aws:ecr:${REGION}:${REGISTRY}:repository/platform/app`;
const LAMBDA = 'lambda.amazonaws.com';
const PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] as const;

const rootArn = (account: string): string => `arn:aws:iam::${account}:root`;
const roleArn = (account: string, name = 'deployer'): string =>
  `arn:aws:iam::${account}:role/${name}`;
const sessionArn = (account: string): string => `arn:aws:sts::${account}:assumed-role/deployer/ci`;
const functionArn = (account: string, region: string, rest: string): string =>
  `arn:aws:lambda:${region}:${account}:function:${rest}`;

// ---------------------------------------------------------------------------------------------------------------
// Requests

interface Scenario {
  readonly principal: RequestPrincipal;
  /** The principal as iam-simulate takes it: a service name or an IAM ARN. */
  readonly simulatorPrincipal: string;
  /** Who the simulator is asked as for the Allow side, when it differs from `simulatorPrincipal` (the account root). */
  readonly simulatorAllowPrincipal?: string;
  /** Context only the simulator gets for the caller (what the caller's request really carries). */
  readonly simulatorContext?: Readonly<Record<string, string>>;
  /** Our context: every key we condition on is listed, `null` = known to be absent (not sent to the simulator). */
  readonly context: Readonly<Record<string, string | null>>;
}

const SOURCE_ARNS = [
  functionArn(CONSUMER, REGION, 'payments'),
  functionArn(CONSUMER, REGION, 'payments:live'),
  functionArn(CONSUMER, REGION, 'payments:7'),
  functionArn(CONSUMER, REGION, 'reports'),
  functionArn(CONSUMER, 'us-east-1', 'payments'),
  functionArn(OTHER, REGION, 'payments'),
  functionArn(REGISTRY, REGION, 'local'),
  // What the planner sends when the event does not name the function: a literal `*` in the value.
  functionArn(CONSUMER, REGION, '*'),
];

const serviceScenario: fc.Arbitrary<Scenario> = fc
  .record({
    service: fc.constantFrom(LAMBDA, LAMBDA, LAMBDA, 'ecs-tasks.amazonaws.com'),
    sourceArn: fc.constantFrom(...SOURCE_ARNS),
    withSourceAccount: fc.boolean(),
  })
  .map(({ service, sourceArn, withSourceAccount }) => ({
    principal: { kind: 'service', service },
    simulatorPrincipal: service,
    context: {
      'aws:SourceArn': sourceArn,
      'aws:SourceAccount': withSourceAccount ? (sourceArn.split(':')[4] ?? null) : null,
      'aws:PrincipalIsAWSService': 'true',
      'aws:PrincipalServiceName': service,
      'aws:SecureTransport': 'true',
      // Service principals carry no principal account, ARN or organization.
      'aws:PrincipalOrgID': null,
      'aws:PrincipalAccount': null,
      'aws:PrincipalArn': null,
    },
  }));

const accountScenario: fc.Arbitrary<Scenario> = fc
  .record({
    account: fc.constantFrom(CONSUMER, CONSUMER, OTHER, REGISTRY),
    caller: fc.constantFrom('root', 'role', 'session'),
    org: fc.constantFrom<string | null>(ORG, ORG, OTHER_ORG, null),
  })
  .map(({ account, caller, org }) => {
    const role = roleArn(account);
    const callerArns =
      caller === 'root' ? [] : caller === 'role' ? [role] : [sessionArn(account), role];
    const simulatorPrincipal =
      caller === 'root' ? rootArn(account) : caller === 'role' ? role : sessionArn(account);
    return {
      principal: { kind: 'account', accountId: account, partition: 'aws', callerArns },
      simulatorPrincipal,
      simulatorAllowPrincipal: rootArn(account),
      // For a role session, aws:PrincipalArn is the role's ARN.
      simulatorContext: { 'aws:PrincipalArn': caller === 'root' ? rootArn(account) : role },
      context: {
        'aws:PrincipalAccount': account,
        'aws:PrincipalIsAWSService': 'false',
        'aws:PrincipalServiceName': null,
        'aws:SourceArn': null,
        'aws:SourceAccount': null,
        'aws:PrincipalOrgID': org,
        'aws:SecureTransport': 'true',
      },
    } satisfies Scenario;
  });

// ---------------------------------------------------------------------------------------------------------------
// Policies

const oneOrList = <T>(item: fc.Arbitrary<T>): fc.Arbitrary<T | T[]> =>
  fc.oneof(item, fc.array(item, { minLength: 1, maxLength: 3 }));

const AWS_ENTRIES = [
  '*',
  CONSUMER,
  OTHER,
  REGISTRY,
  rootArn(CONSUMER),
  rootArn(OTHER),
  rootArn(REGISTRY),
  roleArn(CONSUMER),
  roleArn(CONSUMER, 'other'),
  roleArn(OTHER),
  roleArn(REGISTRY),
  sessionArn(CONSUMER),
];
const SERVICES = [
  LAMBDA,
  'ecs-tasks.amazonaws.com',
  'ecr.amazonaws.com',
  'codebuild.amazonaws.com',
];

/** Entries that name the scenario's own principal (its service, its account, its caller). */
function ownEntries(scenario: Scenario): JsonObject[] {
  const { principal } = scenario;
  if (principal.kind === 'service') {
    return [{ Service: principal.service }, { Service: [SERVICES[3], principal.service] }];
  }
  return [principal.accountId, rootArn(principal.accountId), ...principal.callerArns].map(
    (entry) => ({
      AWS: entry,
    })
  );
}

const principalBlock = (scenario: Scenario): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.constant('*'), weight: 3 },
    { arbitrary: fc.constant({ AWS: '*' }), weight: 2 },
    { arbitrary: fc.constantFrom(...ownEntries(scenario)), weight: 5 },
    { arbitrary: fc.record({ AWS: oneOrList(fc.constantFrom(...AWS_ENTRIES)) }), weight: 3 },
    { arbitrary: fc.record({ Service: oneOrList(fc.constantFrom(...SERVICES)) }), weight: 2 },
    {
      arbitrary: fc.record({
        AWS: oneOrList(fc.constantFrom(...AWS_ENTRIES)),
        Service: oneOrList(fc.constantFrom(...SERVICES)),
      }),
      weight: 1,
    }
  );

const ACTIONS = [
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:*',
  'ecr:BatchGet*',
  'ecr:*Image',
  'ecr:?atchGetImage',
  'ecr:GetDownload*',
  'ecr:Get*',
  'ecr:*Layer*',
  '*',
  'ECR:batchgetimage',
  'ecr:GETDOWNLOADURLFORLAYER',
  'Ecr:BatchGet?mage',
  'ecr:PutImage',
  'ecr:BatchCheckLayerAvailability',
  's3:GetObject',
];

const RESOURCES = [
  '*',
  REPOSITORY_ARN,
  REPOSITORY_ARN,
  `arn:aws:ecr:${REGION}:${REGISTRY}:repository/*`,
  `arn:aws:ecr:${REGION}:${REGISTRY}:repository/platform/*`,
  `arn:aws:ecr:*:${REGISTRY}:repository/platform/app`,
  `arn:aws:ecr:${REGION}:*:repository/platform/ap?`,
  `arn:aws:ecr:${REGION}:${REGISTRY}:repository/other`,
  `arn:aws:ecr:us-east-1:${REGISTRY}:repository/platform/app`,
  `arn:aws:ecr:${REGION}:${OTHER}:repository/platform/app`,
  `arn:aws:ecr:*:*:*`,
  `arn:aws:ecr:${REGION}:${REGISTRY}:*`,
  `arn:aws:ecr:${REGION}:${REGISTRY}:repository/platform/app*`,
  `arn:aws:ecr:${REGION}:${REGISTRY}:repository/platform/app/*`,
  `arn:aws:ecr:${REGION}:${REGISTRY}:repository/Platform/app`,
  `arn:aws:ECR:${REGION}:${REGISTRY}:repository/platform/app`,
  `arn:aws:ecr:EU-WEST-1:${REGISTRY}:repository/platform/app`,
  `arn:aws:ecr:${REGION}:${REGISTRY}:repo*`,
  `arn:aws:ecr:eu-*-1:${REGISTRY}:repository/platform/app`,
  `arn:aws:ecr:*:repository/platform/app`,
];

/** The condition keys our evaluator knows a value (or the absence) of, in every scenario. */
const KNOWN_KEYS = [
  'aws:SourceArn',
  'aws:SourceAccount',
  'aws:PrincipalOrgID',
  'aws:PrincipalAccount',
  'aws:PrincipalIsAWSService',
  'aws:PrincipalServiceName',
  'aws:PrincipalArn',
  'aws:SecureTransport',
] as const;
type KnownKey = (typeof KNOWN_KEYS)[number];

const ARN_VALUES = [
  ...SOURCE_ARNS,
  functionArn(CONSUMER, REGION, '*'),
  functionArn(CONSUMER, '*', '*'),
  functionArn(CONSUMER, REGION, 'pay*'),
  functionArn(CONSUMER, REGION, 'payments:*'),
  functionArn(CONSUMER, 'eu-west-?', 'payments'),
  functionArn('*', REGION, '*'),
  functionArn(CONSUMER, REGION, 'PAYMENTS'),
  `arn:aws:*:*:${CONSUMER}:*`,
  rootArn(CONSUMER),
  roleArn(CONSUMER),
  roleArn(OTHER),
  `arn:aws:iam::${CONSUMER}:role/*`,
  `arn:aws:iam::*:role/deployer`,
  `arn:aws:sts::${CONSUMER}:assumed-role/deployer/*`,
  '*',
];
const ACCOUNT_VALUES = [CONSUMER, OTHER, REGISTRY, '2222*', '22222222222?', '*'];
const ORG_VALUES = [ORG, OTHER_ORG, 'o-*', ORG.toUpperCase()];
const BOOL_VALUES = ['true', 'false', 'TRUE', 'False', true, false];
const SERVICE_NAME_VALUES = [
  LAMBDA,
  '*.amazonaws.com',
  'LAMBDA.amazonaws.com',
  'ecs-tasks.amazonaws.com',
];

const VALUE_POOLS = [ARN_VALUES, ACCOUNT_VALUES, ORG_VALUES, BOOL_VALUES, SERVICE_NAME_VALUES];

function poolFor(key: KnownKey): readonly (string | boolean)[] {
  switch (key) {
    case 'aws:SourceArn':
    case 'aws:PrincipalArn':
      return ARN_VALUES;
    case 'aws:SourceAccount':
    case 'aws:PrincipalAccount':
      return ACCOUNT_VALUES;
    case 'aws:PrincipalOrgID':
      return ORG_VALUES;
    case 'aws:PrincipalIsAWSService':
    case 'aws:SecureTransport':
      return BOOL_VALUES;
    default:
      return SERVICE_NAME_VALUES;
  }
}

/** Values near the request's own value, so that conditions match or just miss about as often as not. */
function nearMisses(value: string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const prefix = `${value.slice(0, -2)}*`;
  const single = `${value.slice(0, -1)}?`;
  return [
    value,
    value,
    value.toUpperCase(),
    prefix,
    prefix.toUpperCase(),
    single,
    single.toUpperCase(),
    `*${value.slice(3)}`,
    `${value}x`,
  ];
}

/** The key in one of several letter cases: condition keys are case-insensitive. */
const keySpelling = (key: string): fc.Arbitrary<string> =>
  fc.constantFrom(key, key.toLowerCase(), key.toUpperCase(), `AWS:${key.slice(4)}`);

const BASE_OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Bool',
  'Null',
];

const operatorName: fc.Arbitrary<{ readonly name: string; readonly base: string }> = fc
  .record({
    base: fc.constantFrom(...BASE_OPERATORS),
    ifExists: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    set: fc.constantFrom('', '', '', '', 'ForAnyValue:', 'ForAllValues:'),
  })
  .map(({ base, ifExists, set }) => ({ name: `${set}${base}${ifExists ? 'IfExists' : ''}`, base }));

/** Null takes booleans; otherwise a foreign pool if drawn, booleans for Bool, else near misses or the key's pool. */
function valuesArb(
  base: string,
  key: KnownKey,
  foreignPool: readonly (string | boolean)[] | null,
  scenario: Scenario
): fc.Arbitrary<string | boolean> {
  if (base === 'Null') return fc.constantFrom(...BOOL_VALUES);
  if (foreignPool !== null) return fc.constantFrom(...foreignPool);
  if (base === 'Bool') return fc.constantFrom(...BOOL_VALUES);
  const near = nearMisses(scenario.context[key]);
  const pool = fc.constantFrom(...poolFor(key));
  return near.length === 0
    ? pool
    : fc.oneof({ arbitrary: fc.constantFrom(...near), weight: 2 }, { arbitrary: pool, weight: 1 });
}

/**
 * One `"Operator": {"key": values}` entry. Values come from the key's own pool plus near misses of the request's value
 * (booleans for Bool and Null); one in ten draws them from another key's pool instead, to cover type mismatches (an
 * ARN operator on an account id, Bool on an ARN…).
 */
const conditionEntry = (scenario: Scenario): fc.Arbitrary<readonly [string, JsonObject]> =>
  fc
    .record({
      operator: operatorName,
      keys: fc.oneof(
        { arbitrary: fc.constantFrom(...KNOWN_KEYS).map((key) => [key]), weight: 3 },
        {
          arbitrary: fc.uniqueArray(fc.constantFrom(...KNOWN_KEYS), { minLength: 2, maxLength: 2 }),
          weight: 1,
        }
      ),
      foreignPool: fc.option(fc.constantFrom(...VALUE_POOLS), { freq: 10 }),
    })
    .chain(({ operator, keys, foreignPool }) =>
      fc
        .tuple(
          ...keys.map((key) => {
            const value = valuesArb(operator.base, key, foreignPool, scenario);
            return fc.tuple(keySpelling(key), oneOrList(value));
          })
        )
        .map((entries): readonly [string, JsonObject] => [
          operator.name,
          Object.fromEntries(entries),
        ])
    );

const conditionBlock = (scenario: Scenario): fc.Arbitrary<JsonObject> =>
  fc
    .uniqueArray(conditionEntry(scenario), {
      minLength: 1,
      maxLength: 2,
      selector: ([name]) => name,
    })
    .map((entries) => Object.fromEntries(entries));

interface StatementShape {
  readonly effect: 'Allow' | 'Deny';
  readonly notPrincipal: boolean;
  readonly principal: unknown;
  readonly notAction: boolean;
  readonly action: string | string[];
  readonly resource: { readonly not: boolean; readonly value: string | string[] } | null;
  readonly condition: JsonObject | null;
  readonly sid: string | null;
}

const statementArb = (scenario: Scenario): fc.Arbitrary<JsonObject> =>
  fc
    .record<StatementShape>({
      effect: fc.constantFrom('Allow', 'Deny'),
      notPrincipal: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      principal: principalBlock(scenario),
      notAction: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      action: fc.oneof(
        { arbitrary: fc.constant<string[]>([...PULL_ACTIONS]), weight: 2 },
        { arbitrary: oneOrList(fc.constantFrom(...ACTIONS)), weight: 3 }
      ),
      resource: fc.option(
        fc.record({
          not: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
          value: oneOrList(fc.constantFrom(...RESOURCES)),
        }),
        { freq: 2 }
      ),
      condition: fc.option(conditionBlock(scenario), { freq: 2 }),
      sid: fc.option(fc.constantFrom('Pull', 'Guard', 'LambdaPull'), { freq: 2 }),
    })
    .map((shape) => {
      const statement: JsonObject = {};
      if (shape.sid !== null) statement['Sid'] = shape.sid;
      statement['Effect'] = shape.effect;
      statement[shape.notPrincipal ? 'NotPrincipal' : 'Principal'] = shape.principal;
      statement[shape.notAction ? 'NotAction' : 'Action'] = shape.action;
      if (shape.resource !== null) {
        statement[shape.resource.not ? 'NotResource' : 'Resource'] = shape.resource.value;
      }
      if (shape.condition !== null) statement['Condition'] = shape.condition;
      return statement;
    });

/** A statement that only its condition decides: any principal, the pull actions, no Resource. */
const conditionOnlyCase = (scenarios: fc.Arbitrary<Scenario>): fc.Arbitrary<Case> =>
  scenarios.chain((scenario) =>
    fc.record({
      scenario: fc.constant(scenario),
      policy: fc
        .record({ effect: fc.constantFrom('Allow', 'Deny'), condition: conditionEntry(scenario) })
        .map(({ effect, condition }): JsonObject => ({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: effect,
              Principal: '*',
              Action: [...PULL_ACTIONS],
              Condition: Object.fromEntries([condition]),
            },
          ],
        })),
      action: fc.constantFrom(...PULL_ACTIONS),
    })
  );

interface Case {
  readonly policy: JsonObject;
  readonly scenario: Scenario;
  readonly action: string;
}

/** A scenario, a policy of 1..maxStatements statements built around it, and one of the two pull actions. */
const caseArb = (scenarios: fc.Arbitrary<Scenario>, maxStatements: number): fc.Arbitrary<Case> =>
  scenarios.chain((scenario) =>
    fc.record({
      scenario: fc.constant(scenario),
      policy: fc
        .record({
          version: fc.constantFrom('2012-10-17', '2008-10-17'),
          statements: fc.array(statementArb(scenario), { minLength: 1, maxLength: maxStatements }),
        })
        .map(({ version, statements }): JsonObject => ({
          Version: version,
          Statement: statements,
        })),
      action: fc.constantFrom(...PULL_ACTIONS),
    })
  );

// ---------------------------------------------------------------------------------------------------------------
// Known differences of the simulator (see docs/evaluator-findings.md)

/**
 * Returns the finding that explains why the simulator cannot be compared for this case, or null. Each exclusion names
 * the finding in docs/evaluator-findings.md.
 */
function simulatorDiffers(policy: JsonObject): string | null {
  const statements = Array.isArray(policy['Statement'])
    ? policy['Statement']
    : [policy['Statement']];
  for (const statement of statements as JsonObject[]) {
    const resources = [statement['Resource'], statement['NotResource']].flat();
    // F6: iam-simulate pads a resource ARN of fewer than six segments with `*` segments, where IAM lets a `*` that
    // ends a segment expand beyond the colons (`arn:aws:ecr:*:repository/app` covers every region and account).
    if (resources.some((r) => typeof r === 'string' && r !== '*' && r.split(':').length < 6)) {
      return 'F6 short resource ARN';
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Running both

interface SimulatorAnswer {
  readonly allowed: boolean;
  readonly denied: boolean;
  readonly result: 'ExplicitDeny' | 'Allowed' | 'ImplicitDeny';
}

/** Deny as the caller; Allow as the account root when the scenario asks for an arbitrary principal of an account. */
async function simulate(
  policy: JsonObject,
  scenario: Scenario,
  action: string
): Promise<SimulatorAnswer> {
  const asCaller = await simulateAs(policy, scenario.simulatorPrincipal, action, {
    ...scenario.context,
    ...scenario.simulatorContext,
  });
  const root = scenario.simulatorAllowPrincipal;
  if (root === undefined) return asCaller;
  const asAccount = await simulateAs(policy, root, action, {
    ...scenario.context,
    'aws:PrincipalArn': root,
  });
  const { denied } = asCaller;
  const { allowed } = asAccount;
  return {
    allowed,
    denied,
    result: denied ? 'ExplicitDeny' : allowed ? 'Allowed' : 'ImplicitDeny',
  };
}

async function simulateAs(
  policy: JsonObject,
  principal: string,
  action: string,
  context: Readonly<Record<string, string | null>>
): Promise<SimulatorAnswer> {
  const contextVariables: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) {
    if (value !== null) contextVariables[key] = value;
  }
  const response = await runSimulation(
    {
      request: {
        principal,
        action,
        resource: { resource: REPOSITORY_ARN, accountId: REGISTRY },
        contextVariables,
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
    },
    {}
  );
  if (response.resultType !== 'single') {
    throw new Error(`iam-simulate could not run: ${JSON.stringify(response)}`);
  }
  return readResourceAnalysis(response);
}

function readResourceAnalysis(response: SingleResourceSimulationResult): SimulatorAnswer {
  const { ignoredContextKeys } = response.result;
  if (ignoredContextKeys !== undefined && ignoredContextKeys.length > 0) {
    throw new Error(`iam-simulate ignored context keys ${ignoredContextKeys.join(', ')}`);
  }
  const analysis = response.result.analysis.resourceAnalysis;
  if (analysis === undefined) throw new Error('iam-simulate returned no resource analysis');
  // Both lists only hold statements whose principal matched (Match, AccountLevelMatch, Session*Match).
  const denied = analysis.denyStatements.length > 0;
  const allowed = analysis.allowStatements.length > 0;
  return {
    allowed,
    denied,
    result: denied ? 'ExplicitDeny' : allowed ? 'Allowed' : 'ImplicitDeny',
  };
}

function ourResult(evaluation: Evaluation): SimulatorAnswer['result'] | null {
  if (evaluation.denied === 'yes') return 'ExplicitDeny';
  if (evaluation.denied === 'unknown' || evaluation.allowed === 'unknown') return null;
  return evaluation.allowed === 'yes' ? 'Allowed' : 'ImplicitDeny';
}

const stats = {
  runs: 0,
  excluded: new Map<string, number>(),
  compared: 0,
  comparedAllowed: 0,
  comparedDenied: 0,
  unknownAllowed: 0,
  unknownDenied: 0,
  unknownAny: 0,
  outcomes: new Map<string, number>(),
};

const count = (map: Map<string, number>, key: string): void => {
  map.set(key, (map.get(key) ?? 0) + 1);
};

const asBoolean = (value: Tri): boolean | null => (value === 'unknown' ? null : value === 'yes');

async function compare({ policy: policyJson, scenario, action }: Case): Promise<void> {
  stats.runs += 1;
  const parsed = policyFromJson(policyJson);
  if (!parsed.ok) throw new Error(`generated an unreadable policy: ${parsed.problem}`);
  const request: AccessRequest = {
    principal: scenario.principal,
    action,
    resource: REPOSITORY_ARN,
    context: scenario.context,
  };
  const ours = evaluatePolicy(parsed.policy, request);
  if (ours.allowed === 'unknown') stats.unknownAllowed += 1;
  if (ours.denied === 'unknown') stats.unknownDenied += 1;
  if (ours.allowed === 'unknown' || ours.denied === 'unknown') stats.unknownAny += 1;

  const excludedBy = simulatorDiffers(policyJson);
  if (excludedBy !== null) {
    count(stats.excluded, excludedBy);
    return;
  }
  const simulator = await simulate(policyJson, scenario, action);
  const oursAllowed = asBoolean(ours.allowed);
  const oursDenied = asBoolean(ours.denied);
  const oursResult = ourResult(ours);
  if (oursAllowed !== null || oursDenied !== null) stats.compared += 1;
  if (oursAllowed !== null) stats.comparedAllowed += 1;
  if (oursDenied !== null) stats.comparedDenied += 1;
  if (oursResult !== null) count(stats.outcomes, oursResult);

  const differs =
    (oursAllowed !== null && oursAllowed !== simulator.allowed) ||
    (oursDenied !== null && oursDenied !== simulator.denied) ||
    (oursResult !== null && oursResult !== simulator.result);
  if (differs) {
    throw new Error(
      `evaluator and iam-simulate disagree for ${action}\n` +
        `principal: ${JSON.stringify(scenario.principal)}\n` +
        `context: ${JSON.stringify(scenario.context)}\n` +
        `policy: ${JSON.stringify(policyJson, null, 1)}\n` +
        `ours: ${JSON.stringify(ours)}\nsimulator: ${JSON.stringify(simulator)}`
    );
  }
}

describe('policy evaluator vs iam-simulate (differential)', () => {
  afterAll(() => {
    const percent = (part: number): string => `${((100 * part) / stats.runs).toFixed(1)}%`;
    console.info(
      [
        `differential runs: ${stats.runs}, compared: ${stats.compared} (allowed ${stats.comparedAllowed}, denied ${stats.comparedDenied})`,
        `ours unknown: allowed ${percent(stats.unknownAllowed)}, denied ${percent(stats.unknownDenied)}, either ${percent(stats.unknownAny)}`,
        `our outcomes where both answers are known: ${JSON.stringify(Object.fromEntries(stats.outcomes))}`,
        `excluded (simulator differs): ${JSON.stringify(Object.fromEntries(stats.excluded))}`,
      ].join('\n')
    );
  });

  it('agrees for Lambda service-principal pulls', async () => {
    await fc.assert(fc.asyncProperty(caseArb(serviceScenario, 3), compare), { numRuns: 1500 });
  });

  it('agrees for pulls by an IAM principal of an account (cross-account, resource side)', async () => {
    await fc.assert(fc.asyncProperty(caseArb(accountScenario, 3), compare), { numRuns: 1500 });
  });

  it('agrees statement by statement (one statement, both kinds of principal)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(fc.oneof(serviceScenario, accountScenario), 1), compare),
      { numRuns: 1500 }
    );
  });

  it('agrees on condition operators alone (one condition, both kinds of principal)', async () => {
    await fc.assert(
      fc.asyncProperty(conditionOnlyCase(fc.oneof(serviceScenario, accountScenario)), compare),
      { numRuns: 1000 }
    );
  });

  it('compared enough cases, and committed to an answer in most of them', () => {
    expect(stats.compared).toBeGreaterThanOrEqual(3000);
    expect(stats.unknownAny / stats.runs).toBeLessThan(0.5);
  });
});
