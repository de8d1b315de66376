/**
 * How far ahead of our clock a Slack request's `X-Slack-Request-Timestamp` may be. Bolt
 * refuses timestamps more than five minutes in the past but none in the future, so a
 * request signed with a clock set ahead (or a signature made for later replay) would be
 * accepted for as long as it stays "ahead". Slack's own clock is never that far off.
 */
export const MAX_FUTURE_SKEW_SECONDS = 5 * 60;

/**
 * True when the request says it was sent more than {@link MAX_FUTURE_SKEW_SECONDS} from
 * now. A missing or unreadable header is left to Bolt's verification, which refuses it.
 */
export function isFutureDated(header: string | string[] | undefined, nowMs: number): boolean {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || !/^\d{1,15}$/.test(raw.trim())) return false;
  return Number(raw) > Math.floor(nowMs / 1000) + MAX_FUTURE_SKEW_SECONDS;
}
