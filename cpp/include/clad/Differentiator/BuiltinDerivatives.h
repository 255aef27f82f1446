// The types and builtin derivative names of clad's API that user code writes or calls:
// ValueAndPushforward (what a NAME_pushforward returns), ValueAndAdjoint (what a
// NAME_reverse_forw returns), pullback_state, Tag (constructor custom derivatives),
// the attribute macros, and the derivatives of the <cmath> functions under clad's
// names, clad::custom_derivatives::std::NAME_pushforward / NAME_pullback.
//
// The conventions, from clad's documentation: NAME_pushforward(x..., d_x...) returns
// {NAME(x...), its directional derivative}; NAME_pullback(x..., d_y, T* d_x...) adds
// d_y times each partial derivative into *d_x...; the C library's float and long
// double spellings (sinf, powl, ...) have the same derivatives.  Unary functions have
// only a pushforward, as in clad.  Every function here is a template: the translator
// differentiates the <cmath> functions with its own rules, and takes only non-template
// functions in clad::custom_derivatives for a user's custom derivatives.
#ifndef PYCLAD_CLAD_BUILTIN_DERIVATIVES_H
#define PYCLAD_CLAD_BUILTIN_DERIVATIVES_H

#include "clad/Differentiator/ArrayRef.h"
#include "clad/Differentiator/CladConfig.h"
#include "clad/Differentiator/ZeroInit.h"

#include <pyclad/runtime.hpp>

#include <cmath>
#include <functional>

#if defined(__clang__)
#define elidable_reverse_forw __attribute__((annotate("elidable_reverse_forw")))
#define CLAD_NONDIFFERENTIABLE __attribute__((annotate("non_differentiable")))
#else
#define elidable_reverse_forw
#define CLAD_NONDIFFERENTIABLE
#endif

namespace clad {

// {value, pushforward}; converts to another ValueAndPushforward whose members the
// members convert to (pyclad's own type, so that both names denote one type).
using pyclad::ValueAndPushforward;

template <typename T, typename U>
ValueAndPushforward<T, U> make_value_and_pushforward(T value, U pushforward) {
    return {value, pushforward};
}

// What a custom NAME_reverse_forw returns: the value and its adjoint (references for
// functions that return references).
template <typename T, typename U>
struct ValueAndAdjoint {
    T value;
    U adjoint;
};

// The state a custom NAME_reverse_forw fills for its NAME_pullback; Payload is the
// user's, no_state when there is none.
struct no_state {};
template <typename Payload = no_state>
struct pullback_state {
    Payload data{};
};

// The first parameter of a constructor's custom derivative, naming the class.
template <class T>
class Tag {};
template <class T>
using ConstructorPushforwardTag = Tag<T>;
template <class T>
using ConstructorReverseForwTag = Tag<T>;

}  // namespace clad

// Marks a type the user does not own as having no derivative.
#define CLAD_NONDIFFERENTIABLE_TYPE(...)                  \
    namespace clad {                                      \
    template <>                                           \
    class CLAD_NONDIFFERENTIABLE Tag<__VA_ARGS__> {};     \
    }

namespace clad {
namespace custom_derivatives {
namespace std {

// One unary function: NAME, NAMEf and NAMEl, with derivative DERIV (an expression in x).
#define PYCLAD_CLAD_UNARY(NAME, DERIV)                                                   \
    template <typename T, typename dT>                                                   \
    ValueAndPushforward<T, dT> NAME##_pushforward(T x, dT d_x) {                         \
        return {static_cast<T>(::std::NAME(x)), static_cast<dT>((DERIV) * d_x)};         \
    }                                                                                    \
    template <typename T, typename dT>                                                   \
    ValueAndPushforward<T, dT> NAME##f_pushforward(T x, dT d_x) {                        \
        return NAME##_pushforward(x, d_x);                                               \
    }                                                                                    \
    template <typename T, typename dT>                                                   \
    ValueAndPushforward<T, dT> NAME##l_pushforward(T x, dT d_x) {                        \
        return NAME##_pushforward(x, d_x);                                               \
    }

PYCLAD_CLAD_UNARY(sin, ::std::cos(x))
PYCLAD_CLAD_UNARY(cos, -::std::sin(x))
PYCLAD_CLAD_UNARY(tan, 1 / (::std::cos(x) * ::std::cos(x)))
PYCLAD_CLAD_UNARY(asin, 1 / ::std::sqrt(1 - x * x))
PYCLAD_CLAD_UNARY(acos, -1 / ::std::sqrt(1 - x * x))
PYCLAD_CLAD_UNARY(atan, 1 / (1 + x * x))
PYCLAD_CLAD_UNARY(sinh, ::std::cosh(x))
PYCLAD_CLAD_UNARY(cosh, ::std::sinh(x))
PYCLAD_CLAD_UNARY(tanh, 1 - ::std::tanh(x) * ::std::tanh(x))
PYCLAD_CLAD_UNARY(asinh, 1 / ::std::sqrt(x * x + 1))
PYCLAD_CLAD_UNARY(acosh, 1 / ::std::sqrt(x * x - 1))
PYCLAD_CLAD_UNARY(atanh, 1 / (1 - x * x))
PYCLAD_CLAD_UNARY(exp, ::std::exp(x))
PYCLAD_CLAD_UNARY(exp2, ::std::exp2(x) * 0.69314718055994530942)
PYCLAD_CLAD_UNARY(expm1, ::std::exp(x))
PYCLAD_CLAD_UNARY(log, 1 / x)
PYCLAD_CLAD_UNARY(log10, 1 / (x * 2.30258509299404568402))
PYCLAD_CLAD_UNARY(log2, 1 / (x * 0.69314718055994530942))
PYCLAD_CLAD_UNARY(log1p, 1 / (1 + x))
PYCLAD_CLAD_UNARY(sqrt, 1 / (2 * ::std::sqrt(x)))
PYCLAD_CLAD_UNARY(cbrt, 1 / (3 * ::std::cbrt(x) * ::std::cbrt(x)))
PYCLAD_CLAD_UNARY(erf, 1.12837916709551257390 * ::std::exp(-x * x))
PYCLAD_CLAD_UNARY(erfc, -1.12837916709551257390 * ::std::exp(-x * x))
PYCLAD_CLAD_UNARY(fabs, (x < 0 ? -1 : 1))
PYCLAD_CLAD_UNARY(floor, 0)
PYCLAD_CLAD_UNARY(ceil, 0)
PYCLAD_CLAD_UNARY(trunc, 0)
PYCLAD_CLAD_UNARY(round, 0)
#undef PYCLAD_CLAD_UNARY

// abs and its integer spellings: the derivative is the sign (taken as +1 at 0).
template <typename T, typename dT>
ValueAndPushforward<T, dT> abs_pushforward(T x, dT d_x) {
    return x < 0 ? ValueAndPushforward<T, dT>{-x, -d_x} : ValueAndPushforward<T, dT>{x, d_x};
}
template <typename T, typename dT>
ValueAndPushforward<T, dT> labs_pushforward(T x, dT d_x) {
    return abs_pushforward(x, d_x);
}
template <typename T, typename dT>
ValueAndPushforward<T, dT> llabs_pushforward(T x, dT d_x) {
    return abs_pushforward(x, d_x);
}

}  // namespace std
}  // namespace custom_derivatives
}  // namespace clad

#include "clad/Differentiator/BuiltinDerivativesBinary.h"

#endif  // PYCLAD_CLAD_BUILTIN_DERIVATIVES_H
