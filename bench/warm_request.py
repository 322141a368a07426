"""Warm requests through the deployed records entry point, against a FastAPI hello-world through Mangum.

    python -m bench.warm_request [--requests 1000] [--log-level INFO] [--profile | --layers]

In one process, interleaved: `records.handler.lambda_handler` (the real Lambda handler: Mangum, the
request guard, CORS, routing, JWT verification, the session check, validation, the embedded libSQL
database in a temp dir, the response model and JSON) answers API Gateway HTTP API v2.0 events built
from events/*.json (tests/events.py) for `GET /v1/opportunities/{id}` and `POST /v1/opportunities`;
the baseline is a FastAPI app with one async hello-world route behind `Mangum(lifespan="off")` answering
the same kind of event. The user and its access token come from the auth function's own handler
(`POST /v1/auth/register`). Events are built before the clock starts; each timed call is one handler
invocation, as Lambda makes it.

Budget (issue 9): p50 of each route at most 2x the hello-world's p50 (wall time; each row also shows its
CPU time, which load on a shared machine does not inflate). `--profile` runs pyinstrument over the GET
route (pip install pyinstrument) and prints where the time goes; `--layers` builds the GET route up a
layer at a time (our app factory, routing, authentication, the read, the response model) and prints
each layer's CPU cost per request. `--log-level INFO` runs at the deployed default, where every request
writes its access-log line (to a pipe that another process drains, as Lambda's stdout is); the default,
WARNING, leaves it out like the rest of `make bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

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


@contextlib.contextmanager
def log_sink() -> Iterator[TextIO]:
    """sys.stdout (where the service's JSON log lines go) is a pipe another process drains to /dev/null;
    yields the real stdout, for the results."""
    read, write = os.pipe()
    drain = subprocess.Popen(["cat"], stdin=read, stdout=subprocess.DEVNULL)  # noqa: S607 - coreutils
    os.close(read)
    saved = sys.stdout
    sys.stdout = os.fdopen(write, "w")
    try:
        yield saved
    finally:
        sys.stdout.close()
        sys.stdout = saved
        drain.wait()


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
    return timed_both(handler, events, status)[0]


def timed_both(
    handler: Handler, events: list[dict[str, Any]], status: int
) -> tuple[list[float], list[float]]:
    """Milliseconds per request: wall time, and this thread's CPU time (what load on a shared machine
    does not inflate, and what Lambda bills)."""
    from tests.events import LambdaContext

    context = LambdaContext(function_name="interview-tracker-records")
    wall, cpu = [], []
    for event in events:
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = handler(event, context)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        assert response["statusCode"] == status, response
    return wall, cpu


def layer_handlers(opportunity_id: str) -> list[tuple[str, Handler, str]]:
    """The GET route built up a layer at a time: (what the layer adds, a handler, the path it answers)."""
    from fastapi import APIRouter
    from fastapi.responses import JSONResponse

    from common.db import Database
    from common.security import Principal
    from common.web import CurrentPrincipal, Db, create_app, make_handler
    from records import service
    from records.handler import lambda_handler as records_handler
    from records.router import router as records_router
    from records.schemas import Opportunity

    async def hello(item_id: str) -> dict[str, str]:
        return {"hello": item_id}

    async def authenticated(item_id: str, principal: Principal, db: Database) -> dict[str, str]:
        return {"hello": item_id}

    async def read(item_id: str, principal: Principal, db: Database) -> JSONResponse:
        return JSONResponse(service.get_opportunity(db, user_id=principal.user_id, opportunity_id=item_id))

    async def modelled(item_id: str, principal: Principal, db: Database) -> dict[str, Any]:
        return service.get_opportunity(db, user_id=principal.user_id, opportunity_id=item_id)

    # This module's annotations are strings (PEP 563) naming what is imported here, inside the function:
    # FastAPI gets the objects themselves.
    router = APIRouter()
    text = {"return": dict[str, str]}
    authenticated_hints = {"principal": CurrentPrincipal, "db": Db}
    for path, endpoint, hints, model in (
        ("/v1/layers/hello/{item_id}", hello, text, None),
        ("/v1/layers/authenticated/{item_id}", authenticated, {**authenticated_hints, **text}, None),
        ("/v1/layers/read/{item_id}", read, authenticated_hints, None),
        ("/v1/layers/modelled/{item_id}", modelled, authenticated_hints, Opportunity),
    ):
        endpoint.__annotations__ = {"item_id": str, **hints}
        router.add_api_route(path, endpoint, methods=["GET"], response_model=model)

    # The layer routes come first, so each is matched at once; the real route is matched where
    # records' router has it.
    app = make_handler(create_app(router, records_router))
    return [
        ("FastAPI hello-world through Mangum (the baseline)", hello_handler(), "/v1/hello/world"),
        ("+ our app (request guard, CORS, problem handlers, records' routes)", app, "/v1/layers/hello/w"),
        ("+ authentication: token (cached) and the request's database", app, "/v1/layers/authenticated/w"),
        (
            "+ the read: session check and SELECT in one batch, row to item, JSONResponse",
            app,
            f"/v1/layers/read/{opportunity_id}",
        ),
        ("+ the response model (Opportunity) instead", app, f"/v1/layers/modelled/{opportunity_id}"),
        (
            "= records.handler: the real route (matched after the 4 before it in router.py)",
            records_handler,
            f"/v1/opportunities/{opportunity_id}",
        ),
    ]


def layers_table(
    headers: dict[str, str | None], opportunity_id: str, requests: int, rounds: int, out: TextIO
) -> None:
    """CPU per request of each layer of GET /v1/opportunities/{id}, median of interleaved rounds."""
    import statistics

    from tests.events import api_event

    layers = layer_handlers(opportunity_id)
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in layers}
    per_round = max(1, requests // rounds)
    for round_number in range(rounds + 1):
        for name, handler, path in layers:
            events = [api_event("opportunity_get", path=path, headers=headers) for _ in range(per_round)]
            _, millis = timed_both(handler, events, 200)
            if round_number:  # the first round warms every layer up
                cpu[name].append(statistics.fmean(millis) * 1000)
    base = statistics.median(cpu[layers[0][0]])
    previous = None
    print("| layer | CPU us per request | vs hello-world | the layer adds, us |", file=out)
    print("|---|---:|---:|---:|", file=out)
    for name, _, _ in layers:
        micros = statistics.median(cpu[name])
        added = "" if previous is None else f"{micros - previous:+.0f}"
        print(f"| {name} | {micros:.0f} | {micros / base:.2f}x | {added} |", file=out)
        previous = micros


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per row")
    parser.add_argument("--rounds", type=int, default=10, help="the requests are timed in this many rounds")
    parser.add_argument("--profile", action="store_true", help="pyinstrument over the GET route")
    parser.add_argument(
        "--layers", action="store_true", help="CPU per request of each layer of the GET route"
    )
    parser.add_argument(
        "--log-level",
        choices=["INFO", "WARNING"],
        default="WARNING",
        help="LOG_LEVEL: INFO (the deployed default) writes an access-log line per request",
    )
    args = parser.parse_args(argv)
    os.environ["LOG_LEVEL"] = args.log_level

    with isolated_data_dir("bench-warm-"), log_sink() as out:
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

        if args.layers:
            layers_table(headers, created["id"], args.requests, args.rounds, out)
            return

        if args.profile:
            from pyinstrument import Profiler

            events = get_events(args.requests)
            with Profiler(interval=0.0002) as profiler:
                timed(records_handler, events, 200)
            print(profiler.output_text(unicode=True, color=False, show_all=False), file=out)
            return

        rows: dict[str, list[float]] = {"hello": [], "get": [], "post": []}
        cpu: dict[str, list[float]] = {"hello": [], "get": [], "post": []}
        per_round = max(1, args.requests // args.rounds)
        started_load = load_average()
        for _ in range(args.rounds):  # interleaved rounds: a noisy moment hits every row alike
            for key, handler, build, status in (
                ("hello", hello, hello_events, 200),
                ("get", records_handler, get_events, 200),
                ("post", records_handler, post_events, 201),
            ):
                wall, thread = timed_both(handler, build(per_round), status)
                rows[key] += wall
                cpu[key] += thread

    names = {
        "hello": "hello world: GET /v1/hello/{item_id} (FastAPI + Mangum)",
        "get": "GET /v1/opportunities/{id} (records.handler)",
        "post": "POST /v1/opportunities (records.handler)",
    }
    samples = {key: Sample(name, rows[key]) for key, name in names.items()}
    cpu_samples = {key: Sample(name, cpu[key]) for key, name in names.items()}
    print(f"bench.warm_request: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(
        f"{started_load} at the start, {load_average()} at the end; {args.rounds} interleaved rounds; "
        f"LOG_LEVEL={args.log_level}\n"
    )
    budgets = Budgets("bench.warm_request")
    base, cpu_base = samples["hello"], cpu_samples["hello"]
    print(
        "| request | n | p50 ms | p99 ms | max ms | p50 vs hello | p99 vs hello | CPU p50 ms "
        "| CPU p50 vs hello | budget |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for key, sample in samples.items():
        p99 = sample.percentile(0.99)
        ratio = sample.p50 / base.p50
        cpu_p50 = cpu_samples[key].p50
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
            f"{ratio:.2f}x | {p99 / base.percentile(0.99):.2f}x | {cpu_p50:.2f} "
            f"| {cpu_p50 / cpu_base.p50:.2f}x | {verdict} |"
        )
    print()
    print(table(list(samples.values())))
    budgets.finish()


if __name__ == "__main__":
    main()
