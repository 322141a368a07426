-- Where the scheduled calendar poll stopped fanning out (the last user id it handed out), so a run cut
-- short by its time budget resumes there and no user is skipped forever.
CREATE TABLE poll_state (
    name TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
