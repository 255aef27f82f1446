// clad::array<T>: an owning, fixed-size array of values, as clad's API defines it
// (the type of adjoints the user allocates, one-hot seeds, Jacobian rows).
//
// Facts from clad's documented interface: an array of n elements is value-initialised
// (zeros); copying copies the elements (a slice() of an array is a copy too); it
// converts to T*; compound assignments act element-wise with a scalar, a pointer to at
// least size() elements, another clad::array or a clad::array_ref; arrays of
// different element types convert into each other.
#ifndef PYCLAD_CLAD_ARRAY_H
#define PYCLAD_CLAD_ARRAY_H

#include "clad/Differentiator/CladConfig.h"

#include <cassert>
#include <cstddef>
#include <initializer_list>
#include <type_traits>
#include <utility>

namespace clad {

template <typename T>
class array_ref;
template <typename T>
class array;

namespace detail {
// What the element-wise operations of array, array_ref and matrix accept on the
// right: a scalar (the same value for every element) or a sized sequence.
template <typename U>
using if_scalar = std::enable_if_t<std::is_arithmetic<U>::value, int>;

template <typename U>
const U& operand_at(const U& scalar, std::size_t, std::true_type) {
    return scalar;
}
template <typename U>
auto operand_at(const U& seq, std::size_t i, std::false_type) -> decltype(seq[i]) {
    return seq[i];
}

// Applies op(dst[i], rhs at i) for i < n; rhs is a scalar, a pointer or a sequence.
template <typename T, typename U, typename Op>
void for_each_element(T* dst, std::size_t n, const U& rhs, Op op) {
    for (std::size_t i = 0; i < n; ++i)
        op(dst[i], operand_at(rhs, i, std::is_arithmetic<U>{}));
}

struct assign_op {
    template <typename A, typename B>
    void operator()(A& a, const B& b) const { a = static_cast<A>(b); }
};
struct add_op {
    template <typename A, typename B>
    void operator()(A& a, const B& b) const { a += b; }
};
struct sub_op {
    template <typename A, typename B>
    void operator()(A& a, const B& b) const { a -= b; }
};
struct mul_op {
    template <typename A, typename B>
    void operator()(A& a, const B& b) const { a *= b; }
};
struct div_op {
    template <typename A, typename B>
    void operator()(A& a, const B& b) const { a /= b; }
};
}  // namespace detail

template <typename T>
class array {
public:
    array() = default;
    // n zeros.
    explicit array(std::size_t n) : m_arr(n ? new T[n]() : nullptr), m_size(n) {}
    // n copies of val.
    template <typename U>
    array(std::size_t n, U val) : array(n) {
        for (std::size_t i = 0; i < n; ++i) m_arr[i] = static_cast<T>(val);
    }
    // A copy of the n values at p.
    template <typename U>
    array(U* p, std::size_t n) : array(n) {
        for (std::size_t i = 0; i < n; ++i) m_arr[i] = static_cast<T>(p[i]);
    }
    // The first n values of other.
    array(std::size_t n, const array<T>& other) : array(other.ptr(), n) { assert(n <= other.size()); }
    array(std::initializer_list<T> values) : array(values.size()) {
        std::size_t i = 0;
        for (const T& v : values) m_arr[i++] = v;
    }
    array(const array& other) : array(other.m_arr, other.m_size) {}
    array(array&& other) noexcept : m_arr(other.m_arr), m_size(other.m_size) {
        other.m_arr = nullptr;
        other.m_size = 0;
    }
    template <typename U>
    array(const array<U>& other) : array(other.ptr(), other.size()) {}  // NOLINT: converts like clad's
    template <typename U>
    array(const array_ref<U>& ref) : array(ref.ptr(), ref.size()) {}  // NOLINT: converts like clad's
    ~array() { delete[] m_arr; }

    // Takes other's size and values.
    array& operator=(const array& other) {
        if (this != &other) {
            array copy(other);
            std::swap(m_arr, copy.m_arr);
            std::swap(m_size, copy.m_size);
        }
        return *this;
    }
    array& operator=(array&& other) noexcept {
        std::swap(m_arr, other.m_arr);
        std::swap(m_size, other.m_size);
        return *this;
    }
    // Element-wise from a pointer to size() values, a view or an array of the same size.
    array& operator=(const T* p) { return apply(p, detail::assign_op{}); }
    template <typename U>
    array& operator=(const array_ref<U>& ref) { return apply(checked(ref), detail::assign_op{}); }
    template <typename U>
    array& operator=(const array<U>& other) { return apply(checked(other), detail::assign_op{}); }

