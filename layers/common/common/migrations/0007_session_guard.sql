-- The session guard: `INSERT INTO session_guard (session_id, user_id, now) VALUES (?, ?, ?)` aborts its
-- statement (and so, inside a batch, the whole transaction) unless that session is live. An
-- authenticated request's writes start with it, so the session check travels in the request's own
-- batch (one round trip) and a revoked, expired or deleted session can never write. Nothing is ever
-- stored: the view has no rows and the INSTEAD OF trigger only checks.
CREATE VIEW session_guard (session_id, user_id, now) AS SELECT NULL, NULL, NULL WHERE 0;

CREATE TRIGGER session_guard_check INSTEAD OF INSERT ON session_guard
WHEN NOT EXISTS (
    SELECT 1 FROM sessions
    WHERE id = NEW.session_id AND user_id = NEW.user_id AND revoked_at IS NULL AND expires_at > NEW.now
)
BEGIN
    SELECT RAISE(ABORT, 'session_ended');
END;
