"""tools/depmap.py: each kind of disagreement with the map is caught; a clean tree passes.

Every test builds a small workspace in tmp_path: the real module names, a map
rendered from the checker's documented reference, and a few fake packages
(tt-tensor, tt-activations, tt-autograd and the tinytorch meta-package).
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import depmap
import pytest

REPO = Path(__file__).resolve().parents[2]
DEPMAP_PY = REPO / "tools" / "depmap.py"

ROOT_PYPROJECT = """\
[project]
name = "fixture-workspace"
version = "0.0.0"
requires-python = ">=3.11"
dependencies = ["tinytorch"]

[tool.uv]
package = false

[tool.uv.workspace]
members = ["packages/*"]

# BEGIN GENERATED: workspace sources (tools/depmap.py generate)
# END GENERATED
"""

README = """\
# Fixture

<!-- BEGIN GENERATED: depmap -->
<!-- END GENERATED -->
"""


def render_map(
    requires: Mapping[str, Sequence[str]] | None = None,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """depmap.toml text for the documented map, with per-module overrides."""
    lines: list[str] = []
    for name, (number, required) in depmap.REFERENCE.items():
        deps = (requires or {}).get(name, required)
        lines += [
            f"[modules.{name}]",
            f"number = {number}",
            f'idea = "what {name} builds"',
            "requires = [" + ", ".join(f'"{d}"' for d in deps) + "]",
        ]
        edges = (extra or {}).get(name)
        if edges:
            lines.append(
                "extra = { " + ", ".join(f'"{d}" = "{r}"' for d, r in edges.items()) + " }"
            )
        lines.append("")
    return "\n".join(lines)


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def package(
        self,
        name: str,
        deps: Sequence[str] = (),
        imports: Sequence[str] = (),
        *,
        version: str = "0.1.0",
        pins: bool = False,
    ) -> None:
        """A package whose src imports `imports` and whose one test imports the package."""
        mod = name.replace("-", "_")
        if pins:
            dep_lines = [
                "dependencies = [",
                "    # BEGIN GENERATED: member pins (tools/depmap.py generate)",
                "    # END GENERATED",
                *(f'    "{d}",' for d in deps),
                "]",
            ]
        else:
            dep_lines = ["dependencies = [" + ", ".join(f'"{d}"' for d in deps) + "]"]
        self.write(
            f"packages/{name}/pyproject.toml",
            "\n".join(
                [
                    "[project]",
                    f'name = "{name}"',
                    f'version = "{version}"',
                    'readme = "README.md"',
                    'requires-python = ">=3.11"',
                    *dep_lines,
                    "",
                    "[build-system]",
                    'requires = ["hatchling"]',
                    'build-backend = "hatchling.build"',
                    "",
                ]
            ),
        )
        self.write(f"packages/{name}/README.md", f"# {name}\n")
        self.write(
            f"packages/{name}/src/{mod}/__init__.py",
            "".join(f"import {i}\n" for i in imports) + '"""fixture"""\n',
        )
        self.write(f"packages/{name}/src/{mod}/py.typed", "")
        self.write(f"packages/{name}/tests/test_{mod}_basic.py", f"import {mod}\n")

    def edit(self, rel: str, old: str, new: str) -> None:
        text = self.read(rel)
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new, 1))

    def generate(self) -> None:
        report = depmap.generate(self.root)
        assert not report.problems, report.problems

    def check(self) -> depmap.Report:
        return depmap.check(self.root, lock_check=False)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A clean workspace: three members and the meta-package, regions generated."""
    w = Workspace(tmp_path)
    w.write("tools/depmap.toml", render_map())
    w.write("pyproject.toml", ROOT_PYPROJECT)
    w.write("README.md", README)
    w.package("tt-tensor")
    w.package("tt-activations", ["tt-tensor>=0.1.0,<0.2"], ["tt_tensor"])
    w.package("tt-autograd", ["tt-tensor>=0.1.0,<0.2"], ["tt_tensor"])
    w.package(
        "tinytorch", ["numpy>=1.26"], ["tt_tensor", "tt_activations", "tt_autograd"], pins=True
    )
    w.generate()
    return w


def assert_problem(report: depmap.Report, *fragments: str) -> None:
    hits = [p for p in report.problems if all(f in p for f in fragments)]
    assert hits, f"no problem mentions {fragments}; problems were:\n" + "\n".join(report.problems)


# ----------------------------------------------------------------- clean trees


