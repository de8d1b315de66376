/** What a dependent of a key is: the one definition of the kinds (Slack's grammar, the store and the domain use it). */
export const dependentKinds = ['playbook', 'cti_connector'] as const;
export type DependentKind = (typeof dependentKinds)[number];
