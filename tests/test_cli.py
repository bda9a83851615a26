"""The `micrograd-bn` command line: exit codes and messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from micrograd_bn import cli


def test_compare_prints_table_and_exits_zero(capsys):
    assert cli.main(["compare", "--batch", "4", "--features", "2", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "∂ℓ/∂σ²_B" in out and "all witnesses agree" in out


def test_compare_spatial(capsys):
    assert cli.main(["compare", "--batch", "2", "--features", "1", "--spatial", "2x2"]) == 0
    assert "m = 8 values per feature" in capsys.readouterr().out


def test_compare_fails_with_nonzero_exit_when_a_tolerance_fails(monkeypatch, capsys):
    monkeypatch.setitem(cli.__dict__, "_compare", cli._compare)
    from micrograd_bn import compare as cmp

    monkeypatch.setitem(cmp.TOLERANCE, "autodiff", -1.0)  # nothing can meet a negative tolerance
    assert cli.main(["compare", "--batch", "3", "--features", "1"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_bad_arguments_exit_2_with_a_message(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", "--batch", "0"])
    assert exc.value.code == 2 and "positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["compare", "--spatial", "2by2"])
    assert "HxW" in capsys.readouterr().err


def test_batch_of_one_is_a_clear_one_line_error(capsys):
    assert cli.main(["compare", "--batch", "1"]) == 2
    err = capsys.readouterr().err
    assert "more than 1 value per channel" in err and "Traceback" not in err
    assert err.count("compare:") == 1 and "use --batch 2 or more" in err and err.count("\n") == 1
    assert cli.main(["compare", "--batch", "1", "--spatial", "1x2"]) == 0  # m = N·H·W = 2 is enough


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--eps", "-1"], "argument --eps: must be a finite number ≥ 0 (ε in √(σ²_B + ε)), got '-1'"),
        (["compare", "--eps", "nan"], "argument --eps: must be a finite number ≥ 0"),
        (["compare", "--seed", "-1"], "argument --seed: must be a non-negative integer, got '-1'"),
        (["trace", "--seed", "x"], "argument --seed: must be a non-negative integer, got 'x'"),
        (["compare", "--batch", "abc"], "argument --batch: must be a positive integer, got 'abc'"),
        (["graph", "--digits", "0"], "argument --digits: must be a positive integer, got '0'"),
    ],
)
def test_bad_option_values_name_the_option_and_what_it_takes(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err
    assert "_positive_int" not in err and "Warning" not in err and "Traceback" not in err


def test_unknown_demo_lists_the_choices(capsys):
    assert cli.main(["demo", "no_such_demo"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_demo_without_a_name_lists_the_demos(capsys):
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("micrograd-bn demo: name a demo; choose one of: ") and err.count("\n") == 1
    listed = err.split("choose one of: ")[1].strip().split(", ")
    assert listed == sorted(p.stem for p in cli.DEMOS_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert {"figure1", "tour"} <= set(listed)


def test_demo_runs_in_a_fresh_interpreter_with_its_arguments_and_exit_code(monkeypatch, tmp_path, capfd):
    (tmp_path / "probe.py").write_text(
        "import os, sys\n"
        "print(sys.argv[1:], os.environ['MICROGRAD_BN_ENGINE'], sys.executable, 'micrograd_bn' in sys.modules)\n"
        "print('to stderr', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    monkeypatch.setattr(cli, "DEMOS_DIR", tmp_path)
    monkeypatch.delenv("MICROGRAD_BN_ENGINE", raising=False)
    assert cli.main(["demo", "probe", "--quick", "--out", "x"]) == 3
    out, err = capfd.readouterr()
    assert out == f"['--quick', '--out', 'x'] auto {sys.executable} True\n" and err == "to stderr\n"
    monkeypatch.setenv("MICROGRAD_BN_ENGINE", "python")  # the environment's choice is kept
    assert cli.main(["demo", "probe"]) == 3
    assert capfd.readouterr().out.startswith("[] python ")


@pytest.mark.parametrize("argv", [["trace", "--batch", "50"], ["demo", "tour"]])
def test_a_closed_pipe_ends_quietly(tmp_path, argv):
    """`micrograd-bn trace | head -1`: the reader goes away; no traceback, no [Errno 32], exit 1."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "micrograd_bn.cli", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )
    proc.stdout.close()  # before the first line: every write fails
    err = proc.stderr.read().decode()
    assert proc.wait() == 1 and err == ""
    head = subprocess.run(
        f"{sys.executable} -m micrograd_bn.cli {' '.join(argv)} | head -1",
        shell=True, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert head.stderr == "" and len(head.stdout.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_console_script_help():
    out = subprocess.run(
        [sys.executable, "-m", "micrograd_bn.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "compare" in out and "demo" in out


def test_compare_momentum_option(capsys):
    assert cli.main(["compare", "--batch", "3", "--features", "1", "--momentum", "None"]) == 0
    assert "running_var" in capsys.readouterr().out
    assert cli.main(["compare", "--momentum", "2"]) == 2
    assert "momentum must be in [0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["compare", "--momentum", "fast"])
    assert "expected a number in [0, 1] or None" in capsys.readouterr().err


def test_demo_runs_after_a_plain_pip_install(tmp_path):
    """`pip install .` (not editable) ships demos/ inside the package: `micrograd-bn demo tour` runs anywhere.

    The one slow test here (~30 s): a real build and install into a new venv, which borrows
    numpy and graphviz from this environment (a .pth file) but not micrograd_bn.
    """
    root = Path(__file__).resolve().parent.parent
    skip = shutil.ignore_patterns(".*", "*.egg-info", "build", "__pycache__", "docs", "tests", "benchmarks", "out")
    shutil.copytree(root, tmp_path / "src", ignore=skip)  # a copy: the build leaves build/ beside the sources
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # this pip installs
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # its .pth files are not read
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", tmp_path / "src"],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    (tmp_path / "elsewhere").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MICROGRAD_BN_ENGINE")}  # auto: as built
    run = subprocess.run(
        [venv / "bin" / "micrograd-bn", "demo", "tour"],
        capture_output=True,
        text=True,
        cwd=tmp_path / "elsewhere",
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "all witnesses agree" in run.stdout and list((tmp_path / "elsewhere").iterdir()) == []
    where = subprocess.run(
        [python, "-c", "import micrograd_bn.cli as c; print(c.DEMOS_DIR)"],
        capture_output=True,
        text=True,
        cwd=tmp_path / "elsewhere",
        env=env,
    ).stdout.strip()
    assert where == str(Path(site) / "micrograd_bn" / "demos")  # the installed copy, not this checkout


@pytest.mark.parametrize("features", [1, 3])
def test_inputs_are_named_as_the_layer_names_their_deviations(features):
    _, layer, _, _ = cli._batchnorm_loss(2, features, seed=0)
    for n in layer.last:
        for xi, dev in zip(n.x, n.deviation):
            assert dev.label == f"{xi.label}−{n.mean.label}"  # x₁⁽²⁾ and x₁⁽²⁾−μ_B⁽²⁾
            assert "μ" not in xi.label
