#!/usr/bin/env node
import { parseCli, USAGE, type CliCommand } from './args.js';
import { CliError, EXIT } from './errors.js';
import { httpBackend } from './http-backend.js';
import { render } from './render.js';

/** Commands whose answer carries a secret: printed once, alone, with a warning on stderr. */
const SECRET_COMMANDS = new Set<CliCommand['kind']>(['keys_create', 'keys_roll', 'dependents_link', 'admin_tokens_create']);

async function main(argv: string[]): Promise<number> {
  const inv = parseCli(argv);
  const { command: cmd } = inv;
  if (cmd.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (cmd.kind === 'usage') {
    process.stderr.write(`keywarden: ${cmd.problem}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const url = process.env.KEYWARDEN_URL;
  if (!inv.breakGlass && !url) {
    process.stderr.write(
      'keywarden: set KEYWARDEN_URL and KEYWARDEN_ADMIN_TOKEN to use a running Keywarden, or pass --break-glass to go straight to its database (audited as cli:<your user>).\n',
    );
    return EXIT.usage;
  }
  let close = async () => undefined as unknown;
  try {
    let run: (c: CliCommand) => Promise<unknown>;
    if (inv.breakGlass) {
      // Loaded only here: HTTP mode needs neither MongoDB nor Redis drivers.
      const { openDirectBackend } = await import('./direct-backend.js');
      process.stderr.write('keywarden: BREAK-GLASS: acting directly on the database; every change is audited as cli:<your user>.\n');
      const direct = await openDirectBackend(inv.community);
      run = (c) => direct.run(c);
      close = () => direct.close();
    } else {
      run = httpBackend(url!, process.env.KEYWARDEN_ADMIN_TOKEN);
    }
    const result = (await run(cmd)) as Record<string, unknown>;
    if (inv.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(render(cmd, result));
      if (SECRET_COMMANDS.has(cmd.kind) && typeof result.secret === 'string') process.stdout.write(`${result.secret}\n`);
    }
    if (SECRET_COMMANDS.has(cmd.kind)) {
      process.stderr.write(
        result.secret
          ? 'keywarden: the secret above is shown once and never again: store it now (a vault), do not paste it anywhere that keeps history.\n'
          : 'keywarden: the secret was shown to the first request with this Idempotency-Key; it cannot be shown again.\n',
      );
    }
    if (cmd.kind === 'verify') return (result as { valid: boolean }).valid ? EXIT.ok : EXIT.refused;
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`keywarden: ${e.message}\n`);
      return e.exit;
    }
    process.stderr.write(`keywarden: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.refused;
  } finally {
    await close();
  }
}

process.exitCode = await main(process.argv.slice(2));
// Open handles (ioredis reconnect timers) must not keep a finished command alive.
setTimeout(() => process.exit(), 100).unref();
