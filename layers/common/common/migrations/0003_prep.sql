-- AI interview prep: one row per version (inputs_hash), the local durable job queue, and the ledger
-- behind the per-user hourly rate limit.

CREATE TABLE preps (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    interview_id TEXT NOT NULL,
    inputs_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'generating', 'ready', 'failed')),
    content TEXT,           -- PrepContent JSON once ready
    error TEXT,             -- user-readable reason once failed
    ai_processing TEXT,     -- JSON audit record: fields sent, model, time, token usage
    attempts INTEGER NOT NULL DEFAULT 0,
    claim_token TEXT,       -- the worker that holds it while generating
    lease_until TEXT,       -- when an unfinished claim may be taken over
    requested_at TEXT NOT NULL,  -- last asked for: the interview's current prep is the last requested
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, id),
    FOREIGN KEY (user_id, interview_id) REFERENCES interviews(user_id, id) ON DELETE CASCADE
);
CREATE INDEX preps_by_interview ON preps(user_id, interview_id, requested_at);
-- At most one live version per inputs: concurrent requests with the same inputs cannot both enqueue.
CREATE UNIQUE INDEX preps_live_version ON preps(user_id, interview_id, inputs_hash)
    WHERE status IN ('queued', 'generating', 'ready');

-- Local mode's queue (PREP_QUEUE_URL unset). A job survives restarts; a claim is a lease, so a job whose
-- worker died is taken again once the lease runs out.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,  -- JSON
    available_at TEXT NOT NULL,
    lease_until TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX jobs_ready ON jobs(available_at);
CREATE INDEX jobs_by_user ON jobs(user_id);

-- Accepted prep requests of the last hour (pruned on every request): the rate limit counts these, so
-- deleting a prep or an interview does not give requests back.
CREATE TABLE prep_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requested_at TEXT NOT NULL
);
CREATE INDEX prep_requests_by_user ON prep_requests(user_id, requested_at);
