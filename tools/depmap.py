#!/usr/bin/env python3
"""Check TinyTorch's packages against its dependency map, and generate what repeats it.

`tools/depmap.toml` is the one machine-readable copy of the map. This tool makes
sure the packages, the workspace and the documentation agree with it:

    python tools/depmap.py check [--root DIR] [--no-lock-check]
    python tools/depmap.py generate [--root DIR]
    python tools/depmap.py leaf [--root DIR]          # present package with the largest closure
    python tools/depmap.py closure PKG [--root DIR]   # PKG and every tt-* package it pulls in

Standard library only, so it runs before any environment exists.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

META = "tinytorch"
MAP_FILE = Path("tools") / "depmap.toml"
PACKAGES_DIR = "packages"
TEST_ROOTS = ("packages", "tests-integration", "tools/tests")
DRIFT_HINT = "drift: run `python tools/depmap.py generate`"

# The documented map, copied from shared/docs/dependency-map.md ("Required direct
# dependencies"). depmap.toml may add `extra` edges but must keep exactly these
# modules, numbers and required edges; the checker compares the two.
REFERENCE: dict[str, tuple[int, tuple[str, ...]]] = {
    "tt-tensor": (1, ()),
    "tt-activations": (2, ("tt-tensor",)),
    "tt-layers": (3, ("tt-tensor",)),
    "tt-losses": (4, ("tt-tensor",)),
    "tt-autograd": (5, ("tt-tensor",)),
    "tt-optimizers": (6, ("tt-autograd",)),
    "tt-training": (7, ("tt-autograd",)),
    "tt-dataloader": (8, ("tt-tensor",)),
    "tt-spatial": (9, ("tt-tensor", "tt-activations", "tt-layers", "tt-autograd")),
    "tt-tokenization": (10, ("tt-tensor",)),
    "tt-embeddings": (11, ("tt-tokenization",)),
    "tt-attention": (12, ("tt-tensor", "tt-layers", "tt-autograd", "tt-embeddings")),
    "tt-transformers": (13, ("tt-activations", "tt-embeddings", "tt-attention")),
    "tt-profiling": (14, ()),
    "tt-quantization": (15, ("tt-profiling",)),
    "tt-compression": (16, ("tt-profiling",)),
    "tt-memoization": (17, ("tt-profiling", "tt-attention", "tt-transformers")),
    "tt-acceleration": (18, ("tt-profiling",)),
    "tt-benchmarking": (19, ("tt-profiling",)),
    "tt-capstone": (20, ("tt-spatial", "tt-benchmarking")),
}


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Module:
    """One entry of the map: a distribution, its place in the order and its edges."""

    name: str
    number: int
    idea: str
    requires: tuple[str, ...]
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def edges(self) -> tuple[str, ...]:
        return self.requires + tuple(self.extra)

    @property
    def import_name(self) -> str:
        return import_name(self.name)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        self.problems.append(message)


def normalize(name: str) -> str:
    """PEP 503 normalisation, so `TT_Tensor` and `tt-tensor` are one name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def import_name(dist: str) -> str:
    return dist.replace("-", "_")


def is_sibling(dist: str) -> bool:
    return dist == META or dist.startswith("tt-")


def is_sibling_import(top: str) -> bool:
    return top == META or top.startswith("tt_")


# ------------------------------------------------------------------ TOML helpers


def _load_toml(path: Path, report: Report, root: Path) -> dict[str, object] | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        report.problem(f"{_rel(path, root)}: missing")
    except tomllib.TOMLDecodeError as exc:
        report.problem(f"{_rel(path, root)}: invalid TOML: {exc}")
    return None


def _table(data: Mapping[str, object], key: str) -> dict[str, object]:
    value = data.get(key)
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {}


def _str_list(value: object) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [str(item) for item in value]
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# ------------------------------------------------------------------------ the map


