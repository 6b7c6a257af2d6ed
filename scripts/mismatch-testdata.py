"""Writes the cases in metrics/testdata/mismatch/: seeded rollout and reference
log-probs with the figures verl computes from them, which
metrics/mismatch_test.go compares NewMismatch with, every figure to 1e-9
relative.

The figures are verl's, recomputed here the way verl computes them: torch
tensors of a padded batch (rows = sequences, padding 0 outside an int64
response mask, as verl lays a batch out), with float64 values where verl has
float32. The formulas follow verl-project/verl at commit
1dda039b9c6311889a9c9a26040677e1254814f9:
  verl/utils/debug/metrics.py             calculate_debug_metrics (+ helpers)
  verl/trainer/ppo/rollout_corr_helper.py compute_offpolicy_metrics,
                                          compute_rollout_correction_weights,
                                          compute_is_metrics
  verl/utils/torch_functional.py          masked_sum, masked_mean
rewritten from the source, not imported (verl is not installed here).

Run: .venv/bin/python scripts/mismatch-testdata.py metrics/testdata/mismatch
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings

import numpy as np
import torch

SAFETY_BOUND = 20.0  # rollout_corr_helper.py


def masked_sum(values, mask, axis=None):
    # torch_functional.masked_sum: values outside the mask are zeroed first,
    # so padding (even NaN) never reaches the sum.
    kept = torch.where(mask.bool(), values, torch.zeros_like(values)) * mask
    return kept.sum() if axis is None else kept.sum(dim=axis)


def masked_mean(values, mask, axis=None):
    # torch_functional.masked_mean. mask is int64, so mask.sum() + 1e-8 is a
    # float32 tensor (torch's default dtype), in which the 1e-8 vanishes for
    # any count >= 1; the float64 sum is then divided by that.
    count = mask.sum() if axis is None else mask.sum(dim=axis)
    return masked_sum(values, mask, axis) / (count + 1e-8)


def debug_metrics(old, roll, mask):
    # debug/metrics.py calculate_debug_metrics with response_mask.
    actor_probs, rollout_probs = torch.exp(old), torch.exp(roll)
    m = mask.bool()
    # pearson_correlation_coefficient: corrcoef of the masked rows, [0][1].
    corr = torch.corrcoef(torch.stack([torch.masked_select(actor_probs, m), torch.masked_select(rollout_probs, m)]))
    # calculate_log_prob_diff(actor_probs, rollout_probs, mask).
    diff = torch.masked_select(torch.abs(actor_probs - rollout_probs), m)
    return {
        "rollout_probs_diff_max": torch.max(diff).item(),
        "rollout_probs_diff_mean": torch.mean(diff).item(),
        "rollout_probs_diff_std": torch.std(diff).item(),
        "rollout_actor_probs_pearson_corr": corr[0][1].item(),
    }


def offpolicy_metrics(old, roll, mask):
    # rollout_corr_helper.py compute_offpolicy_metrics.
    out = {}
    mean_train = masked_mean(old, mask, axis=-1)
    out["training_ppl"] = torch.exp(-mean_train).mean().item()
    out["training_log_ppl"] = (-mean_train).mean().item()
    out["kl"] = masked_mean(roll - old, mask).item()
    log_ratio = old - roll
    out["k3_kl"] = masked_mean(torch.exp(log_ratio) - log_ratio - 1, mask).item()
    mean_roll = masked_mean(roll, mask, axis=-1)
    out["rollout_ppl"] = torch.exp(-mean_roll).mean().item()
    out["rollout_log_ppl"] = (-mean_roll).mean().item()
    lpd = mean_roll - mean_train
    out["log_ppl_diff"] = lpd.mean().item()
    out["log_ppl_abs_diff"] = lpd.abs().mean().item()
    out["log_ppl_diff_max"] = lpd.max().item()
    out["log_ppl_diff_min"] = lpd.min().item()
    out["ppl_ratio"] = torch.exp(lpd).mean().item()
    rho = torch.exp(torch.clamp(log_ratio, -SAFETY_BOUND, SAFETY_BOUND))
    out["chi2_token"] = (masked_mean(rho.square(), mask) - 1.0).item()
    seq_sum = torch.clamp(masked_sum(log_ratio, mask, axis=-1), -SAFETY_BOUND, SAFETY_BOUND)
    out["chi2_seq"] = (torch.exp(2.0 * seq_sum).mean() - 1.0).item()
    return out


def is_metrics(old, roll, mask, threshold):
    # compute_rollout_correction_weights(rollout_is="token", a float
    # threshold, no batch normalization), then compute_is_metrics.
    log_ratio = old - roll
    raw = torch.exp(torch.clamp(log_ratio, -SAFETY_BOUND, SAFETY_BOUND)) * mask
    weights = raw.clamp(max=threshold)
    lower = 1.0 / threshold
    out = {
        "rollout_is_mean": masked_mean(weights, mask).item(),
        "rollout_is_ratio_fraction_high": masked_mean((raw > threshold).double(), mask).item(),
        "rollout_is_ratio_fraction_low": masked_mean((raw < lower).double(), mask).item(),
        "rollout_is_max": weights.masked_fill(~mask.bool(), float("-inf")).max().item(),
        "rollout_is_min": weights.masked_fill(~mask.bool(), float("inf")).min().item(),
    }
    clamped = weights.clamp(min=0.0, max=threshold)
    if mask.sum() > 1:
        mean = masked_mean(clamped, mask)
        var = masked_mean(clamped.square(), mask) - mean.square()
        out["rollout_is_std"] = torch.sqrt(torch.clamp(var, min=0.0)).item()
    else:
        out["rollout_is_std"] = 0.0
    normalized = clamped / (masked_mean(clamped, mask) + 1e-8)
    out["rollout_is_eff_sample_size"] = 1.0 / masked_mean(normalized.square(), mask).item()
    return out


SEQUENCE_FIGURES = {
    "training_ppl", "training_log_ppl", "rollout_ppl", "rollout_log_ppl", "log_ppl_diff",
    "log_ppl_abs_diff", "log_ppl_diff_max", "log_ppl_diff_min", "ppl_ratio", "chi2_seq",
}


def figures(seqs, threshold):
    width = max(len(s["rollout_logprobs"]) for s in seqs)
    old = torch.zeros(len(seqs), width, dtype=torch.float64)
    roll = torch.zeros(len(seqs), width, dtype=torch.float64)
    mask = torch.zeros(len(seqs), width, dtype=torch.int64)
    for i, s in enumerate(seqs):
        k = len(s["rollout_logprobs"])
        roll[i, :k] = torch.tensor(s["rollout_logprobs"], dtype=torch.float64)
        old[i, :k] = torch.tensor(s["reference_logprobs"], dtype=torch.float64)
        mask[i, :k] = 1
    values = {**debug_metrics(old, roll, mask), **offpolicy_metrics(old, roll, mask), **is_metrics(old, roll, mask, threshold)}
    tokens = int(mask.sum())
    out = {}
    for name, v in values.items():
        seq = name in SEQUENCE_FIGURES
        out[name] = {
            "value": v if math.isfinite(v) else ("NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")),
            "count": len(seqs) if seq else tokens,
            "over": "sequences" if seq else "tokens",
        }
    return out


def seqs_from(rolls, refs):
    return [{"rollout_logprobs": [float(x) for x in a], "reference_logprobs": [float(x) for x in b]} for a, b in zip(rolls, refs)]


def noisy(rng, lengths, sigma):
    # Rollout log-probs of sampled tokens, and a reference that differs by
    # Gaussian noise on the log scale (kept a log-probability, <= 0).
    rolls = [np.log(rng.uniform(0.02, 1.0, k)) for k in lengths]
    refs = [np.minimum(r + rng.normal(0.0, sigma, len(r)), 0.0) for r in rolls]
    return seqs_from(rolls, refs)


def cases():
    rng = np.random.default_rng(14)
    yield "typical", 2.0, noisy(rng, [17, 5, 32, 9, 24, 1], 0.3)
    # A quantized rollout's size of mismatch (log-ratios ~ 1e-3), where
    # k3_kl's exp(r) - r - 1 is a small difference of large terms.
    yield "small", 2.0, noisy(rng, [32, 32, 32, 32, 32, 32, 32, 32], 1e-3)
    yield "threshold_1.5", 1.5, noisy(rng, [12, 40, 3], 0.5)
    # Log-ratios past +-20 (importance weights and chi2 clamp, k3_kl does
    # not), and sequence sums past +-20 (chi2_seq clamps).
    yield "clamped", 2.0, seqs_from(
        [[-31.0, -0.2, -0.7, -45.5], [-0.01, -0.05, -0.3], [-3.0, -2.5, -4.0, -1.0, -2.0]],
        [[-0.4, -0.1, -0.9, -0.05], [-28.0, -33.5, -0.3], [-0.5, -0.2, -0.1, -0.3, -0.05]],
    )
    # Exponentials past float64's range: k3_kl, the perplexities and
    # ppl_ratio overflow to +Inf, as verl's (unclamped) do.
    yield "overflow", 2.0, seqs_from([[-800.0, -720.0], [-0.1, -0.2, -0.3]], [[-0.2, -0.4], [-0.1, -2500.0, -0.2]])
    yield "single_token", 2.0, seqs_from([[-0.7]], [[-0.25]])
    yield "single_tokens", 2.0, noisy(rng, [1, 1, 1, 1], 0.4)
    same = [np.log(rng.uniform(0.02, 1.0, k)) for k in [8, 3, 15]]
    yield "identical", 2.0, seqs_from(same, same)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, threshold, seqs in cases():
        with warnings.catch_warnings():
            # torch.std and torch.corrcoef of one token warn, and give NaN.
            warnings.simplefilter("ignore", UserWarning)
            want = figures(seqs, threshold)
        doc = {"name": name, "threshold": threshold, "sequences": seqs, "want": want}
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
