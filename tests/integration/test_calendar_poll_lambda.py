"""AWS mode of calendar polling (issue 6): `calendar_poll.handler.lambda_handler` as the deployed function
runs it, against moto's SQS server (the real boto3), the fake Google (the real google-api-python-client)
and real Lambda event shapes.

- The schedule: SAM's `ScheduleV2` (template.yaml, CalendarPollFunction.Events.Poll) becomes an
  `AWS::Scheduler::Schedule` whose target is the function's ARN (a templated Lambda Invoke target) with no
  `Input` (samtranslator's SchedulerEventSource copies `Input` only when the template gives one; the first
  test checks the expanded template). Without `Input`, EventBridge Scheduler delivers its *default
  notification*: an EventBridge-style envelope with `"source": "aws.scheduler"`, `"detail-type":
  "Scheduled Event"`, `resources: [<schedule ARN>]` and `detail` as the STRING "{}" (not an object, unlike
  the classic EventBridge scheduled rule's `"source": "aws.events"`, `"detail": {}`; see
  cloud-custodian/cloud-custodian#9566, which had to handle exactly that). events/schedule/calendar_poll.json
  is that payload, for `sam local invoke -e events/schedule/calendar_poll.json CalendarPollFunction`.
- The fan-out: one `{"kind":"calendar_sync","user_id":...}` message per connected user to the sync queue,
  within the context's remaining time (`get_remaining_time_in_millis`); an interrupted round resumes.
- The consumer: the sync queue's SQS batches, Powertools partial batch failures (ReportBatchItemFailures).
  events/sqs/calendar_sync.json is a one-record sample (`sam local invoke ... CalendarPollFunction`).
- `POST /v1/me/calendar/sync` (auth function) publishes to the same queue, with no local job row.

Both samples live in subfolders: tests/events.py (and test_lambda_handler's sample test) reads only the
API Gateway samples at events/*.json.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.calendar import refresh_token_context
from common.clock import new_id, to_iso, utc_now
from common.crypto import get_sealer
from common.db import get_database
from tests.conftest import reset_caches
from tests.events import EVENTS_DIR, LambdaContext
from tests.fakes.google_server import FakeGoogle, GoogleUser
from tests.integration import test_calendar_sync
from tests.integration.test_calendar_sync import (
    CLIENT_ID,
    USER,
    calendar_interviews,
    connect,
    me,
)
from tests.integration.test_prep_sqs import Queue, event, failures, record, synthetic
from tests.records import auth_headers, create_opportunity

SCHEDULE_SAMPLE = EVENTS_DIR / "schedule" / "calendar_poll.json"
SQS_SAMPLE = EVENTS_DIR / "sqs" / "calendar_sync.json"
REGION = "us-east-1"
FUNCTION = "interview-tracker-calendar-poll"
CONNECTED = 23

# The fixture of test_calendar_sync: a fake Google configured for calendar polling.
google = test_calendar_sync.google


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Queues:
    def __init__(self, sync: Queue, prep: Queue) -> None:
        self.sync = sync
        self.prep = prep


@pytest.fixture
def queues(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Queues]:
    """The calendar sync queue and the prep queue on moto, configured as the deployed function sees them."""
    import boto3

    from calendar_poll.google_calendar import get_calendar_source
    from common.queue import sqs_client

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("sqs")
    made = {}
    for kind in ("calendar-sync", "prep"):
        url = client.create_queue(QueueName=f"{kind}-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        made[kind] = Queue(client, url, arn)
    monkeypatch.setenv("CALENDAR_SYNC_QUEUE_URL", made["calendar-sync"].url)
    monkeypatch.setenv("PREP_QUEUE_URL", made["prep"].url)
    reset_caches()
    sqs_client.cache_clear()
    get_calendar_source.cache_clear()
    yield Queues(made["calendar-sync"], made["prep"])
    sqs_client.cache_clear()
    get_calendar_source.cache_clear()


# ---- helpers -------------------------------------------------------------------------------------


def schedule_event() -> dict[str, Any]:
    loaded = json.loads(SCHEDULE_SAMPLE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def invoke(payload: dict[str, Any], *, timeout_seconds: float = 60.0) -> dict[str, Any]:
    from calendar_poll.handler import lambda_handler

    context = LambdaContext(
        function_name=FUNCTION,
        timeout_seconds=timeout_seconds,
        log_group_name=f"/aws/lambda/{FUNCTION}",
        memory_limit_in_mb=512,
    )
    result = lambda_handler(copy.deepcopy(payload), context)
    assert isinstance(result, dict), result
    return result


def consume(payload: dict[str, Any]) -> dict[str, Any]:
    """An SQS batch: the answer must be Powertools' partial batch response and nothing else."""
    result = invoke(payload)
    assert set(result) == {"batchItemFailures"}, result
    return result