def test_clean_fixture_passes(ws: Workspace) -> None:
    report = ws.check()
    assert report.problems == []
    absent = [
        n for n in depmap.REFERENCE if n not in ("tt-tensor", "tt-activations", "tt-autograd")
    ]
    assert any(f"not yet present ({len(absent)})" in note for note in report.notes)
    assert any("tt-capstone" in note for note in report.notes)


def test_generate_writes_the_three_regions(ws: Workspace) -> None:
    sources = ws.read("pyproject.toml")
    assert (
        "[tool.uv.sources]\n"
        "tinytorch = { workspace = true }\n"
        "tt-tensor = { workspace = true }\n"
        "tt-activations = { workspace = true }\n"
        "tt-autograd = { workspace = true }\n"
        "# END GENERATED\n"
    ) in sources
    meta = ws.read("packages/tinytorch/pyproject.toml")
    assert (
        '    "tt-tensor==0.1.0",\n    "tt-activations==0.1.0",\n    "tt-autograd==0.1.0",\n'
        "    # END GENERATED\n"
    ) in meta
    readme = ws.read("README.md")
    assert "| # | package | idea | depends on |" in readme
    assert "| 01 | tt-tensor | what tt-tensor builds | none |" in readme
    assert (
        "| 09 | tt-spatial | what tt-spatial builds |"
        " tt-tensor, tt-activations, tt-layers, tt-autograd |"
    ) in readme
    assert len(re.findall(r"^\| \d\d \| tt-", readme, re.MULTILINE)) == 20


def test_generate_is_idempotent(ws: Workspace) -> None:
    before = {p: ws.read(p) for p in ("pyproject.toml", "README.md")}
    report = depmap.generate(ws.root)
    assert all("up to date" in note for note in report.notes)
    assert {p: ws.read(p) for p in before} == before


def test_generate_tolerates_missing_meta_package_and_readme(tmp_path: Path) -> None:
    w = Workspace(tmp_path)
    w.write("tools/depmap.toml", render_map())
    w.write("pyproject.toml", ROOT_PYPROJECT)
    w.package("tt-tensor")
    report = depmap.generate(tmp_path)
    assert report.problems == []
    assert "tt-tensor = { workspace = true }\n# END" in w.read("pyproject.toml")
    assert "tinytorch = {" not in w.read("pyproject.toml")
    assert any("README.md not present" in n for n in report.notes)
    check = w.check()
    assert check.problems == []
    assert any("packages/tinytorch not present" in n for n in check.notes)


def test_extra_edge_with_reason_allows_the_dependency(ws: Workspace) -> None:
    ws.write("tools/depmap.toml", render_map(extra={"tt-autograd": {"tt-activations": "why"}}))
    ws.package(
        "tt-autograd",
        ["tt-tensor>=0.1.0,<0.2", "tt-activations>=0.1.0,<0.2"],
        ["tt_tensor", "tt_activations"],
    )
    ws.generate()
    assert ws.check().problems == []
    assert "tt-tensor; extra: tt-activations (why)" in ws.read("README.md")


# ------------------------------------------------- declared deps against the map


def test_package_lacks_a_map_edge(ws: Workspace) -> None:
    ws.package("tt-activations", [], [])
    assert_problem(ws.check(), "tt-activations: does not declare tt-tensor", "required edge")


def test_package_declares_an_edge_the_map_lacks(ws: Workspace) -> None:
    ws.package(
        "tt-autograd",
        ["tt-tensor>=0.1.0,<0.2", "tt-activations>=0.1.0,<0.2"],
        ["tt_tensor", "tt_activations"],
    )
    assert_problem(ws.check(), "tt-autograd: declares tt-activations", "map does not list")


def test_package_declares_an_absent_module(ws: Workspace) -> None:
    ws.write("tools/depmap.toml", render_map(extra={"tt-autograd": {"tt-layers": "why"}}))
    ws.package(
        "tt-autograd",
        ["tt-tensor>=0.1.0,<0.2", "tt-layers>=0.1.0,<0.2"],
        ["tt_tensor", "tt_layers"],
    )
    ws.generate()
    assert_problem(ws.check(), "tt-autograd: declares tt-layers", "not present")


def test_unknown_package_directory(ws: Workspace) -> None:
    ws.package("tt-extras")
    assert_problem(ws.check(), "packages/tt-extras: not a module of the map")


# ------------------------------------------------------------------ the map itself


