/**
 * The one configuration object of lambda-ecr-autofix, validated once wherever it enters: the `cdk.json` context key
 * `lambda-ecr-autofix` at synth time, the CLI's `--config` file, and the Lambda's `CONFIG` environment variable.
 * Every problem is reported with the key, the value received and the fix.
 */
// zod/mini: the same validation as classic zod, tree-shakable, so the Lambda bundle stays small.
import * as z from 'zod/mini';

import { ConfigError } from './config-error';
import { OUTCOMES } from './decision';
import { scheduleExpressionProblem } from './schedule-expression';
import { closestMatch } from './suggestion';

const ACCOUNT_ID = /^\d{12}$/;
const ACCOUNT_OR_ANY = z.string().check(
  z.refine((v) => v === '*' || ACCOUNT_ID.test(v), {
    message: 'must be a 12-digit AWS account id or "*" (any account of the organization)',
  })
);
const accountList = z
  .array(ACCOUNT_OR_ANY)
  .check(
    z.minLength(1, { message: 'must not be empty; use ["*"] for any account of the organization' })
  );

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const OU_ID = /^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$/;
export const ORG_ID = /^o-[a-z0-9]{10,32}$/;
/** IAM role names: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
/** Tag keys and values: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Tag.html */
const OPT_OUT_TAG = /^[\p{L}\p{Z}\p{N}_.:/+\-@]{1,128}(=[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256})?$/u;
/**
 * The share tag's key: an ECR tag key without spaces or `=` (so the `aws ecr tag-resource` command in a notice needs no
 * quoting), not in the `aws:` prefix AWS reserves for itself.
 */
const SHARE_TAG_KEY = /^(?!aws:)[\p{L}\p{N}_.:/+\-@]{1,128}$/iu;

/**
 * A list whose items must differ: CloudFormation refuses a StackSet whose `Regions` or `OrganizationalUnitIds` repeat
 * an item (the property schema's `uniqueItems`, cfn-lint E3037), so the repetition is reported at synth, by key.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudformation-stackset-deploymenttargets.html
 */
function noDuplicates(what: string) {
  return z.superRefine<string[]>((items, context) => {
    const repeated = items.find((item, index) => items.indexOf(item) !== index);
    if (repeated === undefined) return;
    context.addIssue({
      code: 'custom',
      input: items,
      message: `must not name ${what} twice: remove the second "${repeated}"`,
    });
  });
}

export const NOTIFY_ON = [...OUTCOMES, 'error'] as const;
export type NotifyOn = (typeof NOTIFY_ON)[number];

const text = (pattern: RegExp, message: string) =>
  z.string({ message }).check(z.regex(pattern, { message }));

