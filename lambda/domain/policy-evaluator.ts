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

/**
 * Who asks. A service principal, or an arbitrary IAM principal of an account.
 *
 * "An arbitrary principal of the account" is what a cross-account grant is about: may the account's principals pull,
 * whichever of them it is? So an Allow counts only when it names the account itself (its id or root ARN) or everyone
 * (`*`, `{"AWS": "*"}`, subject to conditions); an Allow naming one role or user of the account does not, and neither
 * does one naming the caller of the failed deploy, who may even belong to another account (a CI account deploying
 * into a workload account). A Deny, in turn, counts when it names the account, everyone, or one of `callerArns`: the
 * identities known to make this call, whose deploy the Deny blocks whatever else is granted.
 */
export type RequestPrincipal =
  | { readonly kind: 'service'; readonly service: string }
  | {
      readonly kind: 'account';
      readonly accountId: string;
      readonly partition: string;
      /**
       * The identities known to make the call (role ARN, session ARN, user ARN), of this account or another: only a
       * Deny naming one of them applies for that reason. Empty when the caller is not known.
       */
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
  return evaluateActions(policy.statements, request, [request.action])[0] as Evaluation;
}

/**
 * Evaluates several actions for the same principal, resource and context in one pass over the statements (the
 * principal, resource and condition elements are looked at once per statement). One evaluation per action, in order.
 * Statements are read as immutable: what is derived from them is cached per statement object.
 */
export function evaluateActions(
  statements: readonly JsonObject[],
  request: Omit<AccessRequest, 'action'>,
  actions: readonly string[]
): Evaluation[] {
  const context = lowerCaseKeys(request.context);
  const results: { allowed: Tri; denied: Tri; allowedBy: string[]; deniedBy: string[] }[] =
    actions.map(() => ({ allowed: 'no', denied: 'no', allowedBy: [], deniedBy: [] }));
  const actionMatched: Tri[] = new Array<Tri>(actions.length);
  for (let index = 0; index < statements.length; index++) {
    const statement = statements[index] as JsonObject;
    // Cheapest and most selective first: the action; then the rest only for a statement that may apply.
    let any = false;
    for (let a = 0; a < actions.length; a++) {
      actionMatched[a] = actionMatches(statement, actions[a] as string);
      if (actionMatched[a] !== 'no') any = true;
    }
    if (!any) continue;
    const effect = statement['Effect'];
    const rest = otherElementsMatch(statement, request, context, effect === 'Deny');
    if (rest === 'no') continue;
    const label = typeof statement['Sid'] === 'string' ? statement['Sid'] : `#${index + 1}`;
    for (let a = 0; a < actions.length; a++) {
      const action = actionMatched[a] as Tri;
      if (action === 'no') continue;
      const applies = action === 'yes' && rest === 'yes' ? 'yes' : 'unknown';
      const result = results[a] as (typeof results)[number];
      if (effect === 'Allow') {
        result.allowed = or(result.allowed, applies);
        result.allowedBy.push(label);
      } else if (effect === 'Deny') {
        result.denied = or(result.denied, applies);
        result.deniedBy.push(label);
      } else {
        // An Effect ECR would not accept: it may mean anything, so both answers become uncertain.
        result.allowed = or(result.allowed, 'unknown');
        result.denied = or(result.denied, 'unknown');
        result.allowedBy.push(label);
        result.deniedBy.push(label);
      }
    }
  }
  return results;
}

