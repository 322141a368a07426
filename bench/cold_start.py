"""Cold start: import of each function's handler module in a fresh process, as Lambda's init phase
runs it, against the framework or SDK the function cannot do without.

    python -m bench.cold_start [--runs 15] [--only records,export] [--importtime MODULE]
                               [--steps FUNCTION=MODULE,MODULE,...]

Each sample is a new interpreter (`python -S`: no site processing, no .pth files) whose sys.path is
what a deployed function has: its own folder (`/var/task`), then the layer (`/opt/python`: our
`common` package and the site-packages the layer bundles). The environment is a deployed function's
(template.yaml: Globals plus the function's own variables) with a remote DATABASE_URL that points
nowhere: nothing may connect at import time. The time is the process's CPU time from just before the
first import to just after the last one (interpreter start-up is the same for every row and is left
out); CPU time, because on this shared 2-core machine wall time mostly measures the neighbours. Wall
time is shown beside it.

What the build leaves out of every deployed package (scripts/build.py UNUSED_PACKAGES: pydantic.v1) cannot
be imported in the child either, so a fallback that only the dev virtualenv offers is not measured. The
virtualenv has bytecode for every module, as the deployed packages now do (scripts/build.py
compile_bytecode); without it, `import fastapi, mangum` alone takes ~3x as long.

Rows (medians of --runs samples, --sdk-runs for the two anthropic rows, whose imports take seconds;
taken interleaved so a noisy moment hits every row alike). A function's process imports its baseline's
modules first and then its own (the same modules in total: the handler imports them anyway, or on its
first message), so each sample carries its own ratio, total / baseline part, taken in one process at one
moment; the budget is the median of those paired ratios. The baseline's own row and the ratio of the two
rows' medians are printed beside it (on this shared machine a process's CPU ms move by +-30%, so the
unpaired ratio of two rows moves by +-0.1x between runs).
- HTTP functions (auth, records, export): `import fastapi, mangum`, then `import <fn>.handler`.
- prep: `import anthropic` (the SDK its first message imports), then the handler.
- calendar_poll: the Google modules its first sync imports, then the handler (`import googleapiclient` by
  itself is a 30 ms package `__init__`: no baseline for a function that builds a Calendar client).
Budget: each at most 1.15x its baseline (our code adds at most 15%), and no HTTP function has
anthropic, googleapiclient, authlib or boto3 (tests/integration/test_cold_imports.py's list) loaded
after its import.

`--importtime MODULE` prints `python -X importtime` for one handler (same sys.path and environment),
cumulative milliseconds of our modules and of the third-party modules they pull in, after the
baseline's modules: where a miss comes from. `--steps records=fastapi,mangum,common.web,records.router`
imports those modules one after another in fresh processes (the function's path and environment) and
prints the CPU time each one adds: the same question in CPU time, which this machine's load distorts less.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._harness import Budgets, load_average, machine
from scripts import build

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common"
BUDGET = 1.15
# What scripts/build.py leaves out of every deployed package (as modules): unimportable here too.
PRUNED = tuple(path.replace("/", ".") for path in build.UNUSED_PACKAGES)
GOOGLE_SDK = (
    "googleapiclient.discovery",
    "googleapiclient.errors",
    "google.oauth2.credentials",
    "google_auth_httplib2",
)


@dataclass(frozen=True)
class Case:
    name: str
    function: str | None  # whose folder and environment; None: the baseline of `kind`
    modules: tuple[str, ...]
    baseline: str = ""  # the name of the case this one is compared with
    http: bool = False


WEB = ("fastapi", "mangum")
CASES = (
    Case("fastapi + mangum", "records", WEB),
    Case("auth.handler", "auth", (*WEB, "auth.handler"), "fastapi + mangum", http=True),
    Case("records.handler", "records", (*WEB, "records.handler"), "fastapi + mangum", http=True),
    Case("export.handler", "export", (*WEB, "export.handler"), "fastapi + mangum", http=True),
    Case("anthropic", "prep", ("anthropic",)),
    Case("prep.handler + anthropic", "prep", ("anthropic", "prep.handler"), "anthropic"),
    Case("google calendar SDK", "calendar_poll", GOOGLE_SDK),
    Case(
        "calendar_poll.handler + SDK", "calendar_poll", (*GOOGLE_SDK, "calendar_poll.handler"),
        "google calendar SDK",
    ),
)  # fmt: skip
BY_NAME = {case.name: case for case in CASES}

_CHILD = """
import json, sys, time
HEAVY = {heavy!r}
PRUNED = {pruned!r}

