-- Google sign-in and the Google Calendar connection.

-- In-flight OAuth flows (sign-in or calendar connection). Single use (consumed by DELETE ... RETURNING),
-- expire after 10 minutes, bound to the browser that started them (binding_hash: SHA-256 of the value of
-- an HttpOnly cookie). Only a hash of `state` is stored; the PKCE verifier and nonce are encrypted.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('signin', 'calendar')),
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,  -- the calendar flow's signed-in user
    binding_hash TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,  -- the frontend URL to return to (one of ALLOWED_REDIRECT_URIS)
    secrets TEXT NOT NULL,       -- encrypted JSON: code_verifier, nonce
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oauth_states_expiry ON oauth_states(expires_at);
CREATE INDEX oauth_states_by_user ON oauth_states(user_id);

-- One connected Google Calendar per user. Tokens are AES-256-GCM ciphertexts (never plain text), bound
-- to the user and their purpose. sync_token and the poll bookkeeping belong to calendar polling.
CREATE TABLE calendar_connections (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('connected', 'disconnected', 'reauth_required')),
    refresh_token TEXT,
    access_token TEXT,
    access_token_expires_at TEXT,
    scopes TEXT NOT NULL DEFAULT '',
    error TEXT,                 -- why it is not connected, for the user
    sync_token TEXT,
    last_synced_at TEXT,
    interviews_found INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
