"""How close the corrected demographic shares come to the truth, on faces the correction was
not fitted on.

    .venv/bin/python bench/demographic_shares.py [--json] [--repeats 6] [--rounds 400] [--remeasure]

The calibration faces (models/demographics.json: FairFace-540 as the face models see a visitor)
are in two folds. The correction is fitted on one fold; "days" of visitors are drawn, with
replacement, from the other fold, and back. Each day: women's share 20 % ... 80 %, an age mix
(even, young adults, older, families, few children), 100 / 250 / 400 visitors; gender and age drawn
independently, then a face with that gender and age group. The truth is the day's drawn shares.
Per estimator (plain count of the hard labels, ACC on the hard labels, PACC on the
probabilities):
- women's share: mean / p90 / max absolute error in points;
- age-group mix (station.shares.AGE_GROUPS): mean / p90 total variation;
- coverage of the 95 % intervals: how often the women's share, and each age group, is inside.
Targets: women's share within 3 points, age mix TV <= 0.10, coverage >= 90 %.
Also the error of an endless day: what is left from fitting the correction on 270 faces (the
product fits it on all 540).
--remeasure runs the face models on the photos again (vision.calibrate_demographics) instead of
reading their stored outputs. With --json the last stdout line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station.shares import (AGE_GROUPS, CALIBRATION_FILE, GENDERS, class_means,  # noqa: E402
                            demographic_shares, load_calibration, solve, visit_features)

WOMEN = (0.2, 0.35, 0.5, 0.65, 0.8)
AGE_MIXES = {"even": (1 / 3, 1 / 3, 1 / 3), "young adults": (0.15, 0.6, 0.25),
             "older": (0.05, 0.2, 0.75), "families": (0.45, 0.35, 0.2), "few children": (0.05, 0.5, 0.45)}
SIZES = (100, 250, 400)
TARGETS = {"women_abs_error_points": 3.0, "age_tv": 0.10, "coverage": 0.90}


def draw_day(cal, pool, women: float, mix, size: int, rng):
    """Row indices of one day's visitors from `pool` and the true (women, age mix) drawn."""
    gender = (rng.random(size) >= women).astype(int)          # 0 = female
    group = rng.choice(len(AGE_GROUPS), size, p=mix)
    rows = np.empty(size, int)
    for g in range(len(GENDERS)):
        for a in range(len(AGE_GROUPS)):
            here = (gender == g) & (group == a)
            cell = pool[(cal.gender[pool] == g) & (cal.age_group[pool] == a)]
            rows[here] = rng.choice(cell, here.sum())
    return rows, float((gender == 0).mean()), np.bincount(group, minlength=len(AGE_GROUPS)) / size