    std::size_t size() const { return m_size; }
    T* ptr() const { return m_arr; }
    T*& ptr_ref() { return m_arr; }
    T* begin() { return m_arr; }
    T* end() { return m_arr + m_size; }
    const T* begin() const { return m_arr; }
    const T* end() const { return m_arr + m_size; }
    T& operator[](std::ptrdiff_t i) { return m_arr[i]; }
    const T& operator[](std::ptrdiff_t i) const { return m_arr[i]; }
    T& operator*() { return *m_arr; }
    operator T*() const { return m_arr; }  // NOLINT: decays to a pointer like clad's

    // A copy of size elements from offset.
    array slice(std::size_t offset, std::size_t size) const {
        assert(offset + size <= m_size);
        return array(m_arr + offset, size);
    }

    template <typename U, detail::if_scalar<U> = 0>
    array& operator+=(U s) { return apply(s, detail::add_op{}); }
    template <typename U, detail::if_scalar<U> = 0>
    array& operator-=(U s) { return apply(s, detail::sub_op{}); }
    template <typename U, detail::if_scalar<U> = 0>
    array& operator*=(U s) { return apply(s, detail::mul_op{}); }
    template <typename U, detail::if_scalar<U> = 0>
    array& operator/=(U s) { return apply(s, detail::div_op{}); }

    array& operator+=(const T* p) { return apply(p, detail::add_op{}); }
    array& operator-=(const T* p) { return apply(p, detail::sub_op{}); }
    array& operator*=(const T* p) { return apply(p, detail::mul_op{}); }
    array& operator/=(const T* p) { return apply(p, detail::div_op{}); }

    template <typename U>
    array& operator+=(const array<U>& o) { return apply(checked(o), detail::add_op{}); }
    template <typename U>
    array& operator-=(const array<U>& o) { return apply(checked(o), detail::sub_op{}); }
    template <typename U>
    array& operator*=(const array<U>& o) { return apply(checked(o), detail::mul_op{}); }
    template <typename U>
    array& operator/=(const array<U>& o) { return apply(checked(o), detail::div_op{}); }

    template <typename U>
    array& operator+=(const array_ref<U>& o) { return apply(checked(o), detail::add_op{}); }
    template <typename U>
    array& operator-=(const array_ref<U>& o) { return apply(checked(o), detail::sub_op{}); }
    template <typename U>
    array& operator*=(const array_ref<U>& o) { return apply(checked(o), detail::mul_op{}); }
    template <typename U>
    array& operator/=(const array_ref<U>& o) { return apply(checked(o), detail::div_op{}); }

    array operator-() const {
        array r(*this);
        for (std::size_t i = 0; i < m_size; ++i) r.m_arr[i] = -r.m_arr[i];
        return r;
    }

private:
    template <typename Seq>
    const Seq& checked(const Seq& seq) const {
        assert(seq.size() == m_size && "clad::array: element-wise operation on arrays of different sizes");
        return seq;
    }
    template <typename U, typename Op>
    array& apply(const U& rhs, Op op) {
        detail::for_each_element(m_arr, m_size, rhs, op);
        return *this;
    }

    T* m_arr = nullptr;
    std::size_t m_size = 0;
};

// Element-wise arithmetic making a new array: array (op) array, array (op) scalar,
// scalar (op) array.
#define PYCLAD_CLAD_ARRAY_BINARY(OP, NAME)                                            \
    template <typename T, typename U>                                                  \
    array<T> operator OP(const array<T>& a, const array<U>& b) {                       \
        array<T> r(a);                                                                 \
        r NAME b;                                                                      \
        return r;                                                                      \
    }                                                                                  \
    template <typename T, typename U, detail::if_scalar<U> = 0>                        \
    array<T> operator OP(const array<T>& a, U s) {                                     \
        array<T> r(a);                                                                 \
        r NAME s;                                                                      \
        return r;                                                                      \
    }                                                                                  \
    template <typename T, typename U, detail::if_scalar<U> = 0>                        \
    array<T> operator OP(U s, const array<T>& a) {                                     \
        array<T> r(a.size(), s);                                                       \
        r NAME a;                                                                      \
        return r;                                                                      \
    }
PYCLAD_CLAD_ARRAY_BINARY(+, +=)
PYCLAD_CLAD_ARRAY_BINARY(-, -=)
PYCLAD_CLAD_ARRAY_BINARY(*, *=)
PYCLAD_CLAD_ARRAY_BINARY(/, /=)
#undef PYCLAD_CLAD_ARRAY_BINARY

// n zeros but a 1 at index i: the seed of one direction.
template <typename T>
array<T> one_hot_vector(std::size_t n, std::size_t i) {
    array<T> r(n);
    assert(i < n);
    r[i] = 1;
    return r;
}

template <typename T>
array<T> zero_vector(std::size_t n) {
    return array<T>(n);
}

}  // namespace clad

#endif  // PYCLAD_CLAD_ARRAY_H
