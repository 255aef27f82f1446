// clad::array_ref<T>: a non-owning view of size() elements at ptr(), as clad's API
// defines it (how clad's older gradients took adjoint arrays, and how users still
// hand a pointer with its length to a derivative).
//
// Facts from clad's documented interface: constructed from (pointer, size), from a
// pointer alone (one element) or from a clad::array; converts to T*; assigning one
// view to another copies the elements (sizes must agree); compound assignments act
// element-wise on the viewed elements with a scalar, another view or a clad::array;
// slice(offset, size) is a view of part of the same elements.  array_ref<void> is a
// type-erased view every array_ref<T> converts to and back.
#ifndef PYCLAD_CLAD_ARRAY_REF_H
#define PYCLAD_CLAD_ARRAY_REF_H

#include "clad/Differentiator/Array.h"
#include "clad/Differentiator/CladConfig.h"

#include <cassert>
#include <cstddef>
#include <type_traits>

namespace clad {

template <typename T>
class array_ref {
public:
    array_ref() = default;
    constexpr array_ref(T* p, std::size_t n) : m_arr(p), m_size(n) {}
    constexpr array_ref(T* p) : m_arr(p), m_size(1) {}  // NOLINT: a pointer is a view of one element
    array_ref(array<T>& a) : m_arr(a.ptr()), m_size(a.size()) {}  // NOLINT: views an array
    array_ref(const array_ref&) = default;

    operator T*() { return m_arr; }              // NOLINT: decays to a pointer like clad's
    operator const T*() const { return m_arr; }  // NOLINT

    // Copies the elements of other into the viewed ones (a view is not rebound).
    array_ref& operator=(const array_ref& other) {
        if (this != &other) apply(checked(other), detail::assign_op{});
        return *this;
    }
    template <typename U>
    array_ref& operator=(const array<U>& a) { return apply(checked(a), detail::assign_op{}); }

    constexpr std::size_t size() const { return m_size; }
    constexpr T* ptr() const { return m_arr; }
    T*& ptr_ref() { return m_arr; }
    T* begin() const { return m_arr; }
    T* end() const { return m_arr + m_size; }
    T& operator[](std::ptrdiff_t i) const { return m_arr[i]; }
    T& operator*() const { return *m_arr; }

    // A view of size elements from offset, sharing the storage.
    array_ref slice(std::size_t offset, std::size_t size) const {
        assert(offset + size <= m_size && "clad::array_ref::slice: window outside the array");
        return array_ref(m_arr + offset, size);
    }

    template <typename U, detail::if_scalar<U> = 0>
    array_ref& operator+=(U s) { return apply(s, detail::add_op{}); }
    template <typename U, detail::if_scalar<U> = 0>
    array_ref& operator-=(U s) { return apply(s, detail::sub_op{}); }
    template <typename U, detail::if_scalar<U> = 0>
    array_ref& operator*=(U s) { return apply(s, detail::mul_op{}); }
    template <typename U, detail::if_scalar<U> = 0>
    array_ref& operator/=(U s) { return apply(s, detail::div_op{}); }

    template <typename U>
    array_ref& operator+=(const array_ref<U>& o) { return apply(checked(o), detail::add_op{}); }
    template <typename U>
    array_ref& operator-=(const array_ref<U>& o) { return apply(checked(o), detail::sub_op{}); }
    template <typename U>
    array_ref& operator*=(const array_ref<U>& o) { return apply(checked(o), detail::mul_op{}); }
    template <typename U>
    array_ref& operator/=(const array_ref<U>& o) { return apply(checked(o), detail::div_op{}); }

    template <typename U>
    array_ref& operator+=(const array<U>& o) { return apply(checked(o), detail::add_op{}); }
    template <typename U>
    array_ref& operator-=(const array<U>& o) { return apply(checked(o), detail::sub_op{}); }
    template <typename U>
    array_ref& operator*=(const array<U>& o) { return apply(checked(o), detail::mul_op{}); }
    template <typename U>
    array_ref& operator/=(const array<U>& o) { return apply(checked(o), detail::div_op{}); }

private:
    template <typename Seq>
    const Seq& checked(const Seq& seq) const {
        assert(seq.size() == m_size && "clad::array_ref: element-wise operation on views of different sizes");
        return seq;
    }
    template <typename U, typename Op>
    array_ref& apply(const U& rhs, Op op) {
        detail::for_each_element(m_arr, m_size, rhs, op);
        return *this;
    }

    T* m_arr = nullptr;
    std::size_t m_size = 0;
};

// The type-erased view: holds any pointer with its size, and converts back to the
// array_ref of the element type the user names.
template <>
class array_ref<void> {
public:
    array_ref() = delete;
    template <typename P, typename = std::enable_if_t<std::is_pointer<P>::value ||
                                                      std::is_same<P, std::nullptr_t>::value>>
    constexpr array_ref(P p, std::size_t n = 1)  // NOLINT: any pointer erases to a view
        : m_arr(const_cast<void*>(static_cast<const volatile void*>(p))), m_size(n) {}
    template <typename T>
    constexpr array_ref(const array_ref<T>& other)  // NOLINT: every view erases
        : m_arr(const_cast<void*>(static_cast<const volatile void*>(other.ptr()))), m_size(other.size()) {}
    template <typename T>
    operator array_ref<T>() const {  // NOLINT: converts back to the named element type
        return array_ref<T>(static_cast<T*>(m_arr), m_size);
    }
    constexpr void* ptr() const { return m_arr; }
    constexpr std::size_t size() const { return m_size; }

private:
    void* m_arr;
    std::size_t m_size;
};

}  // namespace clad

#endif  // PYCLAD_CLAD_ARRAY_REF_H
