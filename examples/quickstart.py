"""pyclad in one page: load C++, differentiate it, check the derivative.

Run: python examples/quickstart.py
"""

from pathlib import Path

import pyclad

HERE = Path(__file__).resolve().parent
PARAMS = ["t", "k", "m", "c"]  # energy(t, k, m, c), in examples/model.cpp


def central_difference(f, args, i, h=1e-6):
    """d f / d args[i] by a central finite difference: the independent check."""
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


def main():
    model = pyclad.load(HERE / "model.cpp")
    args = (1.5, 4.0, 1.0, 0.3)  # t, k, m, c
    print(f"energy{args} = {model.energy(*args):.12g}\n")

    # Forward mode: one derivative per parameter.
    print(f"{'d energy / d':>14} {'pyclad':>20} {'finite difference':>20} {'rel. diff':>10}")
    for i, name in enumerate(PARAMS):
        d = pyclad.differentiate(model.energy, name)
        exact = d(*args)
        approx = central_difference(model.energy, args, i)
        print(f"{name:>14} {exact:20.12g} {approx:20.12g} {abs(exact - approx) / abs(exact):10.1e}")

    # Physics check: damping dissipates power c * v^2, so dE/dt = -c v^2.
    c = args[PARAMS.index("c")]
    de_dt = pyclad.differentiate(model.energy, "t")(*args)
    print(f"\ndE/dt = {de_dt:.12g}, -c v^2 = {-c * model.velocity(*args) ** 2:.12g}")

    # Second order: the rate at which the dissipated power changes.
    d2 = pyclad.differentiate(model.energy, "t", order=2)
    print(f"d2E/dt2 = {d2(*args):.12g}")

    # Reverse mode: the whole gradient in one call, checked against forward mode.
    grad = pyclad.gradient(model.energy)(*args)
    forward = [pyclad.differentiate(model.energy, name)(*args) for name in PARAMS]
    worst = max(abs(g - f) / abs(f) for g, f in zip(grad, forward))
    print(f"\ngradient (reverse mode) = {tuple(round(g, 12) for g in grad)}")
    print(f"largest relative difference from forward mode: {worst:.1e}")

    # Hessian (forward over reverse): symmetric, second derivatives of the energy.
    hess = pyclad.hessian(model.energy, "t, k")(*args)
    print(f"Hessian w.r.t. (t, k):\n{hess}")

    # Forward mode, reverse mode and finite differences compared entry by entry (first
    # and second derivatives); raises GradientCheckError with a table if any disagree.
    pyclad.check_grads(model.energy, args, order=2)
    print("check_grads(order=2): forward, reverse and finite differences agree")

    print("\nThe generated C++ for dE/dt:\n")
    print(pyclad.differentiate(model.energy, "t").code)


if __name__ == "__main__":
    main()
