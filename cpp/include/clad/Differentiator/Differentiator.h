// clad-compatible API for code written against clad: the entry points a user's file calls
// (clad::differentiate, gradient, hessian, jacobian) and CladFunction, the object they return.
//
// `pyclad translate FILE.cpp` replaces every call of an entry point by a CladFunction built
// around the derivative it generates, so the entry points below are declared, never defined:
// they let the untranslated file parse, and a call left untranslated fails to link (the
// members of what they return are never defined) rather than run something else.
#ifndef PYCLAD_CLAD_DIFFERENTIATOR_H
#define PYCLAD_CLAD_DIFFERENTIATOR_H

#include <cstddef>
#include <cstdio>
#include <type_traits>
#include <utility>
#include <vector>

#include <pyclad/runtime.hpp>

// The rest of clad's API (array_ref, array, matrix, tape, builtin derivatives) lives in
// headers of its own next to this one.
#if __has_include("ArrayRef.h")
#include "ArrayRef.h"
#endif
#if __has_include("Array.h")
#include "Array.h"
#endif
#if __has_include("Matrix.h")
#include "Matrix.h"
#endif
#if __has_include("Tape.h")
#include "Tape.h"
#endif
#if __has_include("BuiltinDerivatives.h")
#include "BuiltinDerivatives.h"
#endif

namespace clad {

#if !__has_include("BuiltinDerivatives.h")
using pyclad::ValueAndPushforward;
#endif

#if !__has_include("Matrix.h")
// The smallest clad::matrix a translated Jacobian writes (rows x cols, m[i][j]); clad's
// full matrix type lives in Matrix.h where present.
template <typename T>
class matrix {
 public:
  matrix(std::size_t rows = 0, std::size_t cols = 0) : m_rows(rows), m_cols(cols), m_data(rows * cols) {}
  std::size_t rows() const { return m_rows; }
  std::size_t cols() const { return m_cols; }
  T* operator[](std::size_t i) { return m_data.data() + i * m_cols; }
  const T* operator[](std::size_t i) const { return m_data.data() + i * m_cols; }
  T& operator()(std::size_t i, std::size_t j) { return m_data[i * m_cols + j]; }

 private:
  std::size_t m_rows, m_cols;
  std::vector<T> m_data;
};
#endif

// Options given as template arguments: clad::differentiate<2>(f) asks for the second
// derivative (the low bits hold the order), clad::gradient<clad::opts::disable_tbr>(f) ...
constexpr unsigned ORDER_BITS = 8;
constexpr unsigned ORDER_MASK = (1U << ORDER_BITS) - 1;
enum opts : unsigned {
  use_enzyme = 1U << ORDER_BITS,
  vector_mode = 1U << (ORDER_BITS + 1),
  enable_tbr = 1U << (ORDER_BITS + 2),
  disable_tbr = 1U << (ORDER_BITS + 3),
  diagonal_only = 1U << (ORDER_BITS + 4),
  enable_va = 1U << (ORDER_BITS + 5),
  disable_va = 1U << (ORDER_BITS + 6),
  immediate_mode = 1U << (ORDER_BITS + 7),
  enable_ua = 1U << (ORDER_BITS + 9),
  disable_ua = 1U << (ORDER_BITS + 10),
};

// A generated derivative and its source text.  execute(args...) and operator() call it;
// a derivative of a functor's operator() is bound to the functor object (Functor), whose
// address the entry point was given, so execute passes that object first.
template <typename F, typename Functor = void>
class CladFunction {
 public:
  constexpr CladFunction(F function, const char* code, Functor* functor)
      : m_function(function), m_code(code), m_functor(functor) {}

  template <typename... Args>
  auto execute(Args&&... args) const -> decltype(std::declval<F>()(std::declval<Functor&>(), args...)) {
    return m_function(*m_functor, std::forward<Args>(args)...);
  }
  template <typename... Args>
  auto operator()(Args&&... args) const -> decltype(std::declval<F>()(std::declval<Functor&>(), args...)) {
    return m_function(*m_functor, std::forward<Args>(args)...);
  }
  constexpr F getFunctionPtr() const { return m_function; }
  const char* getCode() const { return m_code; }
  void dump() const { std::printf("The code is: \n%s\n", getCode()); }

 private:
  F m_function;
  const char* m_code;
  Functor* m_functor;
};

// A derivative of a free function or of a member function (whose object is the first
// argument of execute, as in clad).
template <typename F>
class CladFunction<F, void> {
 public:
  constexpr CladFunction(F function, const char* code) : m_function(function), m_code(code) {}

  template <typename... Args>
  auto execute(Args&&... args) const -> decltype(std::declval<F>()(std::forward<Args>(args)...)) {
    return m_function(std::forward<Args>(args)...);
  }
  template <typename... Args>
  auto operator()(Args&&... args) const -> decltype(std::declval<F>()(std::forward<Args>(args)...)) {
    return m_function(std::forward<Args>(args)...);
  }
  constexpr F getFunctionPtr() const { return m_function; }
  const char* getCode() const { return m_code; }
  void dump() const { std::printf("The code is: \n%s\n", getCode()); }

 private:
  F m_function;
  const char* m_code;
};

namespace detail {
// What an entry point returns in a file pyclad has not translated yet: enough for the
// file to parse (every use of a CladFunction type-checks), never defined.
struct Untranslated {
  template <typename... Args>
  double execute(Args&&...) const;
  template <typename... Args>
  double operator()(Args&&...) const;
  const char* getCode() const;
  void dump() const;
};

// A clad call written in a macro body is translated into pick<address(F), site, selection>:
// the translation specialises it for each expansion it resolved; any other is undefined.
template <auto Function, int Site, unsigned long long Selection>
struct pick;
template <typename Functor, int Site, unsigned long long Selection>
struct pick_functor;

template <typename P>
constexpr P address(P p) {
  return p;
}
template <typename T>
using functor_t = std::remove_cv_t<std::remove_pointer_t<std::remove_reference_t<T>>>;

// FNV-1a of a selection's text ("x, y"; an index as its decimal digits).
constexpr unsigned long long selection_key(const char* s) {
  unsigned long long h = 1469598103934665603ULL;
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ULL;
  return h;
}
constexpr unsigned long long selection_key(long long index) {
  char digits[24] = {};
  int n = 0;
  unsigned long long v = index < 0 ? 0ULL - static_cast<unsigned long long>(index) : index;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  unsigned long long h = 1469598103934665603ULL;
  if (index < 0) h = (h ^ static_cast<unsigned char>('-')) * 1099511628211ULL;
  while (n) h = (h ^ static_cast<unsigned char>(digits[--n])) * 1099511628211ULL;
  return h;
}
constexpr unsigned long long selection_key(int index) { return selection_key(static_cast<long long>(index)); }
}  // namespace detail

template <unsigned... Options, typename F, typename Selection = const char*>
detail::Untranslated differentiate(F&&, Selection = "") {
  return {};
}
template <unsigned... Options, typename F, typename Selection = const char*>
detail::Untranslated gradient(F&&, Selection = "") {
  return {};
}
template <unsigned... Options, typename F, typename Selection = const char*>
detail::Untranslated hessian(F&&, Selection = "") {
  return {};
}
template <unsigned... Options, typename F, typename Selection = const char*>
detail::Untranslated jacobian(F&&, Selection = "") {
  return {};
}
template <typename F, typename Selection = const char*>
detail::Untranslated estimate_error(F&&, Selection = "") {
  return {};
}

}  // namespace clad

#endif  // PYCLAD_CLAD_DIFFERENTIATOR_H
