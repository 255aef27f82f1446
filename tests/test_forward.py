"""Forward mode, first order: every construct the transform handles, each derivative
checked against a hand-derived formula and against finite differences of the primal."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from conftest import arr, assert_close, fd, fd2, fresh

import pyclad


@dataclass
class Case:
    """One C++ function, differentiated w.r.t. ``wrt`` at each of ``points``.

    ``ref(*args)`` is the hand-derived derivative; ``None`` means finite differences
    are the only reference.  ``fd_check`` is off only where the primal is not smooth
    in the differentiated variable at the points (never the case below)."""

    id: str
    cpp: str
    fn: str
    wrt: str
    points: list[tuple]
    ref: Callable | None = None
    fd_check: bool = True
    rtol: float = 1e-8
    fd_rtol: float = 1e-8


CASES = [
    # ------------------------------------------------------------ literals and operators
    Case(
        "literals",
        "double lit_poly(double x) { return 3.0 * x * x - 2 * x + 1.5e0 + 0x10 + 2.f + 7; }",
        "lit_poly",
        "x",
        [(1.3,), (-0.4,)],
        lambda x: 6 * x - 2,
    ),
    Case(
        "unary_plus_minus",
        "double unary_pm(double x, double y) { return -x * -y + (+x) - (-(y)); }",
        "unary_pm",
        "x",
        [(1.3, 0.7)],
        lambda x, y: y + 1,
    ),
    Case(
        "quotient",
        "double quotient(double x, double y) { return (x + 1) / (x * y - 2); }",
        "quotient",
        "x",
        [(1.3, 0.7)],
        lambda x, y: ((x * y - 2) - (x + 1) * y) / (x * y - 2) ** 2,
    ),
    Case(
        "quotient_wrt_denominator",
        "double quotient2(double x, double y) { return x / y / y; }",
        "quotient2",
        "y",
        [(1.3, 0.7)],
        lambda x, y: -2 * x / y**3,
    ),
    Case(
        "compound_assignment",
        """double compound(double x, double y) {
            double r = x;
            r += y * x;
            r -= 2 * x;
            r *= x;
            r /= y + x;
            return r;
        }""",
        "compound",
        "x",
        [(1.3, 0.7)],
        # r = (x + y x - 2 x) x / (y + x) = (y - 1) x^2 / (x + y)
        lambda x, y: (y - 1) * (2 * x * (x + y) - x * x) / (x + y) ** 2,
    ),
    Case(
        "compound_assignment_by_constants",
        """double compound_const(double x) {
            double r = x;
            r *= 3;
            r /= 2;
            r += 1;
            r -= 4.5;
            return r;
        }""",
        "compound_const",
        "x",
        [(0.9,)],
        lambda x: 1.5,
    ),
    Case(
        "compound_assignment_to_itself",
        """double compound_self(double x) {
            double r = x;
            r += r;   // 2x
            r *= r;   // 4x^2
            r /= x;   // 4x
            r -= r * 0.5;  // 2x
            return r * x;  // 2x^2
        }""",
        "compound_self",
        "x",
        [(0.9,)],
        lambda x: 4 * x,
    ),
    Case(
        "increment_decrement_of_a_float",
        """double incdec(double x) {
            double r = x;
            r++;
            ++r;
            r--;
            --r;
            r++;
            return r * x;
        }""",
        "incdec",
        "x",
        [(0.9,)],
        lambda x: 2 * x + 1,
    ),
    Case(
        "increment_of_an_int_counter",
        """double int_counter(double x) {
            int k = 0;
            k++;
            ++k;
            k--;
            k += 2;
            return x * k;
        }""",
        "int_counter",
        "x",
        [(0.9,)],
        lambda x: 3,
    ),
    Case(
        "ternary",
        "double ternary(double x, double y) { return x > y ? x * x : y * x; }",
        "ternary",
        "x",
        [(1.5, 0.5), (0.2, 0.5)],
        lambda x, y: 2 * x if x > y else y,
    ),
    Case(
        "nested_ternary_with_calls",
        """#include <cmath>
        double ternary_calls(double x) {
            return x > 0 ? std::sin(x) * x : (x < -1 ? std::exp(x) : x * x * x);
        }""",
        "ternary_calls",
        "x",
        [(0.7,), (-2.0,), (-0.5,)],
        lambda x: (math.cos(x) * x + math.sin(x)) if x > 0 else (math.exp(x) if x < -1 else 3 * x * x),
    ),
    Case(
        "casts_between_int_and_double",
        """double casts(double x) {
            int n = (int)x;                  // 2 at x = 2.5: piecewise constant
            double back = static_cast<double>(n);
            return x * n + back + double(n) * x * x;
        }""",
        "casts",
        "x",
        [(2.5,), (1.3,)],
        lambda x: int(x) + 2 * int(x) * x,
    ),
    Case(
        "integer_arithmetic_mixed_in",
        """double int_mix(double x, int k) {
            int n = 3;
            return x / n + n / 2 * x + k % 2 * x * x + (double)k;
        }""",
        "int_mix",
        "x",
        [(1.1, 3), (1.1, 4)],
        lambda x, k: 1 / 3 + 1 + (k % 2) * 2 * x,
    ),
    Case(
        "logical_operators_in_conditions",
        """double logic(double x, double y) {
            if ((x > 0 && y > 0) || !(x > -1)) return x * y;
            return x + y;
        }""",
        "logic",
        "x",
        [(0.5, 0.5), (0.5, -0.5), (-2.0, 3.0)],
        lambda x, y: y if (x > 0 and y > 0) or not (x > -1) else 1,
    ),
    Case(
        "character_literals_and_sizeof",
        """double chars_sizeof(double x) {
            char c = 'a';
            double a[4] = {x, x * x, x, 1.0};
            double s = 0;
            for (unsigned i = 0; i < sizeof(a) / sizeof(a[0]); ++i) s += a[i] * (c - 'a' + 2);
            return s;
        }""",
        "chars_sizeof",
        "x",
        [(0.7,)],
        lambda x: 2 * (2 + 2 * x),
    ),
    Case(
        "for_ever_with_break",
        """double for_ever(double x) {
            double r = 1;
            int i = 0;
            for (;;) {
                r *= x;
                if (++i == 3) break;
            }
            return r;
        }""",
        "for_ever",
        "x",
        [(0.7,)],
        lambda x: 3 * x * x,
    ),
    Case(
        "do_while_with_continue",
        """double do_continue(double x) {
            double r = 0;
            int i = 0;
            do {
                i++;
                if (i == 2) continue;
                r += x * i;
            } while (i < 4);
            return r;
        }""",
        "do_continue",
        "x",
        [(0.7,)],
        lambda x: 1 + 3 + 4,
    ),
    Case(
        "auto_and_constexpr_locals",
        """double auto_local(double x) {
            auto y = x * x;
            constexpr double k = 2.0;
            return y * k;
        }""",
        "auto_local",
        "x",
        [(0.7,)],
        lambda x: 4 * x,
    ),
    Case(
        "assignment_to_parameters",
        """double params_assigned(double x, double y) {
            x = x * y;
            y = x + y;
            return x * y;
        }""",
        "params_assigned",
        "x",
        [(1.2, 0.7)],
        # x' = x y, y' = x y + y, result = x y (x y + y) = x^2 y^2 + x y^2
        lambda x, y: 2 * x * y * y + y * y,
    ),
    # ------------------------------------------------------------ floating types
    Case(
        "float_function",
        "float fl(float x, float y) { return x * y * 3.0f + x / y; }",
        "fl",
        "x",
        [(1.25, 0.5)],
        lambda x, y: 3 * y + 1 / y,
        # float arithmetic: 1e-6 against the formula; differences of a float primal are noisier
        rtol=1e-6,
        fd_rtol=1e-4,
    ),
    Case(
        "float_local_in_double_function",
        """double fl_local(double x) {
            float a = 2.0f;
            float b = (float)x;   // rounding to float: derivative 1
            return a * b + x;
        }""",
        "fl_local",
        "x",
        [(1.25,)],
        lambda x: 3,
        fd_check=False,
    ),
    Case(
        "long_double_function",
        """#include <cmath>
        long double ld(long double x) { return x * x * std::exp(x) + std::sin(x) / 2.0L; }""",
        "ld",
        "x",
        [(0.6,)],
        lambda x: (2 * x + x * x) * math.exp(x) + math.cos(x) / 2,
    ),
    # ------------------------------------------------------------ control flow
    Case(
        "if_else_chain",
        """#include <cmath>
        double branches(double x) {
            double r;
            if (x < 0) {
                r = -x;
            } else if (x < 1) {
                r = x * x;
            } else if (x < 2)
                r = std::sqrt(x);
            else {
                r = 2 * x;
            }
            return r * x;
        }""",
        "branches",
        "x",
        [(-0.5,), (0.5,), (1.5,), (2.5,)],
        lambda x: -2 * x if x < 0 else 3 * x * x if x < 1 else 1.5 * math.sqrt(x) if x < 2 else 4 * x,
    ),
    Case(
        "for_loop_with_int_bound",
        """double power_loop(double x, int n) {
            double r = 1;
            for (int i = 0; i < n; i++) r *= x;
            return r;
        }""",
        "power_loop",
        "x",
        [(1.1, 5), (0.7, 0), (0.7, 1)],
        lambda x, n: n * x ** (n - 1) if n else 0,
    ),
    Case(
        "for_loop_break_continue",
        """double break_continue(double x) {
            double r = 0;
            for (int i = 0; i < 10; ++i) {
                if (i % 2 == 0) continue;
                if (i > 7) break;
                r += i * x * x;   // i = 1, 3, 5, 7
            }
            return r;
        }""",
        "break_continue",
        "x",
        [(0.8,)],
        lambda x: 32 * x,
    ),
    Case(
        "while_loop",
        """double while_loop(double x) {
            double r = x;
            int k = 0;
            while (k < 5) {
                r = r * 0.5 + x;
                k++;
            }
            return r;
        }""",
        "while_loop",
        "x",
        [(0.8,)],
        lambda x: 1 + sum(0.5**k for k in range(1, 6)),
    ),
    Case(
        "while_true_with_break",
        """double while_break(double x) {
            double r = 1;
            int n = 0;
            while (true) {
                r *= x;
                n++;
                if (n >= 4) break;
            }
            return r;
        }""",
        "while_break",
        "x",
        [(1.3,)],
        lambda x: 4 * x**3,
    ),
    Case(
        "do_while_loop",
        """#include <cmath>
        double do_while(double x) {
            double r = 0;
            int i = 0;
            do {
                r += std::sin(x * i);
                i += 1;
            } while (i < 4);
            return r;
        }""",
        "do_while",
        "x",
        [(0.8,)],
        lambda x: sum(i * math.cos(i * x) for i in range(4)),
    ),
    Case(
        "nested_loops",
        """double nested(double x, double y) {
            double r = 0;
            for (int i = 0; i < 3; ++i) {
                for (int j = 0; j < 4; j++) {
                    if (j == i) continue;
                    r += x * i - y * j * x;
                }
            }
            return r * x;
        }""",
        "nested",
        "x",
        [(0.8, 0.3)],
        lambda x, y: 2 * x * sum(i - y * j for i in range(3) for j in range(4) if i != j),
    ),
    Case(
        "early_return",
        """double early(double x) {
            if (x > 1) return x * x * x;
            double t = x * 2;
            if (t < 0) return -t;
            return t * t;
        }""",
        "early",
        "x",
        [(1.5,), (-0.5,), (0.25,)],
        lambda x: 3 * x * x if x > 1 else -2 if x < 0 else 8 * x,
    ),
    Case(
        "early_return_inside_a_loop",
        """double early_loop(double x) {
            double r = 1;
            for (int i = 0; i < 100; ++i) {
                r = r * x;
                if (r > 10) return r + i;
            }
            return r;
        }""",
        # x = 2: r = 16 after 4 multiplications (i = 3)
        "early_loop",
        "x",
        [(2.0,), (0.5,)],
        lambda x: 4 * x**3 if x > 1 else 0.0,
    ),
    Case(
        "switch_with_fallthrough_and_default",
        """#include <cmath>
        double sw(double x, int k) {
            double r = 1;
            switch (k) {
            case 0:
                r += x;        // falls through
            case 1:
                r *= x;
                break;
            case 2: {
                double e = std::exp(x);
                r = e;
                break;
            }
            default:
                r = -x * x;
            }
            return r;
        }""",
        "sw",
        "x",
        [(0.8, 0), (0.8, 1), (0.8, 2), (0.8, 7)],
        lambda x, k: [1 + 2 * x, 1, math.exp(x)][k] if k < 3 else -2 * x,
    ),
    Case(
        "switch_with_returns",
        """double sw_ret(double x, int k) {
            switch (k % 3) {
            case 0: return x * x;
            case 1:
            case 2: return 3 * x;
            }
            return 0;
        }""",
        "sw_ret",
        "x",
        [(0.8, 3), (0.8, 4), (0.8, 5)],
        lambda x, k: 2 * x if k % 3 == 0 else 3,
    ),
    # ------------------------------------------------------------ locals
    Case(
        "local_scalars_reassigned",
        """#include <cmath>
        double locals(double x, double y) {
            double a = x * y;
            a = a * a + x;
            a = std::sin(a);
            double b = a;
            b = b - x;
            return b * a;
        }""",
        "locals",
        "x",
        [(0.8, 0.3)],
        None,
    ),
    Case(
        "local_fixed_size_array",
        """double local_array(double x) {
            double a[3] = {x, x * x, 2.0};
            a[2] = a[0] * a[1];
            double s = 0;
            for (int i = 0; i < 3; ++i) s += a[i];
            return s;
        }""",
        "local_array",
        "x",
        [(0.8,)],
        lambda x: 1 + 2 * x + 3 * x * x,
    ),
    Case(
        "local_array_filled_in_a_loop",
        """double local_array_loop(double x) {
            double a[4];
            for (int i = 0; i < 4; ++i) a[i] = i * x;
            double m[2][2] = {{x, 1}, {2, x}};
            return a[3] * a[1] + m[0][0] * m[1][1] - m[0][1] * m[1][0];
        }""",
        "local_array_loop",
        "x",
        [(0.8,)],
        lambda x: 6 * x + 2 * x,
    ),
    Case(
        "reference_to_a_local",
        """double local_ref(double x) {
            double a = 1;
            double& r = a;
            r *= x;
            r += x;
            return a * x;
        }""",
        "local_ref",
        "x",
        [(0.8,)],
        lambda x: 4 * x,
    ),
    Case(
        "pointer_into_a_local_array",
        """double local_ptr(double x) {
            double a[2] = {x, 2 * x};
            double* p = a;
            p[1] *= x;
            return a[1] + *p;
        }""",
        "local_ptr",
        "x",
        [(0.8,)],
        lambda x: 4 * x + 1,
    ),
    Case(
        "const_reference_to_a_temporary",
        """double cref_tmp(double x) {
            const double& r = x * 2;   // binds a temporary
            const double& s = x;
            return r * s;
        }""",
        "cref_tmp",
        "x",
        [(0.7,)],
        lambda x: 4 * x,
    ),
    Case(
        "pointer_declared_null_then_seated",
        """double null_then(const double* p, int n) {
            const double* q = nullptr;
            if (n > 1) q = p + 1;
            return *q * q[0];
        }""",
        "null_then",
        "p[1]",
        [(arr(0.5, 1.5, -2.0), 3)],
        lambda p, n: 2 * p[1],
    ),
    Case(
        "global_constant",
        """const double SCALE = 2.5;
        double global_k(double x) { return SCALE * x * x; }""",
        "global_k",
        "x",
        [(0.8,)],
        lambda x: 5 * x,
    ),
    # ------------------------------------------------------------ pointer, array, reference params
    Case(
        "pointer_param_element",
        """double sum_sq(const double* p, int n) {
            double s = 0;
            for (int i = 0; i < n; ++i) s += p[i] * p[i];
            return s;
        }""",
        "sum_sq",
        "p[1]",
        [(arr(0.5, 1.5, -2.0), 3)],
        lambda p, n: 2 * p[1],
    ),
    Case(
        "fixed_size_array_param",
        "double prod3(double arr[3]) { return arr[0] * arr[1] * arr[2]; }",
        "prod3",
        "arr[1]",
        [(arr(0.5, 1.5, -2.0),)],
        lambda a: a[0] * a[2],
    ),
    Case(
        "pointer_param_written_and_dereferenced",
        """double ptr_write(double* p) {
            p[0] = p[0] * p[1];
            double* q = p + 2;
            return p[0] + *p * *q;
        }""",
        "ptr_write",
        "p[0]",
        [(arr(0.5, 1.5, -2.0),)],
        lambda p: p[1] + p[1] * p[2],
    ),
    Case(
        "pointer_param_walked_with_postincrement",
        """double walk(const double* p, int n) {
            double s = 0;
            while (n--) {
                double next = p[1];
                s += *p++ * next;
            }
            return s;
        }""",
        # p0 p1 + p1 p2 + p2 p3 with n = 3 over 4 elements
        "walk",
        "p[1]",
        [(arr(0.5, 1.5, -2.0, 0.25), 3)],
        lambda p, n: p[0] + p[2],
    ),
    Case(
        "pointer_param_stepped_as_a_statement",
        """double step_stmt(const double* p, int n) {
            double s = 0;
            for (int i = 0; i < n; ++i) {
                s += *p * *p;
                ++p;
            }
            return s;
        }""",
        "step_stmt",
        "p[2]",
        [(arr(0.5, 1.5, -2.0), 3)],
        lambda p, n: 2 * p[2],
    ),
    Case(
        "pointer_moved_by_compound_assignment",
        """double moved(const double* p) {
            const double* q = p;
            q += 1;
            double r = *q * q[1];
            q -= 1;
            return r + *q;
        }""",
        "moved",
        "p[1]",
        [(arr(0.5, 1.5, -2.0),)],
        lambda p: p[2],
    ),
    Case(
        "output_array_written_from_the_wrt_scalar",
        """double fill_out(double x, double* out) {
            out[0] = x * x;
            out[1] = out[0] * x;
            return out[1] + out[0];
        }""",
        "fill_out",
        "x",
        [(1.5, np.zeros(2))],
        lambda x, out: 3 * x * x + 2 * x,
    ),
    Case(
        "loop_increment_that_needs_temporaries",
        """#include <cmath>
        double inc_temps(double x) {
            double r = 1;
            for (int i = 0; i < 3; ++i, r *= std::sin(x)) {
            }
            return r;
        }""",
        "inc_temps",
        "x",
        [(0.5,)],
        lambda x: 3 * math.sin(x) ** 2 * math.cos(x),
    ),
    Case(
        "const_reference_param",
        "double cref(const double& x, double y) { return x * y * x; }",
        "cref",
        "x",
        [(0.5, 1.5)],
        lambda x, y: 2 * x * y,
    ),
    Case(
        "integer_param_before_the_wrt_param",
        "double int_first(int n, double x) { return n * x * x; }",
        "int_first",
        "x",
        [(3, 0.7)],
        lambda n, x: 2 * n * x,
    ),
    # ------------------------------------------------------------ calls to user functions
    Case(
        "call_to_a_user_function",
        """#include <cmath>
        double sq(double v) { return v * v; }
        double calls_sq(double x) { return sq(std::sin(x)) + sq(x); }""",
        "calls_sq",
        "x",
        [(0.8,)],
        lambda x: 2 * math.sin(x) * math.cos(x) + 2 * x,
    ),
    Case(
        "nested_calls",
        """double g1(double a, double b) { return a * b; }
        double g2(double a) { return g1(a, a + 1) * 2; }
        double nested_calls(double x, double y) { return g2(g1(x, y)); }""",
        # g2(u) = 2 u (u + 1), u = x y
        "nested_calls",
        "x",
        [(0.8, 0.3)],
        lambda x, y: 2 * (2 * x * y + 1) * y,
    ),
    Case(
        "call_with_an_inactive_argument",
        """double g3(double a, double b) { return a * a * b; }
        double inactive_arg(double x, double y) { return g3(y, x) + g3(x, 2.0); }""",
        "inactive_arg",
        "x",
        [(0.8, 0.3)],
        lambda x, y: y * y + 4 * x,
    ),
    Case(
        "call_into_a_namespace",
        """namespace geo { double cube(double v) { return v * v * v; } }
        double ns_call(double x) { return geo::cube(x) + 1; }""",
        "ns_call",
        "x",
        [(0.7,)],
        lambda x: 3 * x * x,
    ),
    Case(
        "callee_writing_through_a_pointer_to_a_scalar",
        """void sq_into(double x, double* y) { *y = x * x; }
        double ptr_out(double x) {
            double y;
            sq_into(x, &y);
            return y;
        }""",
        "ptr_out",
        "x",
        [(0.7,)],
        lambda x: 2 * x,
    ),
    Case(
        "recursion_with_an_int_depth",
        """double rpow(double x, int n) {
            if (n == 0) return 1;
            return x * rpow(x, n - 1);
        }
        double recursion(double x) { return rpow(x, 5) + rpow(2 * x, 2); }""",
        "recursion",
        "x",
        [(0.8,)],
        lambda x: 5 * x**4 + 8 * x,
    ),
    Case(
        "recursive_function_itself",
        """double fact_pow(double x, int n) { return n <= 1 ? x : x * fact_pow(x * 0.5, n - 1); }""",
        # x * (x/2) * (x/4) = x^3 / 8 for n = 3
        "fact_pow",
        "x",
        [(0.8, 3)],
        lambda x, n: 3 * x * x / 8,
    ),
    Case(
        "callee_with_an_output_reference",
        """void h(double x, double& y) { y = x * x; }
        double out_param(double x) {
            double y;
            h(x, y);
            return y * 3;
        }""",
        "out_param",
        "x",
        [(0.8,)],
        lambda x: 6 * x,
    ),
    Case(
        "callee_accumulating_into_a_reference",
        """#include <cmath>
        void acc(double x, double& y) { y += std::sin(x); }
        double out_acc(double x, double y) {
            double s = y;
            acc(x, s);
            acc(2 * x, s);
            return s * s;
        }""",
        "out_acc",
        "x",
        [(0.8, 0.3)],
        lambda x, y: 2 * (y + math.sin(x) + math.sin(2 * x)) * (math.cos(x) + 2 * math.cos(2 * x)),
    ),
    Case(
        "callee_taking_a_const_reference",
        """double cube(const double& v) { return v * v * v; }
        double cref_call(double x) { double t = x + 1; return cube(t); }""",
        "cref_call",
        "x",
        [(0.8,)],
        lambda x: 3 * (x + 1) ** 2,
    ),
    Case(
        "callee_writing_through_a_pointer",
        """void scale2(double* v, int n, double s) { for (int i = 0; i < n; ++i) v[i] *= s; }
        double ptr_call(double x) {
            double a[3] = {1, x, x * x};
            scale2(a, 3, x);
            return a[0] + a[1] + a[2];
        }""",
        "ptr_call",
        "x",
        [(0.8,)],
        lambda x: 1 + 2 * x + 3 * x * x,
    ),
    Case(
        "int_returning_callee_with_an_output_reference",
        """#include <cmath>
        int status_exp(double x, double& y) { y = std::exp(x); return 1; }
        double int_out(double x) {
            double y = 0;
            int k = status_exp(x, y);
            k = status_exp(2 * x, y);
            return y * k;
        }""",
        "int_out",
        "x",
        [(0.7,)],
        lambda x: 2 * math.exp(2 * x),
    ),
    Case(
        "recursion_through_a_pointer_param",
        """double sumrec(const double* p, int n) { return n == 0 ? 0 : *p * *p + sumrec(p + 1, n - 1); }""",
        "sumrec",
        "p[2]",
        [(arr(0.5, 1.5, -2.0), 3)],
        lambda p, n: 2 * p[2],
    ),
    Case(
        "local_array_passed_to_an_array_param",
        """#include <cmath>
        double norm3(double v[3]) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }
        double uses_norm(double x) {
            const double c[2] = {x, 2 * x};
            double a[3] = {c[0], c[1], 3.0};
            return norm3(a);
        }""",
        "uses_norm",
        "x",
        [(0.7,)],
        lambda x: 5 * x / math.sqrt(5 * x * x + 9),
    ),
    Case(
        "switch_on_a_cast_of_the_wrt_variable",
        """double switch_cast(double x) {
            switch ((int)x) {
            case 1: return x * x;
            default: return x;
            }
        }""",
        "switch_cast",
        "x",
        [(1.5,), (2.5,)],
        lambda x: 2 * x if int(x) == 1 else 1,
    ),
    Case(
        "int_returning_callee",
        """int count_pos(double x) { return x > 0 ? 1 : 0; }
        double int_callee(double x) { return count_pos(x) * x + count_pos(-x); }""",
        "int_callee",
        "x",
        [(0.8,), (-0.8,)],
        lambda x: 1 if x > 0 else 0,
    ),
]


def _all_sources():
    seen, out = set(), []
    for c in CASES:
        for line in c.cpp.splitlines():
            if line.strip().startswith("#include"):
                seen.add(line.strip())
        out.append("\n".join(x for x in c.cpp.splitlines() if not x.strip().startswith("#include")))
    return "\n".join(sorted(seen)) + "\n" + "\n\n".join(out) + "\n"


@pytest.fixture(scope="module")
def constructs():
    return pyclad.cppdef(_all_sources())


def _wrt_position(fn, wrt):
    m = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", wrt)
    names = [p.name for p in fn.ir.params]
    return names.index(m.group(1)), (int(m.group(2)) if m.group(2) else None)


def test_cases_are_distinct_functions():
    names = [c.fn for c in CASES]
    assert len(names) == len(set(names))
    assert len(names) >= 45 - len(MATH)  # together with the math table below


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_forward_derivative_matches_references(constructs, case):
    f = getattr(constructs, case.fn)
    d = pyclad.differentiate(f, case.wrt)
    index, element = _wrt_position(f, case.wrt)
    for args in case.points:
        got = d(*fresh(args))
        if case.ref is not None:
            assert_close(got, case.ref(*fresh(args)), rtol=case.rtol, what=f"{case.id}{args} vs formula")
        if case.fd_check:
            assert_close(
                got,
                fd(f, list(args), index, element),
                rtol=case.fd_rtol,
                what=f"{case.id}{args} vs finite differences",
            )


SECOND_ORDER = [c for c in CASES if c.fd_check and c.rtol == 1e-8]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.id for c in SECOND_ORDER])
def test_second_order_of_every_construct_matches_second_differences(constructs, case):
    """The transform applied to its own output, for every construct: checked against
    second differences of the primal (good to ~1e-9 at h = 5e-3 on these functions)."""
    f = getattr(constructs, case.fn)
    d2 = pyclad.differentiate(f, case.wrt, order=2)
    index, element = _wrt_position(f, case.wrt)
    for args in case.points:
        want = fd2(f, list(args), index, element, h=5e-3)
        assert_close(d2(*fresh(args)), want, rtol=1e-6, atol=1e-6, what=f"{case.id}{args} d2")


# ---------------------------------------------------------------------------- the math library
# name: (arity, d/dx, d/dy) as Python formulas; the point (x, y) is away from every kink.
MATH = {
    "sin": (1, lambda x, y: math.cos(x), None),
    "cos": (1, lambda x, y: -math.sin(x), None),
    "tan": (1, lambda x, y: 1 / math.cos(x) ** 2, None),
    "asin": (1, lambda x, y: 1 / math.sqrt(1 - x * x), None),
    "acos": (1, lambda x, y: -1 / math.sqrt(1 - x * x), None),
    "atan": (1, lambda x, y: 1 / (1 + x * x), None),
    "atan2": (2, lambda x, y: y / (x * x + y * y), lambda x, y: -x / (x * x + y * y)),
    "sinh": (1, lambda x, y: math.cosh(x), None),
    "cosh": (1, lambda x, y: math.sinh(x), None),
    "tanh": (1, lambda x, y: 1 / math.cosh(x) ** 2, None),
    "exp": (1, lambda x, y: math.exp(x), None),
    "log": (1, lambda x, y: 1 / x, None),
    "log10": (1, lambda x, y: 1 / (x * math.log(10)), None),
    "log2": (1, lambda x, y: 1 / (x * math.log(2)), None),
    "pow": (2, lambda x, y: y * x ** (y - 1), lambda x, y: x**y * math.log(x)),
    "sqrt": (1, lambda x, y: 0.5 / math.sqrt(x), None),
    "cbrt": (1, lambda x, y: x ** (-2 / 3) / 3, None),
    "fabs": (1, lambda x, y: math.copysign(1, x), None),
    "abs": (1, lambda x, y: math.copysign(1, x), None),
    "hypot": (2, lambda x, y: x / math.hypot(x, y), lambda x, y: y / math.hypot(x, y)),
    "fmin": (2, lambda x, y: float(x < y), lambda x, y: float(y < x)),
    "fmax": (2, lambda x, y: float(x > y), lambda x, y: float(y > x)),
    "floor": (1, lambda x, y: 0.0, None),
    "ceil": (1, lambda x, y: 0.0, None),
    "round": (1, lambda x, y: 0.0, None),
    "trunc": (1, lambda x, y: 0.0, None),
}
POINTS = [(0.37, 1.7), (0.61, 0.45)]  # |x| < 1 for asin/acos; x > 0 for log/pow; no ties for fmin/fmax


def _math_cpp():
    # <math.h> as well as <cmath>: with only <cmath>, the C spelling abs(double)
    # would call the int overload in standard C++.
    lines = ["#include <cmath>", "#include <math.h>"]
    for name, (arity, _, _) in MATH.items():
        args = "x" if arity == 1 else "x, y"
        for prefix, tag in (("std::", "std"), ("", "c")):
            lines.append(
                f"double m_{tag}_{name}(double x, double y) {{ return {prefix}{name}({args}) * 1.0; }}"
            )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def mathlib():
    return pyclad.cppdef(_math_cpp())


MATH_CASES = [
    (name, tag, wrt)
    for name, (arity, _, _) in MATH.items()
    for tag in ("std", "c")
    for wrt in (("x",) if arity == 1 else ("x", "y"))
]


@pytest.mark.parametrize("name,tag,wrt", MATH_CASES, ids=[f"{t}::{n}/d{w}" for n, t, w in MATH_CASES])
def test_math_function_derivative(mathlib, name, tag, wrt):
    f = getattr(mathlib, f"m_{tag}_{name}")
    d = pyclad.differentiate(f, wrt)
    formula = MATH[name][1 if wrt == "x" else 2]
    k = 0 if wrt == "x" else 1
    for x, y in POINTS:
        got = d(x, y)
        assert_close(got, formula(x, y), what=f"{tag} {name} d/d{wrt} at {x, y} vs formula")
        assert_close(got, fd(f, [x, y], k), what=f"{tag} {name} d/d{wrt} at {x, y} vs finite differences")


def test_math_call_on_a_negative_argument_uses_the_right_branch(mathlib):
    d = pyclad.differentiate(mathlib.m_std_fabs, "x")
    assert d(-0.5, 0.0) == -1.0
    d = pyclad.differentiate(mathlib.m_c_fmax, "y")
    assert d(-0.5, 0.25) == 1.0 and d(0.5, 0.25) == 0.0


def test_c_float_and_long_double_variants_of_math_functions():
    m = pyclad.cppdef(
        """#include <math.h>
        float fsin(float x) { return sinf(x) * expf(x); }
        long double lexp(long double x) { return expl(x) + logl(x); }"""
    )
    x = 0.5
    assert_close(pyclad.differentiate(m.fsin, "x")(x), (math.cos(x) + math.sin(x)) * math.exp(x), rtol=1e-6)
    assert_close(pyclad.differentiate(m.lexp, "x")(x), math.exp(x) + 1 / x)


# ---------------------------------------------------------------------------- custom derivatives
def test_user_custom_derivative_replaces_the_body():
    m = pyclad.cppdef(
        """#include <pyclad/runtime.hpp>
        double mysq(double x) { return x * x; }
        namespace pyclad { namespace custom_derivatives {
        // Deliberately 10x the true derivative, so the test can tell that this,
        // and not the differentiated body of mysq, was used.
        pyclad::ValueAndPushforward<double, double> mysq_pushforward(double x, double d_x) {
            return {x * x, 10 * 2 * x * d_x};
        }
        }}
        double uses_mysq(double x, double y) { return mysq(x) * y + x; }"""
    )
    d = pyclad.differentiate(m.uses_mysq, "x")
    x, y = 0.7, 3.0
    # true derivative would be 2 x y + 1; the custom rule says mysq' = 20 x
    assert_close(d(x, y), 20 * x * y + 1)
    assert "mysq_pushforward" in d.code


def test_clad_spelling_of_a_custom_derivative():
    m = pyclad.cppdef(
        """#include <clad/Differentiator/Differentiator.h>
        #include <cmath>
        double softplus(double x) { return std::log(1 + std::exp(x)); }
        namespace clad { namespace custom_derivatives {
        // Scaled by 3 on purpose: proves the transform calls this instead of the body.  As in
        // clad, std:: in here names clad::custom_derivatives::std (the builtin derivatives).
        clad::ValueAndPushforward<double, double> softplus_pushforward(double x, double d_x) {
            return {::std::log(1 + ::std::exp(x)), 3 * d_x / (1 + ::std::exp(-x))};
        }
        }}
        double uses_softplus(double x) { return softplus(2 * x); }"""
    )
    d = pyclad.differentiate(m.uses_softplus, "x")
    x = 0.4
    sigmoid = 1 / (1 + math.exp(-2 * x))
    assert_close(d(x), 3 * 2 * sigmoid)


def test_custom_derivative_of_a_function_declared_only():
    m = pyclad.cppdef(
        """#include <pyclad/runtime.hpp>
        #include <cmath>
        double opaque(double x);   // no body in the source
        namespace pyclad { namespace custom_derivatives {
        pyclad::ValueAndPushforward<double, double> opaque_pushforward(double x, double d_x) {
            return {std::cos(x), -std::sin(x) * d_x};
        }
        }}
        double calls_opaque(double x) { return opaque(x) * x; }"""
    )
    # The JIT cannot link a module that calls an undefined function: a clear error at the call,
    # when the derivative is asked for (not a link error without a place when it is called).
    with pytest.raises(pyclad.PycladError, match="'opaque' is declared .* but never defined") as info:
        pyclad.differentiate(m.calls_opaque, "x")
    assert info.value.loc is not None and info.value.loc.line == 9
    code = m.source.forward("calls_opaque", "x").code  # a header can use it (defined elsewhere)
    assert "opaque_pushforward(x, _d_x)" in code
    assert "opaque(" not in code.replace("opaque_pushforward(", "")


def test_custom_derivative_declared_before_the_function_body():
    m = pyclad.cppdef(
        """#include <pyclad/runtime.hpp>
        #include <cmath>
        double opaque(double x);
        namespace pyclad { namespace custom_derivatives {
        pyclad::ValueAndPushforward<double, double> opaque_pushforward(double x, double d_x) {
            return {std::cos(x), -std::sin(x) * d_x};
        }
        }}
        double opaque(double x) { return std::cos(x); }
        double calls_opaque(double x) { return opaque(x) * x; }"""
    )
    d = pyclad.differentiate(m.calls_opaque, "x")
    x = 0.9
    assert_close(d(x), -math.sin(x) * x + math.cos(x))
    assert_close(d(x), fd(m.calls_opaque, [x], 0))


# ---------------------------------------------------------------------------- wrt forms and names
def test_wrt_every_parameter_in_turn(constructs):
    f = constructs.compound
    for wrt, k in (("x", 0), ("y", 1)):
        d = pyclad.differentiate(f, wrt)
        assert_close(d(1.3, 0.7), fd(f, [1.3, 0.7], k))
    assert "compound_darg0" in pyclad.differentiate(f, "x").code
    assert "compound_darg1" in pyclad.differentiate(f, "y").code


def test_every_element_of_an_array_param(constructs):
    f = constructs.prod3
    a = arr(0.5, 1.5, -2.0)
    for i in range(3):
        d = pyclad.differentiate(f, f"arr[{i}]")
        assert_close(d(a), np.prod(np.delete(a, i)))


def test_array_argument_from_a_list(constructs):
    d = pyclad.differentiate(constructs.sum_sq, "p[2]")
    assert_close(d([0.5, 1.5, -2.0], 3), -4.0)


def test_derivative_does_not_modify_a_read_only_input(constructs):
    a = arr(0.5, 1.5, -2.0)
    pyclad.differentiate(constructs.sum_sq, "p[0]")(a, 3)
    assert list(a) == [0.5, 1.5, -2.0]


# ---------------------------------------------------------------------------- modules and reloading
def test_two_sources_defining_the_same_function():
    a = pyclad.cppdef("double f(double x) { return x * x; }")
    b = pyclad.cppdef("double f(double x) { return x * x * x; }")
    da, db = pyclad.differentiate(a.f, "x"), pyclad.differentiate(b.f, "x")
    assert_close(da(2.0), 4.0)
    assert_close(db(2.0), 12.0)
    assert_close(a.f(2.0), 4.0)
    assert_close(b.f(2.0), 8.0)


def test_loading_an_edited_file_gives_the_new_code(tmp_path):
    path = tmp_path / "model.cpp"
    path.write_text("double f(double x) { return 2 * x * x; }\n")
    old = pyclad.load(path)
    assert_close(pyclad.differentiate(old.f, "x")(1.5), 6.0)
    path.write_text("#include <cmath>\ndouble f(double x) { return std::exp(x) * x; }\n")
    new = pyclad.load(path)
    assert_close(new.f(1.5), math.exp(1.5) * 1.5)
    assert_close(pyclad.differentiate(new.f, "x")(1.5), math.exp(1.5) * 2.5)
    assert_close(pyclad.differentiate(old.f, "x")(1.5), 6.0)  # the old module is untouched


def test_same_request_on_fresh_modules_gives_identical_code():
    src = "\n".join(c.cpp for c in CASES if c.fn in ("nested_calls",))
    src += (
        "\n#include <cmath>\ndouble det(double x, double y) { return std::sin(x * y) / (x + y) + g2(x); }\n"
    )
    codes = []
    for _ in range(2):
        m = pyclad.cppdef(src)
        codes.append((pyclad.differentiate(m.det, "x").code, pyclad.differentiate(m.nested_calls, "y").code))
    assert codes[0] == codes[1]


def test_generated_code_is_readable(constructs):
    code = pyclad.differentiate(constructs.quotient, "x").code
    assert "double quotient_darg0(double x, double y) {" in code
    assert "double _d_x = 1;" in code
    assert "_d_y" not in code  # y is inactive: no dead tangent
    assert "    " in code  # indented


def test_a_call_to_an_overloaded_function_differentiates_the_overload_it_resolves_to():
    m = pyclad.cppdef(
        "double over(double x) { return x; }\n"
        "float over(float x) { return x * 2; }\n"
        "double plain(double x) { return x * x; }\n"
        "double calls_over(double x) { return over(x) * x; }\n"
    )
    assert_close(pyclad.differentiate(m.plain, "x")(1.5), 3.0)
    assert_close(pyclad.differentiate(m.calls_over, "x")(1.5), 3.0)  # over(double): x * x


_DETERMINISM_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from pyclad.source import Source   # generation only: no JIT needed to compare the text
from test_forward import CASES
src = Source("\n".join(c.cpp for c in CASES if c.fn in NAMES), "<string>")
for c in CASES:
    if c.fn in NAMES:
        sys.stdout.write(src.forward(c.fn, c.wrt).code)
        sys.stdout.write(src.forward(c.fn, c.wrt, order=2).code)
"""


