// Functions for the reverse-mode test suite (tests/test_reverse.py).
// Every function is smooth at the points the tests use: branch conditions there
// are either on int parameters or far (>> the finite-difference step) from a switch.
#include <pyclad/runtime.hpp>
#include <cmath>

// ------------------------------------------------------------------ helpers (callees)
double sq(double x) { return x * x; }
double helper(double a, double b) { return a * std::sin(b) + b * b * 0.5; }
double inner(double x, double y) { return x * y + std::exp(0.1 * x); }
double outer(double u, double x) { return inner(u, x) * u - sq(x); }
double rpow(double x, int n) {
    if (n == 0) return 1.0;
    return x * rpow(x, n - 1);
}
double rec(double x, int d) {
    if (d <= 0) return std::sin(x);
    return rec(1.1 * x, d - 1) + x * x * 0.25;
}
void h(double x, double& y) { y = x * y + std::sin(x); }
double dot(const double* a, const double* b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
double wsum(const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s = s * 0.5 + std::cos(a[i]);
    return s;
}
void scale(double* a, int n, double c) {
    for (int i = 0; i < n; i++) a[i] *= c;
}
void fill2(double x, double y, double* out) {
    out[0] = x * y;
    out[1] = std::sin(x);
}
void setv(double x, double& y) { y = x * 3 + 1; }
double gref(double x, double& y) {
    y = y * x;
    return y + x;
}
bool bumpif(double x, double& y) {
    y = y * x + 1;
    return y > 0;
}
double findfirst(const double* a, int n, double thr) {
    for (int i = 0; i < n; i++) {
        if (a[i] > thr) return a[i] * thr;
    }
    return thr;
}
double loopy(double x, int n) {
    double s = x;
    for (int i = 0; i < n; i++) s = std::sin(s) * x + 0.5 * s;
    return s;
}
double early(double x) {
    if (x > 1.0) return x * x;
    double t = std::exp(x);
    return t * x;
}

// A function whose body pyclad must not differentiate (bit tricks and a loop on
// the iterate): its derivative comes from the custom pushforward/pullback below.
double mycbrt(double x) {
    double r = x > 1 ? x / 3 : 1.0;
    int k = 0;
again:  // goto: pyclad cannot differentiate this body, so the custom derivatives must be used
    r = r - (r * r * r - x) / (3 * r * r);
    if (++k < 60) goto again;
    return r;
}
// Deliberately 3x the true derivative of sq, to prove the custom pullback is the one used.
double sqx(double x) { return x * x; }

namespace pyclad { namespace custom_derivatives {
ValueAndPushforward<double, double> mycbrt_pushforward(double x, double d_x) {
    double r = std::cbrt(x);
    return {r, d_x / (3 * r * r)};
}
void mycbrt_pullback(double x, double _d_y, double* _d_x) {
    double r = std::cbrt(x);
    *_d_x += _d_y / (3 * r * r);
}
void sqx_pullback(double x, double _d_y, double* _d_x) { *_d_x += 3 * (2 * x) * _d_y; }
}}

const double kScale = 2.5;
double gFactor = 0.5;

// ------------------------------------------------------------------ straight-line code
double r_local_reassign(double x, double y) {
    double t = x * y;
    t = t * t + x;
    t = std::sin(t) * y;
    return t * x;
}
double r_compound(double x, double y) {
    double r = x;
    r += y * x;
    r -= y;
    r *= x;
    r /= (y + 3);
    r *= r;
    return r;
}
double r_incdec(double x) {
    double a = x;
    a++;
    ++a;
    a--;
    double b = a * a;
    --b;
    return b * x;
}
double r_param_reassign(double x, double y) {
    x = x * y;
    y = y + x;
    x = x * x;
    y *= x;
    return x + y;
}
double r_int_locals(double x, double y) {
    int i = 3;
    int j = i * 2 + 1;
    double r = x * j;
    i = j - i;
    r += y * i;
    i++;
    r = r * i / j;
    return r;
}
double r_int_bool_params(double x, int n, bool flip) {
    int k = n * 2;
    double r = x * k + x * x;
    if (flip) r = -r * x;
    return r;
}
double r_bool_local(double x, double y) {
    bool big = x > y;
    double r = big ? x : y;
    if (!big) r *= 2;
    return r * x;
}
double r_cast(double x, double y) {
    int k = (int)(x * 2);  // piecewise constant: contributes no derivative
    float f = (float)y;
    double r = x * k + x * y;
    return r + 0.0 * f;
}
double r_subset(double x, double y, double z) {
    double a = x * y;
    a = a + z * x;
    return a * std::cos(y) * z;
}

// ------------------------------------------------------------------ branches
double r_ternary(double x, double y) { return x > y ? x * x * y : std::cos(x) * y; }
double r_ternary_nested(double x, double y) {
    double t = (x > 0) ? ((y > 0) ? x * y : x - y) : y * y;
    return t * x;
}
double r_ifelse_chain(double x, double y) {
    double r;
    if (x < -1) {
        r = x * y;
    } else if (x < 0) {
        r = std::sin(x) * y;
        r = r * r;
    } else if (x < 1) {
        r = std::exp(x * y);
    } else {
        r = x / y;
    }
    return r * x;
}
double r_if_reassign(double x, double y) {
    double t = x;
    if (y > 0) {
        t = t * y;
        t = t * t;
    } else {
        t = -t;
        t *= y;
    }
    return t * x;
}
double r_early_return(double x, double y) {
    if (x > 1) return x * y;
    double t = x * x;
    if (y > 0) {
        t = t * y;
        return t * y;
    }
    return t - y;
}
double r_switch(double x, int k) {
    double r = x;
    switch (k) {
        case 0:
            r = x * x;
            break;
        case 1:
            r = std::sin(x);
            // fallthrough
        case 2:
            r += x * 3;
            break;
        case 3:
        case 4:
            r *= std::exp(x);
            break;
        default:
            r = std::exp(x) * r;
    }
    return r * x;
}
double r_switch_return(double x, int k) {
    switch (k) {
        case 0: return x * x;
        case 1: {
            double t = std::sin(x);
            return t * x;
        }
        default: break;
    }
    return x * 3;
}

// ------------------------------------------------------------------ loops
double r_for_param(double x, int n) {
    double r = 1;
    for (int i = 0; i < n; i++) r *= x;
    return r;
}
double r_for_div_sub(double x, int n) {
    double r = 10;
    for (int i = 0; i < n; i++) {
        r /= (x + i);
        r -= x * i;
    }
    return r;
}
double r_for_trip_expr(double x, int n) {
    double s = 0;
    for (int i = 0; i < n * 2 + 1; i++) s = s * 0.5 + std::sin(x * i);
    return s;
}
double r_for_step2(const double* x, int n) {
    double s = 1;
    for (int i = n - 1; i >= 0; i -= 2) s = s * x[i] + 1;
    return s;
}
double r_param_in_loop(double x, int n) {
    for (int i = 0; i < n; i++) x = std::sin(x) + x * 0.5;
    return x;
}
double r_for_break(double x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        s = s * x + 1;
        if (i == 3) break;
    }
    return s;
}
double r_for_break_data(double x) {
    double s = x;
    for (int i = 0; i < 100; i++) {
        s = s * 1.1 + x;
        if (s > 10) break;
    }
    return s;
}
double r_for_continue(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        if (i % 2 == 0) continue;
        s += x[i] * std::sin(x[i]);
    }
    return s;
}
double r_while(double x) {
    double s = x;
    int k = 0;
    while (k < 5) {
        s = s * std::cos(s) + x;
        k++;
    }
    return s;
}
double r_while_data(double x) {
    double s = x;
    while (s < 100) s = s * s + 1;
    return s;
}
double r_while_break_continue(double x, int n) {
    int i = 0;
    double s = 0;
    while (true) {
        i++;
        if (i > n) break;
        if (i == 2) continue;
        s += std::exp(x * i * 0.1);
        s *= x;
    }
    return s;
}
double r_do_while(double x, int n) {
    double s = x;
    int i = 0;
    do {
        s = s * x - 0.5;
        i++;
    } while (i < n);
    return s;
}
double r_do_while_break(double x) {
    double s = x;
    int k = 0;
    do {
        s = s * x + 1;
        k++;
        if (k > 10) break;
    } while (s < 50);
    return s;
}
double r_early_return_loop(const double* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += x[i] * x[i];
        if (s > 2.0) return s * x[0];
    }
    return s;
}
double r_early_return_while(double x) {
    double s = x;
    while (true) {
        s = s * 1.5 + x;
        if (s > 20) return s * s;
    }
}
double r_early_return_nested(double x, int n, int m) {
    double s = 1;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < m; j++) {
            s = s * x + 0.1 * j;
            if (i * m + j == 5) return s * s;
        }
        s = std::sin(s);
    }
    return s;
}
double r_nested_loops(const double* a, int n, int m) {
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) s = s * 0.5 + a[i] * a[j];
    return s;
}
double r_nested_triangular(double x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        double t = x;
        for (int j = 0; j < i; j++) t = t * x + j;
        s += t;
    }
    return s;
}
double r_nested_break(const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            if (j > i) break;
            s += a[i] * a[j];
            s *= 0.9;
        }
    }
    return s;
}
double r_nested_while_data(double x) {
    double s = x;
    int outer_count = 0;
    while (outer_count < 3) {
        double t = s;
        while (t < 10) t = t * 2 + x;
        s = t * 0.1 + s;
        outer_count++;
    }
    return s;
}
double r_switch_in_loop(double x, int n) {
    double s = 1;
    for (int i = 0; i < n; i++) {
        switch (i % 3) {
            case 0:
                s *= x;
                break;
            case 1:
                s += x;
                // fallthrough
            case 2:
                s = s * 0.5 + x * x;
                break;
        }
    }
    return s;
}
double r_ternary_in_loop(const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s = a[i] > 0 ? s + a[i] * a[i] : s * a[i];
    return s;
}
double r_if_in_loop_data(const double* a, int n) {
    double s = 1;
    for (int i = 0; i < n; i++) {
        if (a[i] * s > 0.5) {
            s = s * a[i];
        } else {
            s = s + std::sin(a[i]);
        }
    }
    return s;
}

