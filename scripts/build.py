"""Build the Lambda deployment packages: one folder (and zip) per function and one for the common layer.

    python scripts/build.py all [--out build/lambda] [--zip]     # what `make build` runs without SAM
    python scripts/build.py function NAME --out DIR               # one function's package into DIR
    python scripts/build.py layer --out DIR                       # the layer (DIR/python/...)

Decision: one build logic for both ways of building. template.yaml gives every function and the layer
`Metadata: BuildMethod: makefile`, so `sam build` runs `make build-<LogicalId>` with the small Makefile in
the resource's CodeUri/ContentUri folder (functions/<name>/Makefile, layers/common/Makefile) and
ARTIFACTS_DIR set; that target calls this script with `--out $ARTIFACTS_DIR`. `make build` runs `sam build`
when `sam` is on PATH, and otherwise `all` here, which writes the same folders plus one zip each. SAM's own
python3.12 builder was not used because

- it needs a python3.12 interpreter (or Docker) just to run the build, where pip can fetch Python 3.12
  Linux wheels from any interpreter (`--platform/--python-version/--only-binary`);
- it installs each function's requirements.txt in full, so a function would carry its own copy of what the
  layer already holds (authlib pulls cryptography, google-api-core pulls requests, ...): here a function
  gets only the distributions that the layer, resolved first and used as constraints, does not contain;
- it cannot prune: google-api-python-client ships a discovery document for every Google API (114 MB);
  the calendar adapter builds its client with `static_discovery=True` from calendar.v3.json alone.

Rules applied to every package (`prune`, `strip_symbols`, then `compile_bytecode`, which ships the runtime's
bytecode when a Python 3.12 is at hand): no bytecode of another Python, no console
scripts (bin/), no test suites inside installed packages, only the discovery documents in KEEP_DISCOVERY,
no type stubs (.pyi), no build-time half of cffi, metadata without long descriptions or RECORD, shared
objects without symbol tables the loader never reads; boto3/botocore/s3transfer
are never packaged (the Lambda runtime has them and no code here needs a pinned version). `check` then
requires every ELF file (.so) to be x86_64 (e_machine 62), the functions' architecture in template.yaml.

pip resolves environment markers for the interpreter that runs it, so the resolver runs under Python 3.12
when one is found (BUILD_PYTHON, else `python3.12` on PATH), and otherwise under this interpreter, which
says so. Standard library only: SAM's Makefiles may run it with any python3.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = ROOT / "layers" / "common"
# Function name (folder and package under functions/) -> logical id in template.yaml.
FUNCTIONS = {
    "auth": "AuthFunction",
    "records": "RecordsFunction",
    "calendar_poll": "CalendarPollFunction",
    "prep": "PrepFunction",
    "export": "ExportFunction",
}
LAYER_ID = "CommonLayer"
DEFAULT_OUT = ROOT / "build" / "lambda"
LAYER_OUT = "common-layer"

# The python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34), x86_64 (template.yaml: Architectures).
PYTHON_VERSION = "3.12"
PLATFORMS = (
    "manylinux_2_34_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
)
PIP_TARGET = [
    *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
    *("--implementation", "cp", "--python-version", PYTHON_VERSION, "--only-binary=:all:"),
]
# In the Lambda runtime already; nothing here needs another version of them.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
KEEP_DISCOVERY = frozenset({"calendar.v3.json"})
DISCOVERY_DIR = Path("googleapiclient") / "discovery_cache" / "documents"
TEST_DIRS = frozenset({"tests", "test"})
# Build-time halves of cffi: pycparser parses C declarations and the `cffi` package compiles or loads
# them in ABI mode. The extensions here (cryptography's Rust bindings, argon2's bindings) are built in
# API mode and load only the compiled `_cffi_backend` at run time (checked: signing, AES-GCM and argon2
# run from a package without these folders).
BUILD_TIME_ONLY = ("pycparser", "cffi")
# authlib's integrations for frameworks nothing here uses (auth uses requests_client and base_client).
UNUSED_AUTHLIB = tuple(
    f"authlib/integrations/{name}"
    for name in ("django_client", "django_oauth1", "django_oauth2", "flask_client", "flask_oauth1",
                 "flask_oauth2", "sqla_oauth2", "starlette_client", "httpx_client")
)  # fmt: skip
# Packages inside installed distributions that nothing deployed imports. pydantic.v1 is pydantic's copy of
# pydantic 1 for code still on the v1 API: nothing here is; FastAPI imports it only to ask whether a route's
# model is a v1 model (fastapi/_compat/shared.py) and, when the import fails, rightly answers no. Absent, it
# saves 1.2 MB and ~30 ms of every HTTP function's cold start. bench/cold_start.py makes them unimportable
# too, so it measures what is deployed.
UNUSED_PACKAGES = ("pydantic/v1",)
# Compiled speed-ups (mypyc) of modules whose pure-Python source ships beside them, which Python imports
# instead when these are absent: charset_normalizer's detector, which requests calls only to guess the
# encoding of a text body that declares none (auth's Google answers are JSON). 0.4 MB.
OPTIONAL_ACCELERATORS = ("charset_normalizer/md.cpython-*.so", "charset_normalizer/cd.cpython-*.so")
ELF_MACHINES = {3: "i386", 40: "arm", 62: "x86_64", 183: "aarch64"}
X86_64 = 62
DIGEST_FILE = ".inputs-digest"


class BuildError(Exception):
    pass


# ---- requirements and resolution -----------------------------------------------------------------


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    """The requirement specifiers of a requirements.txt (comments and blank lines dropped)."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def requirement_name(line: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    if not match:
        raise BuildError(f"cannot read a distribution name from {line!r}")
    return canonical(match.group(0))