def load_map(root: Path, report: Report) -> list[Module]:
    """Read tools/depmap.toml; schema problems go to `report`, valid modules come back."""
    path = root / MAP_FILE
    data = _load_toml(path, report, root)
    if data is None:
        return []
    modules: list[Module] = []
    for name, raw in _table(data, "modules").items():
        where = f"{MAP_FILE.as_posix()} [modules.{name}]"
        if not isinstance(raw, dict):
            report.problem(f"{where}: must be a table")
            continue
        unknown = sorted(set(raw) - {"number", "idea", "requires", "extra"})
        if unknown:
            report.problem(f"{where}: unknown keys {unknown}")
        number = raw.get("number")
        idea = raw.get("idea")
        requires = _str_list(raw.get("requires", []))
        extra_raw = raw.get("extra", {})
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            report.problem(f"{where}: `number` must be a positive integer, got {number!r}")
            continue
        if not isinstance(idea, str) or not idea.strip():
            report.problem(f"{where}: `idea` must be a non-empty string")
            idea = ""
        if requires is None:
            report.problem(f"{where}: `requires` must be a list of package names")
            continue
        if not isinstance(extra_raw, dict):
            report.problem(f'{where}: `extra` must be an inline table {{ "tt-x" = "reason" }}')
            continue
        extra: dict[str, str] = {}
        for dep, reason in extra_raw.items():
            if not isinstance(reason, str) or not reason.strip():
                report.problem(f"{where}: extra edge {name} -> {dep} has no reason")
            extra[normalize(str(dep))] = reason if isinstance(reason, str) else ""
        modules.append(
            Module(normalize(name), number, idea, tuple(normalize(r) for r in requires), extra)
        )
    modules.sort(key=lambda m: m.number)
    return modules


