"""The deployment packages (scripts/build.py), offline: no pip, no network.

- each function's requirements.txt plus the layer's cover every third-party module its code can import
  (the function's package and every `common` module it reaches, imports inside functions included), and
  list nothing it does not import;
- the pruning rule keeps calendar.v3.json and drops every other discovery document, bytecode, test
  folders and console scripts; the ELF check tells x86_64 from aarch64;
- template.yaml builds every function and the layer with the Makefile in its CodeUri, which runs
  scripts/build.py for that resource.

The real build (pip, PyPI) is `make build`; its sizes and budgets are bench/package_size.py.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import zipfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from scripts import build
from tests.integration.test_template import load_template

ROOT = build.ROOT
SOURCES = {
    "common": build.LAYER_DIR / "common",
    **{name: ROOT / "functions" / name / name for name in build.FUNCTIONS},
}
# Imported by reachable code but never installed for Lambda, and why.
RUNTIME_PROVIDED = {"boto3", "botocore"}  # the python3.12 runtime ships them
LOCAL_ONLY = {
    "libsql"
}  # common.db.embedded: `file:` databases; template.yaml accepts only libsql:// and https://


# ---- requirements against imports -----------------------------------------------------------------


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    base = SOURCES.get(parts[0])
    if base is None:
        return None
    path = base.joinpath(*parts[1:])
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imports(path: Path, module: str) -> set[str]:
    """Every module name an import statement in the file names (`from a import b` gives a and a.b)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@cache