class NotDeployed:  # scripts/build.py leaves these packages out of the deployed packages
    def find_spec(self, name, path=None, target=None):
        if name in PRUNED or name.startswith(tuple(p + "." for p in PRUNED)):
            raise ModuleNotFoundError(f"No module named {{name!r}} (not deployed)", name=name)
        return None

sys.meta_path.insert(0, NotDeployed())
steps = []
started, cpu_started = time.perf_counter(), time.process_time()
for name in {modules!r}:
    __import__(name)
    steps.append((time.process_time() - cpu_started) * 1000)
wall = (time.perf_counter() - started) * 1000
loaded = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps({{"steps": steps, "wall": wall, "heavy": loaded, "modules": len(sys.modules)}}))
"""


def _jwt_key_pair() -> tuple[str, str]:
    """An EC P-256 key pair as PEM: auth signs with the private half, records and export verify with
    the public one (template.yaml)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def deployed_environment(function: str, secrets_: dict[str, str], data_dir: str) -> dict[str, str]:
    """template.yaml's Globals plus the function's own variables, with made-up values and addresses."""
    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/interview-tracker-{}"
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": data_dir,
        "LANG": "C.UTF-8",
        "TRACKER_DATA_DIR": data_dir,  # nothing may be written there at import; a temp dir if it is
        "AWS_LAMBDA_FUNCTION_NAME": f"interview-tracker-{function}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PUBLIC_BASE_URL": "https://api.example.com",
        "DATABASE_URL": "libsql://tracker-bench-nowhere.invalid",
        "DATABASE_AUTH_TOKEN": "not-a-real-token",
        "JWT_ISSUER": "https://api.example.com",
        "JWT_AUDIENCE": "interview-tracker",
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": "interview-tracker",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    cors = "https://app.example.com"
    own: dict[str, dict[str, str]] = {
        "auth": {
            "JWT_PRIVATE_KEY": secrets_["jwt"],
            "TOKEN_ENCRYPTION_KEY": secrets_["sealing"],
            "ALLOWED_REDIRECT_URIS": "https://app.example.com/auth/callback",
            "CORS_ALLOW_ORIGINS": cors,
            "GOOGLE_CLIENT_ID": "bench.apps.googleusercontent.com",
            "GOOGLE_CLIENT_SECRET": "bench-secret",
            "EXPORT_BUCKET": "interview-tracker-exports",
            "CALENDAR_SYNC_QUEUE_URL": queue.format("calendar-sync"),
        },
        "records": {
            "JWT_PUBLIC_KEY": secrets_["jwt_public"],
            "TOKEN_ENCRYPTION_KEY": secrets_["sealing"],
            "CORS_ALLOW_ORIGINS": cors,
            "PREP_QUEUE_URL": queue.format("prep"),
            "PREP_MODEL": "claude-sonnet-4-6",
            "PREP_RATE_LIMIT_PER_HOUR": "20",
        },
        "export": {
            "JWT_PUBLIC_KEY": secrets_["jwt_public"],
            "CORS_ALLOW_ORIGINS": cors,
            "EXPORT_BUCKET": "interview-tracker-exports",
            "EXPORT_URL_TTL_SECONDS": "900",
        },
        "prep": {
            "ANTHROPIC_API_KEY": "sk-ant-bench-not-a-key",
            "PREP_MODEL": "claude-sonnet-4-6",
            "PREP_QUEUE_URL": queue.format("prep"),
        },
        "calendar_poll": {
            "TOKEN_ENCRYPTION_KEY": secrets_["sealing"],
            "GOOGLE_CLIENT_ID": "bench.apps.googleusercontent.com",
            "GOOGLE_CLIENT_SECRET": "bench-secret",
            "CALENDAR_SYNC_QUEUE_URL": queue.format("calendar-sync"),
            "PREP_QUEUE_URL": queue.format("prep"),
            "PREP_MODEL": "claude-sonnet-4-6",
            "PREP_RATE_LIMIT_PER_HOUR": "20",
        },
    }
    return {**base, **own[function]}


