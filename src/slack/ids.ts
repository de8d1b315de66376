/**
 * Every action_id, callback_id and block_id the app puts in Block Kit, once. Handlers and
 * builders import these; tests drive the app with the same names.
 */
export const SLASH_COMMAND = '/apikey';

/** `action_id`s of buttons, selects and dispatching inputs. */
export const actionIds = {
  /** Previous in a key list (message or Home); value: ListState JSON. */
  listPrev: 'keys_page_prev',
  /** Next in a key list (message or Home); value: ListState JSON. */
  listNext: 'keys_page_next',
  /** `Edit` on a key row (admins): opens the key modal; value: keyId. */
  editKey: 'key_edit',
  /** The danger `Revoke` button (confirmation message and key modal); value: keyId. */
  revokeKey: 'key_revoke',
  /** `Revoke N keys` on the confirmation of `/apikey revoke <keyId> <keyId>…`; value: `{k: keyIds, r?: reason}` JSON. */
  revokeKeys: 'keys_revoke_many',
  /** `Roll` (key modal) and `Roll now` (expiry reminder), admins: opens the roll modal; value: keyId. */
  rollKey: 'key_roll',
  /** Roll modal: how long the old secret keeps working. */
  rollOverlapInput: 'roll_overlap',
  /** The optional reason select next to `Revoke` (read from the surface's state when Revoke is clicked). */
  revokeReason: 'key_revoke_reason',
  /** `+ API key` (admins): opens the create modal. */
  addKey: 'key_add',
  /** Home: the search box (dispatches on Enter). */
  homeSearchInput: 'home_search_input',
  /** Home: the Search button. */
  homeSearch: 'home_search',
  /** Home: the Active/Revoked/All select. */
  homeStatus: 'home_status',
  /** `Unlink` on a dependent in the key modal (admins); value: dependentId. */
  unlinkDependent: 'dependent_unlink',
  /** `Activity` in the key modal: the key's audit timeline; value: keyId. */
  keyActivity: 'key_activity',
  /** Previous (newer) / Next (older) in an audit timeline; value: AuditState JSON. */
  auditPrev: 'audit_page_prev',
  auditNext: 'audit_page_next',
  /** A key request's `Approve` (admins); value: requestId. */
  approveRequest: 'request_approve',
  /** A key request's `Deny` (admins): opens the reason modal; value: requestId. */
  denyRequest: 'request_deny',
  /** `Cancel` on one's own pending request (Home); value: requestId. */
  cancelRequest: 'request_cancel',
  /** `Collect key` on one's own approved request (Home): the secret once, in a modal; value: requestId. */
  collectKey: 'request_collect',
  /** Request modal: Why do you need it? */
  whyInput: 'why',
  /** Deny modal: the reason. */
  denyReasonInput: 'deny_reason',
  /** Create modal inputs. */
  nameInput: 'name',
  descriptionInput: 'description',
  rolesInput: 'roles',
  /** Create modal: Expires (30/90/180/365 days, never, on a date). */
  expiresInput: 'expires',
  /** Create modal: the date, used when Expires is "On a date". */
  expiresOnInput: 'expires_on',
} as const;

/** `callback_id`s of views. */
export const callbackIds = {
  createKey: 'create_key',
  keyCreated: 'key_created',
  keyDetails: 'key_details',
  rollKey: 'roll_key',
  keyRolled: 'key_rolled',
  notice: 'notice',
  audit: 'audit',
  requestKey: 'request_key',
  denyRequest: 'deny_request',
  keyCollected: 'key_collected',
  home: 'home',
} as const;

/** `block_id`s that handlers read state from or attach inline errors to. */
export const blockIds = {
  name: 'key_name',
  description: 'key_description',
  roles: 'key_roles',
  expires: 'key_expires',
  expiresOn: 'key_expires_on',
  rollOverlap: 'roll_overlap',
  homeSearch: 'home_search',
  homeControls: 'home_controls',
  listControls: 'list_controls',
  listPaging: 'list_paging',
  keyActions: 'key_actions',
  why: 'request_why',
  denyReason: 'deny_reason',
  requestActions: 'request_actions',
} as const;

/** Which create-modal block shows the error of each KeyService input field. */
export const fieldBlocks: Record<string, string> = {
  name: blockIds.name,
  description: blockIds.description,
  roles: blockIds.roles,
  expiresInDays: blockIds.expires,
  expiresOn: blockIds.expiresOn,
  why: blockIds.why,
};