def test_map_lacks_a_required_edge(ws: Workspace) -> None:
    ws.write("tools/depmap.toml", render_map(requires={"tt-spatial": ["tt-tensor", "tt-layers"]}))
    report = ws.check()
    assert_problem(report, "lacks required edge tt-spatial -> tt-activations")
    assert_problem(report, "lacks required edge tt-spatial -> tt-autograd")


def test_map_requires_an_undocumented_edge(ws: Workspace) -> None:
    ws.write(
        "tools/depmap.toml",
        render_map(requires={"tt-autograd": ["tt-tensor", "tt-activations"]}),
    )
    assert_problem(ws.check(), "tt-autograd requires tt-activations", "extra edge with a reason")


def test_map_edge_not_strictly_downward(ws: Workspace) -> None:
    ws.write("tools/depmap.toml", render_map(extra={"tt-layers": {"tt-autograd": "wants grads"}}))
    ws.generate()
    assert_problem(ws.check(), "tt-layers (03) -> tt-autograd (05)", "not strictly downward")


def test_map_edge_to_itself_is_not_downward_and_a_cycle(ws: Workspace) -> None:
    ws.write("tools/depmap.toml", render_map(extra={"tt-layers": {"tt-layers": "self"}}))
    ws.generate()
    report = ws.check()
    assert_problem(report, "tt-layers (03) -> tt-layers (03)", "not strictly downward")
    assert_problem(report, "map: cycle tt-layers -> tt-layers")


def test_map_cycle(ws: Workspace) -> None:
    ws.write("tools/depmap.toml", render_map(extra={"tt-tensor": {"tt-autograd": "enhances"}}))
    ws.generate()
    report = ws.check()
    assert_problem(report, "map: cycle tt-autograd -> tt-tensor -> tt-autograd")
    assert_problem(report, "tt-tensor (01) -> tt-autograd (05)", "not strictly downward")


def test_extra_edge_without_reason(ws: Workspace) -> None:
    ws.write("tools/depmap.toml", render_map(extra={"tt-autograd": {"tt-activations": "  "}}))
    assert_problem(ws.check(), "extra edge tt-autograd -> tt-activations has no reason")


def test_map_schema_errors(ws: Workspace) -> None:
    text = (
        render_map()
        .replace("number = 3\n", 'number = "three"\n')
        .replace("[modules.tt-losses]\n", "[modules.tt-losses]\ncolour = 1\n")
    )
    ws.write("tools/depmap.toml", text)
    report = ws.check()
    assert_problem(report, "[modules.tt-layers]", "`number` must be a positive integer")
    assert_problem(report, "[modules.tt-losses]", "unknown keys ['colour']")
    assert_problem(report, "lacks module tt-layers")


# ------------------------------------------------------------------------- imports


def test_src_imports_an_undeclared_module(ws: Workspace) -> None:
    ws.write(
        "packages/tt-autograd/src/tt_autograd/deep/ops.py",
        "def f() -> None:\n    from tt_activations.relu import relu  # noqa\n",
    )
    assert_problem(
        ws.check(),
        "tt-autograd: src imports tt_activations",
        "packages/tt-autograd/src/tt_autograd/deep/ops.py:2",
        "does not declare tt-activations",
    )


def test_src_import_through_importlib_is_seen(ws: Workspace) -> None:
    ws.write(
        "packages/tt-tensor/src/tt_tensor/lazy.py",
        'import importlib\n\nengine = importlib.import_module("tt_autograd.engine")\n',
    )
    assert_problem(ws.check(), "tt-tensor: src imports tt_autograd", "does not declare")


def test_transitive_arrival_is_not_enough(ws: Workspace) -> None:
    # tinytorch pulls in tt-tensor, but tt-activations must declare it itself.
    ws.package("tt-activations", [], ["tt_tensor"])
    assert_problem(ws.check(), "tt-activations: src imports tt_tensor", "transitively")


def test_declared_dependency_never_imported(ws: Workspace) -> None:
    ws.package("tt-activations", ["tt-tensor>=0.1.0,<0.2"], [])
    assert_problem(ws.check(), "tt-activations: declares tt-tensor but its src never imports")


def test_tests_import_an_undeclared_module(ws: Workspace) -> None:
    ws.write("packages/tt-activations/tests/test_tt_activations_grad.py", "import tt_autograd\n")
    assert_problem(ws.check(), "tt-activations: tests import tt_autograd", "does not declare")


def test_unparseable_source_is_reported(ws: Workspace) -> None:
    ws.write("packages/tt-tensor/src/tt_tensor/broken.py", "def f(:\n")
    assert_problem(ws.check(), "packages/tt-tensor/src/tt_tensor/broken.py: cannot parse")