def run(cal, repeats: int, rounds: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    folds = np.array(FOLDS)
    records = {m: {"women_err": [], "age_tv": [], "women_cover": [], "age_cover": [], "size": []}
               for m in ("count", "acc", "pacc")}
    started = time.perf_counter()
    days = 0
    for fit in (0, 1):
        fitted, pool = np.flatnonzero(folds == fit), np.flatnonzero(folds != fit)
        for women in WOMEN:
            for mix in AGE_MIXES.values():
                for size in SIZES:
                    for _ in range(repeats):
                        rows, true_women, true_mix = draw_day(cal, pool, women, np.array(mix), size, rng)
                        days += 1
                        hard_female = cal.p_female[rows] >= 0.5
                        count_mix = np.bincount(_bracket_group(cal, rows), minlength=len(AGE_GROUPS)) / size
                        for r in records.values():
                            r["size"].append(size)
                        records["count"]["women_err"].append(abs(hard_female.mean() - true_women))
                        records["count"]["age_tv"].append(0.5 * np.abs(count_mix - true_mix).sum())
                        for method in ("acc", "pacc"):
                            d = demographic_shares(cal.subset(fitted), cal.p_female[rows], cal.age_probs[rows],
                                                   method=method, rounds=rounds, seed=int(rng.integers(1 << 31)))
                            g, a = d.gender, d.age
                            f = g.share("female")
                            est_mix = np.array([a.share(x).estimate for x in AGE_GROUPS])
                            r = records[method]
                            r["women_err"].append(abs(f.estimate - true_women))
                            r["age_tv"].append(0.5 * np.abs(est_mix - true_mix).sum())
                            r["women_cover"].append(f.low <= true_women <= f.high)
                            r["age_cover"].extend(a.share(x).low <= true_mix[i] <= a.share(x).high
                                                  for i, x in enumerate(AGE_GROUPS))
    out = {}
    for method, r in records.items():
        err = np.array(r["women_err"]) * 100
        tv = np.array(r["age_tv"])
        out[method] = {"women_abs_error_points": {"mean": round(float(err.mean()), 2),
                                                  "p90": round(float(np.percentile(err, 90)), 2),
                                                  "max": round(float(err.max()), 2)},
                       "age_tv": {"mean": round(float(tv.mean()), 4), "p90": round(float(np.percentile(tv, 90)), 4)}}
        sizes = np.array(r["size"])
        out[method]["by_size"] = {str(n): {"women_abs_error_points_mean": round(float(err[sizes == n].mean()), 2),
                                           "age_tv_mean": round(float(tv[sizes == n].mean()), 4)}
                                  for n in SIZES}
        if r["women_cover"]:
            out[method]["coverage"] = {"women": round(float(np.mean(r["women_cover"])), 4),
                                       "age_groups": round(float(np.mean(r["age_cover"])), 4)}
    return {"estimators": out, "days": days, "seconds": round(time.perf_counter() - started, 1)}


def endless_days(cal) -> dict:
    """The error left with an endless day (the held-out fold's exact class means mixed in each
    scenario's proportions): the correction's own error, from fitting on half the faces."""
    folds = np.array(FOLDS)
    features = visit_features(cal.p_female, cal.age_probs)
    labels = cal.gender * len(AGE_GROUPS) + cal.age_group
    women_err, tv = [], []
    for fit in (0, 1):
        fitted, held = folds == fit, folds != fit
        k = len(GENDERS) * len(AGE_GROUPS)
        m_fit, m_held = class_means(features[fitted], labels[fitted], k), class_means(features[held], labels[held], k)
        for women in WOMEN:
            for mix in AGE_MIXES.values():
                truth = np.outer([women, 1 - women], mix)
                pi = solve(m_fit, truth.ravel() @ m_held).reshape(truth.shape)
                women_err.append(abs(pi[0].sum() - women) * 100)
                tv.append(0.5 * np.abs(pi.sum(axis=0) - np.array(mix)).sum())
    return {"women_abs_error_points_mean": round(float(np.mean(women_err)), 2),
            "women_abs_error_points_max": round(float(np.max(women_err)), 2),
            "age_tv_mean": round(float(np.mean(tv)), 4)}


def _bracket_group(cal, rows) -> np.ndarray:
    """The plain count's age group of each face: its most likely bracket's lower bound."""
    lower = [int(b.split("-")[0].rstrip("+")) for b in cal.brackets]
    bounds = [int(g.split("-")[0].rstrip("+")) for g in AGE_GROUPS]
    ages = np.array(lower)[np.argmax(cal.age_probs[rows], axis=1)]
    return np.searchsorted(bounds, ages, side="right") - 1


FOLDS: list[int] = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=6, help="days per (women, age mix, size, fold)")
    parser.add_argument("--rounds", type=int, default=400, help="bootstrap rounds per interval")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--remeasure", action="store_true", help="run the face models on the photos again")
    args = parser.parse_args(argv)

    global FOLDS
    if args.remeasure:
        from vision.calibrate_demographics import calibration_document, measure, render
        tmp = Path("/tmp") / "demographics-remeasured.json"
        tmp.write_text(render(calibration_document(measure())), encoding="utf-8")
        path = tmp
    else:
        path = CALIBRATION_FILE
    cal = load_calibration(path)
    FOLDS = [face["fold"] for face in json.loads(path.read_text(encoding="utf-8"))["faces"]]
    result = run(cal, args.repeats, args.rounds, args.seed)
    result["endless_day_pacc"] = endless_days(cal)
    pacc = result["estimators"]["pacc"]
    met = {"women_abs_error_points": pacc["women_abs_error_points"]["mean"] <= TARGETS["women_abs_error_points"],
           "age_tv": pacc["age_tv"]["mean"] <= TARGETS["age_tv"],
           "coverage": min(pacc["coverage"].values()) >= TARGETS["coverage"]}
    summary = {"bench": "demographic_shares", "calibration": str(path.name), "faces": len(cal),
               "women_shares": list(WOMEN), "age_mixes": AGE_MIXES, "sizes": list(SIZES),
               "repeats": args.repeats, "rounds": args.rounds, **result,
               "targets": TARGETS, "targets_met_by_pacc": met}
    print(f"{result['days']} days drawn from the fold not fitted on ({len(cal)} faces), "
          f"{args.rounds} bootstrap rounds, {result['seconds']} s")
    for method, r in result["estimators"].items():
        w, tv = r["women_abs_error_points"], r["age_tv"]
        cover = r.get("coverage")
        print(f"  {method:>5}: women's share error mean {w['mean']:.2f} p90 {w['p90']:.2f} max {w['max']:.2f} points; "
              f"age TV mean {tv['mean']:.3f} p90 {tv['p90']:.3f}"
              + (f"; 95 % interval coverage women {cover['women']:.3f}, age groups {cover['age_groups']:.3f}"
                 if cover else ""))
        print("         by day size: " + ", ".join(
            f"{n}: women {v['women_abs_error_points_mean']:.2f} pts, age TV {v['age_tv_mean']:.3f}"
            for n, v in r["by_size"].items()))
    e = result["endless_day_pacc"]
    print(f"  endless day (the correction's own error, fitted on half the faces): women "
          f"{e['women_abs_error_points_mean']:.2f} points (max {e['women_abs_error_points_max']:.2f}), "
          f"age TV {e['age_tv_mean']:.3f}")
    print("targets (PACC): " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in met.items()))
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
