"""The `micrograd-bn` command line: exit codes and messages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from micrograd_bn import cli
from micrograd_bn.norms import NORMS


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


def test_demo_without_a_name_lists_the_demos_on_stdout(capsys):
    """`micrograd-bn demo`: its help says "(none: list the demos)", so that is no error."""
    assert cli.main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("the demos (run one: micrograd-bn demo NAME")
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert listed == sorted(p.stem for p in cli.DEMOS_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert {"figure1", "tour"} <= set(listed) and all(len(line.split()) > 1 for line in out.splitlines()[1:])


def test_demo_runs_in_a_fresh_interpreter_with_its_arguments_and_exit_code(monkeypatch, tmp_path, capfd):
    (tmp_path / "probe.py").write_text(
        "import os, sys\n"
        "print(sys.argv[1:], os.environ['MICROGRAD_BN_ENGINE'], sys.executable, 'micrograd_bn' in sys.modules)\n"
        "print(os.environ['MICROGRAD_BN_PROG'])\n"
        "print('to stderr', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    monkeypatch.setattr(cli, "DEMOS_DIR", tmp_path)
    monkeypatch.delenv("MICROGRAD_BN_ENGINE", raising=False)
    assert cli.main(["demo", "probe", "--quick", "--out", "x"]) == 3
    out, err = capfd.readouterr()
    assert out == f"['--quick', '--out', 'x'] auto {sys.executable} True\nmicrograd-bn demo probe\n"
    assert err == "to stderr\n"
    monkeypatch.setenv("MICROGRAD_BN_ENGINE", "python")  # the environment's choice is kept
    assert cli.main(["demo", "probe"]) == 3
    assert capfd.readouterr().out.startswith("[] python ")


@pytest.mark.parametrize("argv", [["compare"], ["trace", "--batch", "50"], ["demo", "tour"]])
def test_a_closed_pipe_ends_quietly(tmp_path, argv):
    """`micrograd-bn compare | head -1`: the reader goes away; no traceback, no [Errno 32], and exit 0 (a failed
    tolerance is 1): the reader had what it wanted."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "micrograd_bn.cli", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )
    proc.stdout.close()  # before the first line: every write fails
    err = proc.stderr.read().decode()
    assert proc.wait() == 0 and err == ""
    head = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m micrograd_bn.cli {' '.join(argv)} | head -1"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert head.returncode == 0 and head.stderr == "" and len(head.stdout.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_console_script_help():
    out = subprocess.run(
        [sys.executable, "-m", "micrograd_bn.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "compare" in out and "demo" in out


def test_compare_momentum_option(capsys):
    assert cli.main(["compare", "--batch", "3", "--features", "1", "--momentum", "None"]) == 0
    assert "running_var" in capsys.readouterr().out
    for momentum in ("2", "1e400", "nan", "fast"):  # 1e400 is inf: once a NumPy warning before the message
        with pytest.raises(SystemExit):
            cli.main(["compare", "--momentum", momentum])
        err = one_line(capsys.readouterr().err)
        assert f"argument --momentum: expected a number in [0, 1] or None, got '{momentum}'" in err


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


# Issue 25: no input takes the machine down, and every command-line error is one line.

ROOT = Path(__file__).resolve().parent.parent
MEMORY_LIMIT = 2 * 1024**3  # ulimit -v for the child: the test itself can never take the machine down


def run_cli(*argv: str, cwd: Path | None = None, env: dict | None = None, limit: int | None = MEMORY_LIMIT):
    """`micrograd-bn ARGV` in a fresh interpreter under an address-space limit; returns the CompletedProcess."""
    import resource

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "micrograd_bn.cli", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        preexec_fn=limited if limit else None,
    )


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["compare", "--batch", "1000000000"], "use --batch "),
        (["compare", "--spatial", "100000x100000"], "use a smaller --spatial"),
        (["compare", "--batch", "100000"], "use --batch "),
        (["graph", "--batch", "1000000000"], "use --batch 44 or less"),
        (["graph", "--batch", "100000"], "use --batch 44 or less"),
        (["graph", "--batch", "100000", "--max-nodes", "1100016"], "use --batch "),
        (["trace", "--batch", "1000000000"], "use --batch "),
    ],
)
def test_huge_sizes_are_refused_before_any_work_in_one_line(tmp_path, argv, fix):
    """Under a 2 GB limit: refused (exit 2) with the estimate and the largest size that fits, nothing written."""
    run = run_cli(*argv, cwd=tmp_path)
    err = one_line(run.stderr)
    assert run.returncode == 2 and run.stdout == "" and err.startswith(f"micrograd-bn {argv[0]}: ")
    assert fix in err and "max_nodes=" not in err and "--max-nodes 1100016" not in err.split(";")[-1]
    assert "would take about" in err or "would draw" in err
    assert list(tmp_path.iterdir()) == []


