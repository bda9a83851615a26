"""The README cannot rot: its snippets run and print what they say, its tables quote real code."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from micrograd_bn import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", blocks("python"), ids=lambda c: c.splitlines()[0][:40])
def test_python_snippets_print_what_their_comments_say(code, capsys):
    expected = [
        line.split("# prints ", 1)[1].split(" — ")[0].strip() for line in code.splitlines() if "# prints " in line
    ]
    assert expected, "every README snippet states what it prints"
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.splitlines() == expected


def test_console_blocks_are_real_output(monkeypatch, capsys, tmp_path):
    """Each `$ micrograd-bn ...` line in a console block prints exactly the lines below it (torch hidden,
    as on a machine without it)."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.chdir(tmp_path)  # the graph command writes its files here
    commands = 0
    for block in blocks("console"):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *expected = chunk.rstrip("\n").split("\n")
            argv = shlex.split(command)
            if argv[0] != "micrograd-bn":
                continue
            commands += 1
            cli.main(argv[1:])
            assert capsys.readouterr().out.rstrip("\n").split("\n") == expected, command
    assert commands >= 1


def test_table_quotes_code_that_exists():
    rows = [line for line in README.splitlines() if line.startswith("| Alg.") or line.startswith("| Sec.")]
    assert len(rows) >= 11
    sources = {name: (ROOT / "micrograd_bn" / name).read_text() for name in ("batchnorm.py", "reference.py")}
    for row in rows:
        _, autodiff, closed = (cell.strip() for cell in row.strip("|").split("|"))
        for cell, source in ((autodiff, sources["batchnorm.py"]), (closed, sources["reference.py"])):
            code = cell.strip("`")
            if code != "backward()":
                assert code in source, f"README quotes code that is not in the source: {code}"


def test_line_counts_are_true():
    claims = re.findall(r"`micrograd_bn/(\w+\.py)` \| (\d+)", README)
    for name, lines in claims:
        assert len((ROOT / "micrograd_bn" / name).read_text().splitlines()) == int(lines), name


def test_quickstart_main_runs_the_commands_the_readme_shows():
    tasks = (ROOT / "tasks.sh").read_text()
    main_task = tasks.split("  main)", 1)[1].split(";;", 1)[0]
    shown = re.findall(r"^\$ (micrograd-bn .*)$", README.split("## Quickstart", 1)[1].split("\n## ", 1)[0], re.M)
    assert len(shown) == 2
    for command in shown:
        assert f".venv/bin/{command}" in main_task
    assert ".ci/run" in README and "bash tasks.sh test" in (ROOT / ".ci" / "run").read_text()
    assert "bash tasks.sh main" in README and "bash tasks.sh test" in README


def test_commands_are_written_bare_after_one_activate():
    """The convention: the Quickstart says `source .venv/bin/activate` once; every later command is bare."""
    activate = "source .venv/bin/activate"
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert README.count(activate) == quickstart.count(activate) == 1
    assert ".venv/bin/" not in README.replace(activate, ""), "write commands bare: micrograd-bn, python, pytest"
    lines = [line.removeprefix("$ ") for block in blocks("bash") + blocks("console") for line in block.splitlines()]
    assert lines and not [line for line in lines if line.startswith((".venv", "./.venv"))]


def test_every_demo_is_in_the_readme_with_its_figure():
    demos = sorted(p.stem for p in (ROOT / "demos").glob("*.py") if not p.stem.startswith("_") and p.stem != "tour")
    shown = re.findall(r"`micrograd-bn demo ([a-z_0-9]+)`", README)  # not the NAME placeholder
    assert sorted(shown) == demos
    for name in demos:
        assert f"(docs/figures/{name}.png)" in README and (ROOT / "docs" / "figures" / f"{name}.png").stat().st_size > 0


def test_shell_commands_in_the_readme_parse():
    """Every `micrograd-bn ...` line of a bash block names real subcommands and options."""
    commands = [line.split("#")[0].strip() for block in blocks("bash") for line in block.splitlines()]
    commands = [c for c in commands if c.startswith("micrograd-bn ")]
    assert len(commands) >= 3
    parser = cli.build_parser()
    for command in commands:
        parser.parse_args(shlex.split(command)[1:])  # exits with a usage error if anything is unknown
