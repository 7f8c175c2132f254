"""Side-by-side measurement of SALib 1.6 for `docs/benchmarks.md` (sensitivity suite).

Not part of the build or the tests: run by hand, `pip install "SALib==1.6.*"`, then
`python3 benches/python/salib_sobol.py`. Prints JSON:
- accuracy: RMSE over 20 seeds of Saltelli S1 and Jansen ST (SALib's sobol.analyze) on Ishigami
  with a scrambled Sobol' design, N = 2^14 (SALib.sample.sobol, scramble=True, no second order);
- the same over 500 seeds, with median absolute errors (the RQMC error is heavy-tailed);
- coverage of SALib's bootstrap 95% intervals on that design (seeds x 6 indices);
- time of the analysis step (sample + analyze, model excluded) at N = 2^14 and 2^16, best of 3.
"""
import json
import math
import time
import warnings

import numpy as np
from importlib.metadata import version
from SALib.analyze import sobol
from SALib.sample import sobol as sobol_sample

from ishigami import PI, S_EXACT, T_EXACT, ishigami

warnings.filterwarnings("ignore")
PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3}


def run(n, seed):
    x = sobol_sample.sample(PROBLEM, n, calc_second_order=False, scramble=True, seed=seed)
    y = ishigami(x)
    return sobol.analyze(PROBLEM, y, calc_second_order=False, seed=seed)


def accuracy(n=2**14, seeds=20):
    """RMSE and median |error| over `seeds` seeds; the RQMC error is heavy-tailed, so a
    20-seed RMSE is noisy and the script also reports 500 seeds."""
    s_err, t_err, covered, total = [], [], 0, 0
    for seed in range(seeds):
        r = run(n, seed)
        s_err.append(r["S1"] - S_EXACT)
        t_err.append(r["ST"] - T_EXACT)
        for est, conf, exact in [(r["S1"], r["S1_conf"], S_EXACT), (r["ST"], r["ST_conf"], T_EXACT)]:
            covered += int(np.sum(np.abs(est - exact) <= conf))
            total += 3
    rmse = lambda e: float(np.sqrt(np.mean(np.square(e))))
    med = lambda e: float(np.median(np.abs(e)))
    return {"n": n, "seeds": seeds, "rmse_s1": rmse(s_err), "rmse_st": rmse(t_err),
            "median_abs_s1": med(s_err), "median_abs_st": med(t_err),
            "bootstrap_ci_coverage": covered / total}


def timing(n):
    best = math.inf
    for rep in range(3):
        x = sobol_sample.sample(PROBLEM, n, calc_second_order=False, scramble=True, seed=rep)
        y = ishigami(x)  # model cost excluded from the timed part below
        t0 = time.perf_counter()
        x = sobol_sample.sample(PROBLEM, n, calc_second_order=False, scramble=True, seed=rep)
        sobol.analyze(PROBLEM, y, calc_second_order=False, seed=rep)
        best = min(best, time.perf_counter() - t0)
    return {"n": n, "seconds": best}


if __name__ == "__main__":
    print(json.dumps({"salib": version("SALib"), "numpy": np.__version__,
                      "accuracy": [accuracy(), accuracy(seeds=500)], "timing": [timing(2**14), timing(2**16)]}, indent=1))
