"""Peer timing and values for the `depth` suite: data-depth 1.2.1.1 on the suite's points.

The points of `uqforge_depth::bench::problem` (a sample of N(0, I_2) of size n and 100
queries of N(0, 1.5^2 I_2)), written by `cargo xtask depth-data DIR` (seed 20261122, files
sample_{n}.csv and queries.csv). For each depth and n: the CPU time of one call scoring the
queries (`time.process_time`, all threads, as `cpu_seconds` in the Rust suite), best of 3
(1 when a call takes more than 5 s), and the depths, which the Rust suite compares with its
own. data-depth has no separate fit: each call starts from the data.

Settings, chosen to compute the same quantities as the Rust suite:
- halfspace, simplicial, zonoid: `exact=True`;
- mahalanobis: `mah_estimate="moment"`; spatial: `mah_estimate="moment"` (whitened by the
  moment covariance, which is uqforge's `Spatial::affine_invariant`);
- projection: `solver="simplerandom"`, `NRandom=1000` random directions (not the same
  directions as the Rust suite: approximate values, timing only);
- zonoid on 20 queries up to n = 10,000 (as the Rust suite), and, as an independent
  reference for both, the same linear program solved by HiGHS through SciPy
  (`highs_values`; tolerances 1e-10): max s subject to sum_i mu_i x_i = s x,
  sum_i mu_i = s, 0 <= mu_i <= 1, depth s / n.

    pip install data-depth==1.2.1.1   # NumPy 2.x
    cargo xtask depth-data /tmp/depth-data
    python3 benches/python/data_depth.py --data /tmp/depth-data \
        > benches/python/data_depth.json

Measurement only: never run by the build or the tests.
"""

import importlib.metadata
import json
import sys
import time

import numpy as np
from depth.model import DepthEucl
from scipy.optimize import linprog

DATA = sys.argv[sys.argv.index("--data") + 1]
SEED = 20261122
SIZES = [1_000, 10_000, 100_000]


def load(name):
    return np.loadtxt(f"{DATA}/{name}", delimiter=",", ndmin=2)


def best_of_3(call):
    best, values = float("inf"), None
    for _ in range(3):
        t0, w0 = time.process_time(), time.perf_counter()
        values = call()
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        best = min(best, cpu)
        if wall > 5.0:
            break
    return best, np.asarray(values, dtype=float).ravel()


def zonoid_highs(sample, queries):
    n, d = sample.shape
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    out = []
    for q in queries:
        a = np.zeros((d + 1, n + 1))
        a[:d, :n] = sample.T
        a[:d, -1] = -q
        a[d, :n] = 1.0
        a[d, -1] = -1.0
        r = linprog(
            cost, A_eq=a, b_eq=np.zeros(d + 1), bounds=[(0, 1)] * n + [(0, n)], method="highs",
            options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
        )
        out.append(-r.fun / n)
    return out


def main():
    queries = load("queries.csv")
    rows = []
    for n in SIZES:
        sample = load(f"sample_{n}.csv")
        model = DepthEucl().load_dataset(sample)
        methods = [
            ("mahalanobis", 100, lambda q: model.mahalanobis(q, mah_estimate="moment")),
            ("spatial (affine invariant)", 100, lambda q: model.spatial(q, mah_estimate="moment")),
            ("halfspace", 100, lambda q: model.halfspace(q, exact=True)),
            ("simplicial", 100, lambda q: model.simplicial(q, exact=True)),
            ("projection", 100, lambda q: model.projection(q, solver="simplerandom", NRandom=1000)),
        ]
        if n <= 10_000:
            methods.append(("zonoid", 20, lambda q: model.zonoid(q, exact=True)))
        for name, k, call in methods:
            cpu, values = best_of_3(lambda: call(queries[:k]))
            row = {"method": name, "n": n, "queries": k, "cpu_s": cpu, "values": values.tolist()}
            if name == "zonoid":
                row["highs_values"] = zonoid_highs(sample, queries[:k])
            rows.append(row)
            print(f"{name} n={n}: {1e3 * cpu / k:.3f} ms/query", file=sys.stderr)
    json.dump(
        {
            "data_depth": importlib.metadata.version("data-depth"),
            "numpy": np.__version__,
            "seed": SEED,
            "data": "cargo xtask depth-data (seed 20261122)",
            "rows": rows,
        },
        sys.stdout,
        indent=1,
    )


if __name__ == "__main__":
    main()
