import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { ConsoleRole } from './console-roles.ts';

/**
 * SQL of the console's accounts. Methods named `find…`/`throttle…` run on the system connection
 * (sign-in, invitation acceptance and session lookup happen before any tenant is known); every other
 * method takes a tenant transaction (RLS: the session's org only).
 */
type Db = Kysely<Database> | Kysely<unknown>;

export type AccountRow = {
  id: string;
  org_id: string;
  email_sha256: string;
  encrypted_email: string;
  role: ConsoleRole;
  password_hash: string;
  encrypted_totp_secret: string | null;
  totp_enabled_at: Date | null;
  totp_last_step: string | null;
  created_at: Date;
  updated_at: Date;
};

export type SessionLookupRow = {
  id: string;
  org_id: string;
  account_id: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  role: ConsoleRole;
  totp_enabled: boolean;
  org_active: boolean;
  mfa_required: boolean;
};

export type SessionRow = {
  id: string;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
};

export type InvitationRow = {
  id: string;
  org_name?: string;
  org_id: string;
  email_sha256: string;
  encrypted_email: string;
  role: ConsoleRole;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
};

export type ThrottleRow = {
  bucket: string;
  failures: number;
  window_ends_at: Date;
  locked_until: Date | null;
};

const rows = async <T>(q: { execute(db: Db): Promise<{ rows: T[] }> }, db: Db) => (await q.execute(db)).rows;