def function_requirements(name: str) -> Path:
    return ROOT / "functions" / name / "requirements.txt"


def layer_requirements() -> Path:
    return LAYER_DIR / "requirements.txt"


def _python_is_312(executable: str) -> bool:
    probe = "import sys, pip; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)"
    try:
        probed = subprocess.run([executable, "-c", probe], capture_output=True, timeout=60)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probed.returncode == 0


def pip_python() -> str:
    """The interpreter that runs pip: its environment markers decide conditional dependencies."""
    override = os.environ.get("BUILD_PYTHON")
    if override:
        return override
    found = shutil.which("python3.12")
    if found and _python_is_312(found):
        return found
    if sys.version_info[:2] != (3, 12):
        print(
            f"note: no python3.12 with pip found (set BUILD_PYTHON); resolving with Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}'s environment markers for cp312 wheels",
            file=sys.stderr,
        )
    return sys.executable


def _pip(python: str, args: list[str]) -> None:
    command = [python, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    result = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 - our own arguments
    if result.returncode != 0:
        raise BuildError(f"pip failed ({' '.join(args[:2])}):\n{result.stdout}\n{result.stderr}")


def resolve(
    python: str, requirements: Iterable[str], constraints: dict[str, str] | None = None
) -> dict[str, str]:
    """Distribution name -> version that pip would install for Lambda (no install: a dry run)."""
    requirements = list(requirements)
    if not requirements:
        return {}
    with tempfile.TemporaryDirectory(prefix="lambda-resolve-") as tmp:
        report = Path(tmp) / "report.json"
        # --target too: older pips (23.x) refuse platform options without it, even on a dry run.
        args = ["install", "--quiet", "--dry-run", "--ignore-installed", "--report", str(report)]
        args += ["--target", str(Path(tmp) / "unused"), *PIP_TARGET]
        if constraints:
            pins = Path(tmp) / "constraints.txt"
            pins.write_text("".join(f"{name}=={version}\n" for name, version in sorted(constraints.items())))
            args += ["-c", str(pins)]
        _pip(python, [*args, *requirements])
        installs = json.loads(report.read_text())["install"]
    return {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}


def install(python: str, pins: dict[str, str], target: Path) -> None:
    """Exactly these distributions (no dependency resolution) as Lambda wheels into target."""
    wanted = {name: version for name, version in pins.items() if name not in RUNTIME_PROVIDED}
    if not wanted:
        return
    target.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}=={version}" for name, version in sorted(wanted.items())]
    _pip(
        python,
        ["install", "--quiet", "--no-deps", "--no-compile", "--target", str(target), *PIP_TARGET, *specs],
    )


# ---- package contents ----------------------------------------------------------------------------


def copy_sources(package: Path, target: Path) -> None:
    """Our package into the build; its JSON data (the bundled OpenAPI document) without the indentation
    kept in the repository for readable diffs (a third of its size)."""
    shutil.copytree(
        package, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"), dirs_exist_ok=True
    )
    for document in target.rglob("*.json"):
        minified = json.dumps(json.loads(document.read_text(encoding="utf-8")), separators=(",", ":"))
        document.write_text(minified, encoding="utf-8")