/** Kleene OR of two values. */
function or(a: Tri, b: 'yes' | 'unknown'): Tri {
  return a === 'yes' || b === 'yes' ? 'yes' : 'unknown';
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

/** Principal, Resource and Condition of a statement (the Action is matched per action). */
function otherElementsMatch(
  statement: JsonObject,
  request: Omit<AccessRequest, 'action'>,
  context: LoweredContext,
  isDeny: boolean
): Tri {
  const principal = principalMatches(statement, request.principal, isDeny);
  if (principal === 'no') return 'no';
  const resource = resourceMatches(statement, request.resource);
  if (resource === 'no') return 'no';
  const conditions = conditionsMatch(statement['Condition'], context);
  if (conditions === 'no') return 'no';
  return principal === 'yes' && resource === 'yes' && conditions === 'yes' ? 'yes' : 'unknown';
}

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

type AccountPrincipal = Extract<RequestPrincipal, { kind: 'account' }>;

/** A Principal/NotPrincipal block of the expected shape: every value a string or a non-empty list of strings. */
function isPrincipalBlock(block: unknown): block is Readonly<Record<string, string | string[]>> {
  if (!isJsonObject(block)) return false;
  for (const kind of Object.keys(block)) {
    if (!isStringList(block[kind])) return false;
  }
  return true;
}

function principalBlockMatches(block: unknown, principal: RequestPrincipal, isDeny: boolean): Tri {
  // The bare "*" is everyone, services and anonymous callers included.
  if (block === '*') return 'yes';
  if (!isPrincipalBlock(block)) return 'unknown';
  return lists(block, principal, (entry): Tri => {
    if (principal.kind !== 'account') return 'no';
    if (isAccountEntry(entry, principal)) return 'yes';
    // A grant to one identity is not a grant to the account (see RequestPrincipal).
    if (!isDeny) return 'no';
    if (principal.callerArns.includes(entry)) return 'yes';
    // When the caller is not known, a Deny naming another identity of the account may be naming the caller.
    const unknownCaller = principal.callerArns.length === 0;
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
  if (!isPrincipalBlock(block)) return 'unknown';
  if (principal.kind === 'service') return not(lists(block, principal, () => 'no'));
  const levels = [
    lists(block, principal, (entry) => (isAccountEntry(entry, principal) ? 'yes' : 'no')),
    ...principal.callerArns.map((arn) =>
      lists(block, principal, (entry) => (entry === arn ? 'yes' : 'no'))
    ),
  ];
  if (allOf(levels) === 'yes') return 'no';
  return anyOf(levels) === 'no' ? 'yes' : 'unknown';
}

/** Whether any entry names the principal; `namesAws` decides for `AWS` entries other than `*`. */
function lists(
  block: Readonly<Record<string, string | string[]>>,
  principal: RequestPrincipal,
  namesAws: (entry: string) => Tri
): Tri {
  let result: Tri = 'no';
  for (const kind of Object.keys(block)) {
    const value = block[kind] as string | string[];
    const entries = typeof value === 'string' ? [value] : value;
    for (const entry of entries) {
      const matched = entryMatches(kind, entry, principal, namesAws);
      if (matched === 'yes') return 'yes';
      if (matched === 'unknown') result = 'unknown';
    }
  }
  return result;
}

function entryMatches(
  kind: string,
  entry: string,
  principal: RequestPrincipal,
  namesAws: (entry: string) => Tri
): Tri {
  if (kind === 'AWS') {
    // {"AWS": "*"} covers every root user, IAM user, role session and federated user: the IAM documentation does
    // not list service principals.
    if (entry === '*') return principal.kind === 'service' ? 'unknown' : 'yes';
    return namesAws(entry);
  }
  if (kind === 'Service') {
    return principal.kind === 'service' && entry === principal.service ? 'yes' : 'no';
  }
  return kind === 'Federated' || kind === 'CanonicalUser' ? 'no' : 'unknown';
}

const rootArns = new WeakMap<AccountPrincipal, string>();

function isAccountEntry(entry: string, principal: AccountPrincipal): boolean {
  if (entry === principal.accountId) return true;
  let root = rootArns.get(principal);
  if (root === undefined) {
    root = `arn:${principal.partition}:iam::${principal.accountId}:root`;
    rootArns.set(principal, root);
  }
  return entry === root;
}

// ---------------------------------------------------------------------------------------------------------------
// Action and resource

function actionMatches(statement: JsonObject, action: string): Tri {
  const hasAction = Object.hasOwn(statement, 'Action');
  if (hasAction === Object.hasOwn(statement, 'NotAction')) return 'unknown';
  const value = statement[hasAction ? 'Action' : 'NotAction'];
  if (!isStringList(value)) return 'unknown';
  let any: Tri = 'no';
  if (typeof value === 'string') {
    any = actionPatternMatches(value, action);
  } else {
    for (const pattern of value) {
      const matched = actionPatternMatches(pattern, action);
      if (matched === 'yes') {
        any = 'yes';
        break;
      }
      if (matched === 'unknown') any = 'unknown';
    }
  }
  return hasAction ? any : not(any);
}

/**
 * `*`, or `service:action` with wildcards in the action name only, compared case-insensitively
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html). Anything else (`ecr*`,
 * `*:BatchGetImage`, `ecr:a:b`) is outside the IAM grammar and gets no guessed answer. Allocation-free: the planner
 * runs this for every statement of every policy it reads.
 */
function actionPatternMatches(pattern: string, action: string): Tri {
  if (pattern === '*') return 'yes';
  const colon = pattern.indexOf(':');
  if (colon < 0 || pattern.indexOf(':', colon + 1) >= 0) return 'unknown';
  for (let i = 0; i < colon; i++) {
    const char = pattern.charCodeAt(i);
    if (char === STAR || char === QUESTION) return 'unknown';
  }
  return wildcardMatch(pattern, action, true) ? 'yes' : 'no';
}

const STAR = 42; // '*'
const QUESTION = 63; // '?'

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
  const element = listElementOf(statement, positive, negative);
  if (element === null) return 'unknown';
  let any: Tri = 'no';
  for (const pattern of element.patterns) {
    const result = matches(pattern);
    if (result === true) {
      any = 'yes';
      break;
    }
    if (result === null) any = 'unknown';
  }
  return element.negated ? not(any) : any;
}

interface ListElement {
  readonly negated: boolean;
  readonly patterns: readonly string[];
}

/** The patterns of a statement's Resource/NotResource pair; null when both or neither are there, or a bad shape. */
function listElementOf(
  statement: JsonObject,
  positive: string,
  negative: string
): ListElement | null {
  const hasPositive = Object.hasOwn(statement, positive);
  if (hasPositive === Object.hasOwn(statement, negative)) return null;
  const value = statement[hasPositive ? positive : negative];
  if (!isStringList(value)) return null;
  return { negated: !hasPositive, patterns: typeof value === 'string' ? [value] : value };
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
  const operators = Object.keys(block);
  for (const operator of operators) if (!isJsonObject(block[operator])) return 'unknown';
  let result: Tri = 'yes';
  for (const operatorName of operators) {
    const keys = block[operatorName] as JsonObject;
    const operator = parseOperator(operatorName);
    for (const key of Object.keys(keys)) {
      const matched = conditionMatches(operator, key.toLowerCase(), keys[key], context);
      if (matched === 'no') return 'no';
      if (matched === 'unknown') result = 'unknown';
    }
  }
  return result;
}

function conditionMatches(
  operator: Operator | null,
  key: string,
  rawValues: unknown,
  context: LoweredContext
): Tri {
  const patterns = conditionValues(rawValues);
  if (operator === null || patterns === null) return 'unknown';
  for (const pattern of patterns) if (pattern.includes('${')) return 'unknown';
  const value = context.get(key);
  if (value === undefined) return 'unknown';

  if (operator.base === 'null') {
    if (operator.ifExists || operator.set !== null) return 'unknown';
    let result: Tri = 'no';
    for (const pattern of patterns) {
      const wantsAbsent = pattern.toLowerCase();
      if (wantsAbsent !== 'true' && wantsAbsent !== 'false') {
        result = 'unknown';
      } else if ((value === null) === (wantsAbsent === 'true')) {
        return 'yes';
      }
    }
    return result;
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
  let undocumented = false;
  for (const pattern of patterns) {
    const matched = test(value, pattern);
    if (matched === true) return negated ? 'no' : 'yes';
    if (matched === null) undocumented = true;
  }
  if (undocumented) return 'unknown';
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

/**
 * IAM wildcard match: `*` any run of characters, `?` exactly one; everything else literal (compared ignoring case when
 * `ignoreCase`, as for actions).
 */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  // Iterative matcher with backtracking on the last `*`: linear in practice, no regular expressions built from input.
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    const char = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (
      char === QUESTION ||
      (char >= 0 && char !== STAR && sameChar(char, value.charCodeAt(v), ignoreCase))
    ) {
      p += 1;
      v += 1;
    } else if (char === STAR) {
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
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p += 1;
  return p === pattern.length;
}

function sameChar(a: number, b: number, ignoreCase: boolean): boolean {
  if (a === b) return true;
  if (!ignoreCase) return false;
  return foldCase(a) === foldCase(b);
}

/** Lower-cases a UTF-16 code unit: ASCII by arithmetic, anything else through the string API. */
function foldCase(code: number): number {
  if (code >= 65 && code <= 90) return code + 32;
  if (code < 128) return code;
  return String.fromCharCode(code).toLowerCase().charCodeAt(0);
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

/** A string, or a non-empty list of strings. */
function isStringList(value: unknown): value is string | string[] {
  if (typeof value === 'string') return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

type LoweredContext = ReadonlyMap<string, string | null>;

const loweredContexts = new WeakMap<RequestContext, LoweredContext>();

/** The context with lower-case keys, computed once per context object (requests share their contexts). */
function lowerCaseKeys(context: RequestContext): LoweredContext {
  let lowered = loweredContexts.get(context);
  if (lowered === undefined) {
    lowered = new Map(Object.entries(context).map(([key, value]) => [key.toLowerCase(), value]));
    loweredContexts.set(context, lowered);
  }
  return lowered;
}
