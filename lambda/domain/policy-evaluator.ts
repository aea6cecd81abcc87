/**
 * A small, deliberately conservative evaluator for ECR repository policies. It answers three questions for one
 * request: does an Allow statement apply, does a Deny statement apply, and how sure are we. Each answer is
 * three-valued: `yes`, `no` or `unknown`. Anything it does not model (policy variables, numeric/date/IP operators,
 * condition keys whose value for the request is not known) makes the affected statement `unknown`, so the planner
 * never claims access that might not exist and never ignores a Deny that might apply.
 *
 * Semantics follow the IAM policy evaluation logic for a single resource-based policy:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
 */
import type { JsonObject, PolicyDocument } from './policy-document';
import { isJsonObject } from './policy-document';

export type Tri = 'yes' | 'no' | 'unknown';

/** Who asks. A service principal, or an IAM principal of an account (the account root, and the caller if known). */
export type RequestPrincipal =
  | { readonly kind: 'service'; readonly service: string }
  | {
      readonly kind: 'account';
      readonly accountId: string;
      readonly partition: string;
      /** Specific principals of that account known to make the call (role ARN, session ARN, user ARN). */
      readonly callerArns: readonly string[];
    };

/**
 * The request context. Keys are matched case-insensitively. A key mapped to `null` is known to be absent from the
 * request; a key not listed at all is unknown, and any condition on it evaluates to `unknown`.
 */
export type RequestContext = Readonly<Record<string, string | null>>;

export interface AccessRequest {
  readonly principal: RequestPrincipal;
  readonly action: string;
  /** The repository ARN. */
  readonly resource: string;
  readonly context: RequestContext;
}

export interface Evaluation {
  readonly allowed: Tri;
  readonly denied: Tri;
  /** Sids (or `#n` positions) of the statements that allow or may allow. */
  readonly allowedBy: readonly string[];
  /** Sids (or `#n` positions) of the statements that deny or may deny. */
  readonly deniedBy: readonly string[];
}

/** Evaluates every statement of the policy for the request. */
export function evaluatePolicy(policy: PolicyDocument, request: AccessRequest): Evaluation {
  const context = lowerCaseKeys(request.context);
  const allowed: Tri[] = [];
  const denied: Tri[] = [];
  const allowedBy: string[] = [];
  const deniedBy: string[] = [];
  policy.statements.forEach((statement, index) => {
    const effect = statement['Effect'];
    const applies = statementApplies(statement, request, context, effect === 'Deny');
    if (applies === 'no') return;
    const label = typeof statement['Sid'] === 'string' ? statement['Sid'] : `#${index + 1}`;
    if (effect === 'Allow') {
      allowed.push(applies);
      allowedBy.push(label);
    } else if (effect === 'Deny') {
      denied.push(applies);
      deniedBy.push(label);
    } else {
      // An Effect ECR would not accept: it may mean anything, so both answers become uncertain.
      allowed.push('unknown');
      denied.push('unknown');
      allowedBy.push(label);
      deniedBy.push(label);
    }
  });
  return { allowed: anyOf(allowed), denied: anyOf(denied), allowedBy, deniedBy };
}

/** Kleene OR. */
export function anyOf(values: readonly Tri[]): Tri {
  if (values.includes('yes')) return 'yes';
  return values.includes('unknown') ? 'unknown' : 'no';
}

/** Kleene AND. */
export function allOf(values: readonly Tri[]): Tri {
  if (values.includes('no')) return 'no';
  return values.includes('unknown') ? 'unknown' : 'yes';
}

function not(value: Tri): Tri {
  return value === 'unknown' ? 'unknown' : value === 'yes' ? 'no' : 'yes';
}

function statementApplies(
  statement: JsonObject,
  request: AccessRequest,
  context: LoweredContext,
  isDeny: boolean
): Tri {
  // Cheapest and most selective first; stop at the first element that rules the statement out.
  let result: Tri = 'yes';
  for (const element of ELEMENTS) {
    const matched = element(statement, request, context, isDeny);
    if (matched === 'no') return 'no';
    if (matched === 'unknown') result = 'unknown';
  }
  return result;
}

type ElementMatcher = (
  statement: JsonObject,
  request: AccessRequest,
  context: LoweredContext,
  isDeny: boolean
) => Tri;

const ELEMENTS: readonly ElementMatcher[] = [
  (statement, request) => actionMatches(statement, request.action),
  (statement, request, _context, isDeny) => principalMatches(statement, request.principal, isDeny),
  (statement, request) => resourceMatches(statement, request.resource),
  (statement, _request, context) => conditionsMatch(statement['Condition'], context),
];

// ---------------------------------------------------------------------------------------------------------------
// Principal