def check_map(modules: Sequence[Module], report: Report) -> None:
    """The map against the documented map, module order, duplicates and cycles."""
    by_name = {m.name: m for m in modules}
    numbers: dict[int, str] = {}
    for m in modules:
        if m.number in numbers:
            report.problem(f"map: {m.name} and {numbers[m.number]} share number {m.number}")
        numbers[m.number] = m.name
    for name, (number, required) in REFERENCE.items():
        mod = by_name.get(name)
        if mod is None:
            report.problem(f"map: lacks module {name} (number {number}) of the documented map")
            continue
        if mod.number != number:
            report.problem(f"map: {name} has number {mod.number}, the documented map says {number}")
        for dep in required:
            if dep not in mod.requires:
                report.problem(f"map: lacks required edge {name} -> {dep} of the documented map")
        for dep in mod.requires:
            if dep not in required:
                report.problem(
                    f"map: {name} requires {dep}, which the documented map does not require;"
                    f" make it an extra edge with a reason"
                )
    for m in modules:
        if m.name not in REFERENCE:
            report.problem(f"map: module {m.name} is not in the documented map")
        if len(set(m.requires)) != len(m.requires):
            report.problem(f"map: {m.name} lists a required edge twice")
        for dep in m.extra:
            if dep in m.requires:
                report.problem(f"map: {m.name} -> {dep} is both required and extra")
        for dep in m.edges:
            target = by_name.get(dep)
            if target is None:
                report.problem(f"map: edge {m.name} -> {dep} points to a module not in the map")
            elif target.number >= m.number:
                report.problem(
                    f"map: edge {m.name} ({m.number:02d}) -> {dep} ({target.number:02d})"
                    f" is not strictly downward in module order"
                )
    for cycle in find_cycles({m.name: list(m.edges) for m in modules}):
        report.problem(f"map: cycle {' -> '.join([*cycle, cycle[0]])}")


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(graph.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    cycles.append(sorted(component))
    return cycles


def closure(modules: Sequence[Module], name: str) -> list[str]:
    """`name` and every module it reaches through map edges, in module order."""
    by_name = {m.name: m for m in modules}
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        mod = by_name.get(current)
        if mod is not None:
            todo.extend(mod.edges)
    order = {m.name: m.number for m in modules}
    return sorted(seen, key=lambda n: (order.get(n, 0), n))


def pick_leaf(modules: Sequence[Module], present: Iterable[str]) -> str | None:
    """The present package whose closure is largest (ties: the later module)."""
    numbers = {m.name: m.number for m in modules}
    candidates = [name for name in present if name in numbers]
    if not candidates:
        return None
    return max(candidates, key=lambda n: (len(closure(modules, n)), numbers[n]))


# ----------------------------------------------------- requirements and versions


class SpecifierError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    name: str
    specifier: str
    direct_reference: bool
    text: str


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?(.*)$")
_CLAUSE = re.compile(r"^(===|~=|==|!=|<=|>=|<|>)\s*(\S+)$")
_VERSION = re.compile(r"^\d+(?:\.\d+)*$")


def parse_requirement(text: str) -> Requirement | None:
    """The PEP 508 subset used here: name, optional extras, specifier, optional marker."""
    body = text.split(";", 1)[0]
    match = _REQUIREMENT.match(body)
    if match is None:
        return None
    rest = match.group(3).strip()
    direct = rest.startswith("@")
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    return Requirement(normalize(match.group(1)), "" if direct else rest, direct, text)


def parse_version(text: str) -> tuple[int, ...]:
    if not _VERSION.match(text):
        raise SpecifierError(f"unsupported version {text!r} (only N.N.N release versions)")
    return tuple(int(part) for part in text.split("."))


def _compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    width = max(len(a), len(b))
    pa = a + (0,) * (width - len(a))
    pb = b + (0,) * (width - len(b))
    return (pa > pb) - (pa < pb)


def specifier_contains(specifier: str, version: str) -> bool:
    """Whether `version` satisfies every comma-separated clause of `specifier`.

    Supports ==, !=, <, <=, >, >= and the `==X.*` / `!=X.*` prefix forms: the
    subset this project writes. Anything else raises SpecifierError.
    """
    have = parse_version(version)
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = _CLAUSE.match(clause)
        if match is None or match.group(1) in ("===", "~="):
            raise SpecifierError(f"unsupported specifier clause {clause!r}")
        op, target = match.groups()
        if target.endswith(".*") and op in ("==", "!="):
            prefix = parse_version(target[:-2])
            padded = have + (0,) * max(0, len(prefix) - len(have))
            ok = padded[: len(prefix)] == prefix
            if ok != (op == "=="):
                return False
            continue
        cmp = _compare(have, parse_version(target))
        ok = {
            "==": cmp == 0,
            "!=": cmp != 0,
            "<": cmp < 0,
            "<=": cmp <= 0,
            ">": cmp > 0,
            ">=": cmp >= 0,
        }[op]
        if not ok:
            return False
    return True


# ---------------------------------------------------------------------- packages


@dataclass
class Package:
    name: str
    path: Path
    project: dict[str, object]
    build_system: dict[str, object]
    requirements: list[Requirement]

    @property
    def version(self) -> str | None:
        value = self.project.get("version")
        return value if isinstance(value, str) else None

    @property
    def siblings(self) -> dict[str, Requirement]:
        return {r.name: r for r in self.requirements if is_sibling(r.name)}

    @property
    def import_name(self) -> str:
        return import_name(self.name)


def package_dirs(root: Path) -> list[Path]:
    base = root / PACKAGES_DIR
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))


def load_package(path: Path, root: Path, report: Report) -> Package | None:
    data = _load_toml(path / "pyproject.toml", report, root)
    if data is None:
        return None
    project = _table(data, "project")
    where = _rel(path / "pyproject.toml", root)
    raw_deps = _str_list(project.get("dependencies", []))
    if raw_deps is None:
        report.problem(f"{where}: [project].dependencies must be a list of strings")
        raw_deps = []
    requirements: list[Requirement] = []
    for text in raw_deps:
        req = parse_requirement(text)
        if req is None:
            report.problem(f"{where}: cannot parse requirement {text!r}")
        else:
            requirements.append(req)
    pkg = Package(path.name, path, project, _table(data, "build-system"), requirements)
    if project.get("name") != path.name:
        report.problem(
            f"{where}: [project].name is {project.get('name')!r}, expected {path.name!r}"
        )
    if pkg.version is None:
        report.problem(f"{where}: needs a static [project].version string")
    else:
        try:
            parse_version(pkg.version)
        except SpecifierError as exc:
            report.problem(f"{where}: {exc}")
    return pkg


