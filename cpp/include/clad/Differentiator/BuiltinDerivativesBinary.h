// The <cmath> functions of two or three arguments under clad's names (see
// BuiltinDerivatives.h, which includes this file): NAME_pushforward(x, y, d_x, d_y)
// and NAME_pullback(x, y, d_z, T* d_x, T* d_y), with the float / long double spellings.
#ifndef PYCLAD_CLAD_BUILTIN_DERIVATIVES_BINARY_H
#define PYCLAD_CLAD_BUILTIN_DERIVATIVES_BINARY_H

#include "clad/Differentiator/BuiltinDerivatives.h"

#include <cmath>
#include <functional>

namespace clad {
namespace custom_derivatives {
namespace std {

// pow: y x^(y-1) d_x + x^y log(x) d_y; the second term only where d_y is not zero,
// so that a constant exponent of a negative base gives a finite derivative.
template <typename T1, typename T2, typename dT1, typename dT2>
auto pow_pushforward(T1 x, T2 y, dT1 d_x, dT2 d_y)
    -> ValueAndPushforward<decltype(::std::pow(x, y)), decltype(::std::pow(x, y))> {
    using R = decltype(::std::pow(x, y));
    const R value = ::std::pow(x, y);
    R d = 0;
    if (d_x != 0) d += static_cast<R>(y) * ::std::pow(x, y - 1) * static_cast<R>(d_x);
    if (d_y != 0) d += value * ::std::log(x) * static_cast<R>(d_y);
    return {value, d};
}
template <typename T1, typename T2, typename T3>
void pow_pullback(T1 x, T2 y, T3 d_z, T1* d_x, T2* d_y) {
    *d_x += static_cast<T1>(pow_pushforward(x, y, static_cast<T1>(1), static_cast<T2>(0)).pushforward * d_z);
    *d_y += static_cast<T2>(pow_pushforward(x, y, static_cast<T1>(0), static_cast<T2>(1)).pushforward * d_z);
}

// Each binary function: its pushforward and pullback from the partial derivatives DX, DY
// with respect to its first (x) and second (y) argument, expressions in x, y and
// value, the function's value (so atan2(x, y) = atan(x / y) has DX = y / (x^2 + y^2)).
#define PYCLAD_CLAD_BINARY(NAME, DX, DY)                                                   \
    template <typename T, typename dT>                                                     \
    ValueAndPushforward<T, dT> NAME##_pushforward(T x, T y, dT d_x, dT d_y) {              \
        const T value = ::std::NAME(x, y);                                                 \
        (void)value;                                                                       \
        return {value, static_cast<dT>((DX) * d_x + (DY) * d_y)};                          \
    }                                                                                      \
    template <typename T, typename U>                                                      \
    void NAME##_pullback(T x, T y, U d_z, T* d_x, T* d_y) {                                \
        const T value = ::std::NAME(x, y);                                                 \
        (void)value;                                                                       \
        *d_x += static_cast<T>((DX) * d_z);                                                \
        *d_y += static_cast<T>((DY) * d_z);                                                \
    }

PYCLAD_CLAD_BINARY(atan2, y / (x * x + y * y), -x / (x * x + y * y))
PYCLAD_CLAD_BINARY(hypot, x / value, y / value)
PYCLAD_CLAD_BINARY(fmod, 1, -::std::trunc(x / y))
PYCLAD_CLAD_BINARY(remainder, 1, -((x - value) / y))
PYCLAD_CLAD_BINARY(fmax, (x >= y ? 1 : 0), (x >= y ? 0 : 1))
PYCLAD_CLAD_BINARY(fmin, (x <= y ? 1 : 0), (x <= y ? 0 : 1))
PYCLAD_CLAD_BINARY(fdim, (x > y ? 1 : 0), (x > y ? -1 : 0))
#undef PYCLAD_CLAD_BINARY

#define PYCLAD_CLAD_BINARY_ALIASES(NAME)                                                   \
    template <typename T, typename dT>                                                     \
    ValueAndPushforward<T, dT> NAME##f_pushforward(T x, T y, dT d_x, dT d_y) {             \
        return NAME##_pushforward(x, y, d_x, d_y);                                         \
    }                                                                                      \
    template <typename T, typename dT>                                                     \
    ValueAndPushforward<T, dT> NAME##l_pushforward(T x, T y, dT d_x, dT d_y) {             \
        return NAME##_pushforward(x, y, d_x, d_y);                                         \
    }                                                                                      \
    template <typename T, typename U>                                                      \
    void NAME##f_pullback(T x, T y, U d_z, T* d_x, T* d_y) {                               \
        NAME##_pullback(x, y, d_z, d_x, d_y);                                              \
    }                                                                                      \
    template <typename T, typename U>                                                      \
    void NAME##l_pullback(T x, T y, U d_z, T* d_x, T* d_y) {                               \
        NAME##_pullback(x, y, d_z, d_x, d_y);                                              \
    }
