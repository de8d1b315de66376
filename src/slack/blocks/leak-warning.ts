import type { LeakOutcome } from '../../keys/key-service.js';
import { code, escapeMrkdwn } from './text.js';

/**
 * The ephemeral explanation the poster of a message with a key in it gets. Never the token:
 * the key's name and id only when it belongs to the workspace the message was posted in.
 */
export function leakWarning(outcomes: LeakOutcome[], communityId: string): string {
  const revoked = outcomes.filter((o): o is Extract<LeakOutcome, { kind: 'revoked' }> => o.kind === 'revoked');
  const named = revoked.filter((o) => o.key.communityId === communityId).map((o) => `"${escapeMrkdwn(o.key.name)}" (${code(o.key.keyId)})`);
  const others = revoked.length - named.length;
  const parts: string[] = [];
  if (revoked.length) {
    const which = [...named, ...(others ? [`${others} key${others > 1 ? 's' : ''} of another workspace`] : [])].join(', ');
    parts.push(
      `:rotating_light: Your message contained a live API key, so Keywarden revoked it at once: ${which}. Anything using it has stopped working; its owner and the systems that depended on it are being told.`,
    );
  }
  if (outcomes.length > revoked.length) {
    parts.push(
      `${revoked.length ? 'It also contained' : 'Your message contains'} what looks like an API key that is not active, so nothing was revoked${revoked.length ? ' for it' : ''}.`,
    );
  }
  parts.push('Please delete the message (and any copy of the key): secrets do not belong in chat. Ask a Keywarden admin for a new key if you need one.');
  return parts.join('\n');
}