def prune(root: Path) -> list[Path]:
    """Remove what a deployed function never reads; the removed paths, relative to root.

    Bytecode pip wrote (for the interpreter that ran it; compile_bytecode then writes the runtime's),
    console scripts, test suites shipped inside installed packages (folders named tests/test), every
    googleapiclient discovery document but KEEP_DISCOVERY, cffi's build-time parts (BUILD_TIME_ONLY),
    authlib's integrations for other frameworks, UNUSED_PACKAGES, OPTIONAL_ACCELERATORS, and the long
    descriptions in distribution metadata.
    """
    removed: list[Path] = []

    def drop(path: Path) -> None:
        removed.append(path.relative_to(root))
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()

    for scripts in (root / "bin", root / "python" / "bin"):  # a function's root, a layer's python/
        if scripts.is_dir():
            drop(scripts)
    for documents in (root / DISCOVERY_DIR, root / "python" / DISCOVERY_DIR):
        if documents.is_dir():
            for document in sorted(documents.iterdir()):
                if document.suffix == ".json" and document.name not in KEEP_DISCOVERY:
                    drop(document)
    for site in (root, root / "python"):
        for name in BUILD_TIME_ONLY:
            for path in (site / name, *site.glob(f"{name}-*.dist-info")):
                if path.exists():
                    drop(path)
        for name in (*UNUSED_AUTHLIB, *UNUSED_PACKAGES):
            if (site / name).exists():
                drop(site / name)
        for pattern in OPTIONAL_ACCELERATORS:
            for path in sorted(site.glob(pattern)):
                drop(path)
        for metadata in site.glob("*.dist-info/METADATA"):
            _headers_only(metadata)
        for record in site.glob("*.dist-info/RECORD"):  # pip's file list for uninstalling, nothing else
            drop(record)
    for current, dirs, files in os.walk(root, topdown=True):
        here = Path(current)
        for name in sorted(dirs):
            if name == "__pycache__" or name in TEST_DIRS:
                drop(here / name)
                dirs.remove(name)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo", ".pyi")):  # bytecode; type stubs (read by type checkers only)
                drop(here / name)
    return removed


def _headers_only(metadata: Path) -> None:
    """Keep a distribution's metadata headers (name, version, requirements: what importlib.metadata
    reads) and drop its long description, the README or changelog after the first blank line (pydantic's
    alone is 170 kB)."""
    text = metadata.read_text(encoding="utf-8", errors="replace")
    head, blank, _ = text.partition("\n\n")
    if blank:
        metadata.write_text(head + "\n", encoding="utf-8")


def elf_machine(path: Path) -> int | None:
    """e_machine of an ELF file (62 x86_64, 183 aarch64, ...), or None if path is not ELF."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    order = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], order)


def elf_files(root: Path) -> dict[Path, int]:
    """Every ELF file under root (shared objects, whatever their name) -> e_machine."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            machine = elf_machine(path)
            if machine is not None:
                found[path.relative_to(root)] = machine
    return found


def machine_name(machine: int) -> str:
    return ELF_MACHINES.get(machine, f"e_machine {machine}")


def check(root: Path) -> list[str]:
    """What makes a package unfit for the x86_64 python3.12 runtime (empty: fit)."""
    problems = [
        f"{path}: {machine_name(machine)}, not x86_64"
        for path, machine in elf_files(root).items()
        if machine != X86_64
    ]
    documents = next((p for p in (root / DISCOVERY_DIR, root / "python" / DISCOVERY_DIR) if p.is_dir()), None)
    if documents is not None:
        extra = sorted(p.name for p in documents.glob("*.json") if p.name not in KEEP_DISCOVERY)
        if extra:
            problems.append(
                f"{documents.relative_to(root)}: {len(extra)} discovery documents beyond calendar.v3"
            )
    for provided in sorted(RUNTIME_PROVIDED):
        for base in (root, root / "python"):
            if (base / provided).is_dir():
                problems.append(f"{(base / provided).relative_to(root)}: packaged, but the runtime has it")
    return problems


# ---- builds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    name: str
    path: Path
    distributions: dict[str, str]
    pruned: int


def ensure_build_folder(target: Path) -> None:
    """Refuse the checkout, any folder above it, and any folder with a .git: `--out .` must not empty
    a source tree."""
    resolved = target.resolve()
    if resolved == ROOT or resolved in ROOT.parents or (resolved / ".git").exists():
        raise BuildError(f"refusing to empty {target}: not a build folder")


