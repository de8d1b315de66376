/**
 * A dependent as the Slack layer shows it: the shape `DependentService` returns, kept
 * structural so the blocks do not import the jobs side.
 */
export interface DependentView {
  dependentId: string;
  keyId: string;
  kind: 'playbook' | 'cti_connector';
  name: string;
  webhookUrl: string;
  status: string;
  createdAt: Date;
}

export const dependentKindLabel = (k: DependentView['kind']) => (k === 'playbook' ? 'Playbook' : 'CTI connector');