def test_a_refusal_names_the_largest_batch_that_fits_and_that_one_is_accepted(capsys, monkeypatch):
    monkeypatch.setattr(cli.budget, "TIME_LIMIT", 1.0)  # a tight budget: refusal and acceptance stay fast
    assert cli.main(["compare", "--batch", "100000", "--features", "1"]) == 2
    err = one_line(capsys.readouterr().err)
    largest = int(err.split("use --batch ")[1].split()[0])
    assert "1 s and" in err and "more than" in err and largest >= 2
    assert cli.budget.compare_cost(largest).seconds <= 1.0 < cli.budget.compare_cost(largest + 1).seconds


def test_the_budget_sees_a_memory_limit():
    code = "from micrograd_bn import budget; print(budget.available_memory())"
    import resource

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limited).stdout
    assert 0 < int(out) < MEMORY_LIMIT


@pytest.mark.parametrize(("batch", "features"), [(2, 1), (4, 1), (5, 2), (8, 3)])
@pytest.mark.parametrize("folded", [False, True])
def test_graph_size_is_what_draw_counts(batch, features, folded):
    assert cli.graph_size(batch, features, folded) == cli._drawn_size(batch, features, folded)


def default_sigint() -> None:
    """Ctrl-C as a terminal delivers it: a test run in the background (`pytest &`) inherits SIGINT ignored."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_long_work_says_how_long_and_ctrl_c_stops_it_with_one_line(tmp_path):
    """`micrograd-bn trace --batch 300000`: a line saying how long, then SIGINT: exit 130, one more line."""
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "micrograd_bn.cli", "trace", "--batch", "300000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path, preexec_fn=default_sigint,
    )  # fmt: skip
    first = proc.stderr.readline()
    assert first.startswith("micrograd-bn trace: this will take about ") and "Ctrl-C stops it" in first
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait() == 130
    assert rest == "micrograd-bn trace: interrupted (Ctrl-C); run it again to start over\n"


def test_grad_view_frames_are_written(tmp_path, capsys):
    """`micrograd-bn graph --grad-view --frames DIR --out g3.svg` once said "wrote g3.svg", then failed."""
    argv = ["graph", "--grad-view", "--frames", str(tmp_path / "frames"), "--out", str(tmp_path / "g3.svg")]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    frames = sorted((tmp_path / "frames").glob("step_*.svg"))
    assert len(frames) == 33 and f"wrote 33 frames to {tmp_path / 'frames'}" in out
    assert "fill: grad" in frames[0].read_text() and "not computed" in frames[0].read_text()


@pytest.mark.parametrize("engine", ["bogus", "compiled"])
def test_an_engine_that_cannot_be_used_is_one_line(tmp_path, engine):
    """`MICROGRAD_BN_ENGINE=bogus micrograd-bn compare`, and =compiled with a stale compiled engine."""
    package = tmp_path / "micrograd_bn"
    shutil.copytree(ROOT / "micrograd_bn", package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    (package / "_engine_compiled.py").write_text('SOURCE_SHA256 = "0"  # built from another engine.py\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "MICROGRAD_BN_ENGINE": engine}
    run = run_cli("compare", env=env, cwd=tmp_path)
    err = one_line(run.stderr)
    assert run.returncode == 2 and err.startswith("micrograd-bn: MICROGRAD_BN_ENGINE")
    assert ("not 'bogus'" if engine == "bogus" else "built from an older engine.py); build it with") in err
    api = subprocess.run(
        [sys.executable, "-c", "import micrograd_bn"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert api.returncode == 1 and "ImportError: MICROGRAD_BN_ENGINE" in api.stderr  # Python keeps its ImportError


def test_exercise_refuses_a_name_check_would_refuse(tmp_path, capsys, monkeypatch):
    """`micrograd-bn exercise --out a.txt` wrote a file that `check a.txt` then refused."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["exercise", "--out", "a.txt"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "--out a.txt does not end in .py" in err and "a.py" in err and list(tmp_path.iterdir()) == []
    assert cli.main(["check", "a.txt"]) == 2
    assert "FILE a.txt does not end in .py" in one_line(capsys.readouterr().err)


