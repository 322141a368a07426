-- Accounts and sessions. Every row that belongs to a user references users(id) ON DELETE CASCADE,
-- so deleting the user row deletes everything of theirs (secure_delete overwrites the pages).

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    google_sub TEXT UNIQUE,
    picture_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per sign-in; refresh tokens rotate inside it. Revoking it ends the whole family at once,
-- access tokens included (the verifier checks it on every request).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Opaque refresh tokens, stored only as SHA-256 hashes; single use (used_at), rotated on refresh.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

-- Failed logins per email (keyed by a hash of the normalised email, not the email itself), for the
-- 5-in-15-minutes lockout. Rows older than the window are pruned on every failure.
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email_key TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(email_key, failed_at);
CREATE INDEX login_failures_age ON login_failures(failed_at);
