"""Coverage of the NPS 95 % confidence interval (station.kpi) on simulated surveys.

    python bench/kpi_ci.py [--trials 4000] [--seed 1] [--json]

For several true score mixes and sample sizes from the minimum shown (min-n = 30) upwards,
draw surveys with a known true NPS, compute the interval with `station.kpi.nps_from_counts`
and count how often it contains the truth. A well-calibrated 95 % interval covers 94-96 %.
The plain Wald interval (estimate +-1.96 SE) is measured in the same run as the reference.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from station.kpi import Z95, nps_from_counts

# True probabilities of scores 0..10 (detractor-heavy, balanced, promoter-heavy, polarised).
MIXES = {
    "detractor-heavy": [4, 3, 4, 6, 6, 10, 12, 15, 15, 12, 13],
    "balanced": [1, 1, 1, 2, 3, 6, 8, 20, 22, 18, 18],
    "promoter-heavy": [0, 0, 1, 1, 1, 2, 3, 7, 15, 30, 40],
    "polarised": [12, 6, 4, 2, 1, 1, 2, 3, 6, 20, 43],
}
SIZES = [30, 50, 100, 200, 500, 1000]


def run(trials: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    cells, covered_total, n_total, plain_total = [], 0, 0, 0
    for name, weights in MIXES.items():
        probs = np.asarray(weights, float) / sum(weights)
        true_nps = float(100 * (probs[9:].sum() - probs[:7].sum()))
        for n in SIZES:
            samples = rng.multinomial(n, probs, size=trials)
            covered = plain = 0
            for counts in samples:
                r = nps_from_counts(counts.tolist(), min_n=30)
                covered += r.ci_low <= true_nps <= r.ci_high
                plain += r.nps - Z95 * r.se <= true_nps <= r.nps + Z95 * r.se
            cells.append({"mix": name, "n": n, "true_nps": round(true_nps, 2),
                          "coverage": covered / trials, "plain_wald_coverage": plain / trials})
            plain_total += plain
            covered_total += covered
            n_total += trials
    return {"trials_per_cell": trials, "cells": cells,
            "coverage": covered_total / n_total,
            "plain_wald_coverage": plain_total / n_total,
            "min_cell_coverage": min(c["coverage"] for c in cells),
            "max_cell_coverage": max(c["coverage"] for c in cells)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    result = run(args.trials, args.seed)
    result["seconds"] = round(time.perf_counter() - start, 2)
    print(f"{'mix':<16} {'n':>5} {'true NPS':>9} {'coverage':>9} {'plain Wald':>11}")
    for c in result["cells"]:
        print(f"{c['mix']:<16} {c['n']:>5} {c['true_nps']:>9.1f} {100 * c['coverage']:>8.2f}% "
              f"{100 * c['plain_wald_coverage']:>10.2f}%")
    print(f"overall 95 % CI coverage: {100 * result['coverage']:.2f} % "
          f"(cells {100 * result['min_cell_coverage']:.1f}..{100 * result['max_cell_coverage']:.1f} %; "
          f"target 94-96 %) in {result['seconds']} s; plain Wald +-1.96 SE for reference: "
          f"{100 * result['plain_wald_coverage']:.2f} %")
    result["within_target"] = bool(0.94 <= result["coverage"] <= 0.96)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