def third_party_imports(function: str) -> frozenset[str]:
    """Dotted third-party module names reachable from the function's handler through our own code."""
    seen: set[str] = set()
    found: set[str] = set()
    todo = [f"{function}.handler"]
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if path is None or module in seen:
            continue
        seen.add(module)
        for name in _imports(path, module):
            top = name.split(".")[0]
            if top in SOURCES:
                parts = name.split(".")
                todo.extend(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(name)
    return frozenset(found)


@cache
def _top_level_distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@cache
def _distribution_files() -> dict[str, list[str]]:
    return {
        build.canonical(dist.metadata["Name"]): [str(file) for file in dist.files or []]
        for dist in metadata.distributions()
    }


def distribution_of(module: str) -> str:
    """The installed distribution that provides a module (namespace packages by their second level)."""
    parts = module.split(".")
    candidates = {build.canonical(d) for d in _top_level_distributions().get(parts[0], [])}
    if len(candidates) == 1:
        return candidates.pop()
    prefix = "/".join(parts[:2])
    for dist in sorted(candidates):
        if any(f.startswith(prefix + "/") or f == prefix + ".py" for f in _distribution_files()[dist]):
            return dist
    raise AssertionError(f"no installed distribution provides {module}")


@cache
def needed(function: str) -> dict[str, set[str]]:
    """Distribution -> the modules of it that the function's code imports."""
    result: dict[str, set[str]] = {}
    for module in third_party_imports(function):
        result.setdefault(distribution_of(module), set()).add(module)
    return result


def requirements(path: Path) -> set[str]:
    return {build.requirement_name(line) for line in build.requirement_lines(path)}


LAYER = requirements(build.layer_requirements())


@pytest.mark.parametrize("function", list(build.FUNCTIONS))
def test_a_function_and_the_layer_provide_every_module_the_function_imports(function: str) -> None:
    own = requirements(build.function_requirements(function))
    wanted = needed(function)
    missing = set(wanted) - own - LAYER - RUNTIME_PROVIDED - LOCAL_ONLY
    assert not missing, (
        f"{function} imports {sorted(missing)}: add them to its (or the layer's) requirements.txt"
    )
    unused = own - set(wanted)
    assert not unused, f"functions/{function}/requirements.txt lists {sorted(unused)}, which it never imports"
    assert not own & LAYER, f"{function} lists what the layer already installs: {sorted(own & LAYER)}"


def test_the_layer_lists_only_what_functions_import() -> None:
    used = set().union(*(needed(function) for function in build.FUNCTIONS))
    assert LAYER <= used, f"the layer installs what no function imports: {sorted(LAYER - used)}"
    assert not LAYER & (RUNTIME_PROVIDED | LOCAL_ONLY)


def test_the_import_walk_sees_lazy_and_namespace_imports() -> None:
    """The walk must not miss imports inside functions, or a namespace package's real distribution."""
    calendar = needed("calendar_poll")
    assert "google-api-python-client" in calendar  # imported inside GoogleCalendarSource.list_events
    assert "google-auth" in calendar  # google.oauth2 / google.auth, not protobuf's google.protobuf
    assert "argon2-cffi" in needed("auth")  # through common.passwords
    assert "argon2-cffi" not in needed("records")
    assert "libsql" in needed("records")  # common.db -> common.db.embedded, imported only for file: URLs


def test_requirement_lines_skip_comments_and_read_names(tmp_path: Path) -> None:
    file = tmp_path / "requirements.txt"
    file.write_text("# header\n\npyjwt[crypto]>=2.10,<3  # extra\nGoogle_Auth.httplib2>=0.2\n")
    assert build.requirement_lines(file) == ["pyjwt[crypto]>=2.10,<3", "Google_Auth.httplib2>=0.2"]
    assert requirements(file) == {"pyjwt", "google-auth-httplib2"}


# ---- pruning and the architecture check -----------------------------------------------------------


def _write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_prune_keeps_the_calendar_discovery_document_and_drops_the_rest(tmp_path: Path) -> None:
    documents = tmp_path / "googleapiclient" / "discovery_cache" / "documents"
    for name in ("calendar.v3.json", "drive.v3.json", "gmail.v1.json", "calendar.v2.json"):
        _write(documents / name, b"{}")
    _write(tmp_path / "googleapiclient" / "discovery_cache" / "__init__.py")
    kept = [
        _write(tmp_path / "googleapiclient" / "discovery.py"),
        _write(tmp_path / "pkg" / "module.py"),
        _write(tmp_path / "pkg" / "testing.py"),
        _write(tmp_path / "pkg-1.0.dist-info" / "licenses" / "LICENSE"),
    ]
    dropped = [
        _write(tmp_path / "pkg" / "__pycache__" / "module.cpython-312.pyc"),
        _write(tmp_path / "pkg" / "stale.pyc"),
        _write(tmp_path / "pkg" / "module.pyi"),
        _write(tmp_path / "pkg-1.0.dist-info" / "RECORD"),
        _write(tmp_path / "pkg" / "tests" / "test_module.py"),
        _write(tmp_path / "bin" / "normalizer"),
        _write(tmp_path / "python" / "bin" / "dotenv"),
        _write(tmp_path / "python" / "googleapiclient" / "discovery_cache" / "documents" / "drive.v3.json"),
    ]

    removed = build.prune(tmp_path)

    assert sorted(p.name for p in documents.iterdir()) == ["calendar.v3.json"]
    assert all(path.is_file() for path in kept)
    assert not any(path.exists() for path in dropped)
    assert not (tmp_path / "pkg" / "tests").exists() and not (tmp_path / "bin").exists()
    assert Path("googleapiclient/discovery_cache/documents/drive.v3.json") in removed
    assert build.check(tmp_path) == []


def test_prune_drops_cffis_build_time_half_unused_authlib_and_long_descriptions(tmp_path: Path) -> None:
    site = tmp_path / "python"
    backend = _write(site / "_cffi_backend.cpython-312-x86_64-linux-gnu.so")
    requests_client = _write(site / "authlib" / "integrations" / "requests_client" / "__init__.py")
    oauth1 = _write(site / "authlib" / "oauth1" / "__init__.py")  # requests_client imports it
    pydantic_kept = _write(site / "pydantic" / "main.py")
    detector = _write(site / "charset_normalizer" / "md.py")  # imported in place of the accelerator
    metadata_file = _write(
        site / "pydantic-2.14.4.dist-info" / "METADATA",
        b"Metadata-Version: 2.4\nName: pydantic\nVersion: 2.14.4\nRequires-Dist: pydantic-core==2.41\n\n"
        + b"# Pydantic\n"
        + b"changelog line\n" * 1000,
    )
    entry_points = _write(site / "opentelemetry_api-1.45.2.dist-info" / "entry_points.txt", b"[x]\na = b:c\n")
    dropped = [
        _write(site / "pycparser" / "c_parser.py"),
        _write(site / "pycparser-2.22.dist-info" / "METADATA"),
        _write(site / "cffi" / "api.py"),
        _write(site / "cffi-2.0.0.dist-info" / "METADATA"),
        _write(site / "authlib" / "integrations" / "flask_client" / "__init__.py"),
        _write(site / "pydantic" / "v1" / "main.py"),
        _write(site / "charset_normalizer" / "md.cpython-312-x86_64-linux-gnu.so"),
        _write(site / "charset_normalizer" / "cd.cpython-312-x86_64-linux-gnu.so"),
    ]

    build.prune(tmp_path)

    assert backend.is_file() and requests_client.is_file() and oauth1.is_file() and entry_points.is_file()
    assert pydantic_kept.is_file() and detector.is_file()
    assert not any(path.exists() for path in dropped)
    assert metadata_file.read_text() == (
        "Metadata-Version: 2.4\nName: pydantic\nVersion: 2.14.4\nRequires-Dist: pydantic-core==2.41\n"
    )


def test_check_refuses_extra_discovery_documents_and_runtime_sdks(tmp_path: Path) -> None:
    _write(tmp_path / "python" / "googleapiclient" / "discovery_cache" / "documents" / "drive.v3.json")
    _write(tmp_path / "python" / "boto3" / "__init__.py")
    problems = build.check(tmp_path)
    assert len(problems) == 2
    assert "discovery documents" in problems[0] and "boto3" in problems[1]


def elf_header(machine: int, *, little_endian: bool = True) -> bytes:
    """The first 64 bytes of a 64-bit ELF shared object for the given e_machine."""
    order = "little" if little_endian else "big"
    ident = b"\x7fELF" + bytes([2, 1 if little_endian else 2, 1, 0]) + bytes(8)
    return ident + (3).to_bytes(2, order) + machine.to_bytes(2, order) + bytes(44)


def test_the_elf_check_tells_x86_64_from_aarch64(tmp_path: Path) -> None:
    x86 = _write(tmp_path / "pkg" / "_speedups.cpython-312-x86_64-linux-gnu.so", elf_header(62))
    arm = _write(tmp_path / "pkg.libs" / "libffi-1a2b.so.8.1.0", elf_header(183))
    big = _write(tmp_path / "pkg" / "_big.so", elf_header(62, little_endian=False))
    text = _write(tmp_path / "pkg" / "fake.so", b"not an ELF file at all, just text")
    short = _write(tmp_path / "pkg" / "short.so", b"\x7fELF")

    assert build.elf_machine(x86) == 62 and build.elf_machine(big) == 62
    assert build.elf_machine(arm) == 183
    assert build.elf_machine(text) is None and build.elf_machine(short) is None
    assert build.machine_name(183) == "aarch64"
    # Found by content, whatever the file name (versioned .so.N files in *.libs folders included).
    assert set(build.elf_files(tmp_path)) == {p.relative_to(tmp_path) for p in (x86, arm, big)}
    (problem,) = build.check(tmp_path)
    assert "libffi-1a2b.so.8.1.0" in problem and "aarch64" in problem


# ---- builds without network -------------------------------------------------------------------------


def test_a_function_without_requirements_builds_offline(tmp_path: Path) -> None:
    """records and export add nothing to the layer: their build copies the package, and never calls pip."""
    offline = [
        name for name in build.FUNCTIONS if not build.requirement_lines(build.function_requirements(name))
    ]
    if not offline:
        pytest.skip("every function has requirements of its own")
    name = offline[0]
    (tmp_path / "stale.txt").write_text("from an earlier build")
    built = build.build_function(name, tmp_path, python="/nonexistent/python")
    assert built.distributions == {}
    assert (tmp_path / name / "handler.py").is_file()
    assert not (tmp_path / "stale.txt").exists()
    sources = {
        p.relative_to(SOURCES[name]) for p in SOURCES[name].rglob("*.py") if "__pycache__" not in p.parts
    }
    assert {p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*.py")} == sources
    # Our modules keep their source; with a Python 3.12 at hand each also gets its runtime's bytecode.
    compiled = {p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*.pyc")}
    expected = {s.parent / "__pycache__" / f"{s.stem}.cpython-312.pyc" for s in sources}
    assert compiled == (expected if build.bytecode_python("/nonexistent/python") else set())


def test_bytecode_replaces_third_party_sources_and_sits_beside_ours(tmp_path: Path) -> None:
    python = build.bytecode_python(sys.executable)
    if python is None:
        pytest.skip("no Python 3.12 here (BUILD_PYTHON or python3.12 on PATH)")
    _write(tmp_path / "python" / "vendor" / "__init__.py", b"VALUE = 41 + 1\n")
    _write(tmp_path / "python" / "common" / "__init__.py", b"from vendor import VALUE\n")
    _write(tmp_path / "python" / "common" / "broken_template.py", b"def (:\n")
    assert build.compile_bytecode(tmp_path, python, ours=["python/common"]) == 2
    site = tmp_path / "python"
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.py*")) == [
        "common/__init__.py",
        "common/__pycache__/__init__.cpython-312.pyc",
        "common/broken_template.py",  # does not compile: left as it was
        "vendor/__init__.pyc",  # no source: the runtime loads the bytecode in its place
    ]
    # The runtime's Python imports both, the third-party one from bytecode alone, and does not write any.
    code = "import common, vendor, sys; print(common.VALUE, vendor.__file__.endswith('.pyc'))"
    out = subprocess.run(
        [python, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["42", "True"]


def test_a_build_never_empties_a_checkout(tmp_path: Path) -> None:
    for folder in (ROOT, ROOT.parent, ROOT / "functions" / ".."):  # checked only: nothing is emptied
        with pytest.raises(build.BuildError, match="refusing to empty"):
            build.ensure_build_folder(folder)
    build.ensure_build_folder(tmp_path / "out")
    clone = _write(tmp_path / "clone" / "keep.py")
    (tmp_path / "clone" / ".git").mkdir()
    with pytest.raises(build.BuildError, match="refusing to empty"):
        build.build_function("records", tmp_path / "clone", python="/nonexistent/python")
    assert clone.is_file()


def test_zips_are_reproducible(tmp_path: Path) -> None:
    source = tmp_path / "pkg"
    _write(source / "b" / "module.py", b"print('b')\n")
    _write(source / "a.py", b"print('a')\n")
    _write(source / build.DIGEST_FILE, b"{}")
    first = build.make_zip(source, tmp_path / "one.zip").read_bytes()
    (source / "a.py").touch()
    second = build.make_zip(source, tmp_path / "two.zip").read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["a.py", "b/module.py"]


# ---- template.yaml and the per-resource Makefiles ---------------------------------------------------


def _built_resources() -> dict[str, tuple[str, dict[str, Any]]]:
    """Logical id -> (code folder, resource) of every function and layer in template.yaml."""
    found = {}
    for logical_id, resource in load_template()["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            found[logical_id] = (props["CodeUri"], resource)
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            found[logical_id] = (props["ContentUri"], resource)
    return found


def test_every_function_and_the_layer_are_built_by_scripts_build() -> None:
    resources = _built_resources()
    expected = {logical_id: f"functions/{name}/" for name, logical_id in build.FUNCTIONS.items()}
    expected[build.LAYER_ID] = "layers/common/"
    assert {logical_id: code for logical_id, (code, _) in resources.items()} == expected
    for logical_id, (_, resource) in resources.items():
        assert resource.get("Metadata", {}).get("BuildMethod") == "makefile", logical_id


@pytest.mark.parametrize("logical_id", [*build.FUNCTIONS.values(), build.LAYER_ID])
def test_sam_runs_the_build_script_through_the_makefile_in_the_code_folder(
    logical_id: str, tmp_path: Path
) -> None:
    """As sam build does: `make --makefile <CodeUri>/Makefile build-<LogicalId>` in a scratch folder."""
    code, _ = _built_resources()[logical_id]
    makefile = ROOT / code / "Makefile"
    artifacts = tmp_path / "artifacts"
    result = subprocess.run(
        ["make", "--dry-run", "--makefile", str(makefile), f"build-{logical_id}"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    name = next((n for n, i in build.FUNCTIONS.items() if i == logical_id), None)
    what = f"function {name}" if name else "layer"
    pattern = (
        rf'"[^"]*python[0-9.]*" "{re.escape(str(ROOT / "scripts" / "build.py"))}" {what} --out "{artifacts}"'
    )
    assert re.fullmatch(pattern, result.stdout.strip()), result.stdout


def test_our_json_data_is_packaged_minified_and_equal(tmp_path: Path) -> None:
    source = ROOT / "functions" / "auth" / "auth"
    build.copy_sources(source, tmp_path / "auth")
    packaged = tmp_path / "auth" / "openapi.json"
    original = source / "openapi.json"
    assert json.loads(packaged.read_text()) == json.loads(original.read_text())
    assert packaged.stat().st_size < 0.75 * original.stat().st_size
