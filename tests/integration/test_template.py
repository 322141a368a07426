"""Offline checks of template.yaml, no AWS credentials needed.

`sam validate --lint` misses wrong runtimes, timeouts and enum values, so the template is expanded the
way CloudFormation would (samtranslator, local CodeUri rewritten to s3://, no IAM lookups), cfn-lint
runs on the expanded template, and the resources it would deploy are checked against the code.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from cfnlint.api import ManualArgs, lint
from cfnlint.rules import Match
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from common.settings import SECRET_FIELDS, Secret, Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
RUNTIME = "python3.12"
HTTP_API_TIMEOUT_SECONDS = 30  # API Gateway HTTP API's maximum integration timeout

AUTH_ROUTES = {
    ("GET", "/v1/health"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/v1/openapi.json"),
    ("POST", "/v1/auth/register"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/logout"),
    ("GET", "/v1/me"),
    ("PATCH", "/v1/me"),
    ("DELETE", "/v1/me"),
    ("GET", "/v1/auth/google/login"),
    ("GET", "/v1/auth/google/callback"),
    ("POST", "/v1/me/calendar/connect"),
    ("GET", "/v1/auth/google/calendar/callback"),
    ("GET", "/v1/me/calendar"),
    ("DELETE", "/v1/me/calendar"),
    ("POST", "/v1/me/calendar/sync"),
}
# API.md's Profile, Opportunities, Interviews, Contacts/notes/activity and Dashboard sections.
RECORDS_ROUTES = {
    ("GET", "/v1/me/profile"),
    ("PUT", "/v1/me/profile"),
    *(
        route
        for collection in ("opportunities", "interviews", "contacts", "notes")
        for route in (
            ("POST", f"/v1/{collection}"),
            ("GET", f"/v1/{collection}"),
            ("GET", f"/v1/{collection}/{{id}}"),
            ("PATCH", f"/v1/{collection}/{{id}}"),
            ("DELETE", f"/v1/{collection}/{{id}}"),
        )
    ),
    ("POST", "/v1/activity"),
    ("GET", "/v1/activity"),
    ("GET", "/v1/stats"),
    ("POST", "/v1/interviews/{id}/prep"),
    ("GET", "/v1/interviews/{id}/prep"),
}
# Logical id of each HTTP function -> the routes API Gateway sends it, and the module of its app.
# API.md's Export section. The local download route (/v1/exports/{id}/download) is not deployed: in AWS an
# export's URL is an S3 presigned GET.
EXPORT_ROUTES = {("POST", "/v1/exports")}
FUNCTION_ROUTES = {
    "AuthFunction": AUTH_ROUTES,
    "RecordsFunction": RECORDS_ROUTES,
    "ExportFunction": EXPORT_ROUTES,
}
FUNCTION_APPS = {
    "AuthFunction": "auth.handler",
    "RecordsFunction": "records.handler",
    "ExportFunction": "export.handler",
}
# Values a deployment passes for the parameters that have no default.
REQUIRED_PARAMETERS = {
    "PublicBaseUrl": "https://api.example.com",
    "DatabaseUrl": "libsql://tracker-example.turso.io",
}
# CONFIG.md's binding variable names (tests/unit/test_settings.py pins Settings to that table).
SETTING_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}
CONFIG_NAMES = frozenset(SETTING_FIELDS)
CORS_ORIGINS = ["https://app.example.com", "http://localhost:3000"]
_SECRET_REFERENCE = re.compile(
    r"^\{\{resolve:(secretsmanager|ssm-secure):\$\{(\w+)\}(:SecretString)?[^{}]*\}\}$"
)
_SECRET_LOOKING = [
    re.compile(r"-----BEGIN [A-Z ]*KEY-----"),
    re.compile(r"\beyJ[\w-]{10,}\.[\w-]{10,}"),  # a JWT (Turso tokens are JWTs)
    re.compile(r"\bsk-ant-[\w-]+"),
    re.compile(r"^[A-Za-z0-9+/]{43}=$"),  # 32 random bytes, base64
    re.compile(r"\bGOCSPX-[\w-]+"),  # Google OAuth client secret
]


# ---- loading and expanding the template --------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short tags (!Ref, !Sub, !GetAtt...), on a private subclass."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    assert isinstance(loaded, dict)
    return loaded


class _NoIamLookups(ManagedPolicyLoader):
    """SAM's bundled policy map suffices; never call IAM."""

    def __init__(self) -> None:
        self._policy_map: dict[str, str] | None = {}

    def load(self) -> dict[str, str]:
        return {}


