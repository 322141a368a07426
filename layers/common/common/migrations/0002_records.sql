-- The user's records. Every table carries user_id (ON DELETE CASCADE from users), and every link
-- between records is a composite foreign key on (user_id, id): a row can only ever point at a row of
-- the same user, whatever the application code does.

CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    headline TEXT NOT NULL DEFAULT '',
    resume_text TEXT NOT NULL DEFAULT '',
    linkedin_summary TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);

-- pk is the stable integer rowid the full-text index points at (an implicit rowid may change on VACUUM).
CREATE TABLE opportunities (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company TEXT NOT NULL,
    company_key TEXT NOT NULL,  -- casefolded company, the A->Z sort key
    role TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('wishlist', 'applied', 'screening', 'interviewing', 'offer',
                                           'accepted', 'rejected', 'withdrawn')),
    job_description TEXT,
    url TEXT,
    location TEXT,
    salary_min INTEGER,
    salary_max INTEGER,
    currency TEXT,
    source TEXT,
    priority TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),
    tags TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    applied_at TEXT,
    archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT salary_range CHECK (salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max),
    UNIQUE (user_id, id)
);
-- One index per sort order, each led by the list's fixed filters, ending in id (the tie-breaker).
CREATE INDEX opportunities_by_updated ON opportunities(user_id, archived, updated_at, id);
CREATE INDEX opportunities_by_created ON opportunities(user_id, archived, created_at, id);
CREATE INDEX opportunities_by_company ON opportunities(user_id, archived, company_key, id);
CREATE INDEX opportunities_by_applied ON opportunities(user_id, archived, coalesce(applied_at, ''), id);
-- The status filter in the default order, and the dashboard's count per status.
CREATE INDEX opportunities_by_status ON opportunities(user_id, archived, status, updated_at, id);

-- Tags, one row each, kept in step with opportunities.tags by triggers: the `tag=` filter is an index lookup.
CREATE TABLE opportunity_tags (
    user_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    tag_key TEXT NOT NULL,
    PRIMARY KEY (opportunity_id, tag_key),
    FOREIGN KEY (user_id, opportunity_id) REFERENCES opportunities(user_id, id) ON DELETE CASCADE
);
CREATE INDEX opportunity_tags_by_tag ON opportunity_tags(user_id, tag_key);

CREATE TRIGGER opportunity_tags_insert AFTER INSERT ON opportunities BEGIN
    INSERT OR IGNORE INTO opportunity_tags (user_id, opportunity_id, tag_key)
        SELECT new.user_id, new.id, lower(value) FROM json_each(new.tags);
END;
CREATE TRIGGER opportunity_tags_update AFTER UPDATE OF tags ON opportunities BEGIN
    DELETE FROM opportunity_tags WHERE opportunity_id = new.id;
    INSERT OR IGNORE INTO opportunity_tags (user_id, opportunity_id, tag_key)
        SELECT new.user_id, new.id, lower(value) FROM json_each(new.tags);
END;

