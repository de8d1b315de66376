/**
 * Slack's published Block Kit limits (docs/architecture.md "Slack facts"), checked over any payload the app
 * builds. Returns every problem found, so a failing test says what broke.
 */
type Json = Record<string, any>;

const len = (t: unknown) => (typeof t === 'string' ? t.length : 0);

function checkText(problems: string[], where: string, obj: Json | undefined, max: number): void {
  if (!obj) return;
  if (len(obj.text) > max) problems.push(`${where}: text ${len(obj.text)} > ${max}`);
  if (len(obj.text) === 0) problems.push(`${where}: empty text`);
}

function checkElement(problems: string[], where: string, e: Json): void {
  if (len(e.action_id) > 255) problems.push(`${where}: action_id too long`);
  if (e.type === 'button') {
    checkText(problems, `${where} button`, e.text, 75);
    if (len(e.value) > 2000) problems.push(`${where}: button value ${len(e.value)} > 2000`);
  }
  if (e.confirm) {
    checkText(problems, `${where} confirm title`, e.confirm.title, 100);
    checkText(problems, `${where} confirm text`, e.confirm.text, 300);
    checkText(problems, `${where} confirm button`, e.confirm.confirm, 30);
    checkText(problems, `${where} confirm deny`, e.confirm.deny, 30);
  }
  if (Array.isArray(e.options)) {
    if (e.options.length > 100) problems.push(`${where}: ${e.options.length} options > 100`);
    for (const o of e.options) {
      checkText(problems, `${where} option`, o.text, 75);
      if (len(o.value) > 75) problems.push(`${where}: option value > 75`);
    }
  }
  if (e.placeholder) checkText(problems, `${where} placeholder`, e.placeholder, 150);
  if (e.type === 'plain_text_input' && len(e.initial_value) > (e.max_length ?? 3000)) problems.push(`${where}: initial_value longer than max_length`);
}

function checkBlocks(problems: string[], blocks: Json[], maxBlocks: number): void {
  if (blocks.length > maxBlocks) problems.push(`${blocks.length} blocks > ${maxBlocks}`);
  const blockIds = new Set<string>();
  blocks.forEach((b, i) => {
    const where = `block ${i} (${b.type})`;
    if (b.block_id !== undefined) {
      if (len(b.block_id) > 255) problems.push(`${where}: block_id too long`);
      if (blockIds.has(b.block_id)) problems.push(`${where}: duplicate block_id ${b.block_id}`);
      blockIds.add(b.block_id);
    }
    switch (b.type) {
      case 'section':
        if (!b.text && !b.fields) problems.push(`${where}: neither text nor fields`);
        checkText(problems, where, b.text, 3000);
        if (b.fields) {
          if (b.fields.length > 10) problems.push(`${where}: ${b.fields.length} fields > 10`);
          b.fields.forEach((f: Json, j: number) => checkText(problems, `${where} field ${j}`, f, 2000));
        }
        if (b.accessory) checkElement(problems, `${where} accessory`, b.accessory);
        break;
      case 'header':
        checkText(problems, where, b.text, 150);
        break;
      case 'context':
        if (b.elements.length > 10) problems.push(`${where}: ${b.elements.length} elements > 10`);
        b.elements.forEach((e: Json, j: number) => checkText(problems, `${where} element ${j}`, e, 3000));
        break;
      case 'actions': {
        if (b.elements.length > 25) problems.push(`${where}: ${b.elements.length} elements > 25`);
        const ids = b.elements.map((e: Json) => e.action_id);
        if (new Set(ids).size !== ids.length) problems.push(`${where}: duplicate action_id in one block`);
        b.elements.forEach((e: Json, j: number) => checkElement(problems, `${where} element ${j}`, e));
        break;
      }
      case 'input':
        checkText(problems, `${where} label`, b.label, 2000);
        if (b.hint) checkText(problems, `${where} hint`, b.hint, 2000);
        checkElement(problems, `${where} element`, b.element);
        break;
      case 'divider':
        break;
      default:
        problems.push(`${where}: unexpected block type`);
    }
  });
}

/** Problems of a message payload (`{text, blocks}`). */
export function messageProblems(msg: { text?: string; blocks?: unknown[] }): string[] {
  const problems: string[] = [];
  if (len(msg.text) > 40_000) problems.push('message text > 40000');
  checkBlocks(problems, (msg.blocks ?? []) as Json[], 50);
  return problems;
}

/** Problems of a modal or Home view. */
export function viewProblems(view: Json): string[] {
  const problems: string[] = [];
  checkBlocks(problems, view.blocks ?? [], 100);
  if (view.type === 'modal') {
    checkText(problems, 'title', view.title, 24);
    if (view.submit) checkText(problems, 'submit', view.submit, 24);
    if (view.close) checkText(problems, 'close', view.close, 24);
  }
  if (len(view.private_metadata) > 3000) problems.push(`private_metadata ${len(view.private_metadata)} > 3000`);
  if (len(view.callback_id) > 255) problems.push('callback_id too long');
  if (JSON.stringify(view).length > 250_000) problems.push('view > 250 kB');
  return problems;
}