def test_readme_commands_leave_nothing_untracked():
    """Every file the README's micrograd-bn commands write (and exercise's default) is ignored by git, or tracked."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    written = set()
    for line in readme.splitlines():
        if "micrograd-bn " in line:
            written |= set(re.findall(r"--(?:out|html|frames) ([^\s`]+)", line))
    written |= {f"{layer}_backward.py" for layer in NORMS}
    assert {"my_bn.py", "attempt.py", "batchnorm.svg", "backward.html"} <= written
    for path in written:
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True)
        assert ignored or tracked.returncode == 0, f"{path} would be left untracked"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["check", "{tmp}"],
            "{tmp} is a folder, not a .py file: name a file in it, e.g. micrograd-bn check {tmp}/my_bn.py",
        ),
        (["check", ""], "FILE is '': name a Python file, e.g. micrograd-bn check my_bn.py"),
        (["check", "{tmp}/none.py"], "no such file; check the name, or write one with: micrograd-bn exercise --out"),
        (["graph", "--batch", "1"], "got 1; use --batch 2 or more"),
        (["trace", "--batch", "1"], "got 1; use --batch 2 or more"),
        (["exercise", "--out", "{tmp}/nodir/a.py"], "the folder {tmp}/nodir does not exist; create it first"),
    ],
)
def test_messages_say_what_was_wrong_in_the_command_lines_words(tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert cli.main(argv) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"micrograd-bn {argv[0]}: ") and message.format(tmp=tmp_path) in err
    assert ".eval()" not in err and "Errno" not in err and "backward() first" not in err
    assert not (tmp_path / "nodir").exists()


def test_a_file_too_large_to_be_a_derivation_is_refused(tmp_path, capsys):
    big = tmp_path / "big.py"
    big.write_text("#" * (cli.MAX_ATTEMPT_BYTES + 1))
    assert cli.main(["check", str(big)]) == 2
    assert "not a derivation of a few kB" in one_line(capsys.readouterr().err)


def test_a_huge_eps_is_refused(capsys):
    """`micrograd-bn compare --eps 1e300` reported SOME WITNESSES DISAGREE: finite differences give 0 there."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", "--eps", "1e300"])
    err = one_line(capsys.readouterr().err)
    assert exc.value.code == 2 and "argument --eps: must be at most 1, got '1e300'" in err
    assert cli.main(["compare", "--batch", "4", "--eps", "1"]) == 0  # the largest accepted still agrees


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--bogus"], "micrograd-bn compare: unrecognized arguments: --bogus (usage: micrograd-bn compare "),
        (["compare", "--batch", "x"], "micrograd-bn compare: argument --batch: must be a positive integer, got 'x'"),
        (["graph", "--digits", "1000"], "micrograd-bn graph: argument --digits: must be at most 17"),
        (
            ["exercise", "--layer", "x"],
            f"(usage: micrograd-bn exercise [--out FILE.py] [--layer {{{','.join(NORMS)}}}]",
        ),
        ([], "micrograd-bn: the following arguments are required: COMMAND (usage: micrograd-bn [--version] COMMAND"),
    ],
)
def test_usage_errors_are_one_line_with_the_subcommands_usage(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = one_line(capsys.readouterr().err)
    assert exc.value.code == 2 and message in err and "--help)" in err


def test_version_and_the_exit_codes_in_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("micrograd-bn 0.1.0 (engine: ")
    for argv in (["--help"], ["compare", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        help_text = " ".join(capsys.readouterr().out.split())
        assert "exit status: 0 ok; 1 a check failed" in help_text and "130 interrupted" in help_text


@pytest.mark.parametrize("task", [[], ["bogus"]])
def test_tasks_sh_without_a_known_task_prints_one_usage_line(task):
    """`bash tasks.sh` printed its own source (`set -euo pipefail`) as usage."""
    run = subprocess.run(["bash", str(ROOT / "tasks.sh"), *task], capture_output=True, text=True)
    err = one_line(run.stderr)
    assert run.returncode == 2 and run.stdout == "" and "usage: bash tasks.sh main | test" in err
    assert "set -e" not in err and ("unknown task 'bogus'" in err) == bool(task)


def test_ctrl_c_in_a_demo_is_one_line_and_130(tmp_path):
    """Ctrl-C reaches the demo and `micrograd-bn demo` alike (one process group): one line, exit 130."""
    import signal

    (tmp_path / "probe.py").write_text("import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    code = (
        f"import sys; from micrograd_bn import cli; cli.DEMOS_DIR = cli.Path({str(tmp_path)!r}); sys.exit(cli.main())"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "demo", "probe"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=default_sigint,
    )  # fmt: skip
    assert proc.stdout.readline() == "ready\n"
    os.killpg(proc.pid, signal.SIGINT)  # as the terminal sends it
    assert proc.wait() == 130
    assert proc.stderr.read() == "micrograd-bn demo probe: interrupted (Ctrl-C); run it again to start over\n"


def test_allowed_but_long_work_says_how_long_first(capsys, monkeypatch):
    """`micrograd-bn compare --batch 5000` printed nothing for a minute: now one line on stderr, then the table."""
    monkeypatch.setattr(cli.budget, "SAY_AFTER", 0.0)  # every run counts as long: the line shows at once
    assert cli.main(["compare", "--batch", "4"]) == 0
    out, err = capsys.readouterr()
    line, bar = err.split("\n", 1)
    assert line.startswith("micrograd-bn compare: this will take about ") and line.endswith("; Ctrl-C stops it")
    assert "finite differences" in bar and "\n" not in bar and bar.endswith("\r")  # the bar, cleared at the end
    assert "all witnesses agree" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--layer", "rmsnorm", "--batch", "2", "--features", "3"], "RMSNorm, x 2×3, ε = 1e-05"),
        (["--layer", "groupnorm", "--features", "4", "--groups", "2", "--spatial", "2x2"], "x 8×4×2×2, G = 2 groups"),
        (["--layer", "layernorm", "--batch", "1"], "LayerNorm, x 1×3"),
    ],
)
def test_compare_other_norms(capsys, argv, says):
    assert cli.main(["compare", *argv]) == 0
    out = capsys.readouterr().out
    assert says in out.splitlines()[0]
    assert "all witnesses agree" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layer", "groupnorm", "--features", "3", "--groups", "2"], "--groups 2 must divide --features 3"),
        (["--layer", "rmsnorm", "--groups", "2"], "--groups is GroupNorm's G; use it with --layer groupnorm"),
        (["--layer", "layernorm", "--spatial", "2x2"], "--spatial is for --layer batchnorm or groupnorm"),
        (["--layer", "rmsnorm", "--momentum", "0.5"], "--momentum is BatchNorm's running statistics"),
    ],
)
def test_compare_options_a_norm_cannot_take_are_one_line(capsys, argv, message):
    assert cli.main(["compare", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"micrograd-bn compare: {message}") and err.count("\n") == 1, err