def deploy_parameters(template: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as CloudFormation hands them to the SAM transform (lists as lists)."""
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        value = REQUIRED_PARAMETERS.get(name, spec.get("Default"))
        assert value is not None, f"parameter {name} has no default: add a sample value to this test"
        if spec["Type"] == "CommaDelimitedList" and isinstance(value, str):
            value = [item.strip() for item in value.split(",")]
        values[name] = value
    values["CorsAllowOrigins"] = CORS_ORIGINS  # not the default: it must flow through to the API
    return values


def sam_transform(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    source = copy.deepcopy(template)
    for logical_id, resource in source["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://artifacts-bucket/{logical_id}.zip"
    # samtranslator asks boto3 for the region (pseudo parameters, partition); no credentials are used.
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return transform(source, deploy_parameters(template), _NoIamLookups())


def lint_problems(template_text: str) -> list[Match]:
    """cfn-lint errors and warnings (informational matches are ignored)."""
    matches = lint(template_text, config=ManualArgs(regions=[REGION]))
    return [m for m in matches if m.rule.id[:1] in ("E", "W")]


def describe(matches: list[Match]) -> str:
    return "\n".join(f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches)


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def expanded(source: dict[str, Any]) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return sam_transform(source, monkeypatch)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def functions(expanded: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in resources_of(expanded, "AWS::Lambda::Function").items()}


def env_of(function: dict[str, Any]) -> dict[str, Any]:
    return dict(function.get("Environment", {}).get("Variables", {}))


def walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item)


# ---- lint ---------------------------------------------------------------------------------------


def test_expanded_template_passes_cfn_lint(expanded: dict[str, Any]) -> None:
    problems = lint_problems(json.dumps(expanded))
    assert not problems, describe(problems)


def test_sam_template_passes_cfn_lint() -> None:
    problems = lint_problems(TEMPLATE.read_text())
    assert not problems, describe(problems)


def _break(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(template: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = template
        for key in parents:
            node = node[key]
        node[leaf] = value

    return apply


@pytest.mark.parametrize(
    ("path", "value", "reported"),
    [
        ("Globals.Function.Runtime", "python3.99", "'python3.99'"),
        ("Globals.Function.Architectures", ["x86"], "'x86'"),
        ("Resources.AuthFunction.Properties.Timeout", 1200, "1200"),
        ("Resources.AuthFunction.Properties.MemorySize", 64, "64"),
        ("Resources.AuthLogGroup.Properties.RetentionInDays", 42, "42"),
    ],
)
def test_the_lint_pipeline_catches_broken_values(
    source: dict[str, Any], path: str, value: Any, reported: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reason for the transform step: cfn-lint on the SAM template alone (cfn-lint 1.58) passes the
    broken runtime, architecture and timeout; on the expanded template each is an error."""
    broken = copy.deepcopy(source)
    _break(path, value)(broken)
    problems = lint_problems(json.dumps(sam_transform(broken, monkeypatch)))
    errors = [m for m in problems if m.rule.id.startswith("E") and reported in m.message]
    assert errors, f"cfn-lint accepted {path} = {value!r}:\n{describe(problems)}"


# ---- functions and the layer --------------------------------------------------------------------


def test_every_function_runs_python312_on_x86_with_the_layer(expanded: dict[str, Any]) -> None:
    layers = set(resources_of(expanded, "AWS::Lambda::LayerVersion"))
    assert len(layers) == 1
    for name, props in functions(expanded).items():
        assert props["Runtime"] == RUNTIME, name
        # The libsql wheel has no Linux arm64 build.
        assert props["Architectures"] == ["x86_64"], name
        assert {"Ref": next(iter(layers))} in props["Layers"], name
        assert 512 <= props["MemorySize"] <= 3008, name


def test_http_functions_time_out_before_api_gateway(expanded: dict[str, Any]) -> None:
    api_targets = _route_targets(expanded)
    for name in set(api_targets.values()):
        assert functions(expanded)[name]["Timeout"] < HTTP_API_TIMEOUT_SECONDS, name


def test_the_auth_function(source: dict[str, Any], expanded: dict[str, Any]) -> None:
    props = source["Resources"]["AuthFunction"]["Properties"]
    assert props["CodeUri"] == "functions/auth/"
    assert props["Handler"] == "auth.handler.lambda_handler"
    deployed = functions(expanded)["AuthFunction"]
    assert deployed["Handler"] == "auth.handler.lambda_handler"


def test_the_records_function(source: dict[str, Any], expanded: dict[str, Any]) -> None:
    props = source["Resources"]["RecordsFunction"]["Properties"]
    assert props["CodeUri"] == "functions/records/"
    assert props["Handler"] == "records.handler.lambda_handler"
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": "RecordsLogGroup"}
    group = source["Resources"]["RecordsLogGroup"]["Properties"]["LogGroupName"]
    assert group == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-records"}
    deployed = functions(expanded)["RecordsFunction"]
    assert deployed["Handler"] == "records.handler.lambda_handler"


BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SQS_CONSUMER = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"


def _statements(role: dict[str, Any]) -> list[tuple[frozenset[str], Any]]:
    """(actions, resource) of every inline policy statement of a role."""
    found = []
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            found.append(
                (frozenset([actions] if isinstance(actions, str) else actions), statement["Resource"])
            )
    return found


def _role(expanded: dict[str, Any], function: str) -> dict[str, Any]:
    role_id = functions(expanded)[function]["Role"]["Fn::GetAtt"][0]
    return dict(expanded["Resources"][role_id]["Properties"])


def test_functions_get_no_permissions_beyond_what_they_use(
    source: dict[str, Any], expanded: dict[str, Any]
) -> None:
    """Least privilege: secrets are resolved at deploy time and the database is reached over HTTPS. Auth
    may only list and delete export objects (account deletion); records may only send to the prep queue;
    prep may only consume it; export may only write, read, abort and delete objects under exports/."""
    for name in ("AuthFunction", "RecordsFunction", "PrepFunction", "ExportFunction"):
        props = source["Resources"][name]["Properties"]
        assert not {"Role", "RolePath", "PermissionsBoundary"} & set(props), name
    bucket_arn = {"Fn::GetAtt": ["ExportBucket", "Arn"]}
    export_objects = {"Fn::Sub": "${ExportBucket.Arn}/exports/*"}
    auth = _role(expanded, "AuthFunction")
    assert auth["ManagedPolicyArns"] == [BASIC_EXECUTION]
    auth_statements = _statements(auth)
    assert auth_statements[:2] == [
        (frozenset({"s3:ListBucket"}), bucket_arn),
        (frozenset({"s3:DeleteObject"}), export_objects),
    ]
    ((sync_actions, sync_queue),) = auth_statements[2:]
    assert sync_actions in ({"sqs:SendMessage*"}, {"sqs:SendMessage"}) and "CalendarSyncQueue" in json.dumps(
        sync_queue
    )
    (listing,) = [
        s for p in auth["Policies"] for s in p["PolicyDocument"]["Statement"] if "s3:List" in str(s)
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "exports/*"}}

    export = _role(expanded, "ExportFunction")
    assert export["ManagedPolicyArns"] == [BASIC_EXECUTION]
    writes = frozenset({"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:DeleteObject"})
    assert _statements(export) == [(writes, export_objects)]

    queue_arn = {"Fn::GetAtt": ["PrepQueue", "Arn"]}
    records = _role(expanded, "RecordsFunction")
    assert records["ManagedPolicyArns"] == [BASIC_EXECUTION]
    ((actions, resource),) = _statements(records)
    assert actions == {"sqs:SendMessage*"} or actions == {"sqs:SendMessage"}, actions
    assert "PrepQueue" in json.dumps(resource), resource

    prep = _role(expanded, "PrepFunction")
    assert sorted(prep["ManagedPolicyArns"]) == sorted([BASIC_EXECUTION, SQS_CONSUMER])
    assert _statements(prep) == [(frozenset({"sqs:ChangeMessageVisibility"}), queue_arn)]

    poll = _role(expanded, "CalendarPollFunction")
    assert sorted(poll["ManagedPolicyArns"]) == sorted([BASIC_EXECUTION, SQS_CONSUMER])
    sends = sorted(json.dumps(resource) for actions, resource in _statements(poll))
    assert all(actions <= {"sqs:SendMessage*", "sqs:SendMessage"} for actions, _ in _statements(poll))
    assert len(sends) == 2 and "CalendarSyncQueue" in sends[0] and "PrepQueue" in sends[1]


