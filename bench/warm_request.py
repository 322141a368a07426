"""Warm requests through the deployed records entry point, against a FastAPI hello-world through Mangum.

    python -m bench.warm_request [--requests 1000] [--profile]

In one process, interleaved: `records.handler.lambda_handler` (the real Lambda handler: Mangum, the
request guard, CORS, routing, JWT verification, the session check, validation, the embedded libSQL
database in a temp dir, the response model and JSON) answers API Gateway HTTP API v2.0 events built
from events/*.json (tests/events.py) for `GET /v1/opportunities/{id}` and `POST /v1/opportunities`;
the baseline is a FastAPI app with one async hello-world route behind `Mangum(lifespan="off")` answering
the same kind of event. The user and its access token come from the auth function's own handler
(`POST /v1/auth/register`). Events are built before the clock starts; each timed call is one handler
invocation, as Lambda makes it.

Budget (issue 9): p50 of each route at most 2x the hello-world's p50. `--profile` runs pyinstrument
over the GET route (pip install pyinstrument) and prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench._harness import Budgets, Sample, isolated_data_dir, load_average, machine, table

BUDGET = 2.0
PASSWORD = "correct horse battery staple"  # noqa: S105 - the throwaway benchmark user's password
OPPORTUNITY = {
    "company": "Acme Robotics",
    "role": "Senior Backend Engineer",
    "status": "applied",
    "job_description": "Build reliable distributed systems. " * 40,
    "url": "https://jobs.example.com/acme/1234",
    "location": "Berlin",
    "salary_min": 90000,
    "salary_max": 120000,
    "currency": "EUR",
    "source": "referral",
    "priority": "high",
    "tags": ["python", "aws", "remote"],
}

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def hello_handler() -> Handler:
    from fastapi import FastAPI
    from mangum import Mangum

    app = FastAPI()

    @app.get("/v1/hello/{item_id}")
    async def hello(item_id: str) -> dict[str, str]:
        return {"hello": item_id}

    return Mangum(app, lifespan="off")


def _ok(response: dict[str, Any], status: int) -> dict[str, Any]:
    from tests.events import response_json

    assert response["statusCode"] == status, response
    body: dict[str, Any] = response_json(response)
    return body


def register(auth: Handler) -> str:
    from tests.events import LambdaContext, api_event

    body = {"email": "bench@example.com", "password": PASSWORD, "name": "Bench"}
    tokens = _ok(auth(api_event("register", body=body), LambdaContext()), 201)
    return str(tokens["access_token"])


def timed(handler: Handler, events: list[dict[str, Any]], status: int) -> list[float]:
    from tests.events import LambdaContext

    context = LambdaContext(function_name="interview-tracker-records")
    millis = []
    for event in events:
        started = time.perf_counter()
        response = handler(event, context)
        millis.append((time.perf_counter() - started) * 1000)
        assert response["statusCode"] == status, response
    return millis


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per row")
    parser.add_argument("--rounds", type=int, default=10, help="the requests are timed in this many rounds")
    parser.add_argument("--profile", action="store_true", help="pyinstrument over the GET route")
    args = parser.parse_args(argv)

    with isolated_data_dir("bench-warm-"):
        from auth.handler import lambda_handler as auth_handler
        from records.handler import lambda_handler as records_handler
        from tests.events import LambdaContext, api_event, bearer_headers

        hello = hello_handler()
        headers = bearer_headers(register(auth_handler))
        created = _ok(
            records_handler(
                api_event("opportunity_create", headers=headers, body=OPPORTUNITY), LambdaContext()
            ),
            201,
        )
        path = f"/v1/opportunities/{created['id']}"

        def get_events(n: int) -> list[dict[str, Any]]:
            return [api_event("opportunity_get", path=path, headers=headers) for _ in range(n)]

        def post_events(n: int) -> list[dict[str, Any]]:
            return [api_event("opportunity_create", headers=headers, body=OPPORTUNITY) for _ in range(n)]

        def hello_events(n: int) -> list[dict[str, Any]]:
            return [api_event("opportunity_get", path="/v1/hello/world", headers=headers) for _ in range(n)]

        for build, handler, status in ((hello_events, hello, 200), (get_events, records_handler, 200)):
            timed(handler, build(50), status)  # warm-up: first-call caches, key loading, the connection
        timed(records_handler, post_events(20), 201)
        assert json.loads(hello(hello_events(1)[0], LambdaContext())["body"]) == {"hello": "world"}

        if args.profile:
            from pyinstrument import Profiler

            events = get_events(args.requests)
            with Profiler(interval=0.0002) as profiler:
                timed(records_handler, events, 200)
            print(profiler.output_text(unicode=True, color=False, show_all=False))
            return

        rows: dict[str, list[float]] = {"hello": [], "get": [], "post": []}
        per_round = max(1, args.requests // args.rounds)
        started_load = load_average()
        for _ in range(args.rounds):  # interleaved rounds: a noisy moment hits every row alike
            rows["hello"] += timed(hello, hello_events(per_round), 200)
            rows["get"] += timed(records_handler, get_events(per_round), 200)
            rows["post"] += timed(records_handler, post_events(per_round), 201)

    samples = {
        "hello": Sample("hello world: GET /v1/hello/{item_id} (FastAPI + Mangum)", rows["hello"]),
        "get": Sample("GET /v1/opportunities/{id} (records.handler)", rows["get"]),
        "post": Sample("POST /v1/opportunities (records.handler)", rows["post"]),
    }
    print(f"bench.warm_request: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(f"{started_load} at the start, {load_average()} at the end; {args.rounds} interleaved rounds\n")
    budgets = Budgets("bench.warm_request")
    base = samples["hello"]
    print("| request | n | p50 ms | p99 ms | max ms | p50 vs hello | p99 vs hello | budget |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for key, sample in samples.items():
        p99 = sample.percentile(0.99)
        ratio = sample.p50 / base.p50
        verdict = ""
        if key != "hello":
            verdict = budgets.check(
                sample.name,
                ratio <= BUDGET,
                f"p50 {sample.p50:.2f} ms = {ratio:.1f}x the hello-world's {base.p50:.2f} ms "
                f"(budget {BUDGET}x)",
            )
        print(
            f"| {sample.name} | {len(sample.millis)} | {sample.p50:.2f} | {p99:.2f} | {sample.max:.2f} | "
            f"{ratio:.2f}x | {p99 / base.percentile(0.99):.2f}x | {verdict} |"
        )
    print()
    print(table(list(samples.values())))
    budgets.finish()


if __name__ == "__main__":
    main()
