"""Does the scrambling decide the 20-seed RMSE criterion of issue #3? (docs/benchmarks.md)

Measurement only, never run by the build or the tests: `pip install scipy numpy`, then
`python3 benches/python/sobol_scrambling.py`. Ishigami (a = 7, b = 0.1), N = 2^14 rows of a
2d = 6 dimensional Sobol' net (A = first three coordinates, B = last three, as SALib's
sobol.sample), Saltelli S1 and Jansen ST on outputs centred at the pooled mean, divided by
the pooled (A, B) variance. Three randomisations of the same Joe-Kuo points:

- "lms": SciPy's scramble=True, random linear matrix scrambling plus digital shift (what
  SALib 1.6 uses; uqforge's own points are of this kind);
- "owen": nested uniform scrambling, every bit flipped by a random bit that depends on the
  coordinate's higher bits (the random tree drawn lazily by hashing the prefix, SplitMix64);
- "laine_karras": the Laine-Karras hash of the reversed bits, a cheap Owen approximation.

Prints JSON: per method, RMSE and median absolute error (pooled over inputs) over all seeds,
and the RMSE of each disjoint block of 20 seeds (the spread a 20-seed criterion sees).
"""
import json

import numpy as np
from scipy.stats import qmc

from ishigami import PI, S_EXACT, T_EXACT, ishigami

SEEDS = 200
N_LOG2 = 14
D = 3
M32 = np.uint64(0xFFFFFFFF)


def errors(u):
    """Errors of (S1, ST) from points u in [0, 1)^(2d)."""
    xa, xb = u[:, :D] * 2 * PI - PI, u[:, D:] * 2 * PI - PI
    a, b = ishigami(xa), ishigami(xb)
    mu = 0.5 * (a.mean() + b.mean())
    var = np.var(np.r_[a, b])
    s, t = [], []
    for i in range(D):
        xab = xa.copy()
        xab[:, i] = xb[:, i]
        c = ishigami(xab)
        s.append(np.mean((b - mu) * (c - a)) / var)
        t.append(0.5 * np.mean((a - c) ** 2) / var)
    return np.array(s) - S_EXACT, np.array(t) - T_EXACT


def splitmix(z):
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def owen(x, seed):
    """Nested uniform scrambling of 32-bit integers x (one coordinate)."""
    out = np.zeros_like(x)
    for level in range(32):
        bit = (x >> np.uint64(31 - level)) & np.uint64(1)
        prefix = x >> np.uint64(32 - level) if level > 0 else np.zeros_like(x)
        flip = splitmix(np.uint64(seed) ^ splitmix(prefix + (np.uint64(level) << np.uint64(40))))
        out |= (bit ^ (flip >> np.uint64(63))) << np.uint64(31 - level)
    return out


def reverse_bits(x):
    r = np.zeros_like(x)
    for i in range(32):
        r |= ((x >> np.uint64(i)) & np.uint64(1)) << np.uint64(31 - i)
    return r


def laine_karras(x, seed):
    x = reverse_bits(x)
    x = (x + np.uint64(seed)) & M32
    for c in (0x6C50B47C, 0xB82F1E52, 0xC7AFE638, 0x8D22F6E6):
        x ^= (x * np.uint64(c)) & M32
    return reverse_bits(x & M32)


def main():
    base = qmc.Sobol(d=2 * D, scramble=False).random_base2(N_LOG2)
    ints = np.round(base * 2.0**32).astype(np.uint64) & M32
    rng = np.random.default_rng(2026)
    out = {}
    with np.errstate(over="ignore"):
        for method in ("lms", "owen", "laine_karras"):
            s_err, t_err = [], []
            for seed in range(SEEDS):
                if method == "lms":
                    u = qmc.Sobol(d=2 * D, scramble=True, seed=seed).random_base2(N_LOG2)
                else:
                    keys = rng.integers(0, 2**32, size=2 * D, dtype=np.uint64)
                    f = owen if method == "owen" else laine_karras
                    u = np.stack([f(ints[:, j], keys[j]) for j in range(2 * D)], axis=1)
                    u = (u.astype(np.float64) + 0.5) / 2.0**32
                s, t = errors(u)
                s_err.append(s)
                t_err.append(t)
            s_err, t_err = np.array(s_err), np.array(t_err)
            rmse = lambda e: float(np.sqrt(np.mean(e**2)))
            out[method] = {
                "seeds": SEEDS,
                "rmse_s1": rmse(s_err),
                "rmse_st": rmse(t_err),
                "median_abs_s1": float(np.median(np.abs(s_err))),
                "median_abs_st": float(np.median(np.abs(t_err))),
                "rmse_s1_per_20_seeds": [rmse(s_err[k : k + 20]) for k in range(0, SEEDS, 20)],
                "rmse_st_per_20_seeds": [rmse(t_err[k : k + 20]) for k in range(0, SEEDS, 20)],
            }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