def test_the_calendar_poll_runs_on_a_schedule_and_fans_out_through_its_queue(
    source: dict[str, Any], expanded: dict[str, Any]
) -> None:
    props = source["Resources"]["CalendarPollFunction"]["Properties"]
    assert props["Handler"] == "calendar_poll.handler.lambda_handler"
    events = props["Events"]
    assert events["Poll"]["Type"] == "ScheduleV2"
    assert events["Syncs"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = source["Resources"]["CalendarSyncQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * props["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["CalendarSyncDeadLetterQueue", "Arn"]
    }
    assert resources_of(expanded, "AWS::Scheduler::Schedule")


def test_the_prep_queue_feeds_the_prep_function_with_partial_batch_failures(
    source: dict[str, Any], expanded: dict[str, Any]
) -> None:
    resources = source["Resources"]
    prep = resources["PrepFunction"]["Properties"]
    assert prep["CodeUri"] == "functions/prep/"
    assert prep["Handler"] == "prep.handler.lambda_handler"
    assert prep["ReservedConcurrentExecutions"] == {"Ref": "PrepConcurrency"}
    (mapping,) = [
        m
        for m in resources_of(expanded, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["PrepQueue", "Arn"]}
    ]
    mapping_props = mapping["Properties"]
    assert mapping_props["EventSourceArn"] == {"Fn::GetAtt": ["PrepQueue", "Arn"]}
    assert mapping_props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping_props["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "PrepConcurrency"}
    queue = resources["PrepQueue"]["Properties"]
    # AWS: the visibility timeout of a Lambda event source is at least 6x the function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * prep["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["PrepDeadLetterQueue", "Arn"]}
    assert 1 < queue["RedrivePolicy"]["maxReceiveCount"] <= 10
    assert queue["SqsManagedSseEnabled"] is True
    assert resources["PrepDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    # The Anthropic key reaches the prep function only; records just knows where to queue.
    assert "ANTHROPIC_API_KEY" in env_of(functions(expanded)["PrepFunction"])
    for name in ("AuthFunction", "RecordsFunction"):
        assert "ANTHROPIC_API_KEY" not in env_of(functions(expanded)[name]), name
    assert env_of(functions(expanded)["RecordsFunction"])["PREP_QUEUE_URL"] == {"Ref": "PrepQueue"}


def test_the_export_bucket_is_private_encrypted_tls_only_and_short_lived(source: dict[str, Any]) -> None:
    resources = source["Resources"]
    bucket = resources["ExportBucket"]["Properties"]
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    block = bucket["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 1
    assert rule.get("Prefix", "exports/") == "exports/"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "AccessControl" not in bucket and "WebsiteConfiguration" not in bucket

    policy = resources["ExportBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ExportBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [
        {"Fn::GetAtt": ["ExportBucket", "Arn"]},
        {"Fn::Sub": "${ExportBucket.Arn}/*"},
    ]


def test_the_export_function(source: dict[str, Any], expanded: dict[str, Any]) -> None:
    props = source["Resources"]["ExportFunction"]["Properties"]
    assert props["CodeUri"] == "functions/export/"
    assert props["Handler"] == "export.handler.lambda_handler"
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": "ExportLogGroup"}
    group = source["Resources"]["ExportLogGroup"]["Properties"]["LogGroupName"]
    assert group == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-export"}
    env = env_of(functions(expanded)["ExportFunction"])
    assert env["EXPORT_BUCKET"] == {"Ref": "ExportBucket"}
    assert env["EXPORT_URL_TTL_SECONDS"] == {"Ref": "ExportUrlTtlSeconds"}
    ttl = source["Parameters"]["ExportUrlTtlSeconds"]
    assert ttl["Default"] == SETTING_FIELDS["EXPORT_URL_TTL_SECONDS"].default == 900
    assert {"JWT_PUBLIC_KEY", "DATABASE_URL", "DATABASE_AUTH_TOKEN", "JWT_ISSUER", "JWT_AUDIENCE"} <= set(env)
    assert "JWT_PRIVATE_KEY" not in env  # it verifies access tokens, never issues them
    # It verifies access tokens and writes files: no token encryption key, nothing of Google or the AI.
    assert "TOKEN_ENCRYPTION_KEY" not in env
    assert not {var for var in env if var.startswith(("GOOGLE_", "ANTHROPIC_", "PREP_"))}
    # Account deletion (auth) erases the user's objects in the same bucket.
    assert env_of(functions(expanded)["AuthFunction"])["EXPORT_BUCKET"] == {"Ref": "ExportBucket"}
    # The local download route stays local: S3 serves the presigned URL.
    assert not any("/download" in path for _, path in _route_targets(expanded))


def test_handlers_exist_inside_their_code_uri(source: dict[str, Any]) -> None:
    for name, res in resources_of(source, "AWS::Serverless::Function").items():
        props = res["Properties"]
        code = ROOT / props["CodeUri"]
        module, _, attribute = props["Handler"].rpartition(".")
        module_file = code / (module.replace(".", "/") + ".py")
        assert module_file.is_file(), f"{name}: {module_file} is missing"
        text = module_file.read_text()
        assert f"{attribute} = " in text or f"def {attribute}(" in text, (
            f"{name}: no {attribute} in {module_file}"
        )
        assert (code / "requirements.txt").is_file(), name


def test_the_common_layer_is_built_by_sam(source: dict[str, Any], expanded: dict[str, Any]) -> None:
    (layer,) = resources_of(source, "AWS::Serverless::LayerVersion").values()
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    # layers/common/Makefile -> scripts/build.py (tests/unit/test_packaging.py checks the Makefiles).
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert (ROOT / "layers/common/requirements.txt").is_file()
    assert (ROOT / "layers/common/common/__init__.py").is_file()
    (deployed,) = resources_of(expanded, "AWS::Lambda::LayerVersion").values()
    assert deployed["Properties"]["CompatibleRuntimes"] == [RUNTIME]
    assert deployed["Properties"].get("CompatibleArchitectures", ["x86_64"]) == ["x86_64"]


def test_every_function_logs_to_its_own_group_with_retention(expanded: dict[str, Any]) -> None:
    groups = resources_of(expanded, "AWS::Logs::LogGroup")
    used = set()
    for name, props in functions(expanded).items():
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in groups, name
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        used.add(group)
    assert len(used) == len(functions(expanded))


# ---- the HTTP API ---------------------------------------------------------------------------------


def _http_api(expanded: dict[str, Any]) -> dict[str, Any]:
    (api,) = resources_of(expanded, "AWS::ApiGatewayV2::Api").values()
    return dict(api["Properties"]["Body"])


def _route_targets(expanded: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> logical id of the function that serves it."""
    targets = {}
    for path, operations in _http_api(expanded)["paths"].items():
        for method, operation in operations.items():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert integration["payloadFormatVersion"] == "2.0"
            match = re.search(r"\$\{(\w+)\.Arn\}", integration["uri"]["Fn::Sub"])
            assert match, integration
            targets[(method.upper(), path)] = match.group(1)
    return targets


DEFAULT_ROUTE = ("X-AMAZON-APIGATEWAY-ANY-METHOD", "/$default")


def test_every_auth_route_is_an_api_route(expanded: dict[str, Any]) -> None:
    targets = _route_targets(expanded)
    auth_routes = {route for route, function in targets.items() if function == "AuthFunction"}
    assert auth_routes - {DEFAULT_ROUTE} == AUTH_ROUTES


def test_every_route_maps_to_the_function_that_serves_it(expanded: dict[str, Any]) -> None:
    targets = _route_targets(expanded)
    targets.pop(DEFAULT_ROUTE)
    expected = {route: function for function, routes in FUNCTION_ROUTES.items() for route in routes}
    assert len(expected) == sum(map(len, FUNCTION_ROUTES.values())), "a route listed for two functions"
    missing = sorted(set(expected) - set(targets))
    unexpected = sorted(set(targets) - set(expected))
    assert not missing, f"routes missing from template.yaml: {missing}"
    assert not unexpected, f"template routes no function serves: {unexpected}"
    wrong = {
        route: (targets[route], function)
        for route, function in expected.items()
        if targets[route] != function
    }
    assert not wrong, f"routed to the wrong function (template, expected): {wrong}"


def test_every_http_function_has_its_app_checked(expanded: dict[str, Any]) -> None:
    assert set(_route_targets(expanded).values()) == set(FUNCTION_APPS) == set(FUNCTION_ROUTES)


def test_unmatched_requests_reach_the_app_for_a_problem_json_404(expanded: dict[str, Any]) -> None:
    assert _route_targets(expanded)[DEFAULT_ROUTE] == "AuthFunction"


_PATH_PARAMETER = re.compile(r"\{[^{}]*\}")


def _path_shape(path: str) -> str:
    """A path with its parameters unnamed: API Gateway's `{id}` and FastAPI's `{opportunity_id}` (or
    `{id:path}`) match the same requests, so route sets are compared by shape."""
    return _PATH_PARAMETER.sub("{}", path)


def app_routes(module_name: str) -> set[tuple[str, str]]:
    """(METHOD, path shape) of every APIRoute a function's app serves. From its routes, not `app.openapi()`:
    the auth app's document is the bundled one of every function's routes."""
    from fastapi import routing

    app = importlib.import_module(module_name).app
    # FastAPI >= 0.165 keeps an included router as one entry of `app.routes`; iter_route_contexts
    # yields its routes with their effective paths. Older versions list the routes themselves.
    iterate = getattr(routing, "iter_route_contexts", None)
    entries = list(iterate(app.routes)) if iterate else list(app.routes)
    return {
        (method.upper(), _path_shape(entry.path))
        for entry in entries
        if isinstance(getattr(entry, "original_route", entry), routing.APIRoute)
        for method in entry.methods or ()
    }


@pytest.mark.parametrize("function", sorted(FUNCTION_APPS))
def test_api_routes_match_the_functions_app(expanded: dict[str, Any], function: str) -> None:
    """A route added to a function's router must be added to the template too (and no route is a typo or
    sent to a function that does not serve it)."""
    served = app_routes(FUNCTION_APPS[function])
    if function == "AuthFunction":
        # FastAPI serves the OpenAPI document itself (not an APIRoute); API Gateway sends it to auth.
        served.add(("GET", "/v1/openapi.json"))
    routed = {
        (method, _path_shape(path))
        for (method, path), target in _route_targets(expanded).items()
        if target == function and (method, path) != DEFAULT_ROUTE
    }
    assert not served - routed, (
        f"{function}: app routes missing from template.yaml: {sorted(served - routed)}"
    )
    assert not routed - served, (
        f"{function}: template routes its app does not serve: {sorted(routed - served)}"
    )


def test_api_routes_match_the_auth_app(expanded: dict[str, Any]) -> None:
    """The auth app's bundled OpenAPI document names the auth routes too (it lists every function's)."""
    from auth.handler import app

    documented = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    documented.add(("GET", app.openapi_url or ""))
    assert AUTH_ROUTES <= documented


def test_every_route_may_invoke_its_function(expanded: dict[str, Any]) -> None:
    permissions = resources_of(expanded, "AWS::Lambda::Permission").values()
    allowed = {
        (p["Properties"]["FunctionName"]["Ref"], p["Properties"]["SourceArn"]["Fn::Sub"][0].split("/", 2)[-1])
        for p in permissions
    }
    for (method, path), function in _route_targets(expanded).items():
        # A path parameter is `*` in the execute-api ARN. SAM grants one wildcard permission to a
        # function that also serves the $default route.
        arn_path = _PATH_PARAMETER.sub("*", path)
        assert {(function, f"{method}{arn_path}"), (function, "*")} & allowed, (method, path)


def test_cors_origins_come_from_the_parameter(source: dict[str, Any], expanded: dict[str, Any]) -> None:
    assert source["Parameters"]["CorsAllowOrigins"]["Type"] == "CommaDelimitedList"
    cors = _http_api(expanded)["x-amazon-apigateway-cors"]
    # SAM swaps the whole CORS block for any intrinsic other than a plain Ref: the result must be a list.
    assert cors["allowOrigins"] == CORS_ORIGINS
    assert "*" not in cors["allowOrigins"]
    assert cors.get("allowCredentials") is True  # safe only because origins are exact
    assert {"authorization", "content-type"} <= {h.lower() for h in cors["allowHeaders"]}
    for name in FUNCTION_ROUTES:  # the HTTP functions
        props = functions(expanded)[name]
        assert env_of(props)["CORS_ALLOW_ORIGINS"] == {"Fn::Join": [",", {"Ref": "CorsAllowOrigins"}]}, name


def test_api_stage_has_access_logs_and_throttling(expanded: dict[str, Any]) -> None:
    (stage,) = resources_of(expanded, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0] in resources_of(
        expanded, "AWS::Logs::LogGroup"
    )
    json.loads(props["AccessLogSettings"]["Format"])
    throttling = props["DefaultRouteSettings"]
    assert throttling["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert throttling["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    parameters = load_template()["Parameters"]
    for name in ("ApiThrottlingRateLimit", "ApiThrottlingBurstLimit"):
        assert parameters[name]["MinValue"] >= 1 and parameters[name]["Default"] >= 1, name


def test_outputs_name_the_api_url(source: dict[str, Any]) -> None:
    url = source["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert url.startswith("https://${HttpApi}.execute-api.")


# ---- configuration and secrets ------------------------------------------------------------------


def _secret_settings() -> set[str]:
    secrets = {
        name for name, field in SETTING_FIELDS.items() if Secret in (field.type, *get_args(field.type))
    }
    assert secrets == SECRET_FIELDS
    return secrets


def test_environment_names_are_settings(expanded: dict[str, Any]) -> None:
    """Every variable is one the settings object actually reads, or one Powertools/AWS reads."""
    known = set(SETTING_FIELDS)
    for name, props in functions(expanded).items():
        unknown = {
            var for var in env_of(props) if var not in known and not var.startswith(("POWERTOOLS_", "AWS_"))
        }
        assert not unknown, f"{name}: {sorted(unknown)}"


def test_environment_names_follow_config_md(expanded: dict[str, Any]) -> None:
    for name, props in functions(expanded).items():
        unknown = {
            var
            for var in env_of(props)
            if var not in CONFIG_NAMES and not var.startswith(("POWERTOOLS_", "AWS_"))
        }
        assert not unknown, f"{name}: {sorted(unknown)}"


def test_deployed_auth_function_has_what_lambda_requires(expanded: dict[str, Any]) -> None:
    """In Lambda, keys are never generated: they and the database settings must come from the template."""
    env = env_of(functions(expanded)["AuthFunction"])
    required = {
        "JWT_PRIVATE_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "DATABASE_URL",
        "DATABASE_AUTH_TOKEN",
        "PUBLIC_BASE_URL",
    }
    assert required <= set(env)


def test_deployed_records_function_has_what_lambda_requires(expanded: dict[str, Any]) -> None:
    """Access tokens are verified with JWT_PUBLIC_KEY (no signing key); list cursors are signed with a
    key derived from TOKEN_ENCRYPTION_KEY. Nothing of OAuth, Google or the AI provider."""
    env = env_of(functions(expanded)["RecordsFunction"])
    assert "JWT_PRIVATE_KEY" not in env
    assert env["JWT_PUBLIC_KEY"] == {"Fn::Sub": "{{resolve:ssm:${JwtPublicKeyParameterName}}}"}
    required = {
        "JWT_PUBLIC_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "DATABASE_URL",
        "DATABASE_AUTH_TOKEN",
        "PUBLIC_BASE_URL",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
    }
    assert required <= set(env)
    assert env["JWT_ISSUER"] == env_of(functions(expanded)["AuthFunction"])["JWT_ISSUER"]
    assert not {var for var in env if var.startswith(("GOOGLE_", "ANTHROPIC_"))}
    assert "ALLOWED_REDIRECT_URIS" not in env


def test_secrets_are_referenced_by_name(source: dict[str, Any], expanded: dict[str, Any]) -> None:
    secrets = _secret_settings()
    assert {"JWT_PRIVATE_KEY", "TOKEN_ENCRYPTION_KEY", "DATABASE_AUTH_TOKEN"} <= secrets
    for name, props in functions(expanded).items():
        for var in secrets & set(env_of(props)):
            value = env_of(props)[var]
            assert isinstance(value, dict), f"{name}.{var} is a literal"
            assert set(value) == {"Fn::Sub"}, f"{name}.{var} must be a dynamic reference"
            match = _SECRET_REFERENCE.match(value["Fn::Sub"])
            assert match, f"{name}.{var}: {value}"
            assert match.group(2) in source["Parameters"], f"{name}.{var}: name must be a parameter"


def test_no_secret_values_anywhere_in_the_template(source: dict[str, Any]) -> None:
    for text in walk_strings(source):
        for pattern in _SECRET_LOOKING:
            assert not pattern.search(text), f"secret-looking value in template.yaml: {text[:40]}..."
    for name, spec in source["Parameters"].items():
        # A Number (AccessTokenTtlSeconds) holds no secret; the JWT public key is an SSM String by name.
        if re.search(r"secret|token|key|password", name, re.I) and spec["Type"] != "Number":
            assert name.endswith(("SecretName", "PublicKeyParameterName")), f"{name}: pass secrets by name"


# What each function may touch besides its own logs: the logical ids its IAM statements, event sources and
# environment name. Auth: account deletion erases export objects, "sync now" queues a calendar sync;
# records queues prep; export writes files; prep consumes its queue; calendar_poll consumes the sync queue
# and sends to it (the fan-out) and to the prep queue.
FUNCTION_RESOURCES = {
    "AuthFunction": {"ExportBucket", "CalendarSyncQueue"},
    "RecordsFunction": {"PrepQueue"},
    "ExportFunction": {"ExportBucket"},
    "PrepFunction": {"PrepQueue"},
    "CalendarPollFunction": {"CalendarSyncQueue", "PrepQueue"},
}
# The secrets (Secret settings) each function receives, and no other.
FUNCTION_SECRETS = {
    "AuthFunction": {
        "DATABASE_AUTH_TOKEN",
        "JWT_PRIVATE_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "GOOGLE_CLIENT_SECRET",
    },
    # Verify access tokens with JWT_PUBLIC_KEY (not a secret); records signs list cursors (derived key).
    "RecordsFunction": {"DATABASE_AUTH_TOKEN", "TOKEN_ENCRYPTION_KEY"},
    "ExportFunction": {"DATABASE_AUTH_TOKEN"},
    "PrepFunction": {"DATABASE_AUTH_TOKEN", "ANTHROPIC_API_KEY"},
    "CalendarPollFunction": {"DATABASE_AUTH_TOKEN", "TOKEN_ENCRYPTION_KEY", "GOOGLE_CLIENT_SECRET"},
}
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def referenced_ids(value: Any, template: dict[str, Any]) -> set[str]:
    """Logical ids of the resources a value refers to (Ref, GetAtt, ${X} / ${X.Attr} in Sub), not
    parameters, pseudo parameters or a Sub's own variables."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_ids(item, template)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref":
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".", 1)[0])
            elif key == "Fn::Sub":
                text, variables = (item, {}) if isinstance(item, str) else item
                found |= {name for name in _SUB_NAME.findall(text) if name not in variables}
                found |= referenced_ids(variables, template)
            else:
                found |= referenced_ids(item, template)
    return {name for name in found if name in template["Resources"]}


def _policy_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def test_every_function_is_covered_by_the_least_privilege_tables(expanded: dict[str, Any]) -> None:
    assert set(functions(expanded)) == set(FUNCTION_RESOURCES) == set(FUNCTION_SECRETS)


@pytest.mark.parametrize("function", sorted(FUNCTION_RESOURCES))
def test_each_function_may_touch_only_its_own_resources(expanded: dict[str, Any], function: str) -> None:
    """Every inline IAM statement names specific resources (never `*`) among the function's own; what the
    environment tells the function about (queue URLs, bucket) is exactly what it may touch."""
    allowed = FUNCTION_RESOURCES[function]
    role = _role(expanded, function)
    touched: set[str] = set()
    for statement in _policy_statements(role):
        assert statement["Effect"] == "Allow", statement
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert "*" not in resources, f"{function}: a statement on every resource: {statement}"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(action.endswith(":*") or action == "*" for action in actions), statement
        named = referenced_ids(resources, expanded)
        assert named, f"{function}: a statement names no resource of this stack: {statement}"
        touched |= named
    consumed = {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for mapping in resources_of(expanded, "AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["FunctionName"] == {"Ref": function}
    }
    assert touched | consumed == allowed, f"{function}: may touch {sorted(touched | consumed)}"
    known = referenced_ids(env_of(functions(expanded)[function]), expanded) - {"CommonLayer"}
    assert known == allowed, f"{function}: its environment names {sorted(known)}"
    # The only managed policies: logs, and (for a queue consumer) receiving from SQS.
    expected = [BASIC_EXECUTION, SQS_CONSUMER] if consumed else [BASIC_EXECUTION]
    assert sorted(role["ManagedPolicyArns"]) == sorted(expected), function


def test_the_schedule_may_invoke_only_the_calendar_poll(expanded: dict[str, Any]) -> None:
    (schedule,) = resources_of(expanded, "AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["CalendarPollFunction", "Arn"]}
    role = expanded["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    (statement,) = _policy_statements(role)
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == {"Fn::GetAtt": ["CalendarPollFunction", "Arn"]}
    # Schedule names are unique per account and region: two stacks must not collide.
    assert "${AWS::StackName}" in schedule["Properties"]["Name"]["Fn::Sub"]


def test_the_poll_rate_is_a_valid_schedule_expression(source: dict[str, Any]) -> None:
    """EventBridge rejects `rate(1 minutes)` (one minute is `rate(1 minute)`): the parameter starts at 2."""
    expression = source["Resources"]["CalendarPollFunction"]["Properties"]["Events"]["Poll"]["Properties"]
    assert expression["ScheduleExpression"] == {"Fn::Sub": "rate(${CalendarPollMinutes} minutes)"}
    minutes = source["Parameters"]["CalendarPollMinutes"]
    assert minutes["MinValue"] >= 2 and minutes["MinValue"] <= minutes["Default"] <= minutes["MaxValue"]


@pytest.mark.parametrize("function", sorted(FUNCTION_SECRETS))
def test_each_function_receives_only_the_secrets_it_uses(expanded: dict[str, Any], function: str) -> None:
    received = _secret_settings() & set(env_of(functions(expanded)[function]))
    assert received == FUNCTION_SECRETS[function]


def test_every_secret_reaches_some_function(expanded: dict[str, Any]) -> None:
    assert set().union(*FUNCTION_SECRETS.values()) == _secret_settings()


def test_log_settings(expanded: dict[str, Any]) -> None:
    """Each function's log lines carry its own service name (POWERTOOLS_SERVICE_NAME, read by
    common.observability) at the stack's LOG_LEVEL."""
    names = set()
    for name, props in functions(expanded).items():
        env = env_of(props)
        assert env["LOG_LEVEL"] == {"Ref": "LogLevel"}, name
        assert isinstance(env["POWERTOOLS_SERVICE_NAME"], str), name
        names.add(env["POWERTOOLS_SERVICE_NAME"])
    assert len(names) == len(functions(expanded))


# ---- queues and alarms --------------------------------------------------------------------------


def _queue_id(arn: Any) -> str:
    assert set(arn) == {"Fn::GetAtt"} and arn["Fn::GetAtt"][1] == "Arn", arn
    return str(arn["Fn::GetAtt"][0])


def dead_letter_queues(template: dict[str, Any]) -> set[str]:
    return {
        _queue_id(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in resources_of(template, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    }


def test_every_queue_has_a_dead_letter_queue_or_is_one(source: dict[str, Any]) -> None:
    queues = resources_of(source, "AWS::SQS::Queue")
    dlqs = dead_letter_queues(source)
    assert dlqs == {"PrepDeadLetterQueue", "CalendarSyncDeadLetterQueue"}
    for name, queue in queues.items():
        props = queue["Properties"]
        assert props["SqsManagedSseEnabled"] is True, name
        if name in dlqs:
            # Kept as long as SQS allows (14 days), longer than the queue it serves.
            assert props["MessageRetentionPeriod"] == 1209600, name
            assert "RedrivePolicy" not in props, name
        else:
            assert 1 < props["RedrivePolicy"]["maxReceiveCount"] <= 10, name


def test_every_event_source_queue_outlasts_its_consumer(expanded: dict[str, Any]) -> None:
    """AWS: a Lambda event source queue's visibility timeout is at least 6x the function's timeout; every
    consumer reports partial batch failures, so one bad message does not redeliver its batch."""
    mappings = list(resources_of(expanded, "AWS::Lambda::EventSourceMapping").values())
    assert len(mappings) == 2
    dlqs = dead_letter_queues(expanded)
    for mapping in mappings:
        props = mapping["Properties"]
        queue_id = _queue_id(props["EventSourceArn"])
        queue = expanded["Resources"][queue_id]["Properties"]
        function = functions(expanded)[props["FunctionName"]["Ref"]]
        assert queue["VisibilityTimeout"] >= 6 * function["Timeout"], queue_id
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], queue_id
        assert queue_id not in dlqs, f"{queue_id}: a dead-letter queue must not be consumed automatically"
        assert "deadLetterTargetArn" in queue["RedrivePolicy"], queue_id
        assert "Ref" in props["ScalingConfig"]["MaximumConcurrency"], "concurrency is a deployer's choice"


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in resources_of(template, "AWS::CloudWatch::Alarm").items()}


def _alarms_on(template: dict[str, Any], namespace: str, metric: str, dimension: str) -> dict[str, Any]:
    """Dimension value (a Ref/GetAtt) -> the alarm on `metric` for it."""
    found = {}
    for name, alarm in _alarms(template).items():
        if alarm["Namespace"] == namespace and alarm["MetricName"] == metric:
            (dim,) = alarm["Dimensions"]
            assert dim["Name"] == dimension, name
            found[json.dumps(dim["Value"], sort_keys=True)] = alarm
    return found


def _assert_fires_on_the_first(alarm: dict[str, Any], statistic: str) -> None:
    assert alarm["Statistic"] == statistic
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0
    assert alarm["EvaluationPeriods"] == 1 and alarm["Period"] <= 300
    # No data (an idle function, an empty queue) is healthy, not "insufficient data".
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_dead_letter_queue_alarms_when_it_holds_a_message(source: dict[str, Any]) -> None:
    alarms = _alarms_on(source, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
    for dlq in dead_letter_queues(source):
        alarm = alarms.pop(json.dumps({"Fn::GetAtt": [dlq, "QueueName"]}, sort_keys=True), None)
        assert alarm, f"no alarm on {dlq}"
        _assert_fires_on_the_first(alarm, "Maximum")
    assert not alarms, f"alarms on queues that are not dead-letter queues: {list(alarms)}"


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_alarms_on_errors_and_throttles(source: dict[str, Any], metric: str) -> None:
    alarms = _alarms_on(source, "AWS/Lambda", metric, "FunctionName")
    for function in resources_of(source, "AWS::Serverless::Function"):
        alarm = alarms.pop(json.dumps({"Ref": function}), None)
        assert alarm, f"no {metric} alarm on {function}"
        _assert_fires_on_the_first(alarm, "Sum")
    assert not alarms


def test_alarms_notify_only_when_an_email_is_given(source: dict[str, Any], expanded: dict[str, Any]) -> None:
    """The alarms exist either way; the topic, its subscription and every alarm action only under the
    HasAlarmEmail condition (an empty AlarmEmail deploys without them)."""
    assert source["Parameters"]["AlarmEmail"]["Default"] == ""
    assert source["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    topic = source["Resources"]["AlarmTopic"]
    assert topic["Condition"] == "HasAlarmEmail"
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert source["Outputs"]["AlarmTopicArn"]["Condition"] == "HasAlarmEmail"
    only_with_email = {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}
    alarms = _alarms(expanded)
    assert len(alarms) == 2 + 2 * len(functions(expanded))
    for name, alarm in alarms.items():
        assert "Condition" not in expanded["Resources"][name], f"{name} must exist without an e-mail"
        assert alarm["AlarmActions"] == only_with_email, name
        assert alarm.get("OKActions", only_with_email) == only_with_email, name
        assert "${AWS::StackName}" in alarm["AlarmDescription"]["Fn::Sub"], name


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("", True), ("ops@example.com", True), ("ops+alarms@mail.example.org", True), ("ops", False),
     ("ops@example", False), ("a@b.c, d@e.f", False)],
)  # fmt: skip
def test_the_alarm_email_parameter_pattern(source: dict[str, Any], value: str, accepted: bool) -> None:
    pattern = source["Parameters"]["AlarmEmail"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


def test_alarms_pass_cfn_lint_with_an_email(source: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The conditional topic and actions are valid when the condition holds too (the default is empty)."""
    with_email = copy.deepcopy(source)
    with_email["Parameters"]["AlarmEmail"]["Default"] = "ops@example.com"
    problems = lint_problems(json.dumps(sam_transform(with_email, monkeypatch)))
    assert not problems, describe(problems)


# ---- parameters and samconfig.toml --------------------------------------------------------------

SAMCONFIG = ROOT / "samconfig.toml"


def test_every_parameter_is_described_and_used(source: dict[str, Any]) -> None:
    """A deployer reads each Description in `sam deploy --guided`; an unused parameter would be a lie."""
    text = json.dumps({key: value for key, value in source.items() if key != "Parameters"})
    for name, spec in source["Parameters"].items():
        assert spec.get("Description") or spec.get("AllowedValues"), f"{name}: no Description"
        assert re.search(rf'"{name}"|\$\{{{name}\}}', text), f"{name} is never used"


def samconfig() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(SAMCONFIG.read_text())


def samconfig_overrides() -> dict[str, str]:
    import shlex

    text = samconfig()["default"]["deploy"]["parameters"]["parameter_overrides"]
    pairs = [item.split("=", 1) for item in shlex.split(text)]
    assert all(len(pair) == 2 for pair in pairs), text
    return dict(pairs)


def test_samconfig_has_sane_defaults() -> None:
    config = samconfig()
    assert config["version"] == 0.1
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "interview-tracker"
    deploy = default["deploy"]["parameters"]
    # IAM roles without fixed names only (no CAPABILITY_NAMED_IAM needed or granted).
    assert deploy["capabilities"].split() == ["CAPABILITY_IAM"]
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    assert default["validate"]["parameters"]["lint"] is True
    assert default["build"]["parameters"]["use_container"] is False


def test_samconfig_overrides_name_real_parameters_with_valid_values(source: dict[str, Any]) -> None:
    overrides = samconfig_overrides()
    assert overrides
    parameters = source["Parameters"]
    for name, value in overrides.items():
        assert name in parameters, f"samconfig.toml overrides {name}, which template.yaml does not have"
        spec = parameters[name]
        # Non-secret choices only: no secret (not even a secret's name) and no deployment-specific URL.
        assert not name.endswith("SecretName") and name not in REQUIRED_PARAMETERS, name
        if spec["Type"] == "Number":
            number = float(value)
            assert spec.get("MinValue", number) <= number <= spec.get("MaxValue", number), name
        items = value.split(",") if spec["Type"] == "CommaDelimitedList" else [value]
        for item in items:
            if "AllowedValues" in spec:
                assert item in [str(v) for v in spec["AllowedValues"]], name
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], item), name
        for text in walk_strings(value):
            for pattern in _SECRET_LOOKING:
                assert not pattern.search(text), name


def test_samconfig_overrides_deploy_cleanly(source: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    configured = copy.deepcopy(source)
    for name, value in samconfig_overrides().items():
        spec = configured["Parameters"][name]
        # CloudFormation takes every value as a string; cfn-lint compares a Number's Default as a number.
        spec["Default"] = int(value) if spec["Type"] == "Number" else value
    problems = lint_problems(json.dumps(sam_transform(configured, monkeypatch)))
    assert not problems, describe(problems)


def test_a_failed_fan_out_is_not_rerun(expanded: dict[str, Any]) -> None:
    """Neither the scheduler nor Lambda's asynchronous retries rerun a failed poll: the next one resumes."""
    (schedule,) = resources_of(expanded, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    (config,) = resources_of(expanded, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["FunctionName"] == {"Ref": "CalendarPollFunction"}
    assert config["Properties"]["MaximumRetryAttempts"] == 0
