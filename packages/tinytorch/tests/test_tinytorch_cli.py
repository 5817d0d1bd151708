"""The `tinytorch` command: help, listing, and short errors for bad arguments."""

from pathlib import Path

import pytest
from tinytorch import cli

ROOT = Path(__file__).resolve().parents[3]


def test_help_explains_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("milestones", "doctor", "data"):
        assert word in out


def test_list_shows_each_milestone(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["milestones", "--milestones-dir", str(ROOT / "milestones"), "list"]) == 0
    out = capsys.readouterr().out
    assert "1957_perceptron" in out


def test_unknown_milestone_is_a_short_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["milestones", "--milestones-dir", str(ROOT / "milestones"), "run", "1066"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown milestone '1066'" in err and "1957_perceptron" in err


def test_missing_data_dir_is_a_short_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = cli.main(
        [
            "milestones",
            "--milestones-dir",
            str(ROOT / "milestones"),
            "run",
            "1957",
            "--data",
            str(tmp_path / "nowhere"),
        ]
    )
    assert code == 2
    assert "no such directory" in capsys.readouterr().err


def test_no_milestones_folder_says_where_they_come_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TINYTORCH_MILESTONES", raising=False)
    assert cli.main(["milestones", "list"]) == 2
    assert "repository" in capsys.readouterr().err


def test_bad_subcommand_exits_non_zero() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["fly"])
    assert exc.value.code == 2


def test_doctor_reports_versions_and_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["doctor", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tt-tensor" in out and "numpy" in out
    assert "mnist" in out and "missing" in out and "tinytorch data download mnist" in out


def test_download_offline_fails_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no network the download raises a clear error and leaves no partial file."""
    from tinytorch import data

    monkeypatch.setattr(data, "SHAKESPEARE_URL", "http://127.0.0.1:9/input.txt")
    with pytest.raises(Exception, match=r"(?i)download|connect|offline|refused"):
        data.download("shakespeare", tmp_path)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
