"""Peer timing for the `latent` suite: a NumPy/SciPy prototype of Riemannian k-means.

The same algorithm as `uqforge_latent::kmeans` on the ridge decoder
g(z) = (z1, z2, A exp(-z1^2 / (2 S^2))), A = 2, S = 0.1, written the way a careful
prototype would be (vectorised NumPy per curve, SciPy's L-BFGS-B):
- curves in the scaled Faber-Schauder basis with J = 4 levels, energy on a grid 4 times
  finer (chords of the decoded polyline), exact gradient by vector-Jacobian products and the
  transposed transforms, coarse to fine from the straight segment, the tunnelling check
  (length on a 4 times finer grid within 1e-3, else oversampling x4, at most twice);
- log maps from the first variation of the discrete energy, -G^-1 dE/db / 2;
- k-means++ with geodesic distances (one start), assignment with warm starts from the
  previous curves, Frechet means by Karcher steps with backtracking to a relative gradient
  of 1e-4 (at most 100 steps), until no label changes (at most 50 rounds).

Data: the issue's two classes N((-+0.5, 0), diag(0.01, 1)), n / 2 each, drawn by NumPy's
PCG64 with seed 20261122 (the same distribution as the Rust suite, not the same points).
Wall seconds of one run per (n, k), one thread (NumPy's own).

    pip install numpy scipy
    python3 benches/python/latent_kmeans.py > benches/python/latent_kmeans.json

Measurement only: never run by the build or the tests.
"""

import importlib.metadata
import json
import sys
import time

import numpy as np
from scipy.optimize import minimize

A, S = 2.0, 0.1
LEVELS, OVERSAMPLING = 4, 4
SEED = 20261122


def decode(z):
    """Images (m, 3) and Jacobians (m, 3, 2) of points z (m, 2)."""
    h = A * np.exp(-z[:, 0] ** 2 / (2 * S * S))
    f = np.column_stack([z[:, 0], z[:, 1], h])
    jac = np.zeros((len(z), 3, 2))
    jac[:, 0, 0] = 1.0
    jac[:, 1, 1] = 1.0
    jac[:, 2, 0] = -z[:, 0] / (S * S) * h
    return f, jac


def scale(j):
    return 2.0 ** (-(j + 2) / 2)


def synthesis(a, b, c, levels):
    n = 2 ** levels
    nodes = np.zeros((n + 1, 2))
    nodes[0], nodes[n] = a, b
    for j in range(levels):
        step = n >> j
        ks = np.arange(2 ** j)
        l, r = ks * step, (ks + 1) * step
        m = l + step // 2
        nodes[m] = 0.5 * (nodes[l] + nodes[r]) + scale(j) * c[2 ** j - 1 + ks]
    return nodes


def synthesis_transpose(g, levels):
    n = 2 ** levels
    g = g.copy()
    out = np.zeros((n - 1, 2))
    for j in reversed(range(levels)):
        step = n >> j
        ks = np.arange(2 ** j)
        l, r = ks * step, (ks + 1) * step
        m = l + step // 2
        out[2 ** j - 1 + ks] = scale(j) * g[m]
        np.add.at(g, l, 0.5 * g[m])
        np.add.at(g, r, 0.5 * g[m])
    return out


def refine(nodes, s):
    w = np.arange(s) / s
    pieces = (1 - w)[None, :, None] * nodes[:-1, None, :] + w[None, :, None] * nodes[1:, None, :]
    return np.vstack([pieces.reshape(-1, 2), nodes[-1:]])


def coarsen(g, s):
    n = (len(g) - 1) // s
    w = np.arange(s) / s
    body = g[:-1].reshape(n, s, 2)
    out = np.zeros((n + 1, 2))
    out[:-1] += ((1 - w)[None, :, None] * body).sum(axis=1)
    out[1:] += (w[None, :, None] * body).sum(axis=1)
    out[-1] += g[-1]
    return out


def polyline(z, grad=True):
    f, jac = decode(z)
    d = np.diff(f, axis=0)
    n = len(d)
    q = (d * d).sum(axis=1)
    energy, length = n * q.sum(), np.sqrt(q).sum()
    if not grad:
        return energy, length, None
    w = np.zeros_like(f)
    w[1:] += d
    w[:-1] -= d
    g = 2 * n * np.einsum("mij,mi->mj", jac, w)
    return energy, length, g


def solve(a, b, c, levels, s):
    ref = polyline(refine(np.vstack([a, b]), s * 2 ** levels), grad=False)[0]
    ref = ref if ref > 0 else 1.0

    def fun(x):
        nodes = synthesis(a, b, x.reshape(-1, 2), levels)
        e, _, g = polyline(refine(nodes, s))
        gc = synthesis_transpose(coarsen(g, s), levels)
        return e / ref, gc.ravel() / ref

    res = minimize(fun, c.ravel(), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-9, "ftol": 1e-15, "maxiter": 500, "maxcor": 10})
    return res.x.reshape(-1, 2), res.nit


