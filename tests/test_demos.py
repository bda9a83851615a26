"""The demos in demos/: each runs with --quick, saves a figure, and its numbers show the paper's claim.

Every check compares numbers the demo computed (by training with the engine) against the claim,
so a broken engine, layer or demo fails here. References: Ioffe & Szegedy, arXiv 1502.03167;
Santurkar et al., arXiv 1805.11604.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import math
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from micrograd_bn import cli

DEMOS = Path(__file__).resolve().parent.parent / "demos"
NAMES = [  # the paper's claims, one demo each (other files in demos/, such as a tour, are not claims)
    "figure1",
    "init_sensitivity",
    "learning_rates",
    "saturation",
    "bias_explosion",
    "scale_invariance",
    "covariate_shift",
    "inference",
    "conv_feature_maps",
    "regularization",
    "identity_transform",
    "loss_landscape",
]


def load(name: str) -> ModuleType:
    """Import demos/NAME.py as a module (the demos folder is not a package)."""
    if str(DEMOS) not in sys.path:
        sys.path.insert(0, str(DEMOS))
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_quick(name: str, out: Path, *args: str) -> dict:
    result = load(name).main(["--quick", "--out", str(out), *args])
    png = Path(result["figure"])
    assert png.parent == out and png.suffix == ".png"
    assert png.stat().st_size > 10_000, f"{png} is only {png.stat().st_size} bytes"
    with png.open("rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return result


@pytest.mark.parametrize("name", NAMES)
def test_demo_states_its_claim_and_has_main(name):
    module = load(name)
    assert module.__doc__ and "Sec." in module.__doc__ and "What to look at" in module.__doc__
    assert callable(module.main)


def test_figure1_bn_trains_faster_and_its_median_drifts_less(tmp_path):
    r = run_quick("figure1", tmp_path)
    plain, bn = r["without BN"], r["with BN"]
    assert len(r["seeds"]) >= 3
    for k in range(len(r["seeds"])):  # every seed (seen on 13 seeds: margin ≥ 0.13 and drift ratio ≤ 0.75)
        assert bn["final_accuracy"][k] > plain["final_accuracy"][k] + 0.1  # Fig. 1(a)
        # Fig. 1(c): in the first window (γ ≈ 1, β ≈ 0) BN's input is ≈ N(0, 1): percentiles ±1.04, 0
        assert np.allclose(bn["percentiles"][k][0], [-1.036, 0.0, 1.036], atol=0.5)
        assert bn["median_drift"][k] < plain["median_drift"][k]  # (b, c): BN's median moves less
    # the spread is not asserted: it widens with BN too (reported in the docstring and docs/demos.md)
    for res in (plain, bn):  # the NumPy evaluation is the engine's eval() network
        assert res["numpy_vs_engine"] < 1e-12


def test_init_sensitivity_bn_trains_from_every_init_and_keeps_gradients_level(tmp_path):
    r = run_quick("init_sensitivity", tmp_path)
    plain, bn = r["without BN"], r["with BN"]
    assert len(r["seeds"]) >= 3 and len(r["inits"]) >= 3 and "PyTorch default" in r["inits"]
    # abstract: "less careful about initialization": for every seed, BN's accuracy varies less over the inits
    for spread_bn, spread_plain in zip(bn["spread"], plain["spread"], strict=True):
        assert spread_bn < spread_plain
    assert np.min(bn["accuracy"]) > 0.4 and np.min(plain["accuracy"]) < 0.15  # the plain net stuck at chance somewhere
    # vanishing gradients without BN at small inits; level through depth with BN at every init (every seed)
    for init in ("N(0, 0.125²)", "PyTorch default"):
        assert max(plain["first_over_last"][init]) < 1e-3
    for ratios in bn["first_over_last"].values():
        assert all(0.1 < x < 10 for x in ratios)


def test_learning_rates_bn_trains_at_a_rate_where_the_plain_net_does_not(tmp_path):
    r = run_quick("learning_rates", tmp_path)
    assert len(r["seeds"]) >= 3 and r["rates"] == [10.0] and r["held_rates"] == [30.0]
    for k in range(len(r["seeds"])):  # every seed: some rate where BN trains and the plain net does not
        assert any(
            r[grid]["with BN"]["status"][k][j] == "trains" and r[grid]["without BN"]["status"][k][j] != "trains"
            for grid in ("every_layer", "held")
            for j in range(len(r[grid]["with BN"]["status"][k]))
        )
        # lr 10 on every layer: the plain net is stuck at chance or blows up, the BN net does better
        assert r["every_layer"]["without BN"]["status"][k][0] in ("at chance", "blew up")
        assert r["every_layer"]["with BN"]["accuracy"][k][0] > r["every_layer"]["without BN"]["accuracy"][k][0]
    assert r["held"]["with BN"]["tolerance"] == [30.0] * len(r["seeds"])
    assert r["held"]["without BN"]["tolerance"] == [None] * len(r["seeds"])


def test_learning_rates_status_rules():
    status = load("learning_rates").status
    assert status(0.9, [2.3] * 10) == "trains"
    assert status(0.3, [2.0] * 10) == "slow"
    assert status(0.1, [2.3] * 10) == "at chance"
    assert status(0.1, [5.0] * 10) == "blew up"
    assert status(0.9, [1.0] * 9 + [float("nan")]) == "blew up"


def test_saturation_bn_keeps_fewer_sigmoids_saturated(tmp_path):
    r = run_quick("saturation", tmp_path)
    plain, bn = r["without BN"], r["with BN"]
    assert r["threshold"] == 3.0 and len(r["seeds"]) >= 3
    for k in range(len(r["seeds"])):  # every seed (seen on seeds 0–9: smallest margin of the first check 0.12)
        assert bn["share_start"][k] < 0.05  # normalized inputs: P(|N(0,1)| > 3) = 0.3%
        assert plain["share_end"][k] > bn["share_end"][k] + 0.1
        assert plain["share_end"][k] > plain["share_start"][k] + 0.1  # the plain net drifts into saturation
        assert bn["final_accuracy"][k] > plain["final_accuracy"][k] + 0.2


def test_bias_explosion_detached_mean_lets_b_grow(tmp_path):
    r = run_quick("bias_explosion", tmp_path)
    steps, b_detached, b_attached = r["steps"], np.array(r["b_detached"]), np.array(r["b_attached"])
    # Sec. 2: each detached step raises b by lr·2·(mean target offset) = 0.1·2·2 = 0.4
    assert np.allclose(np.diff(b_detached), 0.4, rtol=1e-9)
    assert b_detached[-1] >= 0.4 * steps * 0.99
    assert np.max(np.abs(b_attached)) < 1e-9  # in the graph: ∂ℓ/∂b = Σ ∂ℓ/∂x_i = 0
    assert np.allclose(r["loss_detached"], r["loss_attached"], rtol=1e-12, atol=0)  # b's growth buys nothing
    assert r["loss_change_when_b_reset"] < 1e-9


def test_scale_invariance_gradient_scales_as_one_over_a(tmp_path):
    r = run_quick("scale_invariance", tmp_path)
    exact = r[0.0]
    for a, ratio in zip(r["scales"], exact["grad_ratio"]):
        assert abs(ratio * a - 1.0) < 1e-9  # ‖∂ℓ/∂(aW)‖ = ‖∂ℓ/∂W‖ / a
    for key in ("y_error", "du_error", "dW_error"):
        assert max(exact[key]) < 1e-9, key
    # with ε = 1e-5 the identities hold only approximately: the check can see a difference
    assert max(r[1e-5]["y_error"]) > 1e-6


def test_covariate_shift_is_measured_and_not_reduced_by_bn(tmp_path):
    r = run_quick("covariate_shift", tmp_path)
    assert len(r["seeds"]) >= 3
    for label in ("without BN", "with BN"):
        d, c = np.array(r[label]["distance"]), np.array(r[label]["cosine"])  # [seed][probe][layer]
        assert d.shape[0] == len(r["seeds"]) and d.shape[2] == 3 and np.all(d > 0) and np.all(np.isfinite(d))
        assert np.all(c <= 1 + 1e-12) and np.all(c >= -1 - 1e-12)
    # Santurkar et al.: BN does not reduce ICS by Definition 2.1 (here it is larger early on, layer 2, every seed;
    # seen on seeds 0–9 at --quick: 10/10, by 3.5× or more)
    for plain, bn in zip(r["without BN"]["median_distance"], r["with BN"]["median_distance"], strict=True):
        assert bn[0] > plain[0]


def test_covariate_shift_probe_gives_g_when_nothing_moved():
    """G' = G exactly when the 'updated' layers below are the old ones: the probe changes nothing else."""
    demo = load("covariate_shift")
    common = sys.modules["_common"]
    data = common.load_digits()
    net = common.sigmoid_mlp(batchnorm=True, seed=1)
    rows, labels = data.x_train[:8], data.y_train[:8]
    loss = demo.cross_entropy(net(rows), labels)
    net.zero_grad()
    loss.backward()
    g = [demo.weight_gradient(layer) for layer in common.linear_layers(net)]
    running = [list(bn.running_mean) for bn in net.layers if isinstance(bn, demo.BatchNorm1d)]
    old = [[p.data for p in block] for block in demo.layer_blocks(net)]
    shifted = demo.shifted_gradients(net, old, rows, labels)
    for i, g_shifted in shifted.items():
        assert np.allclose(g_shifted, g[i], rtol=1e-12, atol=1e-15)
    assert running == [list(bn.running_mean) for bn in net.layers if isinstance(bn, demo.BatchNorm1d)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inference_population_statistics_and_folded_map(tmp_path, seed):
    r = run_quick("inference", tmp_path, "--seed", str(seed))
    assert r["stats_error"] < 1e-12  # running statistics = E_B[μ_B], m/(m−1)·E_B[σ²_B] (momentum=None)
    assert r["population_mean_error"] < 1e-12  # equal-size batches: E_B[μ_B] is the mean of all examples
    assert r["population_var_rel_error"] < 0.2
    assert r["folded_error"] < 1e-12  # eval() is the folded affine map of Alg. 2, line 11
    assert r["train_eval_gap_mean"] > 0.01  # training mode depends on the batch


def test_conv_feature_maps_match_numpy(tmp_path):
    r = run_quick("conv_feature_maps", tmp_path)
    n, c, h, w = r["shape"]
    assert r["m_prime"] == n * h * w and r["per_feature_values"] == [n * h * w] * c
    assert r["num_gamma"] == c  # one γ per feature map, not per activation
    for name, err in r["errors"].items():
        assert err < 1e-12, name
    assert np.allclose(r["after_mean"], 0.0, atol=1e-12)
    assert np.allclose(r["after_var"], 1.0, atol=1e-4)  # σ²/(σ² + ε)


def test_cli_runs_a_demo(tmp_path, capfd):  # capfd: the demo runs in its own interpreter, printing to our stdout
    assert cli.main(["demo", "bias_explosion", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "bias_explosion.png").stat().st_size > 10_000
    assert "with μ_B detached" in capfd.readouterr().out


def test_demo_with_default_options_leaves_a_clone_clean(tmp_path):
    """The figure goes to out/ unless --out says otherwise, and git ignores out/: no untracked file."""
    done = subprocess.run(
        [sys.executable, str(DEMOS / "scale_invariance.py"), "--quick"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [
        "out/scale_invariance.png"
    ]
    root = DEMOS.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout: nothing to keep clean")
    for where in ("out/scale_invariance.png", "demos/out/scale_invariance.png"):  # run from the clone or demos/
        assert subprocess.run(["git", "check-ignore", "-q", where], cwd=root).returncode == 0, where


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream", [io.StringIO, _Terminal])
def test_progress_is_a_few_whole_lines_off_a_terminal(monkeypatch, stream):
    load("scale_invariance")  # puts demos/ on sys.path, where the demos find their _common
    common = importlib.import_module("_common")
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    assert list(common.progress(iter(range(200)), 200, "with BN")) == list(range(200))
    text = err.getvalue()
    if stream is _Terminal:  # a live bar, redrawn in place
        assert "\r" in text and "200/200" in text
    else:  # a log or CI: whole lines at 0, 25, 50, 75, 100 %
        lines = text.splitlines()
        assert "\r" not in text and len(lines) == 5 and all(line.startswith("with BN") for line in lines)
        assert [line.split("|")[0].split()[-1] for line in lines] == ["0%", "25%", "50%", "75%", "100%"]


@pytest.mark.parametrize("name", ["scale_invariance"])
def test_demo_runs_as_a_script(tmp_path, name):
    import subprocess

    done = subprocess.run(
        [sys.executable, str(DEMOS / f"{name}.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"{name}.png").exists()


def bn_state(net) -> list[str]:
    """Everything a probe must not touch, bit for bit: values, grads, BN's running statistics and last nodes."""
    common = sys.modules["_common"]
    out = [f"{p.data.hex()} {p.grad.hex()}" for p in net.parameters()]
    for bn in (layer for layer in net.layers if isinstance(layer, common.BatchNorm1d)):
        out += [x.hex() for x in bn.running_mean + bn.running_var] + [str(bn.num_batches_tracked)]
        out += [str(id(nodes)) for nodes in bn.last]
    return out


def test_loss_landscape_probes_leave_training_bit_identical_and_bn_gradient_predicts_better(tmp_path):
    demo = load("loss_landscape")
    r = run_quick("loss_landscape", tmp_path)
    assert len(r["seeds"]) >= 3
    for label, batchnorm in (("without BN", False), ("with BN", True)):
        res = r[label]
        # the probed run ends exactly where the same training without probes ends: values and running statistics
        unprobed = demo.run(batchnorm, r["lr"], r["steps"], every=None, seed=r["seeds"][0])["state"]
        assert [x.hex() for x in res["state"][0]] == [x.hex() for x in unprobed]
        assert np.all(np.array(res["landscape"]) > 0)  # a cross-entropy
        assert np.all(np.array(res["gradient_change"]) >= 0)
        assert np.all(np.isfinite(res["beta"])) and np.min(res["beta"]) > 0
    # Santurkar et al. Fig. 4(b): relative to its own size, BN's gradient changes less along −∇ℓ (every seed);
    # the loss variation and β are reported, not asserted: at this scale they go either way
    for plain, bn in zip(
        r["without BN"]["gradient_change_median"], r["with BN"]["gradient_change_median"], strict=True
    ):
        assert bn < plain
    assert len(r["etas"]) >= 2 and min(r["etas"]) > 0


def test_loss_landscape_probe_reads_only_and_steps_along_the_gradient():
    demo = load("loss_landscape")
    common = sys.modules["_common"]
    data = common.load_digits()
    net, twin = common.sigmoid_mlp(batchnorm=True, seed=1), common.sigmoid_mlp(batchnorm=True, seed=1)
    rows, labels = data.x_train[:16], data.y_train[:16]
    loss = demo.cross_entropy(net(rows), labels)
    net.zero_grad()
    loss.backward()
    before = bn_state(net)
    eta = 1e-5
    losses, changes = demo.probe(net, twin, rows, labels, [0.0, eta, 1.0])
    assert bn_state(net) == before  # values, grads, running statistics, num_batches_tracked: untouched
    # at η = 0 the twin computes the net's own loss and gradient, bit for bit
    assert losses[0] == loss.data and changes[0] == 0.0
    # a small step along −∇ℓ lowers ℓ by η‖∇ℓ‖² to first order
    g2 = sum(p.grad**2 for p in net.parameters())
    assert abs((loss.data - losses[1]) / (eta * g2) - 1.0) < 1e-2
    assert changes[2] > changes[1] > 0


def test_loss_landscape_probe_refuses_the_net_as_its_own_twin():
    demo = load("loss_landscape")
    net = sys.modules["_common"].sigmoid_mlp(batchnorm=True, seed=1)
    with pytest.raises(ValueError, match="shares parameters"):
        demo.probe(net, net, [[0.0] * 64] * 2, [0, 1], [1.0])


def test_bn_state_sees_a_training_forward():
    """The check above can fail: one training-mode forward moves the running statistics."""
    load("loss_landscape")
    common = sys.modules["_common"]
    data = common.load_digits()
    net = common.sigmoid_mlp(batchnorm=True, seed=1)
    before = bn_state(net)
    net(data.x_train[:16])
    assert bn_state(net) != before


SEEDED = [  # the demos that run several seeds (--seeds K)
    "figure1",
    "init_sensitivity",
    "learning_rates",
    "saturation",
    "covariate_shift",
    "regularization",
    "identity_transform",
    "loss_landscape",
]
OWN_OPTIONS = {  # each demo's other options: (arguments, words the one-line error must contain)
    "figure1": [
        (["--paper=1"], "argument --paper: ignored explicit argument '1'"),
        (["--paper", "--init-std", "0"], "'0' is not a weight std"),
    ],
    "learning_rates": [
        (["--rates", "0"], "'0' is not a rate"),
        (["--rates", "-1"], "'-1' is not a rate"),
        (["--rates", "1e9"], "'1e9' is not a rate"),
        (["--held-rates", "nan"], "'nan' is not a rate"),
        (["--output-lr", "0"], "'0' is not a rate"),
    ],
    "loss_landscape": [(["--lr", "nan"], "'nan' is not a rate"), (["--lr", "inf"], "'inf' is not a rate")],
}
BAD_ARGUMENTS = [  # (demo, arguments, words): every option of every demo, wrong
    *[
        (name, args, words)
        for name in NAMES
        for args, words in [
            (["--seed", "-1"], "'-1' is not a seed"),
            (["--seed", "1.5"], "'1.5' is not a seed"),
            (["--quick=yes"], "argument --quick: ignored explicit argument 'yes'"),
            (["--out", "README.md"], "'README.md' is a file"),
            (["--steps", "3"], "unrecognized arguments: --steps 3"),
        ]
    ],
    *[(name, ["--seeds", n], f"'{n}' is not a number of seeds") for name in SEEDED for n in ("0", "x", "51")],
    *[(name, args, words) for name, cases in OWN_OPTIONS.items() for args, words in cases],
]


@pytest.mark.parametrize("prog", ["{name}.py", "micrograd-bn demo {name}"])
@pytest.mark.parametrize(("name", "args", "words"), BAD_ARGUMENTS)
def test_a_bad_argument_is_one_line_and_exit_code_2(tmp_path, capsys, monkeypatch, name, args, words, prog):
    """As `python demos/NAME.py` and as `micrograd-bn demo NAME` (which names itself in MICROGRAD_BN_PROG)."""
    monkeypatch.chdir(DEMOS.parent)  # --out README.md: an existing file
    if prog.startswith("micrograd-bn"):
        monkeypatch.setenv("MICROGRAD_BN_PROG", prog.format(name=name))
    else:
        monkeypatch.delenv("MICROGRAD_BN_PROG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        load(name).main(["--quick", "--out", str(tmp_path), *args] if "--out" not in args else ["--quick", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{prog.format(name=name)}: error: ") and words in err, err
    assert not list(tmp_path.iterdir())  # nothing ran


@pytest.mark.parametrize("name", NAMES)
def test_every_option_has_a_bad_argument_case(capsys, name):
    """The table above covers every option a demo's --help lists (a new option needs its case)."""
    with pytest.raises(SystemExit):
        load(name).main(["--help"])
    listed = set(re.findall(r"(--[a-z][a-z-]*)", capsys.readouterr().out)) - {"--help"}
    covered = {a.split("=")[0] for n, args, _ in BAD_ARGUMENTS if n == name for a in args if a.startswith("--")}
    assert listed <= covered, listed - covered


def test_a_bad_argument_through_python_and_the_cli(tmp_path, capfd):
    """The real thing, once each way: a fresh interpreter, one line on stderr, exit code 2."""
    done = subprocess.run(
        [sys.executable, str(DEMOS / "saturation.py"), "--seeds", "0"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2 and done.stderr.startswith("saturation.py: error: argument --seeds: '0' is not")
    assert done.stderr.count("\n") == 1 and not list(tmp_path.iterdir())


def test_ctrl_c_ends_a_demo_with_one_line_and_exit_code_130(capsys):
    load("figure1")  # puts demos/ on sys.path, where the demos find their _common
    common = importlib.import_module("_common")

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exit_info:
        common.run_main(interrupted, "figure1")
    assert exit_info.value.code == 130  # 128 + SIGINT, as a shell reports it
    assert capsys.readouterr().err == "figure1.py: interrupted\n"


def test_cli_names_the_demo_in_usage_and_errors(capfd):
    assert cli.main(["demo", "figure1", "--help"]) == 0
    assert capfd.readouterr().out.startswith("usage: micrograd-bn demo figure1 [-h]")
    assert cli.main(["demo", "learning_rates", "--rates", "0"]) == 2
    err = capfd.readouterr().err
    assert err == (
        "micrograd-bn demo learning_rates: error: argument --rates: '0' is not a rate; give a number above 0 "
        "and at most 1e+06 (see micrograd-bn demo learning_rates --help)\n"
    )


def test_regularization_batch_mates_move_training_output_only(tmp_path):
    r = run_quick("regularization", tmp_path)
    assert len(r["seeds"]) >= 3 and r["sizes"] == sorted(r["sizes"]) and len(r["sizes"]) >= 3
    for spread, slope, eval_range in zip(r["spread"], r["slope"], r["eval_range"], strict=True):  # every seed
        assert len(spread) == len(r["sizes"])
        assert all(s > 0.05 for s in spread)  # Sec. 3.4: no longer deterministic for a given example
        assert np.all(np.diff(spread) < 0)  # less noise in larger batches
        assert -0.8 < slope < -0.3  # roughly 1/√m (seen on seeds 0–12 at --quick: −0.67 to −0.38)
        assert eval_range == 0.0  # Alg. 2: eval output is the same, bit for bit, in every batch
    # (c, d): BN fits the 100 training digits first in every seed (seen on seeds 0–12 at --quick: by step 50,
    # the plain net not within the 60 steps); whether it generalizes better is reported, not asserted: here it does not
    plain, bn = r["without BN"]["first_step_fitted"], r["with BN"]["first_step_fitted"]
    for k in range(len(r["seeds"])):
        assert bn[k] is not None and (plain[k] is None or plain[k] > bn[k])
    for kind in ("without BN", "with BN", "with Dropout"):
        res = r[kind]
        assert all(0 <= a <= 1 for a in res["test_accuracy"] + res["train_accuracy"])
        assert all(math.isfinite(x) for x in res["test_loss"] + res["train_loss"])


def test_regularization_inference_net_is_the_eval_net_without_dropout():
    demo = load("regularization")
    net = demo.make_net(demo.DROPOUT, seed=0)
    assert sum(isinstance(layer, demo.Dropout) for layer in net.layers) == 1
    rows = np.random.default_rng(0).random((3, 64))
    net.eval()
    engine = np.array([[v.data for v in row] for row in net(rows.tolist())])
    numpy_logits, _ = sys.modules["_common"].numpy_forward(demo.inference_net(net), rows)
    assert np.allclose(numpy_logits, engine, rtol=1e-12, atol=1e-14)
    net.train()
    assert not np.allclose([[v.data for v in row] for row in net(rows.tolist())], engine)  # training: dropped


def test_identity_transform_gamma_beta_give_back_x(tmp_path):
    r = run_quick("identity_transform", tmp_path)
    assert r["identity_error"] <= 1e-12 * max(1.0, r["x_max"])  # Sec. 3: y_i = x_i to rounding
    assert r["x_hat_error"] > 0.1  # the check can fail: with γ = 1, β = 0, y = x̂ is not x
    learned, frozen = r["γ, β learned"], r["γ, β frozen at 1, 0"]
    assert len(r["seeds"]) >= 3
    for k in range(len(r["seeds"])):  # every seed
        assert frozen["gamma_mean_abs"][k] == [1.0, 1.0, 1.0]
        # frozen at 1, 0 the sigmoid inputs are x̂: about P(|N(0, 1)| < 1) = 0.683 of them near-linear
        assert all(abs(share - 0.683) < 0.1 for share in frozen["share_start"][k])
        # learned: the last hidden layer grows γ and leaves the linear middle (seen on seeds 0–12 at --quick:
        # mean |γ| 1.74–1.84, held-out share 0.34–0.39 against 0.64–0.67 frozen)
        assert learned["gamma_mean_abs"][k][-1] > 1.3
        assert learned["held_out_share"][k][-1] < frozen["held_out_share"][k][-1] - 0.15
    for res in (learned, frozen):  # accuracy is reported, not asserted
        assert all(0 <= a <= 1 for a in res["final_accuracy"])