@dataclass(frozen=True)
class Packages:
    """Where the functions' code comes from, and the Python that imports it."""

    python: str
    built: Path | None = None  # scripts/build.py's output; None: this checkout and its virtualenv

    def path(self, function: str) -> str:
        """/var/task (the function's folder), then /opt/python (the layer: `common` and its packages)."""
        if self.built is not None:
            return os.pathsep.join([str(self.built / function), str(self.built / build.LAYER_OUT / "python")])
        site = sysconfig.get_paths()["purelib"]
        return os.pathsep.join([str(ROOT / "functions" / function), str(LAYER), site])

    def describe(self) -> str:
        if self.built is None:
            return f"this checkout and its virtualenv, Python {sys.version.split()[0]}"
        return f"the deployment packages in {self.built.relative_to(ROOT)} (scripts/build.py), {self.python}"


def choose_packages(source: str) -> Packages:
    """`built`: the deployment packages, built if stale, imported by the runtime's Python 3.12, which is
    what Lambda runs (bytecode, pruning and all). `venv`: the checkout. `auto`: built when a Python 3.12
    is at hand and the build succeeds, else the checkout."""
    if source == "venv":
        return Packages(sys.executable)
    python = build.bytecode_python(sys.executable)
    if python is None:
        if source == "built":
            raise SystemExit("bench.cold_start --packages built: no Python 3.12 (set BUILD_PYTHON)")
        print("note: no Python 3.12 (BUILD_PYTHON): measuring the checkout, not the deployment packages")
        return Packages(sys.executable)
    out = build.DEFAULT_OUT
    if not build.is_fresh(out, 24 * 3600):
        print(f"building the deployment packages into {out.relative_to(ROOT)} ...", flush=True)
        try:
            build.build_all(out, zips=True)
        except (build.BuildError, subprocess.CalledProcessError, OSError) as error:
            if source == "built":
                raise
            print(f"note: the build failed ({error}); measuring the checkout instead")
            return Packages(sys.executable)
    return Packages(python, out)


