"""The `micrograd-bn` command line: exit codes and messages."""

from __future__ import annotations

import subprocess
import sys

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


def test_unknown_demo_lists_the_choices(capsys):
    assert cli.main(["demo", "no_such_demo"]) == 2
    assert "choose one of" in capsys.readouterr().err


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
