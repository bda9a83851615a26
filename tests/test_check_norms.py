"""The checker on RMSNorm and GroupNorm: tests/zoo_norms.py's wrong derivations each named at their first
wrong quantity with a cause, the right ones passing, their templates and files through the command line."""

from __future__ import annotations

import numpy as np
import pytest
import zoo_norms
from helpers import assert_close

from micrograd_bn import cli, reference
from micrograd_bn.check import CheckError, autodiff, cases, check_backward, load_attempt, sec3_terms
from micrograd_bn.exercise import exercise_source
from micrograd_bn.norms import NORMS

ZOOS = {"rmsnorm": zoo_norms.RMSNORM_WRONG, "groupnorm": zoo_norms.GROUPNORM_WRONG}
SAYS = {  # what the diagnosis of each wrong derivation must say, in the checker's words
    "ε forgotten in ∂ℓ/∂ms": "leaves out ε: Sec. 3 has ms + ε where you have ms",
    "LayerNorm's habit: x − μ": "uses x_k − μ where RMSNorm has x_k",
    "the 2 of ∂(x²)/∂x forgotten": "has the term ∂ℓ/∂ms · 2x_k / C multiplied by 1/2",
    "RMS treated as a constant": "is missing the term ∂ℓ/∂ms · 2x_k / C",
    "∂ℓ/∂γ summed over the features": "summed over axis 1; Sec. 3 sums over the examples (axis 0)",
    "∂ℓ/∂γ with x for x̂": "Sec. 3 has x̂_i, the normalized input, where you have x_i",
    "LayerNorm's statistics: groups ignored": "one per example, over all C channels (LayerNorm's)",
    "InstanceNorm's statistics: one per channel": "one per channel (InstanceNorm's)",
    "the unbiased variance": "uses the unbiased variance Σ(x_i − μ)²/(m−1)",
    "m = C/G: the positions forgotten": "and ∂ℓ/∂μ · 1/m multiplied by H·W",
    "∂ℓ/∂μ · 1/m dropped": "is missing the term ∂ℓ/∂μ · 1/m",
    "∂ℓ/∂γ, ∂ℓ/∂β summed over the examples only": "summed over the examples only",
}
WRONG = [(layer, name) for layer, zoo in ZOOS.items() for name in zoo]


@pytest.mark.parametrize(("layer", "name"), WRONG, ids=[name for _, name in WRONG])
def test_each_wrong_derivation_is_named_at_its_first_wrong_quantity_with_its_cause(layer, name):
    wrong = ZOOS[layer][name]
    report = check_backward(wrong.backward)  # the layer from the function's name
    assert report.title.startswith(NORMS[layer].name) and not report.ok
    assert report.first_wrong.key == wrong.first_wrong
    cause = report.diagnosis[0]
    assert cause.startswith(NORMS[layer].symbol(wrong.first_wrong)) and SAYS[name] in cause, report.diagnosis
    assert "not by a constant factor" not in " ".join(report.diagnosis)  # never the catch-all


@pytest.mark.parametrize("layer", ZOOS)
def test_the_right_derivations_pass_and_so_does_the_closed_form(layer):
    right = getattr(zoo_norms, NORMS[layer].function)
    assert check_backward(right).ok
    closed = {"rmsnorm": reference.rms_norm_backward, "groupnorm": reference.group_norm_backward}[layer]
    assert check_backward(lambda *args: closed(*args), layer).ok


@pytest.mark.parametrize("layer", ZOOS)
def test_the_terms_add_up_to_autodiff_on_every_case(layer):
    spec = NORMS[layer]
    for case in cases(layer):
        by_autodiff = autodiff(case, layer)
        assert set(by_autodiff) == set(spec.keys)
        for key, terms in sec3_terms(case, spec).items():
            assert_close(sum(terms), by_autodiff[key], rtol=1e-9)


def test_the_groupnorm_cases_show_every_slip():
    shapes = [(c.x.ndim, c.args[0], c.x.shape[1]) for c in cases("groupnorm")]
    assert any(ndim == 4 for ndim, _, _ in shapes) and any(ndim == 2 for ndim, _, _ in shapes)
    assert any(1 < g < c for _, g, c in shapes) and any(g == c for _, g, c in shapes)
    assert min(c.x[0].size / c.args[0] for c in cases("groupnorm")) >= 2  # m ≥ 2: σ² with m − 1 stays finite


def test_a_later_quantity_wrong_through_the_same_slip_is_said_to_follow():
    report = check_backward(ZOOS["rmsnorm"]["LayerNorm's habit: x − μ"].backward)
    assert report.diagnosis[1:] == [f"{sym} uses x_k − μ too (the same mistake)" for sym in ("∂ℓ/∂x_k", "∂ℓ/∂γ")]
    report = check_backward(ZOOS["rmsnorm"]["ε forgotten in ∂ℓ/∂ms"].backward)
    assert report.diagnosis[1] == "∂ℓ/∂x_k is right given your ∂ℓ/∂ms: it is wrong only because it uses it"


