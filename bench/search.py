"""Opportunity search and list latency for a heavy user (10,000 opportunities and 50,000 notes), plus
everyday reads of an ordinary user, through the in-process app (FastAPI TestClient: routing, auth,
validation, the embedded database, JSON), as `make run` serves them.

    python -m bench.search [--opportunities 10000] [--notes 50000] [--requests 50] [--seed 7] [--budget-only]

Budget (issue 9 item 4): p50 of a `q=` search and of a page of 50 at most 2x the same query in raw SQL
(the SQL statement the records repository builds for that request, run on a plain libsql connection
to the same file and fetched: the engine's share, with no app around it), measured interleaved. What
the budget compares with it is our data path: records.service with the request's session-bound
database port (SQL built, the session check in the same batch, rows to API items, the cursor and the
page byte cap), with no HTTP. The whole request through the records Lambda handler (API Gateway
events, tests/events.py: Mangum, middleware, JWT, FastAPI, the response model, JSON) is reported
beside it; docs/PERFORMANCE.md 4 says why that is not the budget's subject. The other rows go through
TestClient (`--budget-only` skips them).

The heavy user's opportunities are generated deterministically (random.Random(seed)) and written in
batches through the Database port with the records repository's own INSERT statements (the triggers
maintain the tag table and the full-text index as they do for the API); going through the HTTP API
one by one would make the setup, not the measurement, the long part of a run.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._harness import Budgets, Sample, isolated_data_dir, load_average, machine, measure, table

PASSWORD = "correct horse battery staple"  # noqa: S105 - the throwaway benchmark users' password
BATCH = 500
BUDGET = 2.0
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

STATUSES = ("wishlist", "applied", "screening", "interviewing", "offer", "accepted", "rejected", "withdrawn")
STATUS_WEIGHTS = (20, 30, 12, 10, 3, 1, 20, 4)
COMPANY_HEADS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Cyberdyne", "Soylent", "Tyrell",
    "Aperture", "Wonka", "Massive", "Vandelay", "Pied Piper", "Gringotts", "Oceanic", "Nakatomi", "Zorg",
    "Monarch", "Bluth", "Dunder", "Prestige", "Sirius", "Virtucon", "Nordström", "Crédit Lumière",
    "Zürich Analytik", "São Paulo Digital", "Kraków Soft", "Łódź Data", "Øresund", "Café Numérique",
)  # fmt: skip
COMPANY_TAILS = (
    "Labs", "Systems", "Robotics", "Analytics", "Health", "Bank", "Logistics", "Energy", "Games", "Media",
    "Cloud", "Security", "Insurance", "Foods", "Mobility", "AI", "Networks", "Capital", "", "", "",
)  # fmt: skip
SENIORITY = ("Junior", "", "", "Senior", "Senior", "Staff", "Principal", "Lead")
DISCIPLINES = (
    "Backend", "Frontend", "Full-Stack", "Platform", "Data", "Machine Learning", "Site Reliability",
    "Security", "Mobile", "Embedded", "DevOps", "QA", "Infrastructure", "Product",
)  # fmt: skip
TITLES = ("Engineer", "Engineer", "Developer", "Architect", "Scientist", "Manager", "Analyst")
TAGS = (
    "python", "go", "rust", "java", "kotlin", "typescript", "react", "aws", "gcp", "azure", "kubernetes",
    "terraform", "postgres", "kafka", "spark", "ml", "llm", "remote", "hybrid", "onsite", "visa",
    "equity", "startup", "enterprise", "fintech", "healthtech", "climate", "gaming", "b2b", "b2c",
    "referral", "dream-job", "relocation", "contract", "part-time", "urgent", "follow-up",
)  # fmt: skip
LOCATIONS = (
    "Berlin", "London", "Amsterdam", "Zürich", "Paris", "Lisbon", "São Paulo", "New York", "Toronto",
    "Remote (EU)", "Remote (US)", "Kraków", "Stockholm", "Dublin", "Singapore",
)  # fmt: skip
CURRENCIES = ("EUR", "GBP", "USD", "CHF", "CAD", "SEK", "PLN", "BRL", "SGD")
SOURCES = ("LinkedIn", "referral", "company site", "recruiter", "Hacker News", "meetup", None)
NOUNS = (
    "platform", "service", "pipeline", "team", "customer", "product", "system", "database", "API",
    "infrastructure", "model", "dashboard", "workflow", "feature", "experiment", "release", "incident",
    "architecture", "roadmap", "stakeholder", "observability", "latency", "throughput", "migration",
    "integration", "deployment", "cluster", "queue", "cache", "payment", "checkout", "warehouse",
    "recommendation", "search", "ranking", "analytics", "compliance", "privacy", "accessibility",
)  # fmt: skip
VERBS = (
    "build", "design", "own", "scale", "operate", "improve", "ship", "maintain", "monitor", "automate",
    "mentor", "review", "debug", "optimise", "document", "migrate", "secure", "test", "measure",
)  # fmt: skip
ADJECTIVES = (
    "distributed", "reliable", "scalable", "secure", "fast", "modern", "cloud-native", "event-driven",
    "data-intensive", "customer-facing", "internal", "real-time", "resilient", "well-tested", "global",
)  # fmt: skip
# Mentioned by about one ad in 300: the "few hits" searches.
RARE_SKILLS = ("COBOL", "Fortran", "Erlang", "Haskell", "Prolog")
SECTIONS = ("About us", "The role", "What you will do", "What we look for", "Nice to have", "Benefits")
BENEFITS = (
    "30 days of paid vacation", "a yearly learning budget", "flexible working hours", "a pension plan",
    "parental leave", "a home office budget", "stock options", "a public transport pass",
)  # fmt: skip


# ---- data -----------------------------------------------------------------------------------------


def _sentence(rng: random.Random, company: str, tags: list[str]) -> str:
    pick = rng.choice
    shapes = (
        lambda: (
            f"You will {pick(VERBS)} {pick(ADJECTIVES)} {pick(NOUNS)}s that {pick(VERBS)} our {pick(NOUNS)}."
        ),
        lambda: f"At {company} we {pick(VERBS)} the {pick(NOUNS)} behind every {pick(NOUNS)}.",
        lambda: f"Experience with {pick(tags or TAGS)} and {pick(TAGS)} is a plus.",
        lambda: (
            f"The team works on a {pick(ADJECTIVES)} {pick(NOUNS)} and a {pick(ADJECTIVES)} {pick(NOUNS)}."
        ),
        lambda: f"You care about {pick(NOUNS)} {pick(NOUNS)} and help others {pick(VERBS)} it.",
        lambda: f"We offer {pick(BENEFITS)} and {pick(BENEFITS)}.",
        lambda: (
            f"{rng.randint(2, 8)}+ years to {pick(VERBS)} {pick(ADJECTIVES)} {pick(NOUNS)}s in production."
        ),
    )
    return pick(shapes)()


def job_description(rng: random.Random, company: str, role: str, tags: list[str]) -> str:
    """A few hundred words in sections, like a pasted job ad."""
    target = rng.randint(180, 520)
    parts = [f"{role} at {company}"]
    words = 0
    while words < target:
        section = [rng.choice(SECTIONS) + ":"]
        for _ in range(rng.randint(3, 7)):
            section.append(_sentence(rng, company, tags))
        text = " ".join(section)
        words += len(text.split())
        parts.append(text)
    if rng.random() < 1 / 300:
        parts.append(f"Bonus: you have kept a {rng.choice(RARE_SKILLS)} system alive.")
    return "\n\n".join(parts)


PIPELINE = ("wishlist", "applied", "screening", "interviewing", "offer", "accepted")


def status_history(rng: random.Random, final: str) -> list[str]:
    """The statuses an opportunity went through to reach `final`: a stretch of the pipeline, then
    (for rejected/withdrawn) an exit from one of its stages."""
    if final in PIPELINE:
        end = PIPELINE.index(final)
        return list(PIPELINE[rng.choice((0, 0, 1)) if end >= 1 else 0 : end + 1])
    stage = rng.choice((0, 1, 1, 1, 2, 3))
    return [*PIPELINE[rng.choice((0, 1)) if stage >= 1 else 0 : stage + 1], final]


def opportunity(rng: random.Random) -> dict[str, Any]:
    """One valid OpportunityCreate body (created in its first status), the statuses it moved through
    since, and the times it was created and last updated."""
    company = f"{rng.choice(COMPANY_HEADS)} {rng.choice(COMPANY_TAILS)}".strip()
    role = " ".join(p for p in (rng.choice(SENIORITY), rng.choice(DISCIPLINES), rng.choice(TITLES)) if p)
    tags = rng.sample(TAGS, rng.choice((0, 1, 2, 2, 3, 3, 4, 5, 6)))
    history = status_history(rng, rng.choices(STATUSES, STATUS_WEIGHTS)[0])
    status = history[-1]
    created = NOW - timedelta(days=rng.uniform(0, 365))
    updated = created + timedelta(days=rng.uniform(0, (NOW - created).days + 0.5))
    salary_min = rng.choice((None, rng.randrange(40, 150) * 1000))
    body: dict[str, Any] = {
        "company": company,
        "role": role,
        "status": status,
        "job_description": job_description(rng, company, role, tags),
        "url": f"https://jobs.example.com/{company.split()[0].lower()}/{rng.randrange(10**6)}",
        "location": rng.choice(LOCATIONS),
        "salary_min": salary_min,
        "salary_max": None if salary_min is None else salary_min + rng.randrange(0, 60) * 1000,
        "currency": None if salary_min is None else rng.choice(CURRENCIES),
        "source": rng.choice(SOURCES),
        "priority": rng.choice(("low", "medium", "medium", "high")),
        "tags": tags,
        "applied_at": None if status == "wishlist" else (created + (updated - created) / 3).isoformat(),
        "archived": rng.random() < 0.1,
    }
    return {"body": body, "history": history, "created_at": created, "updated_at": updated}


def generate(count: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for _ in range(count):
        yield opportunity(rng)


def _ledger_entry(user_id: str, opportunity_id: str, previous: str | None, status: str, at: str) -> Any:
    from common.clock import new_id
    from records import repository as repo

    summary = f"Status changed from {previous} to {status}" if previous else f"Added ({status})"
    return repo.insert_activity(
        {
            "id": new_id(),
            "user_id": user_id,
            "kind": "status_changed" if previous else "created",
            "summary": summary,
            "opportunity_id": opportunity_id,
            "from_status": previous,
            "to_status": status,
            "occurred_at": at,
            "created_at": at,
            "updated_at": at,
        }
    )


def insert_opportunities(user_id: str, count: int, seed: int) -> tuple[float, int]:
    """Validate each generated body with the API's own model and write it with its status ledger
    (`created`, then one `status_changed` per move, as the service writes them), BATCH opportunities a
    batch; seconds taken and ledger entries written."""
    from common.clock import new_id, to_iso
    from common.db import Statement, get_database
    from records import repository as repo
    from records.schemas import OpportunityCreate

    db = get_database()
    started = time.perf_counter()
    statements: list[Statement] = []
    pending = ledger = 0
    for generated in generate(count, seed):
        body = {**generated["body"], "status": generated["history"][0]}
        data = OpportunityCreate.model_validate(body)
        values = data.model_dump()
        values["tags"] = json.dumps(values["tags"], ensure_ascii=False)
        values["archived"] = int(values["archived"])
        values["applied_at"] = to_iso(values["applied_at"]) if values["applied_at"] else None
        created, updated = to_iso(generated["created_at"]), to_iso(generated["updated_at"])
        opportunity_id = new_id()
        values.update(
            id=opportunity_id,
            user_id=user_id,
            status=generated["history"][-1],
            company_key=data.company.casefold(),
            created_at=created,
            updated_at=updated,
        )
        statements.append(repo.insert_opportunity(values))
        # Moves are spread between creation and the last update; the row holds the final status.
        history: list[str] = generated["history"]
        span = generated["updated_at"] - generated["created_at"]
        previous = None
        for step, status in enumerate(history):
            at = to_iso(generated["created_at"] + span * step / max(len(history) - 1, 1))
            statements.append(_ledger_entry(user_id, opportunity_id, previous, status, at))
            previous = status
        ledger += len(history)
        pending += 1
        if pending >= BATCH:
            db.batch(statements)
            statements, pending = [], 0
    if statements:
        db.batch(statements)
    return time.perf_counter() - started, ledger


# ---- requests -------------------------------------------------------------------------------------

Get = Callable[..., Any]


def _getter(client: Any, headers: dict[str, str]) -> Get:
    def get(path: str, **params: Any) -> dict[str, Any]:
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, params, response.text)
        return dict(response.json())

    return get


def _register(client: Any, email: str) -> tuple[str, dict[str, str]]:
    response = client.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Bench"})
    assert response.status_code == 201, response.text
    tokens = response.json()
    return tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"}


def _rotating(values: tuple[Any, ...]) -> Callable[[int], Any]:
    return lambda i: values[i % len(values)]


def heavy_user_samples(get: Get, runs: int, count: int) -> list[Sample]:
    samples: list[Sample] = []

    def listing(name: str, make_params: Callable[[int], dict[str, Any]]) -> None:
        found: list[int] = []

        def call(i: int) -> None:
            page = get("/v1/opportunities", **make_params(i))
            found.append(len(page["items"]))

        sample = measure(name, runs, call)
        counts = found[-runs:]
        samples.append(Sample(sample.name, sample.millis, f"items/page {min(counts)}..{max(counts)}"))

    words = WORDS
    pairs = ("senior python", "data pipeline", "remote kafka", "acme engineer", "secure payment")
    prefixes = ("kub", "obs", "pay", "eng", "ana", "mig", "rec", "sea")
    listing("list, default (updated_at, limit 50)", lambda i: {})
    listing("q=word", lambda i: {"q": _rotating(words)(i)})
    listing("q=two words", lambda i: {"q": _rotating(pairs)(i)})
    listing("q=3-letter prefix", lambda i: {"q": _rotating(prefixes)(i)})
    listing("q=rare word (few hits)", lambda i: {"q": _rotating(tuple(s.lower() for s in RARE_SKILLS))(i)})
    listing("tag=one of 37", lambda i: {"tag": _rotating(TAGS)(i)})
    listing("status=each status in turn", lambda i: {"status": _rotating(STATUSES)(i)})
    listing("status=accepted (rarest)", lambda i: {"status": "accepted"})
    listing(
        "q=accent-folded word (zurich)",
        lambda i: {"q": _rotating(("zurich", "krakow", "sao paulo", "credit"))(i)},
    )
    listing("sort=company", lambda i: {"sort": "company"})
    listing("sort=applied_at", lambda i: {"sort": "applied_at"})
    listing(
        "q + tag + status + sort=company",
        lambda i: {"q": "engineer", "tag": "remote", "status": "applied", "sort": "company"},
    )
    listing("list, limit=200", lambda i: {"limit": 200})

    # Second pages: the first page's cursor fetched once, untimed; the timed request follows it.
    def second_page(name: str, params: dict[str, Any]) -> None:
        cursor = get("/v1/opportunities", **params)["next_cursor"]
        assert cursor, name
        listing(name, lambda i: {**params, "cursor": cursor})

    second_page("page 2 via cursor (default sort)", {})
    second_page("page 2 via cursor (q=python)", {"q": "python"})
    second_page("page 2 via cursor (sort=company)", {"sort": "company"})

    # A deep page: the cursor of the last full page of 200 the default list has (at most page 21).
    deep = previous = get("/v1/opportunities", limit=200)
    pages = 1
    while pages < 21 and deep["next_cursor"]:
        previous, deep = deep, get("/v1/opportunities", limit=200, cursor=deep["next_cursor"])
        pages += 1
    if not deep["next_cursor"]:
        deep, pages = previous, pages - 1
    deep_cursor = deep["next_cursor"]
    listing(f"page {pages + 1} via cursor (limit 200)", lambda i: {"limit": 200, "cursor": deep_cursor})

    # The same deep in sort=applied_at, whose key is an expression (coalesce(applied_at, '')): a cursor
    # page must seek to its position there too, not walk the pages before it.
    deep, deep_applied = get("/v1/opportunities", limit=200, sort="applied_at"), None
    pages = 1
    while pages < 40 and deep["next_cursor"]:
        deep_applied = deep["next_cursor"]
        deep = get("/v1/opportunities", limit=200, sort="applied_at", cursor=deep_applied)
        pages += 1
    assert deep_applied, "sort=applied_at has a single page"
    listing(
        f"page {pages} via cursor (sort=applied_at, limit 200)",
        lambda i: {"limit": 200, "sort": "applied_at", "cursor": deep_applied},
    )

    # Lists filtered by a link or kind: the filter's own rows among the user's 50,000 notes and ledger.
    opportunity_ids = tuple(item["id"] for item in get("/v1/opportunities", limit=200)["items"])

    def other_list(name: str, path: str, make_params: Callable[[int], dict[str, Any]]) -> None:
        samples.append(measure(name, runs, lambda i: get(path, **make_params(i))))

    other_list(
        "GET /v1/activity?opportunity_id= (one of 10,000)",
        "/v1/activity",
        lambda i: {"opportunity_id": _rotating(opportunity_ids)(i)},
    )
    other_list("GET /v1/activity?kind=email (none)", "/v1/activity", lambda i: {"kind": "email"})
    other_list(
        "GET /v1/notes?opportunity_id= (one of 10,000)",
        "/v1/notes",
        lambda i: {"opportunity_id": _rotating(opportunity_ids)(i)},
    )

    samples.append(
        measure(f"GET /v1/stats ({count} opportunities)", max(20, runs // 10), lambda i: get("/v1/stats"))
    )
    return samples


def ordinary_user_samples(client: Any, runs: int) -> list[Sample]:
    """A user with a couple of dozen records: the reads a dashboard and detail page make."""
    _, headers = _register(client, "ordinary@example.com")
    get = _getter(client, headers)
    rng = random.Random(1)
    opportunity_ids = []
    for generated in generate(25, seed=3):
        body = dict(generated["body"])
        response = client.post("/v1/opportunities", json=body, headers=headers)
        assert response.status_code == 201, response.text
        opportunity_ids.append(response.json()["id"])
    for number in range(12):
        when = NOW + timedelta(days=rng.uniform(-20, 20))
        body = {
            "opportunity_id": rng.choice(opportunity_ids),
            "kind": rng.choice(("recruiter", "technical", "system_design", "behavioral", "onsite")),
            "title": f"Interview {number}",
            "scheduled_at": when.isoformat(),
            "duration_minutes": 45,
            "interviewers": ["Grace Hopper", "Alan Turing"][: rng.randint(1, 2)],
        }
        assert client.post("/v1/interviews", json=body, headers=headers).status_code == 201
    for number in range(8):
        body = {"name": f"Contact {number}", "company": "Acme", "opportunity_ids": opportunity_ids[:2]}
        assert client.post("/v1/contacts", json=body, headers=headers).status_code == 201
        assert client.post("/v1/notes", json={"body": f"Note {number}"}, headers=headers).status_code == 201
    put = client.put(
        "/v1/me/profile", json={"headline": "Engineer", "resume_text": "x " * 2000}, headers=headers
    )
    assert put.status_code == 200, put.text

    rotate = _rotating(tuple(opportunity_ids))
    return [
        measure("ordinary: GET /v1/me/profile", runs, lambda i: get("/v1/me/profile")),
        measure("ordinary: GET /v1/opportunities", runs, lambda i: get("/v1/opportunities")),
        measure(
            "ordinary: GET /v1/opportunities/{id}", runs, lambda i: get(f"/v1/opportunities/{rotate(i)}")
        ),
        measure("ordinary: GET /v1/interviews", runs, lambda i: get("/v1/interviews")),
        measure("ordinary: GET /v1/contacts", runs, lambda i: get("/v1/contacts")),
        measure("ordinary: GET /v1/notes", runs, lambda i: get("/v1/notes")),
        measure("ordinary: GET /v1/activity", runs, lambda i: get("/v1/activity")),
        measure("ordinary: GET /v1/stats", runs, lambda i: get("/v1/stats")),
    ]


def insert_notes(user_id: str, count: int, seed: int) -> float:
    """`count` notes of 20-120 words, each on one of the user's opportunities; seconds taken."""
    from common.clock import new_id, to_iso
    from common.db import Statement, get_database

    db = get_database()
    rng = random.Random(seed)
    started = time.perf_counter()
    ids = [row[0] for row in db.execute("SELECT id FROM opportunities WHERE user_id = ?", (user_id,)).rows]
    statements: list[Statement] = []
    for _ in range(count):
        at = to_iso(NOW - timedelta(days=rng.uniform(0, 365)))
        body = " ".join(_sentence(rng, "Acme", []) for _ in range(rng.randint(2, 10)))
        statements.append(
            Statement(
                "INSERT INTO notes (id, user_id, body, opportunity_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (new_id(), user_id, body, rng.choice(ids), at, at),
            )
        )
        if len(statements) >= 1000:
            db.batch(statements)
            statements = []
    if statements:
        db.batch(statements)
    return time.perf_counter() - started


