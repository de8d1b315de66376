import type { DependentKind } from '../../dependents/dependent-kind.js';

/** A dependent as the Slack layer shows it: the shape `DependentService` returns. */
export interface DependentView {
  dependentId: string;
  keyId: string;
  kind: DependentKind;
  name: string;
  webhookUrl: string;
  status: string;
  createdAt: Date;
}

export const dependentKindLabel = (k: DependentView['kind']) => (k === 'playbook' ? 'Playbook' : 'CTI connector');
