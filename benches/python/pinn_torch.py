"""Peer timing for the `pinn` suite: PyTorch CPU on the suite's Burgers PINN loss.

The same problem as `uqforge_pinn::bench`: a 2-20-20-20-20-1 tanh network (Glorot-normal
weights, zero biases), the Burgers residual u_t + u u_x - nu u_xx at 2,000 collocation points
and u at 100 boundary points, loss = mean squared residual + mean squared boundary error.
Each timed step is what a full-batch Adam epoch costs: the forward pass with the input
derivatives by autograd (create_graph=True for u_x, then u_xx), the backward pass to the
weights, and the Adam update. One thread (`torch.set_num_threads(1)`), float64 and float32,
best of 5 runs of 50 steps after 10 warm-up steps, `time.perf_counter`.

    pip install torch
    python3 benches/python/pinn_torch.py > benches/python/pinn_torch.json

Measurement only: never run by the build or the tests.
"""

import json
import math
import platform
import time

import torch


def network(dtype, seed=1):
    torch.manual_seed(seed)
    sizes = [2, 20, 20, 20, 20, 1]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        lin = torch.nn.Linear(a, b, dtype=dtype)
        torch.nn.init.xavier_normal_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
    return torch.nn.ModuleList(layers)


def forward(layers, x):
    a = x
    for lin in layers[:-1]:
        a = torch.tanh(lin(a))
    return layers[-1](a)


def time_epochs(dtype):
    layers = network(dtype)
    gen = torch.Generator().manual_seed(2)
    t = torch.rand(2000, 1, generator=gen, dtype=dtype)
    x = 2 * torch.rand(2000, 1, generator=gen, dtype=dtype) - 1
    tb = torch.rand(100, 1, generator=gen, dtype=dtype)
    xb = torch.where(torch.arange(100).reshape(-1, 1) % 2 == 0, -1.0, 1.0).to(dtype)
    nu = 0.01 / math.pi
    opt = torch.optim.Adam(layers.parameters(), lr=1e-3)
    t.requires_grad_(True)
    x.requires_grad_(True)

    def step():
        opt.zero_grad()
        u = forward(layers, torch.cat([t, x], dim=1))
        u_t, u_x = torch.autograd.grad(u, (t, x), torch.ones_like(u), create_graph=True)
        u_xx = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)[0]
        r = u_t + u * u_x - nu * u_xx
        ub = forward(layers, torch.cat([tb, xb], dim=1))
        loss = (r ** 2).mean() + (ub ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(10):
        step()
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(50):
            step()
        best = min(best, (time.perf_counter() - start) / 50)
    return best


def main():
    torch.set_num_threads(1)
    out = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "threads": 1,
        "problem": "burgers 2-20-20-20-20-1 tanh, 2000 collocation + 100 boundary points",
        "seconds_per_epoch_f64": time_epochs(torch.float64),
        "seconds_per_epoch_f32": time_epochs(torch.float32),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
