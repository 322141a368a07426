"""Package size per function: what Lambda unpacks for each function (its package plus the common layer)
against issue 8's budgets, and the architecture of every compiled file.

    python -m bench.package_size [--out build/lambda] [--rebuild] [--max-age-hours 24]

The packages are scripts/build.py's (`make build` without SAM; `sam build` runs the same code). out/ is
reused when it holds a build of the current sources and requirements (the build's input digest) younger
than --max-age-hours (requirements are ranges: PyPI moves on); otherwise it is built again, which
downloads the Lambda wheels from PyPI (a minute or two).

Budgets (issue 8), function + layer unzipped: at most 25 MB for auth/records/export, 40 MB for
calendar_poll, 60 MB for prep (MB = 10^6 bytes; Lambda's own limit is 250 MiB for a function and all
its layers); every ELF file (.so) x86_64. Zipped sizes are what is uploaded (function zip + layer zip).

When a Python 3.12 is at hand (BUILD_PYTHON, or python3.12 on PATH), each handler module is also imported
in a fresh `python3.12 -S` from nothing but its package and the layer, as Lambda lays them out: a missing
distribution or a wheel for the wrong Python shows there (column "imports").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench._harness import Budgets, load_average, machine
from scripts import build

BUDGET_MB = {"auth": 25, "records": 25, "export": 25, "calendar_poll": 40, "prep": 60}
MB = 1_000_000
# Settings every handler module may read at import: dummies, nothing is called.
IMPORT_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "DATABASE_URL": "https://db.invalid",
    "PUBLIC_BASE_URL": "https://api.invalid",
    "POWERTOOLS_SERVICE_NAME": "bench",
}


# What each function imports lazily, on the first call that needs it (imported here too, so a pruned
# package cannot hide a missing module until production). boto3 is the Lambda runtime's, not packaged.
LAZY_IMPORTS = {
    "auth": (
        "argon2",
        "requests",
        "authlib.integrations.requests_client",
        "authlib.integrations.base_client",
        "joserfc.jwt",
        "joserfc.jwk",
        "joserfc.errors",
    ),
    "records": (),
    "export": (),
    "calendar_poll": (
        "requests",
        "httplib2",
        "google_auth_httplib2",
        "google.auth.exceptions",
        "google.oauth2.credentials",
        "googleapiclient.discovery",
        "googleapiclient.errors",
    ),
    "prep": ("anthropic",),
}


def _shown(path: Path) -> str:
    """The build folder as printed (relative to the checkout when inside it: results get pasted)."""
    resolved = path.resolve()
    return str(resolved.relative_to(build.ROOT)) if resolved.is_relative_to(build.ROOT) else str(path)


def tree_bytes(root: Path) -> int:
    return sum(
        path.stat().st_size for path in root.rglob("*") if path.is_file() and path.name != build.DIGEST_FILE
    )


def python312() -> str | None:
    """A Python 3.12 interpreter to import the packages with, if this machine has one."""
    candidate = os.environ.get("BUILD_PYTHON") or shutil.which("python3.12")
    if not candidate:
        return None
    probe = subprocess.run(
        [candidate, "-S", "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"],
        capture_output=True,
        timeout=60,
    )
    return candidate if probe.returncode == 0 else None


def import_check(python: str | None, function: str, out: Path) -> str:
    """'ok', the error of importing the handler and what it imports lazily from the package and the layer
    alone, or 'not checked'."""
    if python is None:
        return "not checked (no python3.12)"
    modules = (f"{function}.handler", *LAZY_IMPORTS[function])
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3]; import importlib; "
        f"[importlib.import_module(name) for name in {modules!r}]"
    )
    env = {"PATH": os.environ.get("PATH", ""), **IMPORT_ENV}
    result = subprocess.run(
        [python, "-S", "-B", "-c", code, str(out / function), str(out / build.LAYER_OUT / "python")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if result.returncode == 0:
        return "ok"
    last = (result.stderr.strip().splitlines() or ["failed"])[-1]
    return f"FAILED: {last[:120]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=build.DEFAULT_OUT, help="the build folder")
    parser.add_argument("--rebuild", action="store_true", help="build even if out/ is fresh")
    parser.add_argument("--max-age-hours", type=float, default=24.0)
    args = parser.parse_args(argv)

    out: Path = args.out
    started = time.perf_counter()
    if not args.rebuild and build.is_fresh(out, args.max_age_hours * 3600):
        how = f"reused {_shown(out)} (current sources)"
    else:
        try:
            build.build_all(out, zips=True)
        except build.BuildError as exc:
            sys.exit(f"bench.package_size: the build failed: {exc}")
        how = f"built into {_shown(out)} in {time.perf_counter() - started:.0f} s"

    budgets = Budgets("bench.package_size")
    layer_root = out / build.LAYER_OUT
    layer_bytes = tree_bytes(layer_root)
    layer_zip = (out / f"{build.LAYER_OUT}.zip").stat().st_size
    layer_elf = build.elf_files(layer_root)
    checker = python312()
    rows = []
    for function, budget in BUDGET_MB.items():
        root = out / function
        own = tree_bytes(root)
        total = own + layer_bytes
        zipped = (out / f"{function}.zip").stat().st_size + layer_zip
        machines = Counter(
            build.machine_name(m) for m in [*build.elf_files(root).values(), *layer_elf.values()]
        )
        archs = ", ".join(f"{arch} x{count}" for arch, count in sorted(machines.items())) or "none"
        fits = total <= budget * MB
        all_x86 = set(machines) <= {"x86_64"}
        verdict = budgets.check(
            f"{function} size", fits, f"{total / MB:.1f} MB unzipped with the layer, budget {budget} MB"
        )
        if not all_x86:
            verdict = budgets.check(f"{function} architecture", False, f"compiled files: {archs}")
        imports = import_check(checker, function, out)
        if imports.startswith("FAILED"):
            verdict = budgets.check(f"{function} import", False, imports)
        rows.append(
            f"| {function} | {own / MB:.1f} | {layer_bytes / MB:.1f} | {total / MB:.1f} | {zipped / MB:.1f} "
            f"| {budget} | {verdict} | {sum(machines.values())} | {archs} | {imports} |"
        )

    print()
    print(f"machine: {machine()}; {load_average()}; {how}")
    print(f"imports checked with: {checker or 'nothing (no python3.12: set BUILD_PYTHON)'}")
    print()
    print(
        "| function | function MB | layer MB | total unzipped MB | zipped MB | budget MB | verdict "
        "| .so files | architectures | imports |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---|---|")
    print("\n".join(rows))
    print()
    sizes = {
        path.name: tree_bytes(path) if path.is_dir() else path.stat().st_size
        for path in (layer_root / "python").iterdir()
    }
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:6]
    print("largest in the layer: " + ", ".join(f"{name} {size / MB:.1f} MB" for name, size in largest))
    budgets.finish()


if __name__ == "__main__":
    main()
