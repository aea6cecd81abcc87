/**
 * IAM principal ARNs as CloudTrail and IAM error messages print them: roles, users and assumed-role sessions.
 * ARN formats: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
 */

/** A role, a user, or a role session, reduced to what identifies the IAM entity behind it. */
export interface PrincipalArn {
  readonly partition: string;
  readonly account: string;
  /** `assumed-role` is a session of the role `name`. */
  readonly kind: 'role' | 'user' | 'assumed-role';
  /** The role or user name, without its path. */
  readonly name: string;
}

// `arn:aws:iam::A:role/path/NAME`, `arn:aws:iam::A:user/path/NAME`, `arn:aws:sts::A:assumed-role/NAME/SESSION`.
const PRINCIPAL_ARN = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(role|user|assumed-role)\/(.+)$/;

/** Parses a role, user or assumed-role session ARN; null for anything else (root, federated user, service, …). */
export function parsePrincipalArn(arn: string): PrincipalArn | null {
  const match = PRINCIPAL_ARN.exec(arn);
  if (match === null) return null;
  // Every group of PRINCIPAL_ARN is mandatory, so a match has all five.
  const [partition, service, account, kind, rest] = match.slice(1) as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (kind === 'assumed-role') {
    // Role names and session names cannot contain `/`, and the session ARN omits the role's path
    // (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html), so `NAME/SESSION` splits cleanly.
    const slash = rest.indexOf('/');
    if (service !== 'sts' || slash <= 0) return null;
    return { partition, account, kind, name: rest.slice(0, slash) };
  }
  const name = rest.slice(rest.lastIndexOf('/') + 1);
  if (service !== 'iam' || name === '') return null;
  return { partition, account, kind: kind === 'role' ? 'role' : 'user', name };
}

/** "role NAME" / "user NAME" for a principal ARN, else the ARN itself, for sentences a person reads. */
export function describePrincipal(arn: string): string {
  const principal = parsePrincipalArn(arn);
  if (principal === null) return arn;
  return `${principal.kind === 'user' ? 'user' : 'role'} ${principal.name}`;
}