def _fresh(target: Path) -> None:
    """An empty target folder (ARTIFACTS_DIR may exist and hold an earlier build)."""
    ensure_build_folder(target)
    if target.exists():
        for child in target.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    target.mkdir(parents=True, exist_ok=True)


def strip_symbols(root: Path) -> int:
    """Drop the symbol tables the loader never reads from every shared object (`strip --strip-unneeded`,
    binutils: on any machine with a C toolchain); bytes saved. Without `strip` the package is the same
    but ~3 MB larger (cryptography's and pydantic-core's extensions), and this says so."""
    tool = shutil.which("strip")
    if tool is None:
        print("build: `strip` (binutils) not found: shared objects keep their symbol tables", file=sys.stderr)
        return 0
    saved = 0
    for relative in elf_files(root):
        path = root / relative
        before = path.stat().st_size
        subprocess.run([tool, "--strip-unneeded", str(path)], check=True)  # noqa: S603 - our own build output
        saved += before - path.stat().st_size
    return saved


# Run by the Python 3.12 that compiles a package: every .py under argv[1] is compiled with hash-based
# bytecode that is never checked against its source (the package is immutable once built). Modules of
# our own packages (argv[2:], folders relative to argv[1]) keep their source, so tracebacks show our
# lines, and get the usual __pycache__/<name>.cpython-312.pyc; every other module is replaced by its
# bytecode in place (<name>.pyc beside where <name>.py was, which the import system loads without a
# source). A file that does not compile (none today) keeps its source. Prints the number of modules compiled.
_COMPILE = """
import os, py_compile, sys
root, ours = sys.argv[1], tuple(sys.argv[2:])
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
count = 0
for current, dirs, files in os.walk(root):
    relative = os.path.relpath(current, root)
    own = any(relative == folder or relative.startswith(folder + os.sep) for folder in ours)
    for name in files:
        if not name.endswith(".py"):
            continue
        source = os.path.join(current, name)
        target = None if own else source + "c"
        try:
            py_compile.compile(source, cfile=target, doraise=True, invalidation_mode=mode, optimize=0)
        except py_compile.PyCompileError:
            continue
        if not own:
            os.remove(source)
        count += 1
print(count)
"""


def bytecode_python(python: str) -> str | None:
    """A Python 3.12 to compile bytecode with (the runtime's version: bytecode is per minor version): the
    resolver's interpreter, BUILD_PYTHON or python3.12 on PATH; None when there is none."""
    for candidate in (python, os.environ.get("BUILD_PYTHON"), shutil.which("python3.12")):
        if candidate and _python_is_312(candidate):
            return candidate
    return None


def compile_bytecode(root: Path, python: str | None, ours: Iterable[str]) -> int:
    """Ship bytecode: modules compiled for the runtime's Python, so a cold start does not compile them.

    Lambda's code folders are read-only, so without bytecode in the package Python compiles every module
    it imports on every cold start (here: `import fastapi, mangum` 1.6 s of CPU from source against
    0.5 s from bytecode). Third-party modules are replaced by their bytecode (no bigger than the sources
    it replaces: the layer's 5.0 MB of .py become 5.4 MB of .pyc); ours keep their source beside it.
    Without a Python 3.12 the package ships sources only, and this says so. Modules compiled.
    """
    if python is None:
        print(
            "build: no Python 3.12 (set BUILD_PYTHON): the package ships without bytecode, and each cold "
            "start compiles what it imports (~3x the import time)",
            file=sys.stderr,
        )
        return 0
    result = subprocess.run(  # noqa: S603 - our own script and build folder
        [python, "-I", "-c", _COMPILE, str(root), *ours], capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip() or 0)


def _finish(name: str, root: Path, distributions: dict[str, str], python: str) -> Built:
    pruned = prune(root)
    strip_symbols(root)
    compile_bytecode(root, bytecode_python(python), ours=["python/common" if name == LAYER_OUT else name])
    problems = check(root)
    if problems:
        raise BuildError(f"{name}: " + "; ".join(problems))
    return Built(name, root, distributions, len(pruned))