# -------------------------------------------------------------------------- cycles


def test_cycle_in_declared_dependencies(ws: Workspace) -> None:
    ws.package("tt-tensor", ["tt-autograd>=0.1.0,<0.2"], ["tt_autograd"])
    report = ws.check()
    assert_problem(report, "declared dependencies form a cycle: tt-autograd -> tt-tensor")


# ------------------------------------------------------------ versions and pins


@pytest.mark.parametrize("requirement", ["tt-tensor>=0.2,<0.3", "tt-tensor<0.1", "tt-tensor!=0.1"])
def test_sibling_range_excludes_current_version(ws: Workspace, requirement: str) -> None:
    ws.package("tt-activations", [requirement], ["tt_tensor"])
    assert_problem(
        ws.check(), "tt-activations", "does not contain tt-tensor's current version 0.1.0"
    )


def test_sibling_requirement_without_range(ws: Workspace) -> None:
    ws.package("tt-activations", ["tt-tensor"], ["tt_tensor"])
    assert_problem(ws.check(), "tt-activations: requirement 'tt-tensor' needs a version range")


def test_sibling_requirement_with_unsupported_specifier(ws: Workspace) -> None:
    ws.package("tt-activations", ["tt-tensor~=0.1"], ["tt_tensor"])
    assert_problem(ws.check(), "tt-activations", "unsupported specifier clause '~=0.1'")


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ('"tt-tensor==0.0.9",', "pins 'tt-tensor==0.0.9', expected exactly 'tt-tensor==0.1.0'"),
        ('"tt-tensor>=0.1.0,<0.2",', "pins 'tt-tensor>=0.1.0,<0.2', expected exactly"),
        ("", "does not pin member tt-tensor"),
    ],
)
def test_meta_package_pins(ws: Workspace, pin: str, message: str) -> None:
    ws.edit("packages/tinytorch/pyproject.toml", '"tt-tensor==0.1.0",', pin)
    report = ws.check()
    assert_problem(report, f"tinytorch: {message}")
    assert_problem(report, "packages/tinytorch/pyproject.toml", "drift")


def test_meta_package_pins_a_module_that_is_not_present(ws: Workspace) -> None:
    ws.edit("packages/tinytorch/pyproject.toml", '"numpy>=1.26",', '"tt-layers==0.1.0",')
    assert_problem(ws.check(), "tinytorch: depends on tt-layers, which is not a present member")


def test_meta_package_pins_follow_a_version_bump(ws: Workspace) -> None:
    ws.edit("packages/tt-tensor/pyproject.toml", 'version = "0.1.0"', 'version = "0.1.1"')
    assert_problem(ws.check(), "expected exactly 'tt-tensor==0.1.1'")
    ws.generate()
    assert ws.check().problems == []


# --------------------------------------------------------------------------- drift


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("README.md", "| 01 | tt-tensor |", "| 01 | tt-tensr |"),
        ("pyproject.toml", "tt-autograd = { workspace = true }\n", ""),
        ("packages/tinytorch/pyproject.toml", '    "tt-autograd==0.1.0",\n', ""),
    ],
)
def test_generated_region_drift(ws: Workspace, path: str, old: str, new: str) -> None:
    ws.edit(path, old, new)
    assert_problem(ws.check(), f"{path}: generated region drift", "tools/depmap.py generate")


def test_new_package_is_drift_until_generated(ws: Workspace) -> None:
    ws.package("tt-layers", ["tt-tensor>=0.1.0,<0.2"], ["tt_tensor"])
    report = ws.check()
    assert_problem(report, "pyproject.toml: generated region drift")
    assert_problem(report, "tinytorch: does not pin member tt-layers")
    ws.generate()
    assert ws.check().problems == []


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        ("README.md", "<!-- END GENERATED -->\n", "", "has no '<!-- END GENERATED -->'"),
        ("README.md", "<!-- BEGIN GENERATED: depmap -->\n", "", "no generated region"),
        (
            "pyproject.toml",
            "# BEGIN GENERATED: workspace sources",
            "# BEGIN GENERATED: workspace sources\n# BEGIN GENERATED: workspace sources",
            "appears twice",
        ),
    ],
)
def test_broken_region_markers(ws: Workspace, path: str, old: str, new: str, message: str) -> None:
    ws.edit(path, old, new)
    assert_problem(ws.check(), path, message)
    assert depmap.main(["generate", "--root", str(ws.root)]) == 1