function principalMatches(
  statement: JsonObject,
  principal: RequestPrincipal,
  isDeny: boolean
): Tri {
  const hasPrincipal = Object.hasOwn(statement, 'Principal');
  const hasNotPrincipal = Object.hasOwn(statement, 'NotPrincipal');
  if (hasPrincipal === hasNotPrincipal) return 'unknown';
  if (hasPrincipal) return principalBlockMatches(statement['Principal'], principal, isDeny);
  // NotPrincipal with Allow grants everyone but the listed principals: too broad to reason about, never a basis for
  // "already allowed". With Deny it denies everyone not listed, which we can evaluate.
  return isDeny ? notPrincipalDenies(statement['NotPrincipal'], principal) : 'unknown';
}

type PrincipalEntry = readonly [kind: string, entry: string];
type AccountPrincipal = Extract<RequestPrincipal, { kind: 'account' }>;

/** The `[kind, entry]` pairs of a Principal/NotPrincipal block; null when the block has an unexpected shape. */
function principalEntries(block: unknown): PrincipalEntry[] | null {
  if (!isJsonObject(block)) return null;
  const entries: PrincipalEntry[] = [];
  for (const [kind, value] of Object.entries(block)) {
    const list = stringList(value);
    if (list === null) return null;
    for (const entry of list) entries.push([kind, entry]);
  }
  return entries;
}

function principalBlockMatches(block: unknown, principal: RequestPrincipal, isDeny: boolean): Tri {
  // The bare "*" is everyone, services and anonymous callers included.
  if (block === '*') return 'yes';
  const entries = principalEntries(block);
  if (entries === null) return 'unknown';
  return lists(entries, principal, (entry): Tri => {
    if (principal.kind !== 'account') return 'no';
    if (isAccountEntry(entry, principal) || principal.callerArns.includes(entry)) return 'yes';
    // When the caller is not known, a Deny naming another identity of the account may be naming the caller.
    const unknownCaller = isDeny && principal.callerArns.length === 0;
    return unknownCaller && accountOfArn(entry) === principal.accountId ? 'unknown' : 'no';
  });
}

/** The account field of an IAM or STS ARN (`arn:PARTITION:iam::ACCOUNT:…`), or null. */
function accountOfArn(arn: string): string | null {
  const parts = arn.split(':');
  return parts.length >= 6 && parts[0] === 'arn' ? (parts[4] as string) : null;
}

/**
 * Deny with NotPrincipal denies every principal that is not listed. For a principal of an account, AWS may check the
 * account first, then the role, then the role session, so the principal is exempt only when its account and each of
 * its known identities are listed; when only some of them are, the Deny may or may not apply.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
 */
function notPrincipalDenies(block: unknown, principal: RequestPrincipal): Tri {
  if (block === '*') return 'no';
  const entries = principalEntries(block);
  if (entries === null) return 'unknown';
  if (principal.kind === 'service') return not(lists(entries, principal, () => 'no'));
  const levels = [
    lists(entries, principal, (entry) => (isAccountEntry(entry, principal) ? 'yes' : 'no')),
    ...principal.callerArns.map((arn) =>
      lists(entries, principal, (entry) => (entry === arn ? 'yes' : 'no'))
    ),
  ];
  if (allOf(levels) === 'yes') return 'no';
  return anyOf(levels) === 'no' ? 'yes' : 'unknown';
}

/** Whether any entry names the principal; `namesAws` decides for `AWS` entries other than `*`. */
function lists(
  entries: readonly PrincipalEntry[],
  principal: RequestPrincipal,
  namesAws: (entry: string) => Tri
): Tri {
  return anyOf(
    entries.map(([kind, entry]): Tri => {
      if (kind === 'AWS' && entry === '*') {
        // {"AWS": "*"} covers every root user, IAM user, role session and federated user: the IAM documentation does
        // not list service principals.
        return principal.kind === 'service' ? 'unknown' : 'yes';
      }
      if (kind === 'AWS') return namesAws(entry);
      if (kind === 'Service') {
        return principal.kind === 'service' && entry === principal.service ? 'yes' : 'no';
      }
      return kind === 'Federated' || kind === 'CanonicalUser' ? 'no' : 'unknown';
    })
  );
}