def _scan_imports(files: Iterable[Path], root: Path, report: Report) -> dict[str, str]:
    """tt_* / tinytorch top-level modules imported by `files` -> first place seen."""
    found: dict[str, str] = {}
    for file in sorted(files):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (SyntaxError, UnicodeDecodeError) as exc:
            report.problem(f"{_rel(file, root)}: cannot parse: {exc}")
            continue
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                callee = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                first = node.args[0]
                if (
                    callee in ("import_module", "__import__")
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                ):
                    names = [first.value]
            for name in names:
                top = name.split(".", 1)[0]
                if is_sibling_import(top):
                    found.setdefault(top, f"{_rel(file, root)}:{getattr(node, 'lineno', 0)}")
    return found


def _python_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [p for p in directory.rglob("*.py") if "__pycache__" not in p.parts]


def check_layout(pkg: Package, root_requires_python: object, report: Report) -> None:
    label = pkg.name
    src = pkg.path / "src" / pkg.import_name
    if not (pkg.path / "README.md").is_file():
        report.problem(f"{label}: lacks README.md")
    if not (src / "__init__.py").is_file():
        report.problem(f"{label}: lacks the src layout src/{pkg.import_name}/__init__.py")
    if not (src / "py.typed").is_file():
        report.problem(f"{label}: lacks src/{pkg.import_name}/py.typed")
    backend = pkg.build_system.get("build-backend")
    requires = _str_list(pkg.build_system.get("requires", [])) or []
    if backend != "hatchling.build" or not any(
        normalize(r).startswith("hatchling") for r in requires
    ):
        report.problem(
            f"{label}: build backend must be hatchling (build-backend = 'hatchling.build',"
            f" requires = ['hatchling']), got {backend!r}"
        )
    requires_python = pkg.project.get("requires-python")
    if requires_python != root_requires_python:
        report.problem(
            f"{label}: requires-python is {requires_python!r},"
            f" the root has {root_requires_python!r}"
        )


def check_imports(
    pkg: Package, declared: set[str], report: Report, root: Path, *, meta: bool
) -> None:
    """What the source imports from tt-* is exactly what the package declares."""
    src_imports = _scan_imports(_python_files(pkg.path / "src"), root, report)
    src_imports.pop(pkg.import_name, None)
    declared_imports = {import_name(d): d for d in declared}
    for top, where in sorted(src_imports.items()):
        if top not in declared_imports:
            report.problem(
                f"{pkg.name}: src imports {top} ({where}) but does not declare"
                f" {top.replace('_', '-')} (arriving transitively is not enough)"
            )
    if not meta:
        for top, dist in sorted(declared_imports.items()):
            if top not in src_imports:
                report.problem(f"{pkg.name}: declares {dist} but its src never imports {top}")
    test_imports = _scan_imports(_python_files(pkg.path / "tests"), root, report)
    test_imports.pop(pkg.import_name, None)
    for top, where in sorted(test_imports.items()):
        if top not in declared_imports:
            report.problem(
                f"{pkg.name}: tests import {top} ({where}), which the package does not declare"
                f" (tests run with only the package and what it declares)"
            )


