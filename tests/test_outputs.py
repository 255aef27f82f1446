"""Objectives that return through pointer parameters: ``pyclad.gradient(f, output="err")``,
``pyclad.vjp``, ``pyclad.jvp`` and ``pyclad gen --mode reverse --output err``.

Every derivative is checked against central finite differences of the primal (which
writes its outputs into the arrays passed), never against pyclad itself."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import arr, gxx_build_and_run, pyclad_cli

import pyclad

SOURCE = r"""
#include <cmath>

void objective(const double* x, int n, double w, double* err) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += std::sin(x[i]) * w * x[i];
    err[0] = s * s + w;
}

// Two output arrays and a return value.
double two(const double* x, double y, double* a, double* b) {
    a[0] = x[0] * y;
    a[1] = x[1] * x[0];
    b[0] = std::exp(x[1]) + y * y;
    return a[0] + b[0] * x[0];
}

// An array read and written: one explicit Euler step of x' = -k x^2.
void step(double* s, int n, double k, double h) {
    for (int i = 0; i < n; ++i) s[i] = s[i] - h * k * s[i] * s[i];
}
"""

H = 1e-5


@pytest.fixture(scope="module")
def m():
    return pyclad.cppdef(SOURCE)


def outputs_of(f, args, out_index):
    """What ``f`` writes into args[out_index] (and its return value), on fresh copies."""
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    ret = f(*args)
    return ret, args[out_index].copy()


def fd_column(fun, args, index, element=None):
    """Central difference of fun(args) (a numpy array) w.r.t. args[index] (or its element)."""

    def at(d):
        moved = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        if element is None:
            moved[index] = moved[index] + d
        else:
            moved[index][element] += d
        return np.asarray(fun(moved), dtype=float)

    return (at(H) - at(-H)) / (2 * H)


def two_outputs(m, args):
    """The outputs of ``two`` stacked: a[0], a[1], b[0], return."""
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    ret = m.two(*args)
    return np.concatenate([args[2], args[3], [ret]])


def two_jacobian(m, args):
    """d (a, b, return) / d (x[0], x[1], y) by finite differences: 4 x 3."""
    cols = [fd_column(lambda a: two_outputs(m, a), args, 0, k) for k in range(2)]
    cols.append(fd_column(lambda a: two_outputs(m, a), args, 1))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("checked", [True, False])
def test_the_gradient_of_an_output_element_matches_finite_differences(m, checked):
    x = arr(0.3, 0.7, 1.1)
    g = pyclad.gradient(m.objective, output="err", checked=checked)
    dx, dw = g(x, 3, 1.5, np.zeros(1))

    def err0(a):
        return outputs_of(m.objective, a, 3)[1][0]

    args = [x, 3, 1.5, np.zeros(1)]
    want_x = [fd_column(err0, args, 0, k) for k in range(3)]
    np.testing.assert_allclose(dx, want_x, rtol=1e-7)
    np.testing.assert_allclose(dw, fd_column(err0, args, 2), rtol=1e-7)
    assert "objective_grad_err" in g.code


def test_the_gradient_of_an_output_matches_the_hand_derived_formula(m):
    # err = s^2 + w with s = w * sum x_i sin x_i: d err / d w = 2 s s / w + 1.
    x, w = arr(0.2, -0.4), 0.8
    s = w * float(np.sum(x * np.sin(x)))
    dw = pyclad.gradient(m.objective, "w", output="err")(x, 2, w, np.zeros(1))
    assert dw == pytest.approx(2 * s * s / w + 1, rel=1e-12)


def test_output_gradient_of_a_function_that_also_returns_differentiates_the_output_only(m):
    args = [arr(0.5, 0.2), 1.3, np.zeros(2), np.zeros(1)]
    dx, dy = pyclad.gradient(m.two, output="b")(*args)
    # b[0] = exp(x1) + y^2
    np.testing.assert_allclose(dx, [0.0, np.exp(0.2)], rtol=1e-12)
    assert dy == pytest.approx(2 * 1.3, rel=1e-12)
    # The plain gradient is still the return value's.
    jac = two_jacobian(m, args)
    g = pyclad.gradient(m.two, "x, y")(*args)
    np.testing.assert_allclose(np.concatenate([g[0], [g[1]]]), jac[3], rtol=1e-7)


@pytest.mark.parametrize("checked", [True, False])
def test_vjp_with_two_output_arrays_and_a_return_value_matches_finite_differences(m, checked):
    args = [arr(0.5, 0.2), 1.3, np.zeros(2), np.zeros(1)]
    jac = two_jacobian(m, args)
    ct_a, ct_b, ct_r = arr(1.0, -2.0), arr(0.5), 0.25
    vj = pyclad.vjp(m.two, checked=checked)
    dx, dy = vj(*args, ct_a, ct_b, ct_r)
    want = np.concatenate([ct_a, ct_b, [ct_r]]) @ jac
    np.testing.assert_allclose(np.concatenate([dx, [dy]]), want, rtol=1e-7)
    # The cotangents passed are not consumed: a second call gives the same.
    dx2, dy2 = vj(*args, ct_a, ct_b, ct_r)
    np.testing.assert_allclose(dx2, dx, rtol=0, atol=0)
    assert dy2 == dy
    np.testing.assert_array_equal(ct_a, [1.0, -2.0])


def test_vjp_takes_the_cotangents_in_the_order_of_outputs_and_a_single_wrt_bare(m):
    args = [arr(0.5, 0.2), 1.3, np.zeros(2), np.zeros(1)]
    jac = two_jacobian(m, args)
    vj = pyclad.vjp(m.two, wrt="y", outputs=["b", "a"])
    dy = vj(*args, arr(3.0), arr(1.0, 0.5))
    assert isinstance(dy, float)
    assert dy == pytest.approx(float(arr(1.0, 0.5, 3.0, 0.0) @ jac[:, 2]), rel=1e-7)


@pytest.mark.parametrize("checked", [True, False])
def test_jvp_with_two_output_arrays_and_a_return_value_matches_finite_differences(m, checked):
    args = [arr(0.5, 0.2), 1.3, np.zeros(2), np.zeros(1)]
    jac = two_jacobian(m, args)
    tx, ty = arr(1.0, -1.0), 0.5
    da, db, dr = pyclad.jvp(m.two, checked=checked)(*args, tx, ty)
    want = jac @ np.concatenate([tx, [ty]])
    np.testing.assert_allclose(np.concatenate([da, db, [dr]]), want, rtol=1e-7)


def test_jvp_of_one_named_output_is_bare(m):
    args = [arr(0.5, 0.2), 1.3, np.zeros(2), np.zeros(1)]
    jac = two_jacobian(m, args)
    dr = pyclad.jvp(m.two, wrt=["y"], outputs="return")(*args, 1.0)
    assert dr == pytest.approx(jac[3, 2], rel=1e-7)


def test_vjp_and_jvp_of_an_array_read_and_written_match_finite_differences(m):
    s, k, h = arr(0.5, 1.5, -0.25), 2.0, 0.1
    args = [s, 3, k, h]

    def new_s(a):
        return outputs_of(m.step, a, 0)[1]

    jac = np.stack([fd_column(new_s, args, 0, j) for j in range(3)] + [fd_column(new_s, args, 2)], axis=1)
    ct = arr(1.0, 2.0, -1.0)
    ds, dk = pyclad.vjp(m.step, wrt="s, k", outputs="s")(*args, ct)
    np.testing.assert_allclose(np.concatenate([ds, [dk]]), ct @ jac, rtol=1e-7)
    ts = arr(0.3, -0.2, 1.0)
    out = pyclad.jvp(m.step, wrt="s, k", outputs="s")(*args, ts, 0.5)
    np.testing.assert_allclose(out, jac @ np.concatenate([ts, [0.5]]), rtol=1e-7)


@pytest.mark.parametrize(
    "output, words",
    [
        ("n", ["'n'", "int"]),
        ("x", ["'x'", "const double *"]),
        ("w", ["'w'", "double"]),
        ("nope", ["'nope'", "not a parameter"]),
    ],
)
def test_an_output_that_is_not_a_written_pointer_is_an_argument_error_naming_it(m, output, words):
    with pytest.raises(pyclad.ArgumentError) as info:
        pyclad.gradient(m.objective, output=output)
    for word in words:
        assert word in str(info.value)
    with pytest.raises(pyclad.ArgumentError, match=f"'{output}'"):
        pyclad.vjp(m.objective, outputs=[output])


def test_an_output_array_the_function_never_writes_is_an_argument_error():
    m = pyclad.cppdef("void f(const double* x, double* out, double* unused) { out[0] = x[0] * x[0]; }")
    with pytest.raises(pyclad.ArgumentError, match="'unused'.*never writes"):
        pyclad.gradient(m.f, output="unused")


def test_a_cotangent_or_tangent_of_the_wrong_length_is_an_argument_error_naming_the_parameter(m):
    args = [arr(0.5, 0.2), 1.3, np.zeros(2), np.zeros(1)]
    vj = pyclad.vjp(m.two)
    with pytest.raises(pyclad.ArgumentError, match="cotangent of 'a' has length 3.*length 2"):
        vj(*args, arr(1.0, 2.0, 3.0), arr(0.5), 1.0)
    with pytest.raises(pyclad.ArgumentError, match="cotangent of the return value must be a number"):
        vj(*args, arr(1.0, 2.0), arr(0.5), "one")
    with pytest.raises(pyclad.ArgumentError, match="followed by 3 cotangent"):
        vj(*args, arr(1.0, 2.0))
    with pytest.raises(pyclad.ArgumentError, match="tangent of 'x' has length 1"):
        pyclad.jvp(m.two)(*args, arr(1.0), 0.0)


def test_outputs_naming_return_of_a_void_function_is_an_argument_error(m):
    with pytest.raises(pyclad.ArgumentError, match="'return'.*returns void"):
        pyclad.vjp(m.objective, outputs="err, return")


def test_gen_reverse_output_writes_a_gradient_of_the_output_that_compiles_and_matches(tmp_path, m):
    src = tmp_path / "model.cpp"
    src.write_text(SOURCE)
    run = pyclad_cli(
        "gen",
        src,
        "-f",
        "objective",
        "--mode",
        "reverse",
        "--output",
        "err",
        "-o",
        "model_d.hpp",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    main = tmp_path / "main.cpp"
    main.write_text(
        '#include <cstdio>\n#include "model.cpp"\n#include "model_d.hpp"\n'
        "int main() {\n"
        "    double x[3] = {0.3, 0.7, 1.1}, err[1] = {0}, dx[3] = {0}, dw = 0, derr[1] = {0};\n"
        "    objective_grad_err(x, 3, 1.5, err, dx, &dw, derr);\n"
        '    std::printf("%.17g %.17g %.17g %.17g\\n", dx[0], dx[1], dx[2], dw);\n'
        "}\n"
    )
    out, warnings = gxx_build_and_run(tmp_path, "main.cpp", "-Wextra")
    assert "warning" not in warnings
    got = [float(v) for v in out.split()]
    args = [arr(0.3, 0.7, 1.1), 3, 1.5, np.zeros(1)]

    def err0(a):
        return outputs_of(m.objective, a, 3)[1][0]

    want = [fd_column(err0, args, 0, k) for k in range(3)] + [fd_column(err0, args, 2)]
    np.testing.assert_allclose(got, want, rtol=1e-7)


def test_gen_output_outside_reverse_mode_is_a_usage_error(tmp_path):
    src = tmp_path / "model.cpp"
    src.write_text(SOURCE)
    run = pyclad_cli("gen", src, "-f", "objective", "--mode", "forward", "--output", "err")
    assert run.returncode == 2
    assert "--output NAME applies to reverse mode" in run.stderr


def test_gen_output_that_is_not_a_pointer_is_a_located_error(tmp_path):
    src = tmp_path / "model.cpp"
    src.write_text(SOURCE)
    run = pyclad_cli("gen", src, "-f", "objective", "--mode", "reverse", "--output", "w")
    assert run.returncode == 1
    assert "model.cpp:4:" in run.stderr and "'w'" in run.stderr


def test_value_and_grad_of_an_output_returns_the_output_element_and_its_gradient(m):
    x = arr(0.3, 0.7, 1.1)
    err = np.zeros(1)
    value, (dx, _) = pyclad.value_and_grad(m.objective, output="err")(x, 3, 1.5, err)
    want = outputs_of(m.objective, [x, 3, 1.5, np.zeros(1)], 3)[1][0]
    assert value == pytest.approx(want, rel=1e-15)
    np.testing.assert_array_equal(err, [0.0])  # the caller's array is not written
    np.testing.assert_allclose(dx, pyclad.gradient(m.objective, output="err")(x, 3, 1.5, err)[0], rtol=0)


def test_the_gradient_of_an_array_read_and_written_wrt_itself_matches_finite_differences(m):
    s, k, h = arr(0.5, 1.5, -0.25), 2.0, 0.1
    args = [s, 3, k, h]

    def first(a):
        return outputs_of(m.step, a, 0)[1][0]

    ds, dk = pyclad.gradient(m.step, "s, k", output="s")(*args)
    np.testing.assert_allclose(ds, [fd_column(first, args, 0, j) for j in range(3)], rtol=1e-7, atol=1e-12)
    assert dk == pytest.approx(fd_column(first, args, 2), rel=1e-7)


def test_a_vjp_wrt_a_record_is_a_located_refusal_naming_it():
    m = pyclad.cppdef("struct P { double a; };\nvoid f(P p, double* out) {\n    out[0] = p.a * p.a;\n}\n")
    with pytest.raises(pyclad.UnsupportedError, match=r"<string>:2:.*'p'"):
        pyclad.vjp(m.f, wrt="p")