# ------------------------------------------------------------------------ uv.lock


def _fake_uv(tmp_path: Path, exit_code: int) -> Path:
    script = tmp_path / "fake-uv"
    script.write_text(
        f"#!/bin/sh\necho 'error: The lockfile needs to be updated' >&2\nexit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_stale_lock_is_reported(
    ws: Workspace, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV", str(_fake_uv(tmp_path_factory.mktemp("bin"), 1)))
    report = depmap.check(ws.root, lock_check=True)
    assert_problem(report, "uv.lock is stale or missing", "The lockfile needs to be updated")
    assert depmap.check(ws.root, lock_check=False).problems == []


def test_fresh_lock_passes_with_fake_uv(
    ws: Workspace, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV", str(_fake_uv(tmp_path_factory.mktemp("bin"), 0)))
    assert depmap.check(ws.root, lock_check=True).problems == []


@pytest.mark.skipif(depmap.find_uv() is None, reason="uv not installed: real lock check skipped")
def test_lock_check_with_real_uv(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fixture has no third-party runtime deps besides the meta's numpy: drop it to lock offline.
    ws.edit("packages/tinytorch/pyproject.toml", '    "numpy>=1.26",\n', "")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.delenv("UV_LOCKED", raising=False)  # CI exports it; this test locks on purpose
    monkeypatch.delenv("UV_FROZEN", raising=False)
    uv = depmap.find_uv()
    assert uv is not None
    assert_problem(depmap.check(ws.root, lock_check=True), "uv.lock is stale or missing")
    subprocess.run([uv, "lock", "--quiet"], cwd=ws.root, check=True)
    assert depmap.check(ws.root, lock_check=True).problems == []
    ws.edit("packages/tt-tensor/pyproject.toml", 'version = "0.1.0"', 'version = "0.1.1"')
    ws.generate()
    assert_problem(depmap.check(ws.root, lock_check=True), "uv.lock is stale or missing")


# ------------------------------------------------------------------------- layout


def _drop_py_typed(ws: Workspace) -> None:
    (ws.root / "packages/tt-activations/src/tt_activations/py.typed").unlink()


def _drop_readme(ws: Workspace) -> None:
    (ws.root / "packages/tt-activations/README.md").unlink()


def _flat_layout(ws: Workspace) -> None:
    pkg = ws.root / "packages/tt-activations"
    (pkg / "src" / "tt_activations").rename(pkg / "tt_activations")


def _setuptools(ws: Workspace) -> None:
    ws.edit(
        "packages/tt-activations/pyproject.toml",
        'requires = ["hatchling"]\nbuild-backend = "hatchling.build"',
        'requires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"',
    )


def _requires_python(ws: Workspace) -> None:
    ws.edit("packages/tt-activations/pyproject.toml", '">=3.11"', '">=3.10"')


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        (_drop_py_typed, "lacks src/tt_activations/py.typed"),
        (_drop_readme, "lacks README.md"),
        (_flat_layout, "lacks the src layout src/tt_activations/__init__.py"),
        (_setuptools, "build backend must be hatchling"),
        (_requires_python, "requires-python is '>=3.10', the root has '>=3.11'"),
    ],
    ids=["py.typed", "README", "src-layout", "backend", "requires-python"],
)
def test_package_layout(ws: Workspace, breaks: Callable[[Workspace], None], message: str) -> None:
    breaks(ws)
    assert_problem(ws.check(), f"tt-activations: {message}")


def test_meta_package_layout_is_checked_too(ws: Workspace) -> None:
    (ws.root / "packages/tinytorch/src/tinytorch/py.typed").unlink()
    assert_problem(ws.check(), "tinytorch: lacks src/tinytorch/py.typed")


def test_project_name_must_match_directory(ws: Workspace) -> None:
    ws.edit("packages/tt-autograd/pyproject.toml", 'name = "tt-autograd"', 'name = "tt-grad"')
    assert_problem(ws.check(), "[project].name is 'tt-grad', expected 'tt-autograd'")


# ------------------------------------------------------------------ test names


@pytest.mark.parametrize(
    "second", ["packages/tt-autograd/tests/sub/test_common.py", "tests-integration/test_common.py"]
)
def test_test_file_names_must_be_unique(ws: Workspace, second: str) -> None:
    ws.write("packages/tt-activations/tests/test_common.py", "")
    ws.write(second, "")
    assert_problem(
        ws.check(),
        "test file name test_common.py is not unique",
        "packages/tt-activations/tests/test_common.py",
        second,
    )


# -------------------------------------------------------------- small helpers


@pytest.mark.parametrize(
    ("specifier", "version", "expected"),
    [
        (">=0.1.0,<0.2", "0.1.0", True),
        (">=0.1.0,<0.2", "0.1.9", True),
        (">=0.1.0,<0.2", "0.2.0", False),
        (">=0.1.0, <0.2", "0.0.9", False),
        ("==0.1", "0.1.0", True),
        ("==0.1.*", "0.1.7", True),
        ("==0.1.*", "0.2.0", False),
        ("!=0.1.*", "0.2", True),
        ("<=0.1.0", "0.1", True),
        (">0.1", "0.1.0", False),
        ("", "3.4", True),
    ],
)
def test_specifier_subset(specifier: str, version: str, expected: bool) -> None:
    assert depmap.specifier_contains(specifier, version) is expected


@pytest.mark.parametrize(("specifier", "version"), [("~=0.1", "0.1"), (">=0.1", "0.1.0rc1")])
def test_unsupported_specifier_or_version_raises(specifier: str, version: str) -> None:
    with pytest.raises(depmap.SpecifierError):
        depmap.specifier_contains(specifier, version)


def test_parse_requirement() -> None:
    req = depmap.parse_requirement("TT_Tensor[extra] (>=0.1.0,<0.2) ; python_version>'3'")
    assert req is not None
    assert (req.name, req.specifier, req.direct_reference) == ("tt-tensor", ">=0.1.0,<0.2", False)
    direct = depmap.parse_requirement("tt-tensor @ file:///x")
    assert direct is not None and direct.direct_reference


def test_leaf_and_closure(ws: Workspace) -> None:
    modules = depmap.load_map(ws.root, depmap.Report())
    assert depmap.closure(modules, "tt-capstone") == [
        "tt-tensor",
        "tt-activations",
        "tt-layers",
        "tt-autograd",
        "tt-spatial",
        "tt-profiling",
        "tt-benchmarking",
        "tt-capstone",
    ]
    # tt-activations and tt-autograd both pull in 2 packages: the later module wins.
    assert depmap.pick_leaf(modules, ["tt-tensor", "tt-activations", "tt-autograd"]) == (
        "tt-autograd"
    )


# ---------------------------------------------------------------------- the CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEPMAP_PY), *args], capture_output=True, text=True, check=False
    )