def geodesic(a, b, warm=None):
    """(length, energy, coefficients, oversampling)."""
    if warm is not None:
        c, s = solve(a, b, warm, LEVELS, OVERSAMPLING)[0], OVERSAMPLING
    else:
        c = np.zeros((1, 2))
        c = solve(a, b, c, 1, OVERSAMPLING)[0]
        for levels in range(2, LEVELS + 1):
            c = np.vstack([c, np.zeros((2 ** (levels - 1), 2))])
            c = solve(a, b, c, levels, OVERSAMPLING)[0]
        s = OVERSAMPLING
    for refinement in range(3):
        nodes = synthesis(a, b, c, LEVELS)
        e, l, _ = polyline(refine(nodes, s), grad=False)
        fine = polyline(refine(nodes, 4 * s), grad=False)[1]
        if abs(fine - l) / l <= 1e-3 or refinement == 2:
            return l, e, c, s
        s *= 4
        c = solve(a, b, c, LEVELS, s)[0]


def log_at_end(a, b, c, s):
    nodes = synthesis(a, b, c, LEVELS)
    _, _, g = polyline(refine(nodes, s))
    de = coarsen(g, s)[-1]
    _, jac = decode(b[None, :])
    gmat = jac[0].T @ jac[0]
    return np.linalg.solve(gmat, -0.5 * de)


class Counter:
    geodesics = 0


def towards(x, c, warm):
    if np.array_equal(x, c):
        return None
    Counter.geodesics += 1
    return geodesic(x, c, warm)


def karcher(members, mu, warm):
    def spokes(mu, warm):
        return [towards(x, mu, w) for x, w in zip(members, warm)]

    geos = spokes(mu, warm)
    step = 1.0
    for _ in range(100):
        live = [(x, g) for x, g in zip(members, geos) if g is not None]
        f = sum(g[1] for _, g in live) / (2 * len(members))
        var = sum(g[0] ** 2 for _, g in live) / len(members)
        v = sum((log_at_end(x, mu, g[2], g[3]) for x, g in live), np.zeros(2)) / len(members)
        _, jac = decode(mu[None, :])
        norm = np.sqrt(v @ (jac[0].T @ jac[0]) @ v)
        if norm <= 1e-4 * np.sqrt(var):
            break
        curves = [None if g is None else g[2] for g in geos]
        while True:
            trial = mu + step * v
            nxt = spokes(trial, curves)
            f_next = sum(g[1] for g in nxt if g is not None) / (2 * len(members))
            if f_next <= f:
                mu, geos, step = trial, nxt, min(2 * step, 1.0)
                break
            step *= 0.5
            if step < 1e-6:
                return mu, geos
    return mu, geos


def kmeans(x, k, rng):
    n = len(x)
    cache = [[None] * k for _ in range(n)]
    first = rng.integers(n)
    centroids = [x[first].copy()]
    nearest = np.full(n, np.inf)
    while len(centroids) < k:
        j = len(centroids) - 1
        for i in range(n):
            g = towards(x[i], centroids[j], None)
            cache[i][j] = None if g is None else g[2]
            nearest[i] = min(nearest[i], 0.0 if g is None else g[0] ** 2)
        p = nearest / nearest.sum()
        centroids.append(x[rng.choice(n, p=p)].copy())
    labels = None
    for _ in range(51):
        dist = np.zeros((n, k))
        for j, c in enumerate(centroids):
            for i in range(n):
                g = towards(x[i], c, cache[i][j])
                if g is not None:
                    dist[i, j], cache[i][j] = g[0], g[2]
        new = dist.argmin(axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            idx = np.flatnonzero(labels == j)
            if len(idx) == 0:
                continue
            mu, geos = karcher([x[i] for i in idx], centroids[j], [cache[i][j] for i in idx])
            centroids[j] = mu
            for i, g in zip(idx, geos):
                cache[i][j] = None if g is None else g[2]
    return labels


def ari(a, b):
    from math import comb
    table = {}
    for x, y in zip(a, b):
        table[(x, y)] = table.get((x, y), 0) + 1
    index = sum(comb(c, 2) for c in table.values())
    rows = sum(comb(sum(c for (x, _), c in table.items() if x == r), 2) for r in set(a))
    cols = sum(comb(sum(c for (_, y), c in table.items() if y == s), 2) for s in set(b))
    expected = rows * cols / comb(len(a), 2)
    return (index - expected) / (0.5 * (rows + cols) - expected)


def main():
    sizes = [int(v) for v in sys.argv[sys.argv.index("--n") + 1].split(",")] if "--n" in sys.argv else [200]
    ks = [int(v) for v in sys.argv[sys.argv.index("--k") + 1].split(",")] if "--k" in sys.argv else [2, 3, 4, 5]
    rows = []
    for n in sizes:
        rng = np.random.default_rng(SEED)
        truth = np.repeat([0, 1], n // 2)
        x = np.column_stack([np.where(truth == 0, -0.5, 0.5) + 0.1 * rng.standard_normal(n),
                             rng.standard_normal(n)])
        for k in ks:
            Counter.geodesics = 0
            start = time.perf_counter()
            labels = kmeans(x, k, np.random.default_rng(SEED + k))
            seconds = time.perf_counter() - start
            rows.append({"n": n, "k": k, "seconds": seconds, "geodesics": Counter.geodesics,
                         "ari": ari(list(truth), list(labels)) if k == 2 else None})
            print(rows[-1], file=sys.stderr)
    versions = {p: importlib.metadata.version(p) for p in ["numpy", "scipy"]}
    versions["python"] = sys.version.split()[0]
    json.dump({"versions": versions, "rows": rows}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
