// clad::zero_init and clad::zero_like: how clad's API makes a zero adjoint of a value.
//
// zero_init(v) sets v to zero in place: arithmetic values and other trivially copyable
// types become all-zero, ranges have each element zero_init-ed.  It is found by
// argument-dependent lookup, so a user's zero_init(MyType&) in MyType's namespace is
// used for MyType elements.  zero_like(v) returns a zero value of v's shape: a range
// that can resize is rebuilt empty and resized to v's size, element by element and
// recursively (no element of v is copied: ragged nested containers keep their shape);
// another copyable range is copied and then zeroed; any other value is copied and
// zeroed.
#ifndef PYCLAD_CLAD_ZERO_INIT_H
#define PYCLAD_CLAD_ZERO_INIT_H

#include <cstring>
#include <iterator>
#include <type_traits>
#include <utility>

namespace clad {
namespace zero_init_detail {

// std::void_t, which C++14 (a standard code written for clad is built with) lacks.
template <class...>
struct make_void {
    using type = void;
};
template <class... Ts>
using void_t = typename make_void<Ts...>::type;

// A range: begin()/end() whose elements are not the range type itself (a
// filesystem::path iterates over paths).
template <class T, class = void>
struct is_range : std::false_type {};
template <class T>
struct is_range<T, void_t<decltype(std::begin(std::declval<T&>())), decltype(std::end(std::declval<T&>()))>>
    : std::integral_constant<
          bool, !std::is_same<std::decay_t<decltype(*std::begin(std::declval<T&>()))>, std::decay_t<T>>::value> {};

template <class T, class = void>
struct can_resize : std::false_type {};
template <class T>
struct can_resize<T, void_t<decltype(std::declval<T&>().resize(std::declval<typename T::size_type>())),
                                 decltype(std::declval<const T&>().size()), decltype(T())>> : std::true_type {};

}  // namespace zero_init_detail

template <class T>
void zero_init(T& value);

namespace zero_init_detail {
template <class T>
void zero_elements(T& range, std::true_type) {
    for (auto& element : range) zero_init(element);
}
template <class T>
void zero_elements(T& value, std::false_type) {
    static_assert(std::is_trivially_copyable<T>::value,
                  "clad::zero_init: give this type a zero_init(T&) overload in its namespace");
    std::memset(static_cast<void*>(&value), 0, sizeof(T));
}
}  // namespace zero_init_detail

template <class T>
void zero_init(T& value) {
    zero_init_detail::zero_elements(value, zero_init_detail::is_range<T>{});
}

template <class T>
T zero_like(const T& value);

namespace zero_init_detail {
// An element of a resized range is already built: a nested range takes the zero of
// its primal's shape, any other element is zeroed where it stands (never copied).
template <class E, class P>
void zero_in_place(E& element, const P& primal, std::true_type /*range*/) {
    element = zero_like(primal);
}
template <class E, class P>
void zero_in_place(E& element, const P&, std::false_type) {
    zero_init(element);
}

template <class T>
T zero_like_of(const T& value, std::true_type /*resizable range*/) {
    T result;
    result.resize(value.size());
    auto from = std::begin(value);
    for (auto& element : result) {
        zero_in_place(element, *from, is_range<std::decay_t<decltype(element)>>{});
        ++from;
    }
    return result;
}
template <class T>
T zero_like_of(const T& value, std::false_type) {
    T result(value);
    zero_init(result);
    return result;
}
}  // namespace zero_init_detail

template <class T>
T zero_like(const T& value) {
    using resizable = std::integral_constant<bool, zero_init_detail::is_range<T>::value &&
                                                       zero_init_detail::can_resize<T>::value>;
    return zero_init_detail::zero_like_of(value, resizable{});
}

}  // namespace clad

#endif  // PYCLAD_CLAD_ZERO_INIT_H