export function createConsoleAuthDal() {
  return {
    async findAccountByEmail(db: Db, emailSha256: string): Promise<AccountRow | undefined> {
      const [row] = await rows(
        sql<AccountRow>`SELECT a.* FROM console_accounts a JOIN orgs o ON o.id = a.org_id
          WHERE a.email_sha256 = ${emailSha256} AND o.status = 'active'`,
        db,
      );
      return row;
    },

    async findSession(db: Db, tokenSha256: string): Promise<SessionLookupRow | undefined> {
      const [row] = await rows(
        sql<SessionLookupRow>`
          SELECT s.id, s.org_id, s.account_id, s.created_at, s.last_seen_at, s.expires_at, a.role,
                 a.totp_enabled_at IS NOT NULL AS totp_enabled, o.status = 'active' AS org_active,
                 coalesce(st.mfa_required, false) AS mfa_required
          FROM console_sessions s
          JOIN console_accounts a ON a.id = s.account_id
          JOIN orgs o ON o.id = s.org_id
          LEFT JOIN console_org_settings st ON st.org_id = s.org_id
          WHERE s.token_sha256 = ${tokenSha256}`,
        db,
      );
      return row;
    },

    /** The idle clock: written at most once a minute per session (see the session authenticator). */
    async touchSession(db: Db, id: string, at: Date): Promise<void> {
      await sql`UPDATE console_sessions SET last_seen_at = ${at} WHERE id = ${id} AND last_seen_at < ${at}`.execute(
        db,
      );
    },

    async deleteSessionByToken(db: Db, tokenSha256: string): Promise<void> {
      await sql`DELETE FROM console_sessions WHERE token_sha256 = ${tokenSha256}`.execute(db);
    },

    async findInvitation(db: Db, tokenSha256: string): Promise<InvitationRow | undefined> {
      const [row] = await rows(
        sql<InvitationRow>`SELECT i.id, i.org_id, i.email_sha256, i.encrypted_email, i.role, i.invited_by,
            i.created_at, i.expires_at, o.name AS org_name
          FROM console_invitations i JOIN orgs o ON o.id = i.org_id
          WHERE i.token_sha256 = ${tokenSha256} AND o.status = 'active'`,
        db,
      );
      return row;
    },

    async throttleRead(db: Db, buckets: string[]): Promise<ThrottleRow[]> {
      return rows(
        sql<ThrottleRow>`SELECT bucket, failures, window_ends_at, locked_until FROM console_login_throttle
          WHERE bucket = ANY(${buckets}::text[])`,
        db,
      );
    },

    /**
     * One more failure in the bucket's window (a new window when the last one ended), locking the
     * bucket once `limit` failures are reached. One statement, so concurrent failures in several
     * processes all count.
     */
    async throttleFail(
      db: Db,
      b: { bucket: string; orgId: string | null; now: Date; windowMs: number; limit: number; lockMs: number },
    ): Promise<void> {
      const windowEnds = new Date(b.now.getTime() + b.windowMs);
      const lockedUntil = new Date(b.now.getTime() + b.lockMs);
      const expires = new Date(b.now.getTime() + Math.max(b.windowMs, b.lockMs));
      await sql`
        INSERT INTO console_login_throttle AS t (bucket, org_id, failures, window_ends_at, locked_until, expires_at)
        VALUES (${b.bucket}, ${b.orgId}, 1, ${windowEnds}, ${b.limit <= 1 ? lockedUntil : null}, ${expires})
        ON CONFLICT (bucket) DO UPDATE SET
          failures = CASE WHEN t.window_ends_at <= ${b.now} THEN 1 ELSE t.failures + 1 END,
          window_ends_at = CASE WHEN t.window_ends_at <= ${b.now} THEN ${windowEnds} ELSE t.window_ends_at END,
          locked_until = CASE
            WHEN (CASE WHEN t.window_ends_at <= ${b.now} THEN 1 ELSE t.failures + 1 END) >= ${b.limit}
            THEN ${lockedUntil}::timestamptz ELSE t.locked_until END,
          expires_at = GREATEST(t.expires_at, ${expires}::timestamptz)`.execute(db);
    },

    async throttleClear(db: Db, bucket: string): Promise<void> {
      await sql`DELETE FROM console_login_throttle WHERE bucket = ${bucket}`.execute(db);
    },

    // ---- tenant transactions -------------------------------------------------------------------

    async insertAccount(
      tx: Db,
      a: Omit<AccountRow, 'totp_last_step' | 'totp_enabled_at' | 'encrypted_totp_secret' | 'updated_at'>,
    ): Promise<void> {
      await sql`INSERT INTO console_accounts (id, org_id, email_sha256, encrypted_email, role, password_hash,
          created_at, updated_at)
        VALUES (${a.id}, ${a.org_id}, ${a.email_sha256}, ${a.encrypted_email}, ${a.role}, ${a.password_hash},
          ${a.created_at}, ${a.created_at})`.execute(tx);
    },

    async emailTaken(tx: Db, emailSha256: string): Promise<boolean> {
      const [row] = await rows(
        sql<{ n: number }>`SELECT 1 AS n FROM console_accounts WHERE email_sha256 = ${emailSha256}`,
        tx,
      );
      return row !== undefined;
    },

    async getAccount(tx: Db, id: string): Promise<AccountRow | undefined> {
      const [row] = await rows(sql<AccountRow>`SELECT * FROM console_accounts WHERE id = ${id}`, tx);
      return row;
    },

    async listAccounts(tx: Db): Promise<AccountRow[]> {
      return rows(sql<AccountRow>`SELECT * FROM console_accounts ORDER BY id`, tx);
    },

    async countOwners(tx: Db): Promise<number> {
      const [row] = await rows(
        sql<{ n: number }>`SELECT count(*)::int AS n FROM console_accounts WHERE role = 'owner'`,
        tx,
      );
      return row?.n ?? 0;
    },

    async setRole(tx: Db, id: string, role: ConsoleRole, now: Date): Promise<void> {
      await sql`UPDATE console_accounts SET role = ${role}, updated_at = ${now} WHERE id = ${id}`.execute(tx);
    },

    async setPassword(tx: Db, id: string, hash: string, now: Date): Promise<void> {
      await sql`UPDATE console_accounts SET password_hash = ${hash}, updated_at = ${now} WHERE id = ${id}`.execute(
        tx,
      );
    },

    async setEmail(tx: Db, id: string, emailSha256: string, encrypted: string, now: Date): Promise<void> {
      await sql`UPDATE console_accounts SET email_sha256 = ${emailSha256}, encrypted_email = ${encrypted},
        updated_at = ${now} WHERE id = ${id}`.execute(tx);
    },

    /** A pending secret (enabled_at NULL) during enrolment; NULLs everything when MFA is removed. */
    async setTotp(
      tx: Db,
      id: string,
      encrypted: string | null,
      enabledAt: Date | null,
      now: Date,
    ): Promise<void> {
      await sql`UPDATE console_accounts SET encrypted_totp_secret = ${encrypted}, totp_enabled_at = ${enabledAt},
        totp_last_step = CASE WHEN ${encrypted}::text IS NULL THEN NULL ELSE totp_last_step END,
        updated_at = ${now} WHERE id = ${id}`.execute(tx);
    },

    /** Claims a TOTP step: false when that step (or a later one) was used already — in any process. */
    async claimTotpStep(db: Db, id: string, step: number): Promise<boolean> {
      const r = await rows(
        sql<{ id: string }>`UPDATE console_accounts SET totp_last_step = ${step}
          WHERE id = ${id} AND (totp_last_step IS NULL OR totp_last_step < ${step}) RETURNING id`,
        db,
      );
      return r.length === 1;
    },

    async replaceRecoveryCodes(tx: Db, orgId: string, accountId: string, hashes: string[], now: Date) {
      await sql`DELETE FROM console_recovery_codes WHERE account_id = ${accountId}`.execute(tx);
      if (hashes.length === 0) return;
      await sql`INSERT INTO console_recovery_codes (org_id, account_id, code_sha256, created_at)
        SELECT ${orgId}, ${accountId}, h, ${now} FROM unnest(${hashes}::text[]) AS h`.execute(tx);
    },

    /** Uses a recovery code up: true once, for the one request whose DELETE found it. */
    async consumeRecoveryCode(db: Db, accountId: string, hash: string): Promise<boolean> {
      const r = await rows(
        sql<{ account_id: string }>`DELETE FROM console_recovery_codes
          WHERE account_id = ${accountId} AND code_sha256 = ${hash} RETURNING account_id`,
        db,
      );
      return r.length === 1;
    },

    async countRecoveryCodes(tx: Db, accountId: string): Promise<number> {
      const [row] = await rows(
        sql<{
          n: number;
        }>`SELECT count(*)::int AS n FROM console_recovery_codes WHERE account_id = ${accountId}`,
        tx,
      );
      return row?.n ?? 0;
    },

    async deleteAccount(tx: Db, id: string): Promise<void> {
      await sql`DELETE FROM console_accounts WHERE id = ${id}`.execute(tx);
    },

    async insertSession(
      tx: Db,
      s: {
        id: string;
        org_id: string;
        account_id: string;
        token_sha256: string;
        user_agent: string | null;
        now: Date;
        expires_at: Date;
      },
    ): Promise<void> {
      await sql`INSERT INTO console_sessions (id, org_id, account_id, token_sha256, user_agent, created_at, last_seen_at, expires_at)
        VALUES (${s.id}, ${s.org_id}, ${s.account_id}, ${s.token_sha256}, ${s.user_agent}, ${s.now}, ${s.now}, ${s.expires_at})`.execute(
        tx,
      );
    },

    async listSessions(tx: Db, accountId: string): Promise<SessionRow[]> {
      return rows(
        sql<SessionRow>`SELECT id, user_agent, created_at, last_seen_at, expires_at FROM console_sessions
          WHERE account_id = ${accountId} ORDER BY created_at DESC`,
        tx,
      );
    },

    async deleteSession(tx: Db, accountId: string, id: string): Promise<boolean> {
      const r = await rows(
        sql<{
          id: string;
        }>`DELETE FROM console_sessions WHERE account_id = ${accountId} AND id = ${id} RETURNING id`,
        tx,
      );
      return r.length === 1;
    },

    async deleteSessionsOf(tx: Db, accountId: string, exceptId: string | null): Promise<number> {
      const r = await rows(
        sql<{ id: string }>`DELETE FROM console_sessions WHERE account_id = ${accountId}
          AND (${exceptId}::text IS NULL OR id <> ${exceptId}) RETURNING id`,
        tx,
      );
      return r.length;
    },

    async insertInvitation(tx: Db, i: InvitationRow & { token_sha256: string }): Promise<void> {
      await sql`INSERT INTO console_invitations (id, org_id, email_sha256, encrypted_email, role, token_sha256,
          invited_by, created_at, expires_at)
        VALUES (${i.id}, ${i.org_id}, ${i.email_sha256}, ${i.encrypted_email}, ${i.role}, ${i.token_sha256},
          ${i.invited_by}, ${i.created_at}, ${i.expires_at})`.execute(tx);
    },

    async listInvitations(tx: Db, now: Date): Promise<InvitationRow[]> {
      return rows(
        sql<InvitationRow>`SELECT id, org_id, email_sha256, encrypted_email, role, invited_by, created_at, expires_at
          FROM console_invitations WHERE expires_at > ${now} ORDER BY id DESC`,
        tx,
      );
    },

    async getInvitation(tx: Db, id: string): Promise<InvitationRow | undefined> {
      const [row] = await rows(
        sql<InvitationRow>`SELECT id, org_id, email_sha256, encrypted_email, role, invited_by, created_at, expires_at
          FROM console_invitations WHERE id = ${id}`,
        tx,
      );
      return row;
    },

    async deleteInvitation(tx: Db, id: string): Promise<boolean> {
      const r = await rows(
        sql<{ id: string }>`DELETE FROM console_invitations WHERE id = ${id} RETURNING id`,
        tx,
      );
      return r.length === 1;
    },

    async mfaRequired(tx: Db): Promise<boolean> {
      const [row] = await rows(
        sql<{ mfa_required: boolean }>`SELECT mfa_required FROM console_org_settings`,
        tx,
      );
      return row?.mfa_required ?? false;
    },

    async setMfaRequired(tx: Db, orgId: string, required: boolean, now: Date): Promise<void> {
      await sql`INSERT INTO console_org_settings (org_id, mfa_required, updated_at) VALUES (${orgId}, ${required}, ${now})
        ON CONFLICT (org_id) DO UPDATE SET mfa_required = EXCLUDED.mfa_required, updated_at = EXCLUDED.updated_at`.execute(
        tx,
      );
    },
  };
}

export type ConsoleAuthDal = ReturnType<typeof createConsoleAuthDal>;
