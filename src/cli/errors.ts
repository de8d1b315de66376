/** Exit codes scripts can test (contract): 1 refused or not found, 2 usage, 3 cannot reach the server. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

/** A failure the CLI explains in one line on stderr and exits with. */
export class CliError extends Error {
  constructor(
    readonly exit: 1 | 2 | 3,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
