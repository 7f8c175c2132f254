"""Independent reference values for uqforge-causal on the NSW experiment.

Every estimator of `uqforge ate` is recomputed here with statsmodels (OLS with HC0-HC3
covariances, Logit, GLM Binomial) and NumPy, in a different way from the Rust code:

- ANCOVA and Lin: statsmodels OLS with `cov_type="HC0".."HC3"`.
- IPW (Horvitz-Thompson, Hajek) and overlap weights: a generic stacked M-estimator whose
  Jacobian ("bread") is taken by complex-step differentiation of the estimating equations,
  so no analytic derivative is shared with the Rust code.
- AIPW and TMLE: nuisance fits by statsmodels, influence functions written out directly.

Conventions (those of uqforge-causal, documented in its crate docs):
- difference in means: Neyman variance s1^2/n1 + s0^2/n0;
- influence-function SEs: sqrt(sum (phi - mean phi)^2 / (n (n - 1))), which is the
  M-estimation sandwich times n / (n - 1);
- cross-fitting reference: explicit folds, unit i in fold i mod 5;
- TMLE: outcome scaled by its observed min and max, per-arm quasi-binomial initial fits
  bounded to [0.005, 0.995], logistic fluctuation on the clever covariate.

Run from the repository root (statsmodels 0.15, NumPy):
    python3 docs/causal/nsw_reference.py > crates/causal/tests/data/nsw_reference.json
Never run by the build or the tests: its output is committed.
"""

import json
import sys

import numpy as np
import statsmodels.api as sm

COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75"]
data = np.genfromtxt(
    "crates/datasets/data/causal/nsw_dw_experimental.csv", delimiter=",", names=True
)
y = data["re78"].astype(float)
t = data["treat"].astype(float)
X = np.column_stack([data[c] for c in COVARIATES]).astype(float)
n = len(y)
X1 = sm.add_constant(X)
KNOWN = 185.0 / 445.0
FOLDS = np.arange(n) % 5


def if_se(phi):
    return float(np.sqrt(np.sum((phi - phi.mean()) ** 2) / (n * (n - 1))))


def logit_fit(Xd, target):
    return sm.Logit(target, Xd).fit(method="newton", maxiter=200, tol=1e-14, disp=0)


def expit(z):
    return 1.0 / (1.0 + np.exp(-z))


out = {"source": "docs/causal/nsw_reference.py", "n": n, "cases": {}}


def record(name, est, se):
    out["cases"][name] = {"ate": float(est), "std_error": float(se)}


# Difference in means, Neyman.
y1, y0 = y[t == 1], y[t == 0]
record("dim", y1.mean() - y0.mean(),
       np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)))

# ANCOVA and Lin with HC0..HC3.
D_anc = np.column_stack([np.ones(n), t, X])
Xc = X - X.mean(axis=0)
D_lin = np.column_stack([np.ones(n), t, Xc, t[:, None] * Xc])
for hc in ["HC0", "HC1", "HC2", "HC3"]:
    for name, D in [("ancova", D_anc), ("lin", D_lin)]:
        fit = sm.OLS(y, D).fit(cov_type=hc)
        record(f"{name}/{hc.lower()}", fit.params[1], fit.bse[1])


# Stacked M-estimation with complex-step Jacobians.
def m_estimate(psi, theta0, contrast):
    """psi(theta) -> (n, p) array of estimating functions (complex-safe)."""
    from scipy.optimize import root

    sol = root(lambda th: psi(th).real.mean(axis=0), theta0, method="hybr",
               options={"xtol": 1e-14})
    theta = sol.x
    p = len(theta)
    A = np.zeros((p, p))
    h = 1e-30
    for j in range(p):
        th = theta.astype(complex)
        th[j] += 1j * h
        A[:, j] = psi(th).mean(axis=0).imag / h
    F = psi(theta).real
    B = F.T @ F / n
    Ainv = np.linalg.inv(A)
    V = Ainv @ B @ Ainv.T / n
    c = np.asarray(contrast, dtype=float)
    est = float(c @ theta)
    se = float(np.sqrt(c @ V @ c * n / (n - 1)))
    return est, se


beta_hat = logit_fit(X1, t).params
kb = X1.shape[1]