export const configSchema = z.strictObject({
  notificationEmails: z._default(
    z.array(text(EMAIL, 'must be an e-mail address like ops@example.com')),
    []
  ),
  mode: z._default(
    z.enum(['enforce', 'dry-run'], { message: 'must be "enforce" or "dry-run"' }),
    'enforce'
  ),
  grantScope: z._default(
    z.enum(['account', 'function'], {
      message:
        'must be "account" (Lambda in the consumer account may pull) or "function" (only the failing function)',
    }),
    'account'
  ),
  registryAccounts: z._default(accountList, ['*']),
  consumerAccounts: z._default(accountList, ['*']),
  excludeRepositories: z._default(
    z.array(
      z.string().check(z.minLength(1, { message: 'must be a non-empty glob such as "prod/*"' }))
    ),
    []
  ),
  optOutTag: z._default(
    text(
      OPT_OUT_TAG,
      'must be a tag "key=value" (or just "key" for any value), e.g. "lambda-ecr-autofix=off"'
    ),
    'lambda-ecr-autofix=off'
  ),
  registryRoleName: z._default(
    text(ROLE_NAME, 'must be an IAM role name (1-64 of letters, digits and +=,.@_-)'),
    'LambdaEcrAutofixRegistryAccess'
  ),
  organizationId: z.optional(text(ORG_ID, 'must be an AWS Organizations id like "o-a1b2c3d4e5"')),
  memberDeployment: z.optional(
    z
      .strictObject({
        organizationalUnitIds: z
          .array(
            text(
              OU_ID,
              'must be an organizational unit id like "ou-ab12-cdef3456" or a root id "r-ab12"'
            )
          )
          .check(
            z.minLength(1, { message: 'must name at least one organizational unit' }),
            noDuplicates('an organizational unit')
          ),
        regions: z
          .array(text(REGION, 'must be an AWS region like "eu-west-1"'))
          .check(
            z.minLength(1, { message: 'must name at least one region' }),
            noDuplicates('a region')
          ),
        // IAM is global: the registry role lives in one region's stack instance per account. The StackSet updates
        // regions in parallel, so moving that region in one update would delete the role in one instance while
        // another creates it (IAM names are account-wide). Hence an explicit, stable key instead of "the first region".
        registryRoleRegion: text(
          REGION,
          'must name the one region (one of "regions") whose stack instances create the global registry role, ' +
            'e.g. "eu-west-1"; earlier versions used the first region of "regions". Set it once and never change it ' +
            '(docs/deployment.md, "Updating the member deployment")'
        ),
      })
      .check(
        z.superRefine((deployment, context) => {
          const { regions, registryRoleRegion } = deployment;
          // A malformed value already has its own message.
          if (!REGION.test(registryRoleRegion) || regions.includes(registryRoleRegion)) return;
          context.addIssue({
            code: 'custom',
            path: ['registryRoleRegion'],
            input: registryRoleRegion,
            message:
              `must be one of "regions" (${regions.join(', ')}): add it to "regions" rather than ` +
              'changing it, since the registry role must stay where it was created',
          });
        })
      )
  ),
  notifyOn: z._default(
    z.array(
      z.enum(NOTIFY_ON, {
        message: `must list some of ${NOTIFY_ON.map((o) => `"${o}"`).join(', ')}`,
      })
    ),
    ['fix', 'needs-human', 'revoke', 'error']
  ),
  sharing: z._default(
    z.enum(['consented', 'organization'], {
      message:
        'must be "consented" (share a repository only with its owner\'s consent) or "organization" (every repository with every account of the organization; needs "organizationId")',
    }),
    'consented'
  ),
  sharedRegistries: z._default(
    z.array(
      text(
        ACCOUNT_ID,
        'must be a 12-digit AWS account id whose repositories the organization shares'
      )
    ),
    []
  ),
  shareTag: z._default(
    text(
      SHARE_TAG_KEY,
      'must be an ECR tag key (1-128 letters, digits and _.:/+-@, not starting with "aws:"), e.g. "lambda-ecr-autofix:share"'
    ),
    'lambda-ecr-autofix:share'
  ),
  driftAction: z._default(
    z.enum(['notify', 'restore', 'off'], {
      message:
        'must be "notify" (report a removed grant), "restore" (put it back; consent rules apply again) or "off" (ignore policy changes)',
    }),
    'notify'
  ),
  decisionEvents: z._default(
    z.boolean({
      message:
        'must be true (put each decision worth telling on the central bus) or false (only the e-mail notices)',
    }),
    true
  ),
  auditRetentionDays: z._default(
    z
      .int({ message: 'must be a whole number of days' })
      .check(
        z.gte(1, { message: 'must be at least 1 day' }),
        z.lte(3650, { message: 'must be at most 3650 days (10 years)' })
      ),
    365
  ),
  sweepSchedule: z._default(
    z
      .string({
        message: 'must be "off" or an EventBridge schedule expression such as "rate(1 day)"',
      })
      .check(
        z.superRefine((value, context) => {
          const problem = value === 'off' ? null : scheduleExpressionProblem(value);
          if (problem !== null)
            context.addIssue({ code: 'custom', message: problem, input: value });
        })
      ),
    'rate(1 day)'
  ),
  sweepAction: z._default(
    z.enum(['report', 'fix'], {
      message:
        'must be "report" (the sweep only reports) or "fix" (it also fixes what it may, as the fixer would)',
    }),
    'report'
  ),
});

export { ConfigError };

/** The validated configuration, with every default filled in. */
export type Config = z.output<typeof configSchema>;
/** What a user may write (every key optional). */
export type ConfigInput = z.input<typeof configSchema>;

/**
 * Validates a configuration object. Throws `ConfigError` naming each bad key, the value received and the fix.
 * @param source where the object came from, for the message (e.g. `cdk.json context "lambda-ecr-autofix"`).
 */
export function parseConfig(input: unknown, source: string): Config {
  const value = input ?? {};
  const result = configSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => describeIssue(issue))
    );
  }
  const problems = crossKeyProblems(result.data);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return result.data;
}

/**
 * Rules that involve several keys. Sharing beyond the owner's explicit consent is only safe inside an organization:
 * the account statement then carries `aws:PrincipalOrgID`, so a grant ends when the account leaves it. Member
 * accounts can only forward to a central bus that admits them by organization.
 */
function crossKeyProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.organizationId === undefined) {
    if (config.sharing === 'organization') {
      problems.push(
        '"sharing" "organization" needs "organizationId" (got nothing): set "organizationId" (aws organizations describe-organization) or use "sharing": "consented"'
      );
    }
    if (config.sharedRegistries.length > 0) {
      problems.push(
        `"sharedRegistries" needs "organizationId" (got ${render(config.sharedRegistries)} and no organizationId): set "organizationId" (aws organizations describe-organization) or remove "sharedRegistries"`
      );
    }
    if (config.memberDeployment !== undefined) {
      problems.push(
        '"memberDeployment" needs "organizationId" (got nothing): the central bus admits the member accounts by ' +
          'organization; set "organizationId" (aws organizations describe-organization) or remove "memberDeployment"'
      );
    }
  }
  if (optOutTagParts(config).key === config.shareTag) {
    problems.push(
      `"shareTag" and "optOutTag" use the same tag key "${config.shareTag}": give them different keys`
    );
  }
  return problems;
}

/** One problem in words: the key, what is wrong, what is expected (with an example) and the value received. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const parent = issue.path.map(String);
    const prefix = parent.length > 0 ? `${parent.join('.')}.` : '';
    const known = keysAt(parent);
    return issue.keys
      .map((key) => {
        const close = closestMatch(key, known);
        return (
          `unknown key "${prefix}${key}": remove it or use one of ${known.join(', ')}` +
          (close === null ? '' : ` (did you mean "${close}"?)`)
        );
      })
      .join('; ');
  }
  const path = issue.path.map(String).join('.');
  if (path === '') return `expected a JSON object, got ${render(issue.input)}`;
  if (issue.code === 'invalid_type' && issue.message === GENERIC_MESSAGE) {
    return `"${path}" must be ${expectedType(issue.expected)}${example(issue)} (got ${render(issue.input)})`;
  }
  return `"${path}" ${issue.message} (got ${render(issue.input)})`;
}

/** What zod says when a schema gives no message of its own: a wrong JSON type, e.g. a string for a list. */
const GENERIC_MESSAGE = 'Invalid input';

/** A value of each key as a person would write it, for messages about wrong JSON types. */
const EXAMPLES: Readonly<Record<string, unknown>> = {
  notificationEmails: ['platform-team@example.com'],
  registryAccounts: ['111111111111'],
  consumerAccounts: ['222222222222'],
  excludeRepositories: ['prod/*'],
  memberDeployment: {
    organizationalUnitIds: ['r-ab12'],
    regions: ['eu-west-1'],
    registryRoleRegion: 'eu-west-1',
  },
  notifyOn: ['fix', 'needs-human', 'revoke', 'error'],
};

function expectedType(expected: string): string {
  const names: Readonly<Record<string, string>> = {
    array: 'a list',
    object: 'an object',
    string: 'a string',
    number: 'a number',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

/** `, e.g. …`: the received value wrapped in a list when a list was expected, else the key's example. */
function example(issue: z.core.$ZodIssueInvalidType): string {
  const input = issue.input;
  if (issue.expected === 'array' && (typeof input === 'string' || typeof input === 'number')) {
    return `, e.g. ${JSON.stringify([input])}`;
  }
  // Object(…) reads undefined for keys without an example; a list index reads the example list's first element.
  let value: unknown = EXAMPLES;
  for (const key of issue.path) {
    value = (Object(value) as Record<PropertyKey, unknown>)[typeof key === 'number' ? 0 : key];
  }
  return value === undefined ? '' : `, e.g. ${JSON.stringify(value)}`;
}

/** The keys the schema allows in the object at `path` (the top level, or a nested object such as memberDeployment). */
function keysAt(path: readonly string[]): string[] {
  let schema: z.core.$ZodType = configSchema;
  for (const key of path) schema = objectShape(schema)[key] as z.core.$ZodType;
  return Object.keys(objectShape(schema));
}

/** The shape of an object schema, looking through `optional` and `default` wrappers. */
function objectShape(schema: z.core.$ZodType): Readonly<Record<string, z.core.$ZodType>> {
  const def = schema._zod.def;
  return def.type === 'object'
    ? (def as z.core.$ZodObjectDef).shape
    : objectShape((def as z.core.$ZodOptionalDef).innerType);
}

function render(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The opt-out tag split into key and optional value (`null`: any value opts out). */
export function optOutTagParts(config: Pick<Config, 'optOutTag'>): {
  key: string;
  value: string | null;
} {
  const index = config.optOutTag.indexOf('=');
  if (index < 0) return { key: config.optOutTag, value: null };
  return { key: config.optOutTag.slice(0, index), value: config.optOutTag.slice(index + 1) };
}

/** The configuration with every default, as the Lambda and the CLI use it when none is given. */
export const DEFAULT_CONFIG: Config = parseConfig({}, 'defaults');