// ------------------------------------------------------------------ arrays
double r_sum_sin(const double* x, int n) {
    double r = 0;
    for (int i = 0; i < n; i++) r += std::sin(x[i]) * x[i];
    return r;
}
double r_array_rw(double* x, int n) {
    for (int i = 0; i < n; i++) x[i] = x[i] * x[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * std::sin(x[i]);
    return s;
}
double r_array_chain(double* x, int n) {
    for (int i = 1; i < n; i++) x[i] = x[i] * x[i - 1] + x[i];
    return x[n - 1];
}
double r_array_twice(double* x, int n) {
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++) x[i] = std::sin(x[i]) * x[(i + 1) % n];
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s;
}
double r_array_compound(double* x, int n) {
    for (int i = 1; i < n; i++) {
        x[i] += x[i - 1] * x[i];
        x[i] *= 0.5;
        x[i] /= (1 + x[i] * x[i]);
        x[i] -= 0.1 * x[i - 1];
    }
    return x[n - 1] * x[0];
}
double r_array_incdec(double* x) {
    x[0]++;
    x[1]--;
    ++x[2];
    return x[0] * x[1] * x[2];
}
double r_two_arrays(const double* a, double* b, int n) {
    for (int i = 0; i < n; i++) b[i] = a[i] * b[i] + b[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += b[i] * b[i];
    return s;
}
double r_mixed(double x, const double* a, int n) {
    double s = x;
    for (int i = 0; i < n; i++) s = s * a[i] + x;
    return s;
}
double r_local_array(double x, double y) {
    double a[3] = {x, y, x * y};
    for (int i = 0; i < 3; i++) a[i] = a[i] * a[i] + 1;
    return a[0] * a[1] + a[2];
}
double r_local_array_accum(const double* x, int n) {
    double buf[4] = {0};
    for (int i = 0; i < n; i++) buf[i % 4] += x[i] * x[i];
    return buf[0] * buf[1] + buf[2] - buf[3];
}

// ------------------------------------------------------------------ calls
double r_call_simple(double x, double y) { return sq(x) * helper(x, y); }
double r_call_nested(double x, double y) { return outer(inner(x, y), x); }
double r_call_in_loop(const double* x, int n) {
    double s = 0.5;
    for (int i = 0; i < n; i++) s = helper(x[i], s);
    return s;
}
double r_recursion(double x, int d) { return rpow(x, d) + rec(x, d); }
double r_ref_out(double x, double y) {
    double t = y;
    h(x, t);
    h(t * 0.5, t);
    return t * x;
}
double r_ref_out_loop(double x, int n) {
    double t = 1;
    for (int i = 0; i < n; i++) h(x, t);
    return t;
}
double r_ptr_callee(const double* x, int n) { return dot(x, x, n) + wsum(x, n); }
double r_ptr_callee_write(double x, double y) {
    double o[2] = {x, y};  // a local array the callee overwrites, and the reverse sweep reads
    double s = o[0] * o[1];
    for (int i = 0; i < 3; i++) {
        s += o[0] * o[1];
        fill2(o[1], x, o);
    }
    return s + o[0];
}
double r_callee_loop_early(double x, int n) { return loopy(x, n) * early(x); }
double r_custom_pullback(double x, double y) { return mycbrt(x * y) * x; }

// ------------------------------------------------------------------ math library
double r_math(double x, double y) {
    double a = std::exp(x) * std::log(y) + std::sqrt(x * y);
    double b = std::pow(x, y) + std::tanh(a * 0.1) + std::atan2(y, x);
    double c = std::hypot(x, y) * std::fabs(x - y) + std::fmax(x, y);
    return a * b + c;
}
double r_math2(double x) {
    return std::tan(x) + std::asin(x / 2) + std::acos(x / 3) + std::cbrt(x) + std::log1p(x) +
           std::expm1(x) + std::erf(x) + std::atan(x) + std::cosh(x) * std::sinh(x) + std::log10(x) +
           std::log2(x) + std::exp2(x);
}

// ------------------------------------------------------------------ more control flow, pointers, calls
double r_do_while_continue(double x, int n) {
    double s = x;
    int i = 0;
    do {
        i++;
        if (i % 2 == 0) continue;
        s = s * x + std::sin(s);
    } while (i < n);
    return s;
}
double r_switch_continue(const double* a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        switch (i % 3) {
            case 0:
                continue;
            case 1:
                s += a[i] * a[i];
                break;
            default:
                s *= a[i];
        }
        s = s * 0.9 + a[i];
    }
    return s;
}
double r_branch_then_local(double x, double y) {
    if (x > 0) {
        if (y > 2) return x * y;
    }
    double t = x * y;
    t = t * t;
    return t + x;
}
double r_shadow(double x, double y) {
    double t = x * y;
    {
        double t = x + y;
        y = t * t;
    }
    for (int i = 0; i < 2; i++) {
        double t2 = t;
        double t = t2 * x;
        y += t;
    }
    return t * y;
}
double r_comma_for(const double* a, int n) {
    double s = 0;
    for (int i = 0, j = n - 1; i < j; i++, j--) s += a[i] * a[j];
    return s;
}
double r_int_arith(double x, int n) {
    int h = n / 2;
    int r = n % 3;
    double s = x * h + x * x * r;
    s /= (h + 1);
    return s * (n / 2.0);
}
double r_globals(double x) { return kScale * x * x + gFactor * std::sin(x); }
double r_float_local(double x) {
    float f = 1.5f;
    double r = x * f;
    r = r * r;
    return r;
}
double r_pointer_walk(const double* x, int n) {
    const double* p = x;
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += *p * std::sin(*p);
        p++;
    }
    const double* q = x + n - 1;
    while (q != x) {
        s = s * 0.5 + *q;
        q -= 1;
    }
    return s;
}
double r_pointer_reseat(const double* x, int n) {
    double s = 0;
    for (int i = 0; i + 1 < n; i++) {
        const double* p = x + i;
        s = s * p[1] + p[0];
    }
    return s;
}
double r_ref_in_expr(double x, double y) {
    double t = y;
    double s = t * t;
    double r = gref(x, t);  // writes t and returns a value
    setv(r, s);             // overwrites s without reading it
    return r * t + s;
}
double r_ref_call_bool(double x, double y) {
    double t = y;
    bool ok = bumpif(x, t);  // the result carries no derivative, t does
    int c = bumpif(t, t) ? 1 : 2;
    return ok ? t * x * c : t;
}
double r_ref_elem(const double* x, double* y, int n) {
    for (int i = 0; i < n; i++) h(x[i], y[i]);
    double s = 0;
    for (int i = 0; i < n; i++) s += y[i] * x[i];
    return s;
}
double r_local_array_callee(double x, double y) {
    double a[3] = {x, y, x * y};
    double r = dot(a, a, 3) + wsum(a, 3) + dot(a + 1, a, 2);
    scale(a, 3, y);  // writes the local array through a pointer; the reverse sweep reads it before and after
    return r * a[0] + a[1] * a[2];
}
double r_callee_early_loop(const double* a, int n) {
    double s = 0;
    for (int k = 0; k < 2; k++) s += findfirst(a, n, 0.5 + k * 0.3);
    return s;
}
double r_ternary_calls(double x, double y) { return x > 0 ? sq(x) * y : helper(x, y); }
double r_writing_call_in_expr(double x, double y) {
    double t = y;
    double r = std::sin(gref(x, t)) * x;  // the result feeds arithmetic: not re-run in the reverse sweep
    t *= gref(x * 0.5, t);                // compound: t = t_new * gref(...)
    double u = bumpif(x, t) ? t : 0.5;    // the branches read t after the call wrote it
    return r * t + u;
}
// Twelve ifs whose arms both go on and may return: normalisation must not copy the
// rest of the function into both arms of each (2^12 copies), see test_code_size_is_linear.
double r_many_guarded_returns(double x, double y, int k) {
    double s = y;
    if (x > -1) {
        if (k == 0) return s * x;
        s = s * x + 1 * std::sin(y);
    }
    if (x > -2) {
        if (k == 1) return s * x;
        s = s * x + 2 * std::sin(y);
    }
    if (x > -3) {
        if (k == 2) return s * x;
        s = s * x + 3 * std::sin(y);
    }
    if (x > -4) {
        if (k == 3) return s * x;
        s = s * x + 4 * std::sin(y);
    }
    if (x > -5) {
        if (k == 4) return s * x;
        s = s * x + 5 * std::sin(y);
    }
    if (x > -6) {
        if (k == 5) return s * x;
        s = s * x + 6 * std::sin(y);
    }
    if (x > -7) {
        if (k == 6) return s * x;
        s = s * x + 7 * std::sin(y);
    }
    if (x > -8) {
        if (k == 7) return s * x;
        s = s * x + 8 * std::sin(y);
    }
    if (x > -9) {
        if (k == 8) return s * x;
        s = s * x + 9 * std::sin(y);
    }
    if (x > -10) {
        if (k == 9) return s * x;
        s = s * x + 10 * std::sin(y);
    }
    if (x > -11) {
        if (k == 10) return s * x;
        s = s * x + 11 * std::sin(y);
    }
    if (x > -12) {
        if (k == 11) return s * x;
        s = s * x + 12 * std::sin(y);
    }
    return s;
}
