-- A list filtered by a link or a kind (activity of one opportunity, notes of one interview, ...) was walked
-- in its sort index over all the caller's rows, dropping every row of another opportunity: the filter's
-- index, (user_id, opportunity_id) alone, could not give the list's order, and the planner prefers an
-- index that avoids sorting. For a user with 22,663 ledger entries and 50,000 notes that was 27 ms
-- (activity of one opportunity), 37 ms (activity of a kind nobody used) and 92 ms (notes of one
-- opportunity) of SQL for a handful of rows. Each filter's index now ends in the list's order too, so the
-- filtered list is one seek to its own rows, already sorted, and a cursor page seeks to its position.
-- The replaced indexes were prefixes of these (the foreign keys' cascades use the same prefix).

DROP INDEX activity_by_opportunity;
CREATE INDEX activity_by_opportunity ON activity(user_id, opportunity_id, occurred_at, id);
CREATE INDEX activity_by_kind ON activity(user_id, kind, occurred_at, id);

DROP INDEX notes_by_opportunity;
CREATE INDEX notes_by_opportunity ON notes(user_id, opportunity_id, created_at, id);
DROP INDEX notes_by_interview;
CREATE INDEX notes_by_interview ON notes(user_id, interview_id, created_at, id);
DROP INDEX notes_by_contact;
CREATE INDEX notes_by_contact ON notes(user_id, contact_id, created_at, id);

DROP INDEX interviews_by_opportunity;
CREATE INDEX interviews_by_opportunity ON interviews(user_id, opportunity_id, coalesce(scheduled_at, '~'), id);
