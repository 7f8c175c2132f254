"""The Ishigami function (a = 7, b = 0.1) on [-pi, pi]^3 and its exact Sobol' indices, shared
by the measurement scripts `salib_sobol.py` and `sobol_scrambling.py` (which import it from
their own directory). Measurement only: never used by the build or the tests."""
import math

import numpy as np

PI = math.pi
A, B = 7.0, 0.1
V1 = 0.5 * (1 + B * PI**4 / 5) ** 2
V2 = A * A / 8
V13 = 8 * B * B * PI**8 / 225
V = V1 + V2 + V13
S_EXACT = np.array([V1 / V, V2 / V, 0.0])
T_EXACT = np.array([(V1 + V13) / V, V2 / V, V13 / V])


def ishigami(x):
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])