def score(beta):
    e = expit(X1 @ beta)
    return (t - e)[:, None] * X1, e


def stacked(kind, estimated):
    def psi(theta):
        if estimated:
            beta = theta[-kb:]
            s, e = score(beta)
        else:
            s, e = None, np.full(n, KNOWN)
        if kind == "ipw-ht":
            tau = theta[0]
            core = (t * y / e - (1 - t) * y / (1 - e) - tau)[:, None]
        else:
            mu1, mu0 = theta[0], theta[1]
            if kind == "ipw":
                w1, w0 = 1 / e, 1 / (1 - e)
            else:  # overlap
                w1, w0 = 1 - e, e
            core = np.column_stack([t * w1 * (y - mu1), (1 - t) * w0 * (y - mu0)])
        return core if s is None else np.column_stack([core, s])

    if kind == "ipw-ht":
        theta0, contrast = [1000.0], [1.0]
    else:
        theta0, contrast = [y1.mean(), y0.mean()], [1.0, -1.0]
    if estimated:
        theta0 = list(theta0) + list(beta_hat)
        contrast = list(contrast) + [0.0] * kb
    return m_estimate(psi, np.array(theta0), contrast)


for kind in ["ipw-ht", "ipw", "overlap"]:
    record(kind, *stacked(kind, estimated=True))
    record(f"{kind}/known", *stacked(kind, estimated=False))


# AIPW: per-arm OLS outcome models, logistic or known propensity.
def ols_predict(rows, target_rows_X):
    fit = sm.OLS(y[rows], X1[rows]).fit()
    return target_rows_X @ fit.params


def aipw_phi(mu0, mu1, e):
    return mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)


def nuisance(known, folds):
    mu0, mu1, e = np.zeros(n), np.zeros(n), np.zeros(n)
    labels = [None] if folds is None else range(5)
    for f in labels:
        test = np.ones(n, bool) if f is None else (FOLDS == f)
        train = np.ones(n, bool) if f is None else (FOLDS != f)
        mu1[test] = ols_predict(train & (t == 1), X1[test])
        mu0[test] = ols_predict(train & (t == 0), X1[test])
        e[test] = KNOWN if known else expit(X1[test] @ logit_fit(X1[train], t[train]).params)
    return mu0, mu1, e


for known in [False, True]:
    for folds in [None, 5]:
        phi = aipw_phi(*nuisance(known, folds))
        name = "aipw" + ("/crossfit5" if folds else "") + ("/known" if known else "")
        record(name, phi.mean(), if_se(phi))

# TMLE.
lo, hi = y.min(), y.max()
ys = (y - lo) / (hi - lo)


def tmle(known, folds):
    q0, q1, e = np.zeros(n), np.zeros(n), np.zeros(n)
    labels = [None] if folds is None else range(5)
    for f in labels:
        test = np.ones(n, bool) if f is None else (FOLDS == f)
        train = np.ones(n, bool) if f is None else (FOLDS != f)
        for arm, q in [(1, q1), (0, q0)]:
            rows = train & (t == arm)
            glm = sm.GLM(ys[rows], X1[rows], family=sm.families.Binomial()).fit(tol=1e-14)
            q[test] = np.clip(expit(X1[test] @ glm.params), 0.005, 0.995)
        e[test] = KNOWN if known else expit(X1[test] @ logit_fit(X1[train], t[train]).params)
    H = t / e - (1 - t) / (1 - e)
    qa = np.where(t == 1, q1, q0)
    off = np.log(qa / (1 - qa))
    flu = sm.GLM(ys, H[:, None], family=sm.families.Binomial(), offset=off).fit(tol=1e-14)
    eps = flu.params[0]
    q1s = expit(np.log(q1 / (1 - q1)) + eps / e)
    q0s = expit(np.log(q0 / (1 - q0)) - eps / (1 - e))
    qas = np.where(t == 1, q1s, q0s)
    phi = (hi - lo) * (H * (ys - qas) + q1s - q0s)
    est = (hi - lo) * np.mean(q1s - q0s)
    return est, if_se(phi)


for known in [False, True]:
    for folds in [None, 5]:
        name = "tmle" + ("/crossfit5" if folds else "") + ("/known" if known else "")
        record(name, *tmle(known, folds))

json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
