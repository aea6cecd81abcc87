/** A mistake in how the command was called, or an input file that cannot be used: exit code 2, one line, no stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
