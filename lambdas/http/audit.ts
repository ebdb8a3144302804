/**
 * Audit events: one structured log line per security-relevant change to an account (OWASP ASVS 5
 * V16.2/V16.3: who did what to which account, when, from which session; never a secret). The
 * `audit` field names the event, so a metric filter or Logs Insights query selects them all with
 * `{ $.audit = * }`. Values are identifiers only: a sub, a session id, a credential id, a count.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export type AuditEvent =
  | 'password_changed'
  | 'account_deleted'
  | 'session_ended'
  | 'mfa_enrolled'
  | 'mfa_removed'
  | 'recovery_code_used'
  | 'passkey_registered'
  | 'passkey_removed';

/** The identifiers an audit line may carry: never a password, token, key, secret or code. */
export interface AuditFields {
  readonly sub: string;
  readonly sid?: string | undefined;
  readonly [field: string]: string | number | boolean | undefined;
}

export function audit(log: Logger, event: AuditEvent, fields: AuditFields): void {
  log.info(`audit: ${event}`, { audit: event, ...fields });
}