def test_a_mean_for_a_sum_names_what_groupnorms_sums_run_over():
    def groupnorm_backward(dy, x, gamma, eps, num_groups):  # ∂ℓ/∂β as a mean
        out = zoo_norms.groupnorm_backward(dy, x, gamma, eps, num_groups)
        return {**out, "dbeta": out["dbeta"] / (x.size / x.shape[1])}

    report = check_backward(groupnorm_backward)
    assert report.first_wrong.key == "dbeta"
    assert report.diagnosis == [
        "∂ℓ/∂β is off by the factor 1/N·H·W on every case: Sec. 3 sums over the examples and positions, Σ_i, "
        "where a mean divides by N·H·W"
    ]


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


ANSWERS = {  # the learner's NumPy for each placeholder of the templates
    "rmsnorm": {
        "dx_hat": "dy * gamma",
        "dms": "(dx_hat * x).sum(axis=1) * -0.5 * (ms + eps) ** -1.5",
        "dx": "dx_hat / np.sqrt(ms + eps)[:, None] + dms[:, None] * 2 * x / C",
        "dgamma": "(dy * x_hat).sum(axis=0)",
    },
    "groupnorm": {
        "dx_hat": "dy * gamma_k",
        "dvar": "(dx_hat.reshape(xg.shape) * (xg - mean)).sum(axis=2) * -0.5 * (var[..., 0] + eps) ** -1.5",
        "dmean": "(dx_hat.reshape(xg.shape) * -1 / np.sqrt(var + eps)).sum(axis=2)",
        "dx": "(dx_hat.reshape(xg.shape) / np.sqrt(var + eps) + dvar[..., None] * 2 * (xg - mean) / m"
        " + dmean[..., None] / m).reshape(x.shape)",
        "dgamma": "(dy * x_hat).sum(axis=(0, *range(2, x.ndim)))",
        "dbeta": "dy.sum(axis=(0, *range(2, x.ndim)))",
    },
}


@pytest.mark.parametrize("layer", ZOOS)
def test_the_template_is_not_done_then_filled_in_passes_without_layer(layer, tmp_path, capsys):
    path = tmp_path / f"my_{layer}.py"
    status, out, _ = run(capsys, "exercise", "--layer", layer, "--out", str(path))
    assert status == 0 and f"--layer {layer}" in out
    status, out, _ = run(capsys, "check", str(path))
    keys = NORMS[layer].keys
    assert status == 1 and f"not done yet: {', '.join(keys)}" in out and out.count("not done") == len(keys) + 1
    source = path.read_text()
    for key, code in ANSWERS[layer].items():
        source = source.replace(f"    {key} = None  # TODO", f"    {key} = {code}")
    path.write_text(source)
    status, out, _ = run(capsys, "check", str(path))
    assert status == 0 and f"{NORMS[layer].name} backward" in out and "all right" in out, out
    path.write_text(source.replace("* -0.5 * (", "* -0.5 * 2 * ("))  # a wrong one fails, as a file too
    status, out, _ = run(capsys, "check", str(path), "--layer", layer)
    assert status == 1 and "first wrong: d" in out and "off by the factor 2" in out, out


def test_a_groupnorm_file_without_num_groups_is_one_line(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def groupnorm_backward(dy, x, gamma, eps):\n    return {}\n")
    with pytest.raises(CheckError, match=r"must take \(dy, x, gamma, eps, num_groups\)$"):
        load_attempt(path)
    path.write_text("def rmsnorm_backward(dy, x, gamma, eps):\n    return {}\n")
    assert load_attempt(path).__name__ == "rmsnorm_backward"
    with pytest.raises(CheckError, match=r"no function groupnorm_backward.*use --layer rmsnorm"):
        load_attempt(path, "groupnorm")


def test_the_templates_quote_the_terms_reference_names_and_take_the_layers_arguments():
    rms, gn = exercise_source("rmsnorm"), exercise_source("groupnorm")
    assert f"# ∂ℓ/∂ms = {reference.RMS_NORM_TERM_NAMES['dms'][0]}    [shape (N,)]" in rms
    assert "def groupnorm_backward(dy, x, gamma, eps, num_groups):" in gn and "[shape (N, G)]" in gn
    with pytest.raises(ValueError, match="the example attempt is a BatchNorm one"):
        exercise_source("rmsnorm", example=True)


def test_an_earlier_value_that_is_not_float_numbers_makes_a_later_one_cannot_tell_yet():
    def rmsnorm_backward(dy, x, gamma, eps):  # ∂ℓ/∂x̂ rounded to integers, ∂ℓ/∂ms wrong through it
        out = zoo_norms.rmsnorm_backward(dy, x, gamma, eps)
        return {**out, "dx_hat": np.rint(out["dx_hat"]).astype(int), "dms": out["dms"] + 1.0}

    report = check_backward(rmsnorm_backward)
    assert report.first_wrong.key == "dx_hat" and "integers" in report.diagnosis[0]
    assert report.diagnosis[1].startswith("∂ℓ/∂ms: cannot tell yet: it uses your ∂ℓ/∂x̂_k")
