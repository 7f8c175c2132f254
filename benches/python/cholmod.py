"""Peer timing for the `gmrf` suite: CHOLMOD (SuiteSparse) on the suite's SPDE precisions.

The matrices of `uqforge_gmrf::bench::problem` (Matérn alpha = 2, range 0.1, sigma 1, on
regular meshes of the unit square with about 1e4, 1e5, 2.5e5 and 1e6 nodes), written by
`cargo xtask gmrf-data DIR` as Matrix Market files q_{nodes}.mtx (lower triangle). For each:
CHOLMOD's symbolic analysis and numeric LL' factorisation, supernodal, AMD ordering (as
uqforge's faer factor), best of 3 wall times (`time.perf_counter`), with one BLAS thread; the
log-determinant and the number of entries of L, which the Rust suite compares with its own.

    apt-get install libsuitesparse-dev libopenblas0-pthread   # SuiteSparse 5.12; OpenBLAS,
                                              # not the reference BLAS (3-10x slower)
    pip install scikit-sparse==0.4.16         # 0.5 needs SuiteSparse 7; 0.4.16 builds on 5
    cargo xtask gmrf-data /tmp/gmrf-data
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 benches/python/cholmod.py \
        --data /tmp/gmrf-data > benches/python/cholmod.json

Measurement only: never run by the build or the tests.
"""

import glob
import importlib.metadata
import json
import os
import re
import sys
import time

import scipy.io
import scipy.sparse as sp
from sksparse.cholmod import analyze

DATA = sys.argv[sys.argv.index("--data") + 1]


def suitesparse_version():
    try:
        import subprocess
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libsuitesparse-dev"],
                             capture_output=True, text=True, check=True).stdout
        return out.split(":")[-1].split("+")[0]
    except Exception:
        return "unknown"


def best_of(rounds, f):
    best, out = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - start)
    return best, out


rows = []
paths = sorted(glob.glob(os.path.join(DATA, "q_*.mtx")),
               key=lambda p: int(re.search(r"q_(\d+)", p).group(1)))
for path in paths:
    q = sp.csc_matrix(scipy.io.mmread(path))
    rounds = 2 if q.shape[0] > 300_000 else 3
    opts = dict(mode="supernodal", ordering_method="amd")
    t_analyse, symbolic = best_of(rounds, lambda: analyze(q, **opts))
    t_factor, factor = best_of(rounds, lambda: symbolic.cholesky(q))
    l = factor.L()
    rows.append({
        "nodes": q.shape[0],
        "analyse_seconds": t_analyse,
        "factor_seconds": t_factor,
        "logdet": float(factor.logdet()),
        "factor_nnz": int(l.nnz),
    })
    print(f"{q.shape[0]} nodes: analyse {t_analyse:.4f} s, factor {t_factor:.4f} s",
          file=sys.stderr)

print(json.dumps({
    "peer": "CHOLMOD via scikit-sparse",
    # Debian 12's libsuitesparse-dev, which scikit-sparse was built against.
    "version": suitesparse_version(),
    "scikit_sparse": importlib.metadata.version("scikit-sparse"),
    "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
    "rows": rows,
}, indent=1))
