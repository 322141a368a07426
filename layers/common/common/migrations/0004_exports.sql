-- Data exports (POST /v1/exports): one row per export file, kept one day like the file itself (S3: the
-- bucket's lifecycle rule; local files: pruned at the user's next export). The hourly export limit counts
-- these rows; a local download link finds its file through its row. Deleting the user deletes the rows
-- (cascade); their files are erased through the storage port by the account deletion itself.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    format TEXT NOT NULL CHECK (format IN ('json', 'csv')),
    status TEXT NOT NULL DEFAULT 'writing' CHECK (status IN ('writing', 'ready')),
    object_key TEXT NOT NULL UNIQUE,  -- where the storage port keeps it: <user_id>/<unguessable name>
    size_bytes INTEGER,
    sha256 TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT                   -- when its download URL stops working
);
CREATE INDEX exports_by_user ON exports(user_id, created_at);