def build_layer(target: Path, python: str) -> Built:
    """The layer into target/python/: layers/common/requirements.txt resolved for Lambda, and `common`."""
    _fresh(target)
    site = target / "python"
    pins = resolve(python, requirement_lines(layer_requirements()))
    install(python, pins, site)
    copy_sources(LAYER_DIR / "common", site / "common")
    return _finish(LAYER_OUT, target, pins, python)


def build_function(name: str, target: Path, python: str, layer_pins: dict[str, str] | None = None) -> Built:
    """A function into target: its package, and the distributions its requirements add to the layer's.

    The function's requirements are resolved together with the layer's, the layer's versions as
    constraints, so a dependency both need is the layer's copy (one version, installed once).
    """
    if name not in FUNCTIONS:
        raise BuildError(f"unknown function {name!r} (one of {', '.join(FUNCTIONS)})")
    _fresh(target)
    layer_lines = requirement_lines(layer_requirements())
    own = requirement_lines(function_requirements(name))
    added: dict[str, str] = {}
    if own:
        if layer_pins is None:
            layer_pins = resolve(python, layer_lines)
        combined = resolve(python, [*layer_lines, *own], constraints=layer_pins)
        added = {dist: version for dist, version in combined.items() if dist not in layer_pins}
        install(python, added, target)
    copy_sources(ROOT / "functions" / name / name, target / name)
    return _finish(name, target, added, python)


def inputs_digest() -> str:
    """SHA-256 over everything a build reads from the checkout (sources, requirements, this script)."""
    digest = hashlib.sha256()
    paths = [Path(__file__).resolve(), layer_requirements(), *_source_files(LAYER_DIR / "common")]
    for name in FUNCTIONS:
        paths += [function_requirements(name), *_source_files(ROOT / "functions" / name / name)]
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _source_files(package: Path) -> Iterator[Path]:
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith((".pyc", ".pyo")):
            yield path


def make_zip(source: Path, destination: Path) -> Path:
    """A reproducible zip of source's contents (sorted, fixed timestamps, 0644/0755)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if not path.is_file() or path.name == DIGEST_FILE:
                continue
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return destination


def build_all(out: Path, *, zips: bool = True, python: str | None = None) -> list[Built]:
    """The layer and every function under out/ (out/common-layer, out/<function>), zips beside them."""
    python = python or pip_python()
    out.mkdir(parents=True, exist_ok=True)
    (out / DIGEST_FILE).unlink(missing_ok=True)
    layer = build_layer(out / LAYER_OUT, python)
    built = [layer]
    for name in FUNCTIONS:
        built.append(build_function(name, out / name, python, layer.distributions))
    if zips:
        for item in built:
            make_zip(item.path, out / f"{item.name}.zip")
    (out / DIGEST_FILE).write_text(json.dumps({"digest": inputs_digest(), "built_at": time.time()}))
    return built


def is_fresh(out: Path, max_age_seconds: float) -> bool:
    """out holds a complete `all` build of the current sources, at most max_age_seconds old."""
    try:
        stamp = json.loads((out / DIGEST_FILE).read_text())
    except (OSError, ValueError):
        return False
    names = [LAYER_OUT, *FUNCTIONS]
    complete = all((out / name).is_dir() and (out / f"{name}.zip").is_file() for name in names)
    young = time.time() - float(stamp.get("built_at", 0)) <= max_age_seconds
    return complete and young and stamp.get("digest") == inputs_digest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    everything = sub.add_parser("all", help="the layer and every function, with zips")
    everything.add_argument("--out", type=Path, default=DEFAULT_OUT)
    everything.add_argument("--no-zip", action="store_true")
    one = sub.add_parser("function", help="one function (sam build: --out $ARTIFACTS_DIR)")
    one.add_argument("name", choices=sorted(FUNCTIONS))
    one.add_argument("--out", type=Path, required=True)
    layer = sub.add_parser("layer", help="the common layer (sam build: --out $ARTIFACTS_DIR)")
    layer.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        if args.command == "all":
            built = build_all(args.out, zips=not args.no_zip)
        elif args.command == "function":
            built = [build_function(args.name, args.out, pip_python())]
        else:
            built = [build_layer(args.out, pip_python())]
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    for item in built:
        size = sum(p.stat().st_size for p in item.path.rglob("*") if p.is_file())
        extra = ", ".join(f"{n} {v}" for n, v in sorted(item.distributions.items())) or "no distributions"
        print(f"{item.name}: {size / 1e6:.1f} MB in {item.path} ({extra}; {item.pruned} paths pruned)")
    print(f"built in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