PYCLAD_CLAD_BINARY_ALIASES(pow)
PYCLAD_CLAD_BINARY_ALIASES(atan2)
PYCLAD_CLAD_BINARY_ALIASES(hypot)
PYCLAD_CLAD_BINARY_ALIASES(fmod)
PYCLAD_CLAD_BINARY_ALIASES(remainder)
PYCLAD_CLAD_BINARY_ALIASES(fmax)
PYCLAD_CLAD_BINARY_ALIASES(fmin)
PYCLAD_CLAD_BINARY_ALIASES(fdim)
#undef PYCLAD_CLAD_BINARY_ALIASES

// fma(a, b, c) = a b + c.
template <typename T1, typename T2, typename T3>
auto fma_pushforward(T1 a, T2 b, T3 c, T1 d_a, T2 d_b, T3 d_c)
    -> ValueAndPushforward<decltype(::std::fma(a, b, c)), decltype(::std::fma(a, b, c))> {
    return {::std::fma(a, b, c), d_a * b + a * d_b + d_c};
}
template <typename T1, typename T2, typename T3, typename T4>
void fma_pullback(T1 a, T2 b, T3 c, T4 d_y, T1* d_a, T2* d_b, T3* d_c) {
    (void)c;
    *d_a += static_cast<T1>(b * d_y);
    *d_b += static_cast<T2>(a * d_y);
    *d_c += static_cast<T3>(d_y);
}

// std::min / std::max / std::clamp: the derivative of the argument chosen (with comp).
template <typename T, class Compare = ::std::less<T>>
ValueAndPushforward<T, T> min_pushforward(const T& a, const T& b, const T& d_a, const T& d_b,
                                          Compare comp = Compare{}) {
    return comp(b, a) ? ValueAndPushforward<T, T>{b, d_b} : ValueAndPushforward<T, T>{a, d_a};
}
template <typename T, class Compare = ::std::less<T>>
ValueAndPushforward<T, T> max_pushforward(const T& a, const T& b, const T& d_a, const T& d_b,
                                          Compare comp = Compare{}) {
    return comp(a, b) ? ValueAndPushforward<T, T>{b, d_b} : ValueAndPushforward<T, T>{a, d_a};
}
template <typename T, typename U>
void min_pullback(const T& a, const T& b, U d_y, T* d_a, T* d_b) {
    *(b < a ? d_b : d_a) += static_cast<T>(d_y);
}
template <typename T, typename U>
void max_pullback(const T& a, const T& b, U d_y, T* d_a, T* d_b) {
    *(a < b ? d_b : d_a) += static_cast<T>(d_y);
}
template <typename T>
ValueAndPushforward<T, T> clamp_pushforward(const T& v, const T& lo, const T& hi, const T& d_v, const T& d_lo,
                                            const T& d_hi) {
    if (v < lo) return {lo, d_lo};
    if (hi < v) return {hi, d_hi};
    return {v, d_v};
}
template <typename T, typename U>
void clamp_pullback(const T& v, const T& lo, const T& hi, U d_y, T* d_v, T* d_lo, T* d_hi) {
    *(v < lo ? d_lo : hi < v ? d_hi : d_v) += static_cast<T>(d_y);
}

}  // namespace std
}  // namespace custom_derivatives
}  // namespace clad

#endif  // PYCLAD_CLAD_BUILTIN_DERIVATIVES_BINARY_H
