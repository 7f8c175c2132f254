"""Peer timing for the `causal` suite: EconML's doubly robust learner on the benchmark's design.

Same data-generating process as `uqforge_causal::bench::timing_trial` (X ~ N(0, I_20),
logit e = 0.4 x1 - 0.3 x2, Y = 1 + sum_j x_j / j + 2 T + N(0, 1)), drawn with NumPy (other
random numbers, same law). The estimator is EconML's LinearDRLearner with 5-fold cross-fitting
(cv=5), an unpenalised logistic propensity and a linear outcome regression: the nuisance models
and folds of `uqforge ate --estimator aipw --folds 5`. Wall time of `fit`: one untimed fit,
then the best of as many fits as fit in 3 seconds (at least 3), the protocol of the Rust
suite (both sides timed warm, with the same time to find their quietest run); peak RSS of
the process.

    pip install econml   # 0.17.0 with scikit-learn 1.9.1 when measured
    python3 benches/python/econml_aipw.py

Measurement only: never run by the build or the tests.
"""

import json
import resource
import time
import warnings

import numpy as np
from econml.dr import LinearDRLearner
from sklearn.linear_model import LinearRegression, LogisticRegression

warnings.filterwarnings("ignore")


def draw(n, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = 0.4 * X[:, 0] - 0.3 * X[:, 1]
    T = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    Y = 1 + X @ (1 / np.arange(1, p + 1)) + 2 * T + rng.standard_normal(n)
    return Y, T, X


BUDGET_S = 3.0


def fit(Y, T, X):
    est = LinearDRLearner(
        model_propensity=LogisticRegression(penalty=None, max_iter=1000),
        model_regression=LinearRegression(),
        cv=5,
        random_state=0,
    )
    est.fit(Y, T, X=None, W=X)
    return est


for n in [10_000, 100_000, 1_000_000]:
    Y, T, X = draw(n)
    fit(Y, T, X)  # untimed
    best = float("inf")
    runs = 0
    budget = time.perf_counter()
    while runs < 3 or time.perf_counter() - budget < BUDGET_S:
        start = time.process_time()
        wall = time.perf_counter()
        est = fit(Y, T, X)
        best = min(best, time.perf_counter() - wall)
        cpu = time.process_time() - start
        runs += 1
    ate = float(np.ravel(est.intercept_(T=1) if callable(est.intercept_) else est.intercept_)[0])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "runs": runs, "wall_s": best, "cpu_s_last": cpu, "peak_rss_mib": rss, "ate": ate}), flush=True)