def test_generated_code_is_identical_across_processes():
    """Set and dict iteration order must not leak into the output (hash seeds differ per process)."""
    import os
    import subprocess
    import sys

    names = ["nested_calls", "out_acc", "sw", "local_ptr", "ternary_calls", "recursion", "walk"]
    script = f"NAMES = {names!r}\n" + _DETERMINISM_SCRIPT
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        r = subprocess.run(
            [sys.executable, "-c", script, os.path.dirname(__file__)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]
    assert "nested_calls_d2arg0" in outs[0]


def test_generated_code_compiles_without_warnings_under_gcc(tmp_path):
    """Every first- and second-order derivative of the table, as one translation unit:
    g++ -Wall -Wextra finds no dead variable, no missing parenthesis, no error."""
    import shutil
    import subprocess

    from pyclad.source import Source, render

    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("no g++")
    text = _all_sources()
    src = Source(text, "constructs.cpp")
    functions, seen = [], set()
    for c in CASES:
        for order in (1, 2):
            r = src.forward(c.fn, c.wrt, order=order)
            for f in r.helpers + [r.function]:
                if f.name not in seen:
                    seen.add(f.name)
                    functions.append(f)
    path = tmp_path / "derivatives.cpp"
    path.write_text(text + "#include <pyclad/runtime.hpp>\n" + render(functions))
    r = subprocess.run(
        [
            gxx,
            "-std=c++17",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
            pyclad.get_include(),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr[:4000]


def _cpp_value(v) -> str:
    return repr(float(v)) if isinstance(v, float) else str(v)


def _call_block(r, args, checked: bool = False) -> str:
    """A C++ block that calls the derivative ``r`` at ``args`` (fresh arrays, tangents seeded
    as the Python path seeds them) and prints its value; ``checked``: through the entry of
    its bounds-checked variant, which takes each pointer's length after it."""
    lines, names, lengths = [], [], {}
    for k, (p, a) in enumerate(zip(r.function.params, args)):
        if isinstance(a, np.ndarray):
            lines.append(f"    double a{k}[] = {{{', '.join(_cpp_value(float(v)) for v in a)}}};")
            lengths[p.name] = a.size
            names += [f"a{k}", str(a.size)] if checked else [f"a{k}"]
        else:
            names.append(_cpp_value(a))
    for k, e in enumerate(r.extras):
        n = lengths[e.name] = lengths[e.like]
        lines.append(f"    double t{k}[{n}] = {{}};")
        if e.seed is not None:
            lines.append(f"    t{k}[{e.seed}] = 1;")
        names += [f"t{k}", str(n)] if checked else [f"t{k}"]
    name = f"__pyclad_entry::{r.function.name}" if checked else r.function.name
    lines.append(f'    std::printf("%.17g\\n", static_cast<double>({name}({", ".join(names)})));')
    return "{\n" + "\n".join(lines) + "\n}\n"


def test_every_construct_runs_clean_under_the_sanitizers_and_agrees_with_the_formula(tmp_path):
    """Every first- and second-order derivative of the table, plain and bounds-checked, built
    with g++ (and again with AddressSanitizer and UBSan) and run at each point: no write past
    a buffer, no undefined behaviour, the checked variant prints what the plain one does, and
    the first derivatives agree with the hand formulas."""
    from conftest import gxx_build_and_run

    from pyclad import checked
    from pyclad.source import Source, render

    text = _all_sources()
    src = Source(text, "constructs.cpp")
    functions, seen, calls, wants = [], set(), [], []
    for c in CASES:
        for order in (1, 2):
            r = src.forward(c.fn, c.wrt, order=order)
            for f in r.helpers + [r.function]:
                if f.name not in seen:
                    seen.add(f.name)
                    functions.append(f)
            for args in c.points:
                calls += [_call_block(r, args), _call_block(r, args, checked=True)]
                want = c.ref(*fresh(args)) if order == 1 and c.ref is not None else None
                wants.append((f"{c.id}{args} order {order}", want, c.rtol))
    body = "".join(calls).replace("\n", "\n    ")
    main = f"#include <cstdio>\nint main() {{\n    {body}return 0;\n}}\n"
    derivatives = render(functions) + checked.source(functions, render)
    (tmp_path / "table.cpp").write_text(text + "#include <pyclad/runtime.hpp>\n" + derivatives + main)
    # -Wextra: no derivative leaves a parameter it does not read unmarked; the table's switch
    # falls through on purpose, and so do its derivatives
    flags = ("-Wextra", "-Werror", "-Wno-implicit-fallthrough")
    out, _ = gxx_build_and_run(tmp_path, "table.cpp", *flags, optimized=False)
    got = [float(v) for v in out.split()]
    assert len(got) == 2 * len(wants)
    for plain, safe, (what, want, rtol) in zip(got[::2], got[1::2], wants):
        assert plain == safe or (math.isnan(plain) and math.isnan(safe)), (
            f"{what}: checked {safe}, plain {plain}"
        )
        if want is not None:
            assert_close(plain, want, rtol=rtol, what=f"{what} (g++ build) vs formula")


def test_custom_derivative_takes_precedence_over_a_builtin():
    m = pyclad.cppdef(
        """#include <pyclad/runtime.hpp>
        #include <cmath>
        namespace pyclad { namespace custom_derivatives {
        // 7 times the true derivative: the test sees this rule, not the builtin one, was used.
        pyclad::ValueAndPushforward<double, double> sin_pushforward(double x, double d_x) {
            return {std::sin(x), 7 * std::cos(x) * d_x};
        }
        }}
        double uses_sin(double x) { return std::sin(x) + sin(2 * x); }"""
    )
    x = 0.3
    assert_close(pyclad.differentiate(m.uses_sin, "x")(x), 7 * math.cos(x) + 14 * math.cos(2 * x))
