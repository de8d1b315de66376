import type { KnownBlock } from '@slack/types';
import { dependentKindLabel, type DependentView } from './dependent.js';
import { bold, code, escapeMrkdwn, md, truncate } from './text.js';

const what = (d: DependentView) => `${dependentKindLabel(d.kind)} ${bold(truncate(d.name, 64))}`;

/** The webhook signing secret, once, for the admin who linked the dependent. */
export function dependentSecretBlocks(d: DependentView, secret: string): KnownBlock[] {
  return [
    {
      type: 'section',
      text: md(
        `:link: ${what(d)} is linked to ${code(d.keyId)}. Webhooks go to ${code(truncate(d.webhookUrl, 500))}, signed the Standard Webhooks way with this secret:`,
      ),
    },
    { type: 'section', text: md(`\`\`\`${secret}\`\`\``) },
    {
      type: 'context',
      elements: [md(':lock: This is the only time it is shown. Put it in the receiver’s configuration (from your vault) to verify `webhook-signature`.')],
    },
  ];
}

/** The answer to `/apikey link` when the secret went to the DM. */
export const dependentLinkedText = (d: DependentView) =>
  `:white_check_mark: Linked ${what(d)} to ${code(d.keyId)}. Its webhook signing secret is in your direct messages with Keywarden (shown once).`;

/** Fallback text of the message carrying the secret: the name escaped, no secret. */
export const dependentSecretText = (d: DependentView) => `Webhook signing secret for ${escapeMrkdwn(truncate(d.name, 64))}`;