def check_sibling_ranges(pkg: Package, versions: Mapping[str, str], report: Report) -> None:
    for dep, req in sorted(pkg.siblings.items()):
        current = versions.get(dep)
        if req.direct_reference:
            report.problem(
                f"{pkg.name}: {req.text!r} must be a version range, not a direct reference"
            )
            continue
        if current is None:
            continue  # absent sibling: reported where declarations are compared
        if not req.specifier:
            report.problem(
                f"{pkg.name}: requirement {req.text!r} needs a version range"
                f" such as '{dep}>={current},<...'"
            )
            continue
        try:
            ok = specifier_contains(req.specifier, current)
        except SpecifierError as exc:
            report.problem(f"{pkg.name}: requirement {req.text!r}: {exc}")
            continue
        if not ok:
            report.problem(
                f"{pkg.name}: requirement {req.text!r} does not contain {dep}'s"
                f" current version {current}"
            )


def check_meta(
    meta: Package, present: Sequence[str], versions: Mapping[str, str], report: Report
) -> None:
    """The meta-package pins every present member exactly, and nothing else."""
    declared = meta.siblings
    for name in present:
        req = declared.get(name)
        if req is None:
            report.problem(
                f"{META}: does not pin member {name} (expected '{name}=={versions.get(name)}')"
            )
            continue
        expected = versions.get(name)
        if expected is not None and req.specifier.replace(" ", "") != f"=={expected}":
            report.problem(f"{META}: pins {req.text!r}, expected exactly '{name}=={expected}'")
    for name in sorted(set(declared) - set(present)):
        report.problem(f"{META}: depends on {name}, which is not a present member package")


def check_test_names(root: Path, report: Report) -> None:
    seen: dict[str, list[str]] = {}
    for base in TEST_ROOTS:
        directory = root / base
        if not directory.is_dir():
            continue
        for path in directory.rglob("*.py"):
            parts = path.relative_to(root).parts
            if any(p.startswith(".") or p == "__pycache__" for p in parts):
                continue
            if path.name.startswith("test_") or path.name.endswith("_test.py"):
                seen.setdefault(path.name, []).append(_rel(path, root))
    for name, paths in sorted(seen.items()):
        if len(paths) > 1:
            report.problem(f"test file name {name} is not unique: {', '.join(sorted(paths))}")


def find_uv() -> str | None:
    """The uv that runs us (`uv run` sets $UV), else the one on PATH."""
    env = os.environ.get("UV")
    if env and Path(env).is_file():
        return env
    return shutil.which("uv")


