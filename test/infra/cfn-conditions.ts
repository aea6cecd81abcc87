/**
 * Evaluates the condition functions CloudFormation allows in `Conditions` (`Fn::Equals`, `Fn::Not`, `Fn::And`,
 * `Fn::Or`, `Condition`), so tests can say where a conditional resource is created.
 */

export interface EvaluationContext {
  /** The template's `Conditions`. */
  readonly conditions: Readonly<Record<string, unknown>>;
  /** Values of `Ref`s: parameters and pseudo parameters. */
  readonly refs: Readonly<Record<string, string>>;
}

/** Whether `expression` (a condition function, or `{Condition: name}`) is true in `context`. */
export function evaluateCondition(expression: unknown, context: EvaluationContext): boolean {
  const [name, argument] = Object.entries(expression as Record<string, unknown>)[0] ?? [];
  const args = argument as unknown[];
  switch (name) {
    case 'Condition':
      return evaluateCondition(context.conditions[argument as string], context);
    case 'Fn::Not':
      return !evaluateCondition(args[0], context);
    case 'Fn::And':
      return args.every((a) => evaluateCondition(a, context));
    case 'Fn::Or':
      return args.some((a) => evaluateCondition(a, context));
    case 'Fn::Equals':
      return value(args[0], context) === value(args[1], context);
    default:
      throw new Error(`Unsupported condition function ${String(name)}`);
  }
}

function value(operand: unknown, context: EvaluationContext): string {
  if (typeof operand === 'string') return operand;
  const ref = (operand as { Ref?: string }).Ref;
  const resolved = ref === undefined ? undefined : context.refs[ref];
  if (resolved === undefined) throw new Error(`Cannot resolve ${JSON.stringify(operand)}`);
  return resolved;
}
