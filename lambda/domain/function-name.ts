/**
 * The `FunctionName` parameter of CreateFunction/UpdateFunctionCode in every form Lambda accepts
 * (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-FunctionName):
 * a name (`my-function`), `function:my-function`, a partial ARN (`123456789012:function:my-function`) or a full ARN
 * (`arn:aws:lambda:us-west-2:123456789012:function:my-function`), each with an optional `:QUALIFIER` (a version, an
 * alias or `$LATEST`). `function:NAME` names function NAME, not function `function` with qualifier NAME.
 */

export interface FunctionReference {
  /** The bare function name. */
  readonly name: string;
  /** The version or alias after the name, null when none is given. */
  readonly qualifier: string | null;
  /** The account a partial or full ARN names, null for the other forms. */
  readonly account: string | null;
  /** The Region a full ARN names, null for the other forms. */
  readonly region: string | null;
  /** The partition a full ARN names, null for the other forms. */
  readonly partition: string | null;
}

// Groups: 1 partition, 2 Region, 3 account (full ARN); 4 account (partial ARN); 5 name; 6 qualifier.
const FUNCTION_NAME =
  /^(?:arn:(aws|aws-cn|aws-us-gov):lambda:([a-z0-9-]{1,32}):(\d{12}):function:|(\d{12}):function:|function:)?([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

/** Parses a function name in any accepted form; null for anything else (including an empty or over-long text). */
export function parseFunctionName(text: string): FunctionReference | null {
  // The longest accepted form: a full ARN of the longest partition, Region, name and qualifier (≈ 250 characters).
  if (text.length > 300) return null;
  const match = FUNCTION_NAME.exec(text);
  if (match === null) return null;
  return {
    // Group 5 is mandatory in FUNCTION_NAME.
    name: match[5] as string,
    qualifier: match[6] ?? null,
    account: match[3] ?? match[4] ?? null,
    region: match[2] ?? null,
    partition: match[1] ?? null,
  };
}
