"""The README tells the truth: its tables are the code's, its examples run as written, the package installs."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import subprocess
import sys

import pytest

from job_service.limits import environment_table
from nst_core.cli import options_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_OPTIONS = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def between(marker: str, text: str = README) -> str:
    found = re.search(rf"<!-- {marker} -->\n(.*?)\n<!-- /{marker} -->", text, re.DOTALL)
    assert found, marker
    return found.group(1)


def test_the_tables_are_the_codes():
    assert between("options", CLI_OPTIONS) == options_table()  # `python -c "from nst_core.cli import ..."`
    assert between("environment") == environment_table()


def test_a_user_reads_it_in_five_minutes():
    words = len(README.split())
    assert words < 2500, words


def commands() -> list[str]:
    block = re.search(r"## Command line\n\n```bash\n(.*?)```", README, re.DOTALL)
    assert block
    return [line for line in block.group(1).splitlines() if line.startswith("python -m nst_core")]


@pytest.mark.slow
@pytest.mark.parametrize("command", commands())
def test_every_example_of_the_command_line_runs_as_written(command, tmp_path, monkeypatch, capsys):
    """Run from the repository as a user would, smaller and shorter (the last option given wins): ``python -m
    nst_core`` run in this process as Python runs it (``runpy``), which keeps the networks loaded from one example
    to the next (a process of its own is `tests/test_cli.py`'s and the installed command's below)."""
    words = shlex.split(command.replace("/tmp", str(tmp_path)))
    assert words[:3] == ["python", "-m", "nst_core"], command
    small = ["--size", "48", "--steps", "2"] if " video " not in command else ["--size", "48", "--every", "8"]
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", ["nst_core", *words[3:], *small, "--quiet"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("nst_core", run_name="__main__", alter_sys=True)
    assert exit_.value.code == 0, capsys.readouterr().err
    written = [word for word in words if word.startswith(str(tmp_path))]
    assert written and all(os.path.isfile(path) or os.listdir(path) for path in written)
    assert not subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                              text=True).stdout.count("painting.png")  # fmt: skip


@pytest.mark.slow
def test_the_library_example_runs_as_written(tmp_path):
    block = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert block
    code = block.group(1).replace("/tmp", str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "library.png").is_file() and done.stdout.strip().splitlines()[-1].startswith("10 ")


@pytest.mark.slow
def test_the_package_installs_with_its_command(tmp_path):
    import shutil

    source, target = tmp_path / "source", tmp_path / "site"
    source.mkdir()
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("nst_core", "job_service"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(source)], check=True, capture_output=True, timeout=300)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([str(target / "bin" / "nst"), "--version"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("nst_core "), done.stderr
    assert (target / "nst_core" / "cli" / "commands.py").is_file()
    assert (target / "job_service" / "scheduler.py").is_file()
    assert not (target / "app").exists()  # the page runs from the repository; the package is the library