-- Full-text search over company, role, job description and tags. user_id is indexed too, so a search
-- intersects with the caller's own rows inside the index instead of matching everyone's.
-- secure-delete: deleted rows' terms are removed from the index, not just marked deleted.
CREATE VIRTUAL TABLE opportunities_fts USING fts5(
    user_id, company, role, job_description, tags,
    content = 'opportunities', content_rowid = 'pk',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO opportunities_fts (opportunities_fts, rank) VALUES ('secure-delete', 1);

CREATE TRIGGER opportunities_fts_insert AFTER INSERT ON opportunities BEGIN
    INSERT INTO opportunities_fts (rowid, user_id, company, role, job_description, tags)
        VALUES (new.pk, new.user_id, new.company, new.role, new.job_description, new.tags);
END;
CREATE TRIGGER opportunities_fts_delete AFTER DELETE ON opportunities BEGIN
    INSERT INTO opportunities_fts (opportunities_fts, rowid, user_id, company, role, job_description, tags)
        VALUES ('delete', old.pk, old.user_id, old.company, old.role, old.job_description, old.tags);
END;
CREATE TRIGGER opportunities_fts_update AFTER UPDATE OF company, role, job_description, tags ON opportunities
BEGIN
    INSERT INTO opportunities_fts (opportunities_fts, rowid, user_id, company, role, job_description, tags)
        VALUES ('delete', old.pk, old.user_id, old.company, old.role, old.job_description, old.tags);
    INSERT INTO opportunities_fts (rowid, user_id, company, role, job_description, tags)
        VALUES (new.pk, new.user_id, new.company, new.role, new.job_description, new.tags);
END;

-- A manual interview belongs to an opportunity; one found in a calendar may not (yet).
CREATE TABLE interviews (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    opportunity_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('recruiter', 'phone_screen', 'technical', 'coding', 'system_design',
                                       'behavioral', 'hiring_manager', 'onsite', 'panel', 'take_home',
                                       'other')),
    title TEXT,
    scheduled_at TEXT,
    duration_minutes INTEGER,
    location TEXT,
    meeting_url TEXT,
    interviewers TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    outcome TEXT NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'passed', 'failed', 'cancelled')),
    debrief TEXT,
    source TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'calendar')),
    calendar_event_id TEXT,
    prep_status TEXT NOT NULL DEFAULT 'none'
        CHECK (prep_status IN ('none', 'queued', 'generating', 'ready', 'failed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT manual_needs_opportunity CHECK (source = 'calendar' OR opportunity_id IS NOT NULL),
    UNIQUE (user_id, id),
    FOREIGN KEY (user_id, opportunity_id) REFERENCES opportunities(user_id, id) ON DELETE CASCADE
);
-- Unscheduled interviews sort last ('~' is above every digit).
CREATE INDEX interviews_by_time ON interviews(user_id, coalesce(scheduled_at, '~'), id);
CREATE INDEX interviews_by_opportunity ON interviews(user_id, opportunity_id);
CREATE UNIQUE INDEX interviews_by_calendar_event ON interviews(user_id, calendar_event_id)
    WHERE calendar_event_id IS NOT NULL;

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,  -- casefolded name, the A->Z sort key
    email TEXT,
    phone TEXT,
    company TEXT,
    title TEXT,
    linkedin_url TEXT,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, id)
);
CREATE INDEX contacts_by_name ON contacts(user_id, name_key, id);

-- Deleting either side removes the link: an opportunity's deletion detaches its contacts.
CREATE TABLE contact_opportunities (
    user_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    position INTEGER NOT NULL,  -- keeps the order the user gave
    PRIMARY KEY (contact_id, opportunity_id),
    FOREIGN KEY (user_id, contact_id) REFERENCES contacts(user_id, id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, opportunity_id) REFERENCES opportunities(user_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_opportunities_by_opportunity ON contact_opportunities(user_id, opportunity_id);

-- A note goes with the opportunity or interview it is about; a deleted contact is detached from it
-- (the service clears contact_id in the same batch, so the contact link has no ON DELETE action).
CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    opportunity_id TEXT,
    interview_id TEXT,
    contact_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (user_id, opportunity_id) REFERENCES opportunities(user_id, id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, interview_id) REFERENCES interviews(user_id, id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, contact_id) REFERENCES contacts(user_id, id)
);
CREATE INDEX notes_by_time ON notes(user_id, created_at, id);
CREATE INDEX notes_by_opportunity ON notes(user_id, opportunity_id);
CREATE INDEX notes_by_interview ON notes(user_id, interview_id);
CREATE INDEX notes_by_contact ON notes(user_id, contact_id);

-- The timeline. Entries with to_status form the status ledger that /v1/stats computes from:
-- 'created' (to_status = the initial status) and 'status_changed' (from_status -> to_status).
CREATE TABLE activity (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'status_changed', 'interview_scheduled', 'interview_updated',
                                       'prep_ready', 'note', 'email', 'call', 'message', 'other')),
    summary TEXT NOT NULL,
    opportunity_id TEXT,
    interview_id TEXT,
    from_status TEXT,
    to_status TEXT,
    occurred_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (user_id, opportunity_id) REFERENCES opportunities(user_id, id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, interview_id) REFERENCES interviews(user_id, id) ON DELETE CASCADE
);
CREATE INDEX activity_by_time ON activity(user_id, occurred_at, id);
CREATE INDEX activity_by_opportunity ON activity(user_id, opportunity_id, occurred_at);
CREATE INDEX activity_by_interview ON activity(user_id, interview_id);
CREATE INDEX activity_ledger ON activity(user_id, opportunity_id, occurred_at) WHERE to_status IS NOT NULL;
