"""Peer timing for the `causal` suite: EconML's doubly robust learner on the benchmark's design.

Same data-generating process as `uqforge_causal::bench::timing_trial` (X ~ N(0, I_20),
logit e = 0.4 x1 - 0.3 x2, Y = 1 + sum_j x_j / j + 2 T + N(0, 1)), drawn with NumPy (other
random numbers, same law). The estimator is EconML's LinearDRLearner with 5-fold cross-fitting
(cv=5), an unpenalised logistic propensity and a linear outcome regression: the nuisance models
and folds of `uqforge ate --estimator aipw --folds 5`. Wall time of `fit`, best of 10 (3 at 1e6)
after one untimed fit (the protocol of the Rust suite: both sides timed warm), and peak RSS
of the process.

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
    for _ in range(3 if n >= 1_000_000 else 10):
        start = time.process_time()
        wall = time.perf_counter()
        est = fit(Y, T, X)
        best = min(best, time.perf_counter() - wall)
        cpu = time.process_time() - start
    ate = float(np.ravel(est.intercept_(T=1) if callable(est.intercept_) else est.intercept_)[0])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "wall_s": best, "cpu_s_last": cpu, "peak_rss_mib": rss, "ate": ate}), flush=True)