def test_cli_check_exit_codes_and_one_line_per_problem(ws: Workspace) -> None:
    ok = _cli("check", "--root", str(ws.root), "--no-lock-check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.rstrip().endswith("depmap check: OK")
    ws.package("tt-activations", [], ["tt_tensor", "tt_autograd"])
    bad = _cli("--root", str(ws.root), "check", "--no-lock-check")
    assert bad.returncode == 1
    errors = [line for line in bad.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, bad.stdout  # tt_tensor, tt_autograd undeclared + missing edge
    assert "depmap check: 3 problem(s)" in bad.stdout


def test_cli_leaf_and_closure(ws: Workspace) -> None:
    leaf = _cli("leaf", "--root", str(ws.root))
    assert (leaf.returncode, leaf.stdout) == (0, "tt-autograd\n")
    deps = _cli("closure", "tt-spatial", "--root", str(ws.root))
    assert deps.stdout.split() == [
        "tt-tensor",
        "tt-activations",
        "tt-layers",
        "tt-autograd",
        "tt-spatial",
    ]
    assert _cli("closure", "tt-nothing", "--root", str(ws.root)).returncode == 1


# ------------------------------------------------------------------ the real repo


def test_reference_matches_the_documented_map() -> None:
    """The checker's hard-coded table is the one in shared/docs/dependency-map.md."""
    doc = REPO.parent / "shared" / "docs" / "dependency-map.md"
    if not doc.is_file():
        pytest.skip(f"{doc} not found (shared/ is not beside this checkout)")
    rows = re.findall(r"^\| (\d\d) \| (tt-[a-z]+) \| ([^|]+) \|", doc.read_text(), re.MULTILINE)
    documented = {
        name: (int(num), tuple(re.findall(r"tt-[a-z]+", deps))) for num, name, deps in rows
    }
    assert documented == depmap.REFERENCE


def test_real_repo_passes_check() -> None:
    report = depmap.check(REPO, lock_check=depmap.find_uv() is not None)
    assert report.problems == [], "\n".join(report.problems)