def receive_all(queue: Queue) -> list[dict[str, Any]]:
    """Every visible message of the queue (received, so hidden for the visibility timeout)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = queue.client.receive_message(
            QueueUrl=queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def handed_out(queue: Queue) -> list[str]:
    """The user ids of the sync messages now in the queue (checked to be well-formed)."""
    messages = receive_all(queue)
    messages.sort(
        key=lambda m: (int(m["Attributes"]["SentTimestamp"]), m["Attributes"].get("SequenceNumber"))
    )
    users = []
    for message in messages:
        body = json.loads(message["Body"])
        assert body == {"kind": "calendar_sync", "user_id": body["user_id"]}, body
        assert message["MD5OfBody"] == hashlib.md5(message["Body"].encode()).hexdigest()  # noqa: S324
        users.append(body["user_id"])
    return users


def connect_as(fake: FakeGoogle, user_id: str, person: GoogleUser) -> None:
    """A connection stored as the connect flow stores it (that flow is tested in test_google_calendar)."""
    token = fake.grant(person, CLIENT_ID)
    now = to_iso(utc_now())
    get_database().execute(
        "INSERT INTO calendar_connections (user_id, status, refresh_token, scopes, created_at, updated_at) "
        "VALUES (?, 'connected', ?, ?, ?, ?)",
        (
            user_id,
            get_sealer().seal(token["refresh_token"], context=refresh_token_context(user_id)),
            "",
            now,
            now,
        ),
    )


def add_connection(user_id: str, status: str) -> None:
    """A connection row without a real Google grant (enough for the fan-out, which only reads status)."""
    now = to_iso(utc_now())
    get_database().execute(
        "INSERT INTO calendar_connections (user_id, status, refresh_token, scopes, created_at, updated_at) "
        "VALUES (?, ?, ?, '', ?, ?)",
        (user_id, status, "sealed-elsewhere" if status == "connected" else None, now, now),
    )


def new_user(client: TestClient, email: str) -> tuple[str, dict[str, str]]:
    headers = auth_headers(client, email)
    return str(me(client, headers)["id"]), headers


def insert_user(email: str) -> str:
    """A Google-only account (no password), as sign-in with Google stores it: quicker than registering
    two dozen users through the API, which hashes a password for each."""
    user_id, now = new_id(), to_iso(utc_now())
    get_database().execute(
        "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (user_id, email, email.split("@")[0], now, now),
    )
    return user_id


def population() -> list[str]:
    """CONNECTED connected users (sorted ids) plus users the poll must leave alone."""
    connected = []
    for n in range(CONNECTED):
        user_id = insert_user(f"user{n}@example.com")
        add_connection(user_id, "connected")
        connected.append(user_id)
    for email, status in (
        ("gone@example.com", "disconnected"),
        ("revoked@example.com", "reauth_required"),
        ("never@example.com", None),
    ):
        user_id = insert_user(email)
        if status:
            add_connection(user_id, status)
    return sorted(connected)


def sync_state(user_id: str) -> dict[str, Any]:
    row = (
        get_database()
        .execute(
            "SELECT status, sync_token, last_synced_at, interviews_found FROM calendar_connections "
            "WHERE user_id = ?",
            (user_id,),
        )
        .first()
    )
    assert row is not None
    return dict(row)


def job_rows() -> int:
    return int(get_database().execute("SELECT count(*) FROM jobs").scalar())


# ---- the schedule --------------------------------------------------------------------------------


def test_the_schedule_sample_is_what_scheduler_delivers_to_the_schedulev2_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.test_template import load_template, resources_of, sam_transform

    expanded = sam_transform(load_template(), monkeypatch)
    schedules = resources_of(expanded, "AWS::Scheduler::Schedule")
    targets = {
        name: res["Properties"]
        for name, res in schedules.items()
        if res["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": ["CalendarPollFunction", "Arn"]}
    }
    assert len(targets) == 1, schedules
    [(logical_id, schedule)] = targets.items()
    # No Input: Scheduler sends its default notification (documented at the top of this module).
    assert "Input" not in schedule["Target"], schedule["Target"]
    assert "GroupName" not in schedule  # the "default" schedule group

    sample = schedule_event()
    assert set(sample) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert sample["source"] == "aws.scheduler" and sample["detail-type"] == "Scheduled Event"
    assert sample["detail"] == "{}"  # a string, as Scheduler sends it
    assert sample["version"] == "0"
    uuid.UUID(sample["id"])
    [arn] = sample["resources"]
    # The schedule is named after the stack (two stacks in one account must not collide); the sample
    # is what the stack samconfig.toml deploys (interview-tracker) would receive.
    assert logical_id == "CalendarPollFunctionPoll"
    assert schedule["Name"] == {"Fn::Sub": "${AWS::StackName}-calendar-poll"}
    stack_name = "interview-tracker"
    assert arn == (
        f"arn:aws:scheduler:{sample['region']}:{sample['account']}:schedule/default/{stack_name}-calendar-poll"
    )
    assert sample["time"].endswith("Z") and "Records" not in sample


# ---- the fan-out -----------------------------------------------------------------------------------


def test_the_schedule_fans_out_one_message_per_connected_user(queues: Queues) -> None:
    connected = population()
    assert invoke(schedule_event()) == {"users": CONNECTED}
    sent = handed_out(queues.sync)
    assert sorted(sent) == connected  # each connected user exactly once, no one else
    assert len(sent) == len(set(sent)) == CONNECTED
    assert receive_all(queues.prep) == []
    assert job_rows() == 0  # SQS is the queue: nothing in the local job table

    # A complete round: the next poll starts again from the beginning and hands out everyone once more.
    assert invoke(schedule_event()) == {"users": CONNECTED}
    assert sorted(handed_out(queues.sync)) == connected


def test_a_poll_short_of_time_stops_early_and_the_next_one_resumes(queues: Queues) -> None:
    connected = population()
    # Less time left than the fan-out's safety margin: one batch of ten goes out, then it stops.
    assert invoke(schedule_event(), timeout_seconds=5) == {"users": 10}
    first = handed_out(queues.sync)
    assert sorted(first) == connected[:10]

    # The next invocation resumes after the last user handed out (short of time again: ten more).
    assert invoke(schedule_event(), timeout_seconds=5) == {"users": 10}
    second = handed_out(queues.sync)
    assert sorted(second) == connected[10:20]

    # With time enough, it finishes the round from there and wraps around: everyone, once.
    third_result = invoke(schedule_event(), timeout_seconds=60)
    third = handed_out(queues.sync)
    assert third_result == {"users": len(third)}
    assert sorted(third) == connected and len(third) == CONNECTED
    assert set(first) | set(third) == set(connected)  # every user handed out across two invocations

    # That round was complete: the next poll starts again from the first user.
    assert invoke(schedule_event(), timeout_seconds=5) == {"users": 10}
    assert sorted(handed_out(queues.sync)) == connected[:10]


# ---- the consumer ----------------------------------------------------------------------------------


def test_sync_messages_sync_each_user_against_google_and_queue_prep(
    client: TestClient, queues: Queues, google: FakeGoogle
) -> None:
    """Every user the schedule hands out, synced from the queue in batches of ten (BatchSize in
    template.yaml), each against their own Google calendar."""
    start = (utc_now() + timedelta(days=2)).replace(microsecond=0)
    expected: dict[str, tuple[str, str | None]] = {}  # user -> (event id, linked opportunity)
    linked = ("Globex", "Initech", "Hooli")
    for n in range(CONNECTED):
        email = f"person{n}@example.com"
        if n < len(linked):  # with an opportunity the interview links to
            user_id, headers = new_user(client, email)
            company = linked[n]
            opportunity: str | None = create_opportunity(client, headers, company=company, role="Engineer")[
                "id"
            ]
            attendee = f"talent@{company.lower()}.com"
        else:  # a confident interview at a company the user does not track
            user_id, company, opportunity = insert_user(email), "Umbrella", None
            attendee = "recruiting@greenhouse.io"
        person = GoogleUser(email=email, name=f"Person {n}")
        connect_as(google, user_id, person)
        calendar = google.calendar(person)
        calendar.add_event(
            start=start + timedelta(minutes=n),
            summary=f"{company} technical interview",
            attendees=[attendee, email],
            hangout_link="https://meet.google.com/abc-defg-hij",
            event_id=f"evt-{n}",
        )
        calendar.add_event(start=start + timedelta(hours=3), summary="Lunch with Sam", event_id=f"lunch-{n}")
        expected[user_id] = (f"evt-{n}", opportunity)
    add_connection(insert_user("gone@example.com"), "disconnected")

    assert invoke(schedule_event()) == {"users": CONNECTED}
    messages = receive_all(queues.sync)
    assert len(messages) == CONNECTED
    for first in range(0, CONNECTED, 10):
        batch = event(*(record(queues.sync, m) for m in messages[first : first + 10]))
        assert consume(batch) == {"batchItemFailures": []}

    for user_id, (event_id, opportunity) in expected.items():
        found = calendar_interviews(user_id)
        assert [row["calendar_event_id"] for row in found] == [event_id], user_id
        assert found[0]["opportunity_id"] == opportunity
        n = int(event_id.split("-")[1])
        assert found[0]["scheduled_at"] == to_iso(start + timedelta(minutes=n))
        state = sync_state(user_id)
        assert state["status"] == "connected" and state["sync_token"] and state["last_synced_at"]
        assert state["interviews_found"] == 1
    # Prep for each upcoming linked interview went to the prep queue (AWS: no local job rows).
    preps = [json.loads(m["Body"]) for m in receive_all(queues.prep)]
    with_opportunity = sorted(user for user, (_, opportunity) in expected.items() if opportunity)
    assert sorted(p["user_id"] for p in preps) == with_opportunity
    assert all(p["kind"] == "prep" and p["prep_id"] for p in preps)
    assert job_rows() == 0

    # Redelivered (at-least-once): acknowledged again, no duplicate interview, no second prep.
    assert consume(event(*(record(queues.sync, m) for m in messages[:10]))) == {"batchItemFailures": []}
    assert all(len(calendar_interviews(user_id)) == 1 for user_id in expected)
    assert receive_all(queues.prep) == []


def test_a_google_outage_is_acknowledged_and_the_next_poll_retries_with_the_same_token(
    client: TestClient, queues: Queues, google: FakeGoogle
) -> None:
    user_id, _ = new_user(client, "ada@example.com")
    connect(google, user_id)
    calendar = google.calendar(USER)
    start = (utc_now() + timedelta(days=3)).replace(microsecond=0)
    calendar.add_event(
        start=start, summary="Globex interview", attendees=["talent@globex.com"], event_id="e1"
    )
    assert invoke(schedule_event()) == {"users": 1}
    assert consume(event(*(record(queues.sync, m) for m in receive_all(queues.sync)))) == {
        "batchItemFailures": []
    }
    token = sync_state(user_id)["sync_token"]
    assert token

    calendar.add_event(
        start=start + timedelta(hours=2),
        summary="Globex interview, round 2",
        attendees=["talent@globex.com"],
        event_id="e2",
    )
    for status in (429, 503):
        google.fail_next("calendar", status)
        assert invoke(schedule_event()) == {"users": 1}
        [message] = receive_all(queues.sync)
        # Deferred, not failed: no redelivery loop against a struggling Google; the next tick retries.
        assert consume(event(record(queues.sync, message))) == {"batchItemFailures": []}
        assert sync_state(user_id)["sync_token"] == token
        assert sync_state(user_id)["status"] == "connected"
        assert [row["calendar_event_id"] for row in calendar_interviews(user_id)] == ["e1"]

    assert invoke(schedule_event()) == {"users": 1}
    assert consume(event(*(record(queues.sync, m) for m in receive_all(queues.sync)))) == {
        "batchItemFailures": []
    }
    assert [row["calendar_event_id"] for row in calendar_interviews(user_id)] == ["e1", "e2"]
    incremental = [r for r in google.requests_to("/calendar/v3/") if r["status"] == 200]
    assert incremental[-1]["query"].get("syncToken") == token  # resumed from the kept token


def test_a_malformed_message_fails_only_its_own_record(
    client: TestClient, queues: Queues, google: FakeGoogle
) -> None:
    user_id, _ = new_user(client, "ada@example.com")
    connect(google, user_id)
    google.calendar(USER).add_event(
        start=(utc_now() + timedelta(days=3)).replace(microsecond=0),
        summary="Phone screen with Initech recruiter",
        attendees=["recruiting@greenhouse.io"],
        event_id="evt-ok",
    )
    assert invoke(schedule_event()) == {"users": 1}
    [message] = receive_all(queues.sync)
    poison = [
        synthetic(queues.sync, "not json"),
        synthetic(queues.sync, "[1, 2]"),
        synthetic(queues.sync, json.dumps({"kind": "calendar_sync"})),  # no user
        synthetic(queues.sync, json.dumps({"kind": "calendar_sync", "user_id": 42})),
        synthetic(queues.sync, json.dumps({"kind": "prep", "user_id": user_id, "prep_id": "x"})),
    ]
    # A user who left (or disconnected) since the fan-out: nothing to sync, acknowledged.
    gone = synthetic(queues.sync, json.dumps({"kind": "calendar_sync", "user_id": uuid.uuid4().hex}))
    good = record(queues.sync, message)
    result = consume(event(poison[0], good, poison[1], gone, *poison[2:]))
    assert sorted(failures(result)) == sorted(r["messageId"] for r in poison)
    assert [row["calendar_event_id"] for row in calendar_interviews(user_id)] == ["evt-ok"]


def test_the_sqs_sample_is_a_valid_event_the_handler_accepts(
    client: TestClient, queues: Queues, google: FakeGoogle
) -> None:
    sample = json.loads(SQS_SAMPLE.read_text())
    [item] = sample["Records"]
    assert item["eventSource"] == "aws:sqs"
    assert item["eventSourceARN"].startswith("arn:aws:sqs:")
    assert item["awsRegion"] == item["eventSourceARN"].split(":")[3]
    assert set(item) == set(synthetic(queues.sync, "{}"))
    assert item["md5OfBody"] == hashlib.md5(item["body"].encode()).hexdigest()  # noqa: S324
    body = json.loads(item["body"])
    assert body == {"kind": "calendar_sync", "user_id": body["user_id"]}
    from common.queue import CALENDAR_SYNC_JOB, Job

    assert item["body"] == Job(CALENDAR_SYNC_JOB, body["user_id"], {}).body()  # byte for byte what we send

    # As it is: a user this database does not know; acknowledged, nothing synced.
    assert consume(sample) == {"batchItemFailures": []}
    assert google.requests_to("/calendar/") == []

    # With a real user's body: synced.
    user_id, _ = new_user(client, "ada@example.com")
    connect(google, user_id)
    google.calendar(USER).add_event(
        start=(utc_now() + timedelta(days=1)).replace(microsecond=0),
        summary="Onsite interview at Hooli",
        event_id="evt-hooli",
    )
    real = Job(CALENDAR_SYNC_JOB, user_id, {}).body()
    item = {**item, "body": real, "md5OfBody": hashlib.md5(real.encode()).hexdigest()}  # noqa: S324
    assert consume({"Records": [item]}) == {"batchItemFailures": []}
    assert [row["calendar_event_id"] for row in calendar_interviews(user_id)] == ["evt-hooli"]


# ---- sync now ------------------------------------------------------------------------------------


def test_sync_now_publishes_one_message_to_the_sync_queue(
    client: TestClient, queues: Queues, google: FakeGoogle
) -> None:
    user_id, headers = new_user(client, "ada@example.com")
    assert client.post("/v1/me/calendar/sync", headers=headers).status_code == 409  # nothing connected
    assert receive_all(queues.sync) == []
    connect(google, user_id)
    google.calendar(USER).add_event(
        start=(utc_now() + timedelta(days=4)).replace(microsecond=0),
        summary="Hiring manager interview - Globex",
        attendees=["talent@globex.com"],
        event_id="evt-now",
    )

    response = client.post("/v1/me/calendar/sync", headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["connected"] is True
    [message] = receive_all(queues.sync)
    assert json.loads(message["Body"]) == {"kind": "calendar_sync", "user_id": user_id}
    assert job_rows() == 0  # no local job row in AWS mode
    assert calendar_interviews(user_id) == []  # queued, not run inline

    assert consume(event(record(queues.sync, message))) == {"batchItemFailures": []}
    assert [row["calendar_event_id"] for row in calendar_interviews(user_id)] == ["evt-now"]
    assert me(client, headers)["calendar"]["interviews_found"] == 1