WORDS = ("python", "kubernetes", "payment", "latency", "zurich", "mentor", "checkout", "observability")


def budget_rows(
    headers: dict[str, str], user_id: str, database_path: str, runs: int, budgets: Budgets
) -> list[str]:
    """Each budget request three ways, interleaved: the raw SQL (the repository's own statement on a bare
    libsql connection, fetched), our data path (records.service with the request's session-bound database
    port and page request: SQL built, the session check in the same batch, rows to API items, cursor,
    page byte cap; no HTTP), and the whole request through the records Lambda handler. The budget is
    the data path against the raw SQL; the handler is reported beside it."""
    from urllib.parse import urlencode

    import libsql

    from common.cursors import PageRequest, get_cursor_codec
    from common.db import get_database
    from common.security import SessionBoundDatabase, verify_access_token
    from common.tokens import get_token_service
    from records import repository as repo
    from records import service
    from records.handler import lambda_handler
    from tests.events import LambdaContext, api_event, response_json

    context = LambdaContext(function_name="interview-tracker-records")
    lowered: dict[str, str | None] = {key.lower(): value for key, value in headers.items()}
    token = headers["Authorization"].removeprefix("Bearer ")
    principal = verify_access_token(token, tokens=get_token_service())

    raw = libsql.connect(database_path, isolation_level=None)

    def statement(q: str | None) -> Any:
        match = repo.search_expression(user_id, q) if q else None
        return repo.list_opportunities(
            user_id=user_id,
            archived=False,
            status=None,
            tag=None,
            match=match,
            keyset=repo.OPPORTUNITY_SORTS["updated_at"],
            position=None,
            limit=51,
        )

    def data_path(q: str | None) -> dict[str, Any]:
        db = SessionBoundDatabase(get_database())
        db.bind(principal)
        page = PageRequest(limit=50, cursor=None, codec=get_cursor_codec())
        return service.list_opportunities(
            db, page, user_id=user_id, archived=False, status=None, tag=None, q=q, sort="updated_at"
        )

    def timed(call: Callable[..., Any], *args: Any) -> tuple[float, Any]:
        started = time.perf_counter()
        result = call(*args)
        return (time.perf_counter() - started) * 1000, result

    cases: dict[str, Callable[[int], str | None]] = {
        "page of 50 (default list)": lambda i: None,
        "q=word (page of 50)": lambda i: _rotating(WORDS)(i),
    }
    rows = []
    for name, query in cases.items():
        millis: dict[str, list[float]] = {"sql": [], "data": [], "api": []}
        for i in range(runs + 5):
            q = query(i)
            event = api_event("opportunities_list", query=urlencode({"q": q}) if q else "", headers=lowered)
            stmt = statement(q)
            sql_ms, fetched = timed(
                lambda sql, params: raw.execute(sql, params).fetchall(), stmt.sql, stmt.params
            )
            data_ms, page = timed(data_path, q)
            api_ms, response = timed(lambda_handler, event, context)
            assert response["statusCode"] == 200, response
            items = response_json(response)["items"]
            assert [item["id"] for item in page["items"]] == [item["id"] for item in items]
            assert len(fetched[:50]) == len(items), (name, len(fetched), len(items))
            if i >= 5:  # the first five warm all three up
                for key, value in (("sql", sql_ms), ("data", data_ms), ("api", api_ms)):
                    millis[key].append(value)
        sql, data, api = (Sample(name, millis[key]) for key in ("sql", "data", "api"))
        ratio = data.p50 / sql.p50
        verdict = budgets.check(
            f"search: {name}",
            ratio <= BUDGET,
            f"data path p50 {data.p50:.2f} ms = {ratio:.2f}x raw SQL's {sql.p50:.2f} ms (budget {BUDGET}x)",
        )
        rows.append(
            f"| {name} | {runs} | {sql.p50:.2f} | {data.p50:.2f} | {ratio:.2f}x | {api.p50:.2f} | "
            f"{api.p50 / sql.p50:.2f}x | {api.p50 - data.p50:.2f} | {verdict} |"
        )
    raw.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--notes", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per row")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--budget-only", action="store_true", help="only the budget rows (no TestClient rows)"
    )
    args = parser.parse_args(argv)

    with isolated_data_dir("bench-search-") as data_dir:
        from fastapi.testclient import TestClient

        from local.app import build_app

        with TestClient(build_app()) as client:
            user_id, headers = _register(client, "heavy@example.com")
            seconds, ledger = insert_opportunities(user_id, args.opportunities, args.seed)
            note_seconds = insert_notes(user_id, args.notes, args.seed)
            size_mb = sum(p.stat().st_size for p in data_dir.glob("tracker.db*")) / 2**20
            print(
                f"setup: {args.opportunities} opportunities ({ledger} ledger entries) in {seconds:.1f} s "
                f"({args.opportunities / seconds:.0f}/s), {args.notes} notes in {note_seconds:.1f} s, "
                f"database {size_mb:.0f} MiB\n"
            )
            get = _getter(client, headers)
            budgets = Budgets("bench.search")
            budget = budget_rows(headers, user_id, str(data_dir / "tracker.db"), args.requests * 2, budgets)
            samples = [] if args.budget_only else heavy_user_samples(get, args.requests, args.opportunities)
            samples += [] if args.budget_only else ordinary_user_samples(client, args.requests)

    print(f"bench.search: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, {load_average()}")
    print(
        f"heavy user: {args.opportunities} opportunities and {args.notes} notes (seed {args.seed}); "
        f"{args.requests} timed requests a row after 5 untimed ones; in-process app via TestClient; "
        "access log at WARNING\n"
    )
    print(
        "| request (heavy user) | n | raw SQL p50 ms | data path p50 ms | data path vs SQL | "
        "handler p50 ms | handler vs SQL | handler - data path ms | budget (data path) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(budget))
    if samples:
        print()
        print(table(samples))
    budgets.finish()


if __name__ == "__main__":
    main()
