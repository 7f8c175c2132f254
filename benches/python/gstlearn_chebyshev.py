"""Peer timing for the `gmrf-st` suite: gstlearn's Chebyshev simulation of a Matérn field.

gstlearn (Mines Paris; `pip install gstlearn`) simulates SPDE fields matrix-free with the
Chebyshev polynomial method of Pereira and Desassis (2019), the method of
`uqforge_gmrf::chebyshev`. Same problem as the suite: alpha = 2 (Matérn nu = 1), the
uqforge range 0.1 (kappa = sqrt(8)/0.1; gstlearn's own range is sqrt(12)/kappa, so it is given
0.1 * sqrt(12/8)), sill 1, on the regular grids of the unit square with 100^2, 316^2, 500^2 and
1000^2 nodes (`MeshETurbo`, two triangles per cell, as uqforge's regular meshes).

For each grid, one thread, wall seconds (`time.perf_counter`):
- setup: `PrecisionOp(mesh, cova)` (the FEM matrices and the shift operator);
- first draw: `simulateOne()` the first time (spectral bound, Chebyshev coefficients, draw);
- per draw: the median of later `simulateOne()` calls (coefficients cached);
- degree of gstlearn's polynomial, and its accuracy: max |p - f| / f(0) on a 200,001-point
  grid of [0, b] (b gstlearn's eigenvalue bound), f = P^(-1/2) from gstlearn's own precision
  polynomial P. uqforge's suite runs at that same uniform accuracy.

    pip install gstlearn
    OMP_NUM_THREADS=1 python3 benches/python/gstlearn_chebyshev.py \
        > benches/python/gstlearn_chebyshev.json

Measurement only: never run by the build or the tests.
"""

import importlib.metadata
import json
import statistics
import time

import gstlearn as gl
import numpy as np

RANGE = 0.1 * np.sqrt(12.0 / 8.0)


def measure(n, reps):
    grid = gl.DbGrid.create(nx=[n, n], dx=[1.0 / (n - 1), 1.0 / (n - 1)])
    model = gl.Model.createFromParam(gl.ECov.MATERN, range=RANGE, sill=1.0, param=1.0)
    mesh = gl.MeshETurbo(grid)
    t0 = time.perf_counter()
    op = gl.PrecisionOp(mesh, model.getCovAniso(0))
    t1 = time.perf_counter()
    z = np.array(op.simulateOne())
    t2 = time.perf_counter()
    per = []
    for _ in range(reps):
        t = time.perf_counter()
        op.simulateOne()
        per.append(time.perf_counter() - t)
    p1 = np.array(op.getPolyCoeffs(gl.EPowerPT.ONE))
    ch = np.array(op.getPolyCoeffs(gl.EPowerPT.MINUSHALF))
    b = op.getShiftOp().getMaxEigenValue()
    lam = np.linspace(0.0, b, 200_001)
    f = np.polyval(p1[::-1], lam) ** -0.5
    p = np.polynomial.chebyshev.chebval(2.0 * lam / b - 1.0, ch)
    return {
        "nodes": int(z.size),
        "setup_seconds": t1 - t0,
        "first_draw_seconds": t2 - t1,
        "per_draw_seconds": statistics.median(per),
        "degree": int(ch.size - 1),
        "uniform_error": float(np.max(np.abs(p - f)) / f[0]),
        "bound_over_kappa2": float(b),
    }


def main():
    rows = [measure(n, 5 if n < 1000 else 3) for n in (100, 316, 500, 1000)]
    print(json.dumps({"version": importlib.metadata.version("gstlearn"), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