function isAccountEntry(entry: string, principal: AccountPrincipal): boolean {
  return (
    entry === principal.accountId ||
    entry === `arn:${principal.partition}:iam::${principal.accountId}:root`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Action and resource

function actionMatches(statement: JsonObject, action: string): Tri {
  return listElementMatches(statement, 'Action', 'NotAction', (pattern) =>
    actionPatternMatches(pattern, action)
  );
}

/**
 * `*`, or `service:action` with wildcards in the action name only, compared case-insensitively
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html). Anything else (`ecr*`,
 * `*:BatchGetImage`, `ecr:a:b`) is outside the IAM grammar and gets no guessed answer.
 */
function actionPatternMatches(pattern: string, action: string): boolean | null {
  if (pattern === '*') return true;
  const parts = pattern.split(':');
  if (parts.length !== 2 || /[*?]/.test(parts[0] as string)) return null;
  return wildcardMatch(pattern.toLowerCase(), action.toLowerCase());
}

function resourceMatches(statement: JsonObject, resource: string): Tri {
  // A repository policy statement without Resource applies to the repository it is attached to.
  if (!Object.hasOwn(statement, 'Resource') && !Object.hasOwn(statement, 'NotResource')) {
    return 'yes';
  }
  return listElementMatches(statement, 'Resource', 'NotResource', (pattern) =>
    resourcePatternMatches(pattern, resource)
  );
}

/**
 * Resource ARN patterns: `*` and `?` work within the colon-separated segments, and a `*` that ends a segment may
 * expand beyond the colons (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 * A match that needs anything else (a mid-segment `*` spanning a colon, another letter case) is not documented, and
 * neither are policy variables: no guessed answer for those.
 */
function resourcePatternMatches(pattern: string, resource: string): boolean | null {
  if (pattern.includes('${')) return null;
  if (segmentsMatch(pattern.split(':'), resource.split(':'))) return true;
  return wildcardMatch(pattern.toLowerCase(), resource.toLowerCase()) ? null : false;
}

function segmentsMatch(patterns: readonly string[], values: readonly string[]): boolean {
  const [first, ...rest] = patterns;
  if (first === undefined) return values.length === 0;
  // A segment ending in `*` may take several value segments (with their colons); any other takes exactly one.
  const most = first.endsWith('*') ? values.length : Math.min(1, values.length);
  for (let taken = 1; taken <= most; taken += 1) {
    if (
      wildcardMatch(first, values.slice(0, taken).join(':')) &&
      segmentsMatch(rest, values.slice(taken))
    ) {
      return true;
    }
  }
  return false;
}

/** `Action`/`NotAction` style pairs: exactly one must be present, as a string or a list of strings. */
function listElementMatches(
  statement: JsonObject,
  positive: string,
  negative: string,
  matches: (pattern: string) => boolean | null
): Tri {
  const hasPositive = Object.hasOwn(statement, positive);
  if (hasPositive === Object.hasOwn(statement, negative)) return 'unknown';
  const patterns = stringList(statement[hasPositive ? positive : negative]);
  if (patterns === null) return 'unknown';
  const results = patterns.map((pattern): Tri => {
    const result = matches(pattern);
    return result === null ? 'unknown' : result ? 'yes' : 'no';
  });
  const any = anyOf(results);
  return hasPositive ? any : not(any);
}

// ---------------------------------------------------------------------------------------------------------------
// Conditions

interface StringOperator {
  readonly negated: boolean;
  readonly test: Matcher;
}

const STRING_OPERATORS: Readonly<Record<string, StringOperator>> = {
  stringequals: { negated: false, test: (value, pattern) => value === pattern },
  stringnotequals: { negated: true, test: (value, pattern) => value === pattern },
  stringequalsignorecase: {
    negated: false,
    test: (value, pattern) => value.toLowerCase() === pattern.toLowerCase(),
  },
  stringnotequalsignorecase: {
    negated: true,
    test: (value, pattern) => value.toLowerCase() === pattern.toLowerCase(),
  },
  stringlike: { negated: false, test: (value, pattern) => wildcardMatch(pattern, value) },
  stringnotlike: { negated: true, test: (value, pattern) => wildcardMatch(pattern, value) },
  // ArnEquals and ArnLike are the same operator in IAM: both compare the six ARN components with wildcards.
  arnequals: { negated: false, test: arnMatch },
  arnlike: { negated: false, test: arnMatch },
  arnnotequals: { negated: true, test: arnMatch },
  arnnotlike: { negated: true, test: arnMatch },
  bool: { negated: false, test: boolMatch },
};

/** Whether the request value matches one policy value; null when IAM does not document the answer. */
type Matcher = (value: string, pattern: string) => boolean | null;

function conditionsMatch(block: unknown, context: LoweredContext): Tri {
  if (block === undefined) return 'yes';
  if (!isJsonObject(block)) return 'unknown';
  const results: Tri[] = [];
  for (const [operator, keys] of Object.entries(block)) {
    if (!isJsonObject(keys)) return 'unknown';
    for (const [key, values] of Object.entries(keys)) {
      results.push(conditionMatches(operator, key, values, context));
    }
  }
  return allOf(results);
}

function conditionMatches(
  operatorName: string,
  key: string,
  rawValues: unknown,
  context: LoweredContext
): Tri {
  const operator = parseOperator(operatorName);
  const patterns = conditionValues(rawValues);
  if (operator === null || patterns === null) return 'unknown';
  if (patterns.some((pattern) => pattern.includes('${'))) return 'unknown';
  const value = context.get(key.toLowerCase());
  if (value === undefined) return 'unknown';

  if (operator.base === 'null') {
    if (operator.ifExists || operator.set !== null) return 'unknown';
    return anyOf(
      patterns.map((pattern): Tri => {
        const wantsAbsent = pattern.toLowerCase();
        if (wantsAbsent !== 'true' && wantsAbsent !== 'false') return 'unknown';
        return (value === null) === (wantsAbsent === 'true') ? 'yes' : 'no';
      })
    );
  }

  const { negated, test } = STRING_OPERATORS[operator.base] as StringOperator;
  if (value === null) {
    // The key is not in the request: ForAnyValue is not satisfied, ForAllValues and IfExists are, plain negated
    // operators are satisfied and plain positive ones are not. ForAnyValue combined with IfExists is documented
    // nowhere (the two rules contradict each other), so it stays unknown.
    if (operator.set === 'any') return operator.ifExists ? 'unknown' : 'no';
    if (operator.ifExists || operator.set === 'all') return 'yes';
    return negated ? 'yes' : 'no';
  }
  // Every key we put in a context is single-valued, so ForAnyValue/ForAllValues reduce to the plain operator.
  const results = patterns.map((pattern) => test(value, pattern));
  if (results.includes(true)) return negated ? 'no' : 'yes';
  if (results.includes(null)) return 'unknown';
  return negated ? 'yes' : 'no';
}

interface Operator {
  readonly base: string;
  readonly ifExists: boolean;
  readonly set: 'any' | 'all' | null;
}

function parseOperator(name: string): Operator | null {
  let rest = name.toLowerCase();
  let set: Operator['set'] = null;
  if (rest.startsWith('foranyvalue:')) {
    set = 'any';
    rest = rest.slice('foranyvalue:'.length);
  } else if (rest.startsWith('forallvalues:')) {
    set = 'all';
    rest = rest.slice('forallvalues:'.length);
  }
  const ifExists = rest.endsWith('ifexists');
  if (ifExists) rest = rest.slice(0, -'ifexists'.length);
  if (rest !== 'null' && !Object.hasOwn(STRING_OPERATORS, rest)) return null;
  return { base: rest, ifExists, set };
}

/** Condition values: a string, number or boolean, or a non-empty list of them. */
function conditionValues(raw: unknown): string[] | null {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) return null;
  const values: string[] = [];
  for (const item of list) {
    if (typeof item === 'string') values.push(item);
    else if (typeof item === 'number' || typeof item === 'boolean') values.push(String(item));
    else return null;
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------------------
// Matching helpers

/** IAM wildcard match: `*` any run of characters, `?` exactly one; everything else literal. */
export function wildcardMatch(pattern: string, value: string): boolean {
  // Iterative matcher with backtracking on the last `*`: linear in practice, no regular expressions built from input.
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    const char = pattern[p];
    if (char === '?' || (char !== undefined && char !== '*' && char === value[v])) {
      p += 1;
      v += 1;
    } else if (char === '*') {
      starP = p;
      starV = v;
      p += 1;
    } else if (starP >= 0) {
      p = starP + 1;
      starV += 1;
      v = starV;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p += 1;
  return p === pattern.length;
}

/**
 * ArnLike/ArnEquals: the six colon-separated components match one by one, each with wildcards. When the request value
 * or the policy value is not an ARN at all (`*`, an account id, `arn:aws:lambda:*`), IAM does not document the result,
 * so the answer is null (unknown) rather than a guessed "no match", which a negated operator would turn into a match.
 */
function arnMatch(value: string, pattern: string): boolean | null {
  const valueParts = arnParts(value);
  const patternParts = arnParts(pattern);
  if (valueParts === null || patternParts === null) return null;
  return patternParts.every((part, index) => wildcardMatch(part, valueParts[index] as string));
}

/** Bool: `true`/`false` in any letter case; any other value on either side is undocumented (null). */
function boolMatch(value: string, pattern: string): boolean | null {
  const booleans = ['true', 'false'];
  const [v, p] = [value.toLowerCase(), pattern.toLowerCase()];
  return booleans.includes(v) && booleans.includes(p) ? v === p : null;
}

function arnParts(arn: string): string[] | null {
  const parts = arn.split(':');
  if (parts.length < 6) return null;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

function stringList(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.length === 0) return null;
  return value.every((item): item is string => typeof item === 'string') ? value : null;
}

type LoweredContext = ReadonlyMap<string, string | null>;

function lowerCaseKeys(context: RequestContext): LoweredContext {
  return new Map(Object.entries(context).map(([key, value]) => [key.toLowerCase(), value]));
}