def run_case(case: Case, env: dict[str, str], heavy: tuple[str, ...], packages: Packages) -> dict[str, Any]:
    assert case.function is not None
    code = _CHILD.format(heavy=heavy, modules=case.modules, pruned=PRUNED)
    out = subprocess.run(
        [packages.python, "-S", "-c", code],
        env={**env, "PYTHONPATH": packages.path(case.function)},
        cwd=env["TRACKER_DATA_DIR"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if out.returncode:
        raise RuntimeError(f"{case.name}: import failed\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def importtime(
    module: str, function: str, env: dict[str, str], baseline: tuple[str, ...], packages: Packages
) -> None:
    """Cumulative import time of what `module` adds after `baseline` (top entries)."""
    code = "".join(f"import {name}\n" for name in (*baseline, module))
    out = subprocess.run(
        [packages.python, "-S", "-X", "importtime", "-c", code],
        env={**env, "PYTHONPATH": packages.path(function)},
        cwd=env["TRACKER_DATA_DIR"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    last_baseline = max(i for i, row in enumerate(rows) if row[3] in baseline and row[2] == 0)
    added = rows[last_baseline + 1 :]
    print(f"{module}: {sum(r[0] for r in added) / 1000:.0f} ms of imports after {', '.join(baseline)}")
    print("| cumulative ms | self ms | module |\n|---:|---:|---|")
    for self_us, cumulative_us, depth, name in added:
        if cumulative_us >= 5000:
            print(f"| {cumulative_us / 1000:.1f} | {self_us / 1000:.1f} | {'· ' * depth}{name} |")


def steps(
    function: str, modules: tuple[str, ...], env: dict[str, str], runs: int, packages: Packages
) -> None:
    """CPU ms each import adds after the ones before it (median over fresh processes): the time a
    module and what it alone pulls in costs, in CPU rather than -X importtime's wall clock."""
    samples = [run_case(Case("steps", function, modules), env, (), packages) for _ in range(runs)]
    print(f"{function}: CPU ms per import, median of {runs} fresh processes")
    print("| module | total | added |\n|---|---:|---:|")
    previous = 0.0
    for index, module in enumerate(modules):
        total = statistics.median(sample["steps"][index] for sample in samples)
        print(f"| {module} | {total:.0f} | +{total - previous:.0f} |")
        previous = total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per row")
    parser.add_argument("--sdk-runs", type=int, default=5, help="fresh processes per anthropic row")
    parser.add_argument("--importtime", metavar="MODULE", help="e.g. records.handler: where its time goes")
    parser.add_argument(
        "--steps",
        metavar="FUNCTION=MODULES",
        help="e.g. records=fastapi,mangum,common.web,records.schemas: CPU ms each import adds, in that order",
    )
    parser.add_argument("--only", metavar="FUNCTIONS", help="functions, comma-separated: their rows only")
    parser.add_argument(
        "--packages",
        choices=("auto", "built", "venv"),
        default="auto",
        help="the deployment packages under Python 3.12 (built), the checkout (venv), or built when possible",
    )
    args = parser.parse_args(argv)
    packages = choose_packages(args.packages)
    cases: tuple[Case, ...] = CASES
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [c for c in CASES if c.baseline and c.function in wanted]
        baselines = {c.baseline for c in chosen}
        cases = tuple(c for c in CASES if c in chosen or c.name in baselines)

    from tests.integration.test_cold_imports import HEAVY

    heavy = tuple(sorted({*HEAVY, "anthropic", "googleapiclient", "authlib", "boto3"}))
    sealing = base64.b64encode(secrets.token_bytes(32)).decode()
    private, public = _jwt_key_pair()
    keys = {"jwt": private, "jwt_public": public, "sealing": sealing}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as data_dir:
        if args.steps:
            function, _, modules = args.steps.partition("=")
            env = deployed_environment(function, keys, data_dir)
            steps(function, tuple(modules.split(",")), env, args.runs, packages)
            return
        if args.importtime:
            function = args.importtime.split(".")[0]
            env = deployed_environment(function, keys, data_dir)
            case = next(c for c in CASES if c.function == function and c.baseline)
            baseline = next(c for c in CASES if c.name == case.baseline)
            importtime(args.importtime, function, env, baseline.modules, packages)
            return
        envs = {case.name: deployed_environment(case.function or "records", keys, data_dir) for case in cases}
        print(f"bench.cold_start: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, {load_average()}")
        print(f"imported from {packages.describe()}")
        samples: dict[str, list[dict[str, Any]]] = {case.name: [] for case in cases}
        for run in range(max(args.runs, args.sdk_runs)):
            for case in cases:
                if run < (args.sdk_runs if "anthropic" in case.modules else args.runs):
                    samples[case.name].append(run_case(case, envs[case.name], heavy, packages))
        print(
            f"{args.runs} fresh processes per row ({args.sdk_runs} for the anthropic rows), interleaved; "
            f"{load_average()} at the end\n"
        )

    budgets = Budgets("bench.cold_start")
    medians = {name: statistics.median(s["steps"][-1] for s in runs) for name, runs in samples.items()}
    print(
        "| import | n | CPU ms, median | min..max | ours, median | vs baseline, paired | vs baseline row "
        "| wall ms, median | modules | heavy SDKs loaded | budget |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for case in cases:
        runs = samples[case.name]
        totals = [s["steps"][-1] for s in runs]
        loaded = sorted({m for s in runs for m in s["heavy"]})
        verdict, ours, paired_text, unpaired_text = "", "", "", ""
        if case.baseline:
            # Each sample imports the baseline's modules first, then the function's: its own ratio, on the
            # same process and moment (this machine's load moves a process's CPU ms by +-30%).
            base = len(BY_NAME[case.baseline].modules) - 1
            paired = statistics.median(s["steps"][-1] / s["steps"][base] for s in runs)
            ours = f"{statistics.median(s['steps'][-1] - s['steps'][base] for s in runs):.0f}"
            unpaired = medians[case.name] / medians[case.baseline]
            paired_text, unpaired_text = f"{paired:.2f}x", f"{unpaired:.2f}x"
            verdict = budgets.check(
                f"cold start of {case.name}",
                paired <= BUDGET,
                f"{medians[case.name]:.0f} ms CPU = {paired:.2f}x {case.baseline} imported first in the "
                f"same process ({unpaired:.2f}x its row, {medians[case.baseline]:.0f} ms), "
                f"budget {BUDGET:.2f}x",
            )
            if case.http and loaded:
                verdict = budgets.check(f"{case.name} imports", False, f"loads {', '.join(loaded)} at import")
        wall = statistics.median(s["wall"] for s in runs)
        print(
            f"| {case.name} | {len(runs)} | {medians[case.name]:.0f} | {min(totals):.0f}..{max(totals):.0f} "
            f"| {ours} | {paired_text} | {unpaired_text} | {wall:.0f} | {runs[0]['modules']} "
            f"| {', '.join(loaded) or 'none'} | {verdict} |"
        )
    budgets.finish()


if __name__ == "__main__":
    main()