def check_lock(root: Path, report: Report) -> None:
    uv = find_uv()
    if uv is None:
        report.notes.append("uv not found: uv.lock freshness not checked")
        return
    try:
        proc = subprocess.run(
            [uv, "lock", "--check"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        report.problem(f"uv.lock: `uv lock --check` could not run: {exc}")
        return
    if proc.returncode != 0:
        said = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        detail = said[-1].strip() if said else f"exit {proc.returncode}"
        report.problem(f"uv.lock is stale or missing: run `uv lock` (uv: {detail})")


# -------------------------------------------------------------------- generation


@dataclass(frozen=True)
class Region:
    path: Path
    begin: str
    end: str


ROOT_SOURCES = Region(
    Path("pyproject.toml"), "# BEGIN GENERATED: workspace sources", "# END GENERATED"
)
META_PINS = Region(
    Path(PACKAGES_DIR) / META / "pyproject.toml",
    "# BEGIN GENERATED: member pins",
    "# END GENERATED",
)
README_TABLE = Region(
    Path("README.md"), "<!-- BEGIN GENERATED: depmap -->", "<!-- END GENERATED -->"
)


class RegionError(ValueError):
    pass


def replace_region(text: str, region: Region, body: Sequence[str]) -> str:
    """`text` with the lines between the region's markers replaced by `body`.

    Body lines are indented like the BEGIN line, so a region inside a TOML array
    keeps the array's indentation. The marker lines themselves are kept verbatim.
    """
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(region.begin)]
    if not starts:
        raise RegionError(f"{region.path.as_posix()}: no generated region '{region.begin}'")
    if len(starts) > 1:
        raise RegionError(f"{region.path.as_posix()}: region '{region.begin}' appears twice")
    start = starts[0]
    end = next((j for j in range(start + 1, len(lines)) if lines[j].strip() == region.end), None)
    if end is None:
        raise RegionError(f"{region.path.as_posix()}: '{region.begin}' has no '{region.end}'")
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    new_body = [f"{indent}{line}\n" if line else "\n" for line in body]
    return "".join(lines[: start + 1] + new_body + lines[end:])


def _sources_body(present: Sequence[str], has_meta: bool) -> list[str]:
    names = ([META] if has_meta else []) + list(present)
    return ["[tool.uv.sources]", *(f"{name} = {{ workspace = true }}" for name in names)]


def _pins_body(present: Sequence[str], versions: Mapping[str, str]) -> list[str]:
    return [f'"{name}=={versions[name]}",' for name in present if name in versions]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table_body(modules: Sequence[Module]) -> list[str]:
    rows = ["| # | package | idea | depends on |", "|---|---|---|---|"]
    for m in modules:
        deps = ", ".join(m.requires) or "none"
        if m.extra:
            extras = ", ".join(f"{dep} ({reason})" for dep, reason in m.extra.items())
            deps = f"{deps}; extra: {extras}"
        rows.append(f"| {m.number:02d} | {m.name} | {_cell(m.idea)} | {_cell(deps)} |")
    return rows


@dataclass
class Generated:
    path: Path
    old: str
    new: str


def render(root: Path, modules: Sequence[Module], report: Report) -> list[Generated]:
    """Every generated region as it should read; absent optional files become notes."""
    present = present_members(root, modules)
    versions = member_versions(root, present, Report())
    has_meta = (root / PACKAGES_DIR / META).is_dir()
    wanted: list[tuple[Region, list[str], bool]] = [
        (ROOT_SOURCES, _sources_body(present, has_meta), True),
        (META_PINS, _pins_body(present, versions), False),
        (README_TABLE, _table_body(modules), False),
    ]
    out: list[Generated] = []
    for region, body, required in wanted:
        path = root / region.path
        if not path.is_file():
            if required:
                report.problem(f"{region.path.as_posix()}: missing")
            else:
                report.notes.append(
                    f"{region.path.as_posix()} not present yet: its generated region is skipped"
                )
            continue
        old = path.read_text(encoding="utf-8")
        try:
            out.append(Generated(path, old, replace_region(old, region, body)))
        except RegionError as exc:
            report.problem(str(exc))
    return out


def present_members(root: Path, modules: Sequence[Module]) -> list[str]:
    """Map modules whose package directory exists, in module order."""
    dirs = {p.name for p in package_dirs(root)}
    return [m.name for m in modules if m.name in dirs]


def member_versions(root: Path, names: Iterable[str], report: Report) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in names:
        path = root / PACKAGES_DIR / name / "pyproject.toml"
        if not path.is_file():
            continue
        data = _load_toml(path, report, root)
        version = _table(data, "project").get("version") if data else None
        if isinstance(version, str):
            versions[name] = version
    return versions


def generate(root: Path) -> Report:
    report = Report()
    modules = load_map(root, report)
    if report.problems:
        return report
    for gen in render(root, modules, report):
        if gen.new != gen.old:
            tmp = gen.path.with_name(gen.path.name + ".depmap-tmp")
            tmp.write_text(gen.new, encoding="utf-8")
            os.replace(tmp, gen.path)
            report.notes.append(f"updated {_rel(gen.path, root)}")
        else:
            report.notes.append(f"{_rel(gen.path, root)} up to date")
    return report


# ------------------------------------------------------------------------- check


def check(root: Path, *, lock_check: bool = True) -> Report:
    report = Report()
    modules = load_map(root, report)
    check_map(modules, report)
    by_name = {m.name: m for m in modules}

    root_data = _load_toml(root / "pyproject.toml", report, root) or {}
    root_requires_python = _table(root_data, "project").get("requires-python")

    packages: dict[str, Package] = {}
    for path in package_dirs(root):
        if path.name != META and path.name not in by_name:
            report.problem(f"{PACKAGES_DIR}/{path.name}: not a module of the map (nor {META})")
            continue
        pkg = load_package(path, root, report)
        if pkg is not None:
            packages[pkg.name] = pkg
    present = present_members(root, modules)
    absent = [m.name for m in modules if m.name not in present]
    if absent:
        report.notes.append(f"not yet present ({len(absent)}): {', '.join(absent)}")
    versions = {name: pkg.version for name, pkg in packages.items() if pkg.version}

    for name in present:
        pkg = packages.get(name)
        if pkg is None:
            continue
        mod = by_name[name]
        declared = set(pkg.siblings)
        for dep in mod.edges:
            if dep not in declared:
                kind = "required" if dep in mod.requires else "extra"
                report.problem(f"{name}: does not declare {dep} ({kind} edge in the map)")
            elif dep not in packages:
                report.problem(f"{name}: declares {dep}, which is not present in {PACKAGES_DIR}/")
        for dep in sorted(declared - set(mod.edges)):
            report.problem(
                f"{name}: declares {dep}, which the map does not list for it"
                f" (ask the lead; record it as an extra edge with a reason, or drop it)"
            )
        check_sibling_ranges(pkg, versions, report)
        check_layout(pkg, root_requires_python, report)
        check_imports(pkg, declared, report, root, meta=False)

    meta = packages.get(META)
    if meta is not None:
        check_meta(meta, present, versions, report)
        check_layout(meta, root_requires_python, report)
        check_imports(meta, set(meta.siblings), report, root, meta=True)
    elif present:
        report.notes.append(f"{PACKAGES_DIR}/{META} not present yet: member pins not checked")

    declared_graph = {name: list(pkg.siblings) for name, pkg in packages.items()}
    for cycle in find_cycles(declared_graph):
        report.problem(f"declared dependencies form a cycle: {' -> '.join([*cycle, cycle[0]])}")

    check_test_names(root, report)

    if modules:
        drift = [gen for gen in render(root, modules, report) if gen.new != gen.old]
        for gen in drift:
            report.problem(f"{_rel(gen.path, root)}: generated region {DRIFT_HINT}")

    if lock_check:
        check_lock(root, report)
    return report


# --------------------------------------------------------------------------- CLI


def _print(report: Report) -> None:
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"error: {problem}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="depmap.py", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    sub = parser.add_subparsers(dest="command", required=True)
    check_cmd = sub.add_parser("check", help="fail on any disagreement with the map")
    check_cmd.add_argument(
        "--no-lock-check", action="store_true", help="skip `uv lock --check` (fixtures)"
    )
    sub.add_parser("generate", help="rewrite the generated regions")
    sub.add_parser("leaf", help="print the present package with the largest closure")
    closure_cmd = sub.add_parser("closure", help="print PKG and the tt-* packages it pulls in")
    closure_cmd.add_argument("package")
    # `--root` is accepted after the subcommand too: `depmap.py check --root DIR`.
    for cmd in sub.choices.values():
        cmd.add_argument("--root", type=Path, default=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()

    if args.command == "check":
        report = check(root, lock_check=not args.no_lock_check)
        _print(report)
        if report.problems:
            print(f"depmap check: {len(report.problems)} problem(s)")
            return 1
        print("depmap check: OK")
        return 0
    if args.command == "generate":
        report = generate(root)
        _print(report)
        return 1 if report.problems else 0

    report = Report()
    modules = load_map(root, report)
    if report.problems:
        _print(report)
        return 1
    if args.command == "leaf":
        leaf = pick_leaf(modules, present_members(root, modules))
        if leaf is None:
            print("error: no package of the map is present", file=sys.stderr)
            return 1
        print(leaf)
        return 0
    name = normalize(args.package)
    if name not in {m.name for m in modules}:
        print(f"error: {name} is not a module of the map", file=sys.stderr)
        return 1
    print("\n".join(closure(modules, name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
