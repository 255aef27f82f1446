// pyclad runtime: the few types generated derivative code relies on.
#ifndef PYCLAD_RUNTIME_HPP
#define PYCLAD_RUNTIME_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace pyclad {

// What a user's custom NAME_pushforward returns: the value of the function and
// its directional derivative.
template <typename T, typename U = T>
struct ValueAndPushforward {
    T value;
    U pushforward;

    // Converts to a pair of other types the members convert to (a float custom
    // derivative's result where a double one is expected, as clad's type does).
    template <typename V, typename W>
    operator ValueAndPushforward<V, W>() const {  // NOLINT: converts like clad's
        return {static_cast<V>(value), static_cast<W>(pushforward)};
    }
};

// ---------------------------------------------------------------- storage reused across calls
// The buffers of tapes and undo logs come from a per-thread pool and go back to it, emptied
// but keeping their capacity, when the tape or log is destroyed: a gradient or pullback
// called again and again (25,000 pullbacks per mixture-model gradient, one per cofactor of a
// determinant) allocates nothing once the pool holds what one call needs.  Per thread, so
// gradients called from several threads share nothing.  Of the buffers larger than
// reuse_limit bytes the pool keeps one per element type (a large gradient called again reuses
// its tape; several large ones do not pin more than the largest needs at once).
namespace detail {
constexpr std::size_t reuse_limit = std::size_t(1) << 20;

// The pool of one element type, and whether this thread's pool is gone already: tapes that
// live in thread_local storage themselves (shared_tape) may be destroyed after it at thread
// exit, and then free their buffers instead (the flag is trivial, so it outlives the pool).
template <typename T>
bool& pool_gone() {
    static thread_local bool gone = false;
    return gone;
}

template <typename T>
struct pool_of {
    std::vector<std::vector<T>> free;
    std::size_t large = 0;  // how many of them are larger than reuse_limit
    ~pool_of() { pool_gone<T>() = true; }
};

template <typename T>
pool_of<T>* buffer_pool() {
    if (pool_gone<T>()) return nullptr;
    static thread_local pool_of<T> pool;
    return &pool;
}

template <typename T>
bool is_large(const std::vector<T>& v) {
    return v.capacity() * sizeof(T) > reuse_limit;
}

template <typename T>
std::vector<T> take_buffer() {
    pool_of<T>* pool = buffer_pool<T>();
    if (pool == nullptr || pool->free.empty()) return std::vector<T>();
    std::vector<T> v = std::move(pool->free.back());
    pool->free.pop_back();
    pool->large -= is_large(v) ? 1 : 0;
    return v;
}

template <typename T>
void give_buffer(std::vector<T>& v) noexcept {
    if (v.capacity() == 0) return;
    pool_of<T>* pool = buffer_pool<T>();
    if (pool == nullptr || (is_large(v) && pool->large > 0)) return;  // freed
    v.clear();
    try {
        pool->free.push_back(std::move(v));
        pool->large += is_large(pool->free.back()) ? 1 : 0;
    } catch (...) {  // no room to keep it: it is freed
    }
}
}  // namespace detail

// A std::vector whose buffer is taken from the per-thread pool when the first value goes in
// (a tape nothing is pushed on costs nothing) and given back to it when it is destroyed.
// In cling's JIT (the Python API's derivatives), loops around a pooled tape come out twice as
// slow as around a plain std::vector (a taped product: 450 against 225 us for 1e5 trips),
// while compiled code (pyclad gen, the disk cache's libraries) gains from the pool: there the
// tape is a plain std::vector, of the same layout.
#if defined(__CLING__)
template <typename T>
struct reused_vector {
    std::vector<T> v;
    void ready() {}
    void push_back(const T& x) { v.push_back(x); }
};
#else
template <typename T>
struct reused_vector {
    std::vector<T> v;
    reused_vector() = default;
    reused_vector(const reused_vector& o) : v(o.v) {}
    reused_vector(reused_vector&& o) noexcept : v(std::move(o.v)) {}
    reused_vector& operator=(const reused_vector& o) {
        v = o.v;
        return *this;
    }
    reused_vector& operator=(reused_vector&& o) noexcept {
        v.swap(o.v);
        return *this;
    }
    ~reused_vector() { detail::give_buffer(v); }
    void ready() {  // before the first value goes in
        if (v.capacity() == 0) v = detail::take_buffer<T>();
    }
    void push_back(const T& x) {
        if (v.size() == v.capacity()) grow();
        v.push_back(x);
    }
    // Full: the largest buffer of the pool takes over when it is larger (the tapes of one
    // gradient take their buffers in an order of their own, and the large tape of the last
    // call must not start again from a small buffer), the smaller one goes back.
    void grow() {
        if (v.capacity() == 0) {
            v = detail::take_buffer<T>();
            if (v.capacity() > 0) return;
        }
        detail::pool_of<T>* pool = detail::buffer_pool<T>();
        if (pool == nullptr || pool->free.empty()) return;
        std::size_t best = 0;
        for (std::size_t k = 1; k < pool->free.size(); ++k)
            if (pool->free[k].capacity() > pool->free[best].capacity()) best = k;
        if (pool->free[best].capacity() <= v.size()) return;
        std::vector<T> larger = std::move(pool->free[best]);
        pool->free[best].swap(pool->free.back());
        pool->free.pop_back();
        pool->large -= detail::is_large(larger) ? 1 : 0;
        larger.insert(larger.end(), v.begin(), v.end());
        v.swap(larger);
        detail::give_buffer(larger);
    }
};
#endif
// With PYCLAD_COUNT_TAPE defined before this header, tapes and undo logs count the bytes
// they take in (benchmarks/bench_reverse.py reports a gradient's tape memory by it); without
// it the counting compiles to nothing.
#ifdef PYCLAD_COUNT_TAPE
struct tape_count {
    std::size_t pushed = 0, live = 0, peak = 0;  // bytes: ever pushed, held now, held at most
};
inline tape_count& tape_counter() {
    static tape_count c;
    return c;
}
inline void count_pushed(std::size_t n) {
    tape_count& c = tape_counter();
    c.pushed += n;
    c.live += n;
    if (c.live > c.peak) c.peak = c.live;
}
inline void count_popped(std::size_t n) { tape_counter().live -= n; }
#define PYCLAD_TAPE_PUSHED(n) ::pyclad::count_pushed(n)
#define PYCLAD_TAPE_POPPED(n) ::pyclad::count_popped(n)
#else
#define PYCLAD_TAPE_PUSHED(n) ((void)0)
#define PYCLAD_TAPE_POPPED(n) ((void)0)
#endif

// A stack of values the forward sweep of a gradient saves inside loops and the
// reverse sweep takes back in the opposite order.
template <typename T>
class tape {
public:
    void push(const T& v) {
        PYCLAD_TAPE_PUSHED(sizeof(T));
        data_.push_back(v);
    }
    T pop() {
        PYCLAD_TAPE_POPPED(sizeof(T));
        T v = data_.v.back();
        data_.v.pop_back();
        return v;
    }
    std::size_t size() const { return data_.v.size(); }

private:
    reused_vector<T> data_;
};

#if __cplusplus >= 201703L  // generated code is C++17; the clad API headers include this from C++14
// The tapes of a callee's split pullback (NAME_forw, NAME_rev): one per site and thread,
// keyed by the pair's NAME_forw, shared by every call.  Each call pops its own entries after
// the calls it made popped theirs, so the calls of a recursion fill one contiguous buffer.
template <typename T, auto Owner, int Slot>
inline tape<T>& shared_tape() {
    static thread_local tape<T> t;
    return t;
}

// What a callee's forward sweep (NAME_forw) leaves for its reverse sweep (NAME_rev): the
// locals and tapes the reverse sweep reads, put on per-thread stacks at the end of the
// forward sweep (``stash(a, b, ...)``) and taken back, last first, at the start of the
// reverse sweep (``unstash(a, b, ...)``, the same list).  Plain values (scalars, plain
// records) are copied into one byte stack; the others (containers, tapes) are moved onto a
// stack of their type, so no container is copied.  The caller's reverse sweep runs the
// NAME_rev of its calls in the opposite order of their NAME_forw, so each takes back what its
// own forward sweep left (ad/reverse/split.py).
namespace detail {
template <typename T>
std::vector<T>& stash_of() {
    static thread_local std::vector<T> stack;
    return stack;
}

template <typename T>
using plain_value = std::is_trivially_copyable<T>;

template <typename T>
std::size_t plain_size(const T&) {
    return plain_value<T>::value ? sizeof(T) : 0;
}

template <typename T>
typename std::enable_if<plain_value<T>::value>::type stash_one(unsigned char*& at, T& x) {
    std::memcpy(at, &x, sizeof(T));
    at += sizeof(T);
}
template <typename T>
typename std::enable_if<!plain_value<T>::value>::type stash_one(unsigned char*&, T& x) {
    stash_of<T>().push_back(std::move(x));
}

template <typename T>
typename std::enable_if<plain_value<T>::value>::type unstash_one(const unsigned char*& at, T& x) {
    at -= sizeof(T);
    std::memcpy(&x, at, sizeof(T));
}
template <typename T>
typename std::enable_if<!plain_value<T>::value>::type unstash_one(const unsigned char*&, T& x) {
    std::vector<T>& stack = stash_of<T>();
    using std::swap;
    swap(x, stack.back());
    stack.pop_back();
}

template <typename... T>
void stash(T&... x) {
    std::vector<unsigned char>& bytes = stash_of<unsigned char>();
    std::size_t n = bytes.size();
    bytes.resize(n + (std::size_t(0) + ... + plain_size(x)));
    unsigned char* at = bytes.data() + n;
    (stash_one(at, x), ...);
}

inline void get_last(const unsigned char*&) {}
template <typename T, typename... Rest>
void get_last(const unsigned char*& at, T& x, Rest&... rest) {
    get_last(at, rest...);  // the later ones first
    unstash_one(at, x);
}

template <typename... T>
void unstash(T&... x) {
    std::vector<unsigned char>& bytes = stash_of<unsigned char>();
    const unsigned char* at = bytes.data() + bytes.size();
    get_last(at, x...);
    bytes.resize(static_cast<std::size_t>(at - bytes.data()));
}
}  // namespace detail

template <typename... T>
inline void stash(T&... x) {
    detail::stash(x...);
}
template <typename... T>
inline void unstash(T&... x) {
    detail::unstash(x...);
}
#endif

// The tangent of one value in vector forward mode: its derivatives along N
// directions at once (Jacobians, Hessians, derivatives w.r.t. several inputs).
template <std::size_t N>
struct vec {
    double v[N];

    vec() = default;
    vec(double s) {  // NOLINT: a scalar tangent (0) converts to a uniform vector
        for (std::size_t i = 0; i < N; ++i) v[i] = s;
    }
    static vec unit(std::size_t k) {
        vec r(0.0);
        r.v[k] = 1.0;
        return r;
    }
    double& operator[](std::size_t i) { return v[i]; }
    const double& operator[](std::size_t i) const { return v[i]; }
    vec& operator+=(const vec& o) {
        for (std::size_t i = 0; i < N; ++i) v[i] += o.v[i];
        return *this;
    }
    vec& operator-=(const vec& o) {
        for (std::size_t i = 0; i < N; ++i) v[i] -= o.v[i];
        return *this;
    }
    // Scaling by a partial derivative: a direction whose tangent is exactly 0 stays
    // exactly 0, even where the partial is inf or NaN (sqrt at 0, log of a negative
    // base), as in scalar mode, where a zero tangent is never multiplied at all.
    // Without this, one direction's infinite partial would turn every other lane to NaN.
    // A finite factor (the common case) takes the plain loop: 0 * s is 0 already.
    vec& operator*=(double s) {
        if (std::isfinite(s)) {
            for (std::size_t i = 0; i < N; ++i) v[i] *= s;
        } else {
            for (std::size_t i = 0; i < N; ++i) v[i] = v[i] == 0.0 ? 0.0 : v[i] * s;
        }
        return *this;
    }
    vec& operator/=(double s) {
        if (s != 0.0 && std::isfinite(s)) {
            for (std::size_t i = 0; i < N; ++i) v[i] /= s;
        } else {
            for (std::size_t i = 0; i < N; ++i) v[i] = v[i] == 0.0 ? 0.0 : v[i] / s;
        }
        return *this;
    }
};

template <std::size_t N>
inline vec<N> operator+(vec<N> a, const vec<N>& b) { return a += b; }
template <std::size_t N>
inline vec<N> operator-(vec<N> a, const vec<N>& b) { return a -= b; }
template <std::size_t N>
inline vec<N> operator-(vec<N> a) { return a *= -1.0; }
template <std::size_t N>
inline vec<N> operator*(vec<N> a, double s) { return a *= s; }
template <std::size_t N>
inline vec<N> operator*(double s, vec<N> a) { return a *= s; }
template <std::size_t N>
inline vec<N> operator/(vec<N> a, double s) { return a /= s; }

// View a caller's n x N row-major buffer of doubles as n tangent vectors.
template <std::size_t N>
inline vec<N>* as_vec(double* p) { return reinterpret_cast<vec<N>*>(p); }

template <std::size_t N>
inline void store(const vec<N>& t, double* out) {
    for (std::size_t i = 0; i < N; ++i) out[i] = t.v[i];
}

// ---------------------------------------------------------------- container directions (vector mode)
// The tangent of a std::vector / std::array parameter in vector forward mode: one vec<N>
// per element, read from the caller's (size x N) row-major buffer (its seeds), and
// written back into it when the container's tangent is an output (a Jacobian's rows, a
// Hessian's).  The size is the container's at entry; vector mode refuses a function that
// changes it.
template <std::size_t N, typename T, typename A>
inline std::vector<vec<N>> tangent_rows(const double* buf, const std::vector<T, A>& like) {
    std::vector<vec<N>> t(like.size());
    for (std::size_t i = 0; i < t.size(); ++i)
        for (std::size_t k = 0; k < N; ++k) t[i].v[k] = buf[i * N + k];
    return t;
}
template <std::size_t N, typename T, std::size_t K>
inline std::array<vec<N>, K> tangent_rows(const double* buf, const std::array<T, K>&) {
    std::array<vec<N>, K> t;
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t k = 0; k < N; ++k) t[i].v[k] = buf[i * N + k];
    return t;
}
template <std::size_t N, typename C>
inline void store_rows(const C& t, double* buf) {
    std::size_t i = 0;
    for (const vec<N>& row : t) {
        for (std::size_t k = 0; k < N; ++k) buf[i * N + k] = row.v[k];
        ++i;
    }
}

// ---------------------------------------------------------------- standard containers
// The shadow (tangent or adjoint) of a container is a container of the same type and
// size, every number in it zero: zero_like(v).
template <typename T>
inline typename std::enable_if<std::is_arithmetic<T>::value, T>::type zero_like(const T&) {
    return T(0);
}
// A record of numbers (trivially copyable: no container inside) whose value-initialisation
// is its zero (no constructor, or a default constructor that sets every field to zero, no
// default member initialisers): the value-initialised record.  Generated code never asks
// for the zero of a record whose default construction sets fields (ad/shadow.py refuses);
// the shadow of a record with containers is built field by field by the derivative.
template <typename T>
inline typename std::enable_if<std::is_class<T>::value && std::is_trivially_copyable<T>::value &&
                                   std::is_default_constructible<T>::value,
                               T>::type
zero_like(const T&) {
    return T{};
}
// The zero of a record of numbers without a default constructor (every byte zero: every
// number 0), the tangents' and adjoints' zero that value-initialisation cannot give.
template <typename T>
inline T zero_bits() {
    static_assert(std::is_trivially_copyable<T>::value, "zero_bits builds records of numbers");
    struct bytes {
        unsigned char b[sizeof(T)];
    } z{};
    return __builtin_bit_cast(T, z);
}
template <typename T, std::size_t N>
std::array<T, N> zero_like(const std::array<T, N>& a);
template <typename T, typename A>
std::vector<T, A> zero_like(const std::vector<T, A>& v) {
    std::vector<T, A> r;
    r.reserve(v.size());
    for (const T& x : v) r.push_back(zero_like(x));
    return r;
}
template <typename T, std::size_t N>
std::array<T, N> zero_like(const std::array<T, N>& a) {
    std::array<T, N> r{};
    for (std::size_t i = 0; i < N; ++i) r[i] = zero_like(a[i]);
    return r;
}
template <std::size_t N>
inline vec<N> zero_like(const vec<N>&) {
    return vec<N>(0.0);
}
// In vector forward mode: zeros shaped like v, each number a pyclad::vec<N>.
template <std::size_t N, typename T>
inline typename std::enable_if<std::is_arithmetic<T>::value, vec<N>>::type zero_like(const T&) {
    return vec<N>(0.0);
}
template <std::size_t N, typename T, std::size_t M>
auto zero_like(const std::array<T, M>& a) -> std::array<decltype(zero_like<N>(a[0])), M> {
    std::array<decltype(zero_like<N>(a[0])), M> r;
    for (std::size_t i = 0; i < M; ++i) r[i] = zero_like<N>(a[i]);
    return r;
}
template <std::size_t N, typename T, typename A>
auto zero_like(const std::vector<T, A>& v) -> std::vector<decltype(zero_like<N>(std::declval<const T&>()))> {
    std::vector<decltype(zero_like<N>(std::declval<const T&>()))> r;
    r.reserve(v.size());
    for (const T& x : v) r.push_back(zero_like<N>(x));
    return r;
}

// ---------------------------------------------------------------- bounds-checked pointers
// The derivative kernels pyclad calls from Python are compiled a second time with every
// pointer spelled pyclad::checked<T>: a pointer that knows the buffer it points into, so
// that an access outside it throws instead of writing past the end.  Headers from
// `pyclad gen` use plain pointers.

// An access outside a buffer.  what() is "WHERE|NAME|INDEX|LENGTH" (WHERE is the
// file:line:col of the access in the user's code, or empty), which the Python side
// turns into pyclad.BoundsError.
class bounds_error : public std::out_of_range {
public:
    using std::out_of_range::out_of_range;
};

[[noreturn]] inline void out_of_bounds(const char* where, const char* name, std::ptrdiff_t index,
                                       std::ptrdiff_t length) {
    std::string what = std::string(where ? where : "") + "|" + (name ? name : "") + "|" +
                       std::to_string(index) + "|" + std::to_string(length);
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    throw bounds_error(what);
#else  // built with -fno-exceptions: report and stop, never write past the end
    std::fprintf(stderr, "pyclad: access outside a buffer: %s\n", what.c_str());
    std::abort();
#endif
}

template <typename T>
class checked {
public:
    using value_type = typename std::remove_cv<T>::type;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&;
    using iterator_category = std::random_access_iterator_tag;

    checked() = default;
    checked(std::nullptr_t) {}  // NOLINT: a null pointer, no elements
    // A pointer from outside the kernel (a global, a record field, a user function's
    // result): its bounds are unknown, so it passes every check (its offset sits in the
    // middle of a range no index reaches).
    // (Only for pointers: an array keeps its size through the constructor below.)
    template <typename P, typename = typename std::enable_if<
                              std::is_pointer<typename std::remove_reference<P>::type>::value &&
                              std::is_convertible<P, T*>::value>::type>
    checked(P&& p) : p_(p), n_(2 * unknown), off_(unknown), name_("a pointer of unknown bounds") {}  // NOLINT
    template <typename U, std::size_t N, typename = typename std::enable_if<std::is_convertible<U*, T*>::value>::type>
    checked(U (&a)[N]) : p_(a), n_(N), name_("a local array") {}  // NOLINT: a local array decays
    checked(T* p, std::size_t n, const char* name) : p_(p), n_(static_cast<std::ptrdiff_t>(n)), name_(name) {}
    template <typename U, typename = typename std::enable_if<std::is_convertible<U*, T*>::value &&
                                                             !std::is_same<U, T>::value>::type>
    checked(const checked<U>& o)  // NOLINT: double* -> const double*
        : p_(o), n_(o.length()), off_(o.offset()), name_(o.name()) {}

    operator T*() const { return p_; }  // NOLINT: calls into the user's own functions
    std::ptrdiff_t length() const { return n_; }  // of the whole buffer
    std::ptrdiff_t offset() const { return off_; }  // of this element in the buffer
    const char* name() const { return name_; }

    // The element i places after this one; WHERE locates the access for the error.  One
    // unsigned comparison covers both ends of the buffer.
    T& at(std::ptrdiff_t i, const char* where) const {
        std::ptrdiff_t k = off_ + i;
        if (__builtin_expect(static_cast<std::size_t>(k) >= static_cast<std::size_t>(n_), 0)) {
            out_of_bounds(where, name_, k, n_);
        }
        return p_[i];
    }
    template <typename I>
    T& operator[](I i) const { return at(static_cast<std::ptrdiff_t>(i), nullptr); }
    T& operator*() const { return at(0, nullptr); }
    T* operator->() const { return &at(0, nullptr); }

    template <typename I>
    checked& operator+=(I i) { return move(static_cast<std::ptrdiff_t>(i)); }
    template <typename I>
    checked& operator-=(I i) { return move(-static_cast<std::ptrdiff_t>(i)); }
    checked& operator++() { return move(1); }
    checked& operator--() { return move(-1); }
    checked operator++(int) { checked r = *this; move(1); return r; }
    checked operator--(int) { checked r = *this; move(-1); return r; }

private:
    static constexpr std::ptrdiff_t unknown = std::ptrdiff_t(1) << 61;
    checked& move(std::ptrdiff_t d) {
        p_ += d;
        off_ += d;
        return *this;
    }
    T* p_ = nullptr;
    std::ptrdiff_t n_ = 0;
    std::ptrdiff_t off_ = 0;
    const char* name_ = "a null pointer";
};

template <typename T, typename I, typename = typename std::enable_if<std::is_integral<I>::value>::type>
inline checked<T> operator+(checked<T> p, I i) { return p += i; }
template <typename T, typename I, typename = typename std::enable_if<std::is_integral<I>::value>::type>
inline checked<T> operator+(I i, checked<T> p) { return p += i; }
template <typename T, typename I, typename = typename std::enable_if<std::is_integral<I>::value>::type>
inline checked<T> operator-(checked<T> p, I i) { return p -= i; }
template <typename T>
inline std::ptrdiff_t operator-(const checked<T>& a, const checked<T>& b) {
    return static_cast<T*>(a) - static_cast<T*>(b);
}
#define PYCLAD_CHECKED_COMPARE(OP)                                                   \
    template <typename T>                                                            \
    inline bool operator OP(const checked<T>& a, const checked<T>& b) {              \
        return static_cast<T*>(a) OP static_cast<T*>(b);                             \
    }
PYCLAD_CHECKED_COMPARE(==)
PYCLAD_CHECKED_COMPARE(!=)
PYCLAD_CHECKED_COMPARE(<)
PYCLAD_CHECKED_COMPARE(>)
PYCLAD_CHECKED_COMPARE(<=)
PYCLAD_CHECKED_COMPARE(>=)
#undef PYCLAD_CHECKED_COMPARE
template <typename T>
inline bool operator==(const checked<T>& a, std::nullptr_t) { return static_cast<T*>(a) == nullptr; }
template <typename T>
inline bool operator!=(const checked<T>& a, std::nullptr_t) { return static_cast<T*>(a) != nullptr; }

// Checked element access, as the checked kernels spell p[i] and *p.
template <typename T, typename I>
inline T& at(const checked<T>& p, I i, const char* where) {
    return p.at(static_cast<std::ptrdiff_t>(i), where);
}
template <typename T, std::size_t N, typename I>
inline T& at(T (&a)[N], I i, const char* where) {
    std::ptrdiff_t k = static_cast<std::ptrdiff_t>(i);
    if (k < 0 || k >= static_cast<std::ptrdiff_t>(N)) out_of_bounds(where, "a local array", k, N);
    return a[k];
}
// What a size change of a container destroys: its old size and the elements past the
// ones it kept.  The reverse sweep puts them back (restore) and gives the adjoint its old
// size again (unresize), zero where the elements were destroyed.
template <typename V>
struct cut_off {
    std::size_t size = 0;
    V tail;
    std::size_t kept() const { return size - tail.size(); }
};
template <typename V>
cut_off<V> cut(const V& v, std::size_t keep) {
    cut_off<V> u;
    u.size = v.size();
    if (keep < v.size()) u.tail.assign(v.begin() + static_cast<std::ptrdiff_t>(keep), v.end());
    return u;
}
template <typename V>
void restore(V& v, const cut_off<V>& u) {
    v.resize(u.kept());
    v.insert(v.end(), u.tail.begin(), u.tail.end());
}
template <typename V>
void unresize(V& d, const cut_off<V>& u) {
    d.resize(u.kept());
    d.resize(u.size, zero_like(typename V::value_type()));
}
// The adjoint d given the size of the primal v after a size change: shrunk, or grown with
// zeros shaped like the new elements (nothing happens when it has that size already).
template <typename V, typename P>
void match_size(V& d, const P& v) {
    std::size_t n = d.size();
    if (n > v.size()) d.resize(v.size());
    for (std::size_t i = n; i < v.size(); ++i) d.push_back(zero_like(v[i]));
}
// The sum of d[from], d[from + 1], ...: the adjoint of a value a container stored there.
template <typename V>
typename V::value_type sum_from(const V& d, std::size_t from) {
    typename V::value_type s = zero_like(typename V::value_type());
    for (std::size_t i = from; i < d.size(); ++i) s += d[i];
    return s;
}
// d += s, element by element (the adjoint of a container copy).
template <typename T>
inline typename std::enable_if<std::is_arithmetic<T>::value>::type add_to(T& d, const T& s) {
    d += s;
}
template <std::size_t N>
inline void add_to(vec<N>& d, const vec<N>& s) {
    d += s;
}
template <typename V>
auto add_to(V& d, const V& s) -> decltype(d.size(), void()) {
    for (std::size_t i = 0; i < s.size() && i < d.size(); ++i) add_to(d[i], s[i]);
}

// The algorithms over a whole container that generated code calls for the user's
// std::accumulate(v.begin(), v.end(), init) and std::inner_product(a.begin(), a.end(),
// b.begin(), init) (same order of operations, same result type), the index of the element
// *std::max_element / *std::min_element reads (the first of equal ones, as they pick), and
// the adjoint updates of the reductions.
template <typename V, typename T>
T accumulate(const V& v, T init) {
    for (const auto& x : v) init = init + x;
    return init;
}
template <typename A, typename B, typename T>
T inner_product(const A& a, const B& b, T init) {
    for (std::size_t i = 0; i < a.size(); ++i) init = init + a[i] * b[i];
    return init;
}
// a[0] * b[0] + a[1] * b[1] + ... (a tangent of inner_product: a may hold pyclad::vec<N>).
template <typename A, typename B>
auto dot(const A& a, const B& b) -> decltype(a[0] * b[0]) {
    using R = decltype(a[0] * b[0]);
    R s = R(0.0);
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}
template <typename V>
std::size_t argmax(const V& v) {
    std::size_t k = 0;
    for (std::size_t i = 1; i < v.size(); ++i)
        if (v[k] < v[i]) k = i;
    return k;
}
template <typename V>
std::size_t argmin(const V& v) {
    std::size_t k = 0;
    for (std::size_t i = 1; i < v.size(); ++i)
        if (v[i] < v[k]) k = i;
    return k;
}
// d[i] += s for every element; d[i] += b[i] * s.
template <typename V, typename S>
void add_each(V& d, const S& s) {
    for (auto& x : d) x += s;
}
template <typename V, typename B, typename S>
void add_scaled(V& d, const B& b, const S& s) {
    for (std::size_t i = 0; i < d.size(); ++i) d[i] += b[i] * s;
}

// v[i] of a std::vector or std::array NAME in a checked kernel.
template <typename V, typename I>
inline auto at(V& v, I i, const char* where, const char* name) -> decltype(v[0]) {
    std::ptrdiff_t k = static_cast<std::ptrdiff_t>(i);
    std::ptrdiff_t n = static_cast<std::ptrdiff_t>(v.size());
    if (k < 0 || k >= n) out_of_bounds(where, name, k, n);
    return v[static_cast<std::size_t>(k)];
}
// &a[i] in a checked kernel: a pointer that keeps the bounds of a.
template <typename T, typename I>
inline checked<T> addr(const checked<T>& p, I i) { return p + i; }
template <typename T, std::size_t N, typename I>
inline checked<T> addr(T (&a)[N], I i) { return checked<T>(a) + i; }
// &x of a single value NAME.
template <typename T>
inline checked<T> one(T& x, const char* name) { return checked<T>(&x, 1, name); }
// The plain pointer, as a checked kernel passes it to the user's own functions (whose
// templates deduce T* from it).
template <typename T>
inline T* raw(const checked<T>& p) { return p; }
// v.data() of a std::vector: a pointer over its elements.
template <typename V>
inline checked<typename std::remove_reference<decltype(*std::declval<V&>().data())>::type> view(V& v) {
    return {v.data(), v.size(), "a work buffer"};
}
// &v[i] of a std::vector or std::array: a pointer that keeps the container's bounds.
template <typename V, typename I>
inline auto addr(V& v, I i) -> decltype(view(v) + i) {
    return view(v) + i;
}

// A caller's checked n x N buffer as n tangent vectors, and a store into one.
template <std::size_t N>
inline checked<vec<N>> as_vec(const checked<double>& p) {
    std::ptrdiff_t rest = p.length() - p.offset();
    return {reinterpret_cast<vec<N>*>(static_cast<double*>(p)), rest > 0 ? static_cast<std::size_t>(rest) / N : 0,
            p.name()};
}
template <std::size_t N>
inline void store(const vec<N>& t, const checked<double>& out) {
    for (std::size_t i = 0; i < N; ++i) out.at(static_cast<std::ptrdiff_t>(i), nullptr) = t.v[i];
}

// Container directions through a checked buffer: the whole (size x N) block must fit.
template <std::size_t N>
inline void fits_rows(const checked<double>& buf, std::size_t rows) {
    std::ptrdiff_t need = static_cast<std::ptrdiff_t>(rows * N);
    if (rows && buf.offset() + need > buf.length()) {
        out_of_bounds(nullptr, buf.name(), buf.offset() + need - 1, buf.length());
    }
}
template <std::size_t N, typename C>
inline auto tangent_rows(const checked<double>& buf, const C& like)
    -> decltype(tangent_rows<N>(static_cast<const double*>(nullptr), like)) {
    fits_rows<N>(buf, like.size());
    return tangent_rows<N>(static_cast<const double*>(static_cast<double*>(buf)), like);
}
template <std::size_t N, typename C>
inline void store_rows(const C& t, const checked<double>& buf) {
    fits_rows<N>(buf, t.size());
    store_rows<N>(t, static_cast<double*>(buf));
}

// ---------------------------------------------------------------- memory the primal writes and frees
// What a callee overwrites through its pointer and reference parameters, saved element by
// element as it overwrites it: the forward sweep calls the callee's NAME_reverse_forw, which
// saves each old value before its store; before the callee's pullback, the reverse sweep
// undoes the stores of that call (the last marked one), most recent first.  Values are kept
// by size, one stack per size: a store of a double costs one push of (address, 8 bytes).
// Stacks of different sizes never hold the same address (a location has one type), so
// undoing each stack most recent first restores every location to its oldest saved value.
class undo_log {
public:
    undo_log() = default;
    undo_log(const undo_log&) = delete;  // its stacks refer to their own buffers
    undo_log& operator=(const undo_log&) = delete;
    template <typename T>
    void save(T& x) {
        static_assert(std::is_trivially_copyable<T>::value, "undo_log saves plain values");
        void* at = static_cast<void*>(const_cast<typename std::remove_cv<T>::type*>(&x));
        switch (sizeof(T)) {
            case 1: s1_.push(at); break;
            case 2: s2_.push(at); break;
            case 4: s4_.push(at); break;
            case 8: s8_.push(at); break;
            case 16: s16_.push(at); break;
            default: other_.push(at, sizeof(T));
        }
    }
    // An element of a container (or a field of one), saved by its container and index rather
    // than by its address: the container may move its elements (grow, shrink) before the
    // undo, which then writes where the element is by then.
    template <typename V, typename T>
    void save_element(V& v, std::size_t i, T& x) {
        static_assert(std::is_trivially_copyable<T>::value, "undo_log saves plain values");
        const unsigned char* at = reinterpret_cast<const unsigned char*>(&x);
        const unsigned char* start = reinterpret_cast<const unsigned char*>(&v[i]);
        elements_.push(&v, i, static_cast<std::size_t>(at - start), at, sizeof(T), &put_element<V>);
    }
    void mark() {
        marks_r_.push_back(
            {s1_.size(), s2_.size(), s4_.size(), s8_.size(), s16_.size(), other_.size(), elements_.size()});
    }
    void undo() {
        const position& m = marks_.back();
        s1_.undo_to(m.s1);
        s2_.undo_to(m.s2);
        s4_.undo_to(m.s4);
        s8_.undo_to(m.s8);
        s16_.undo_to(m.s16);
        other_.undo_to(m.other);
        elements_.undo_to(m.elements);
        marks_.pop_back();
    }

private:
    template <std::size_t N>
    struct stack {
        struct entry {
            void* at;
            unsigned char old[N];
        };
        reused_vector<entry> r;
        std::vector<entry>& v = r.v;
        void push(void* at) {
            PYCLAD_TAPE_PUSHED(sizeof(entry));
            entry e;
            e.at = at;
            std::memcpy(e.old, at, N);
            r.push_back(e);
        }
        void undo_to(std::size_t m) {
            for (; v.size() > m; v.pop_back()) {
                PYCLAD_TAPE_POPPED(sizeof(entry));
                std::memcpy(v.back().at, v.back().old, N);
            }
        }
        std::size_t size() const { return v.size(); }
    };
    struct any_size {  // values of other sizes (records): their bytes in one buffer
        struct entry {
            void* at;
            std::size_t n;
        };
        reused_vector<entry> r;
        reused_vector<unsigned char> b;
        std::vector<entry>& v = r.v;
        std::vector<unsigned char>& bytes = b.v;
        void push(void* at, std::size_t n) {
            PYCLAD_TAPE_PUSHED(sizeof(entry) + n);
            r.push_back({at, n});
            const unsigned char* p = static_cast<const unsigned char*>(at);
            b.ready();
            bytes.insert(bytes.end(), p, p + n);
        }
        void undo_to(std::size_t m) {
            for (; v.size() > m; v.pop_back()) {
                PYCLAD_TAPE_POPPED(sizeof(entry) + v.back().n);
                std::memcpy(v.back().at, bytes.data() + bytes.size() - v.back().n, v.back().n);
                bytes.resize(bytes.size() - v.back().n);
            }
        }
        std::size_t size() const { return v.size(); }
    };
    template <typename V>
    static void put_element(void* v, std::size_t i, std::size_t offset, const unsigned char* old, std::size_t n) {
        std::memcpy(reinterpret_cast<unsigned char*>(&(*static_cast<V*>(v))[i]) + offset, old, n);
    }
    struct by_index {  // container elements: (container, index, offset in the element) and bytes
        using put_fn = void (*)(void*, std::size_t, std::size_t, const unsigned char*, std::size_t);
        struct entry {
            void* v;
            std::size_t i, offset, n;
            put_fn put;
        };
        reused_vector<entry> r;
        reused_vector<unsigned char> b;
        std::vector<entry>& v = r.v;
        std::vector<unsigned char>& bytes = b.v;
        void push(void* c, std::size_t i, std::size_t offset, const unsigned char* at, std::size_t n, put_fn put) {
            PYCLAD_TAPE_PUSHED(sizeof(entry) + n);
            r.push_back({c, i, offset, n, put});
            b.ready();
            bytes.insert(bytes.end(), at, at + n);
        }
        void undo_to(std::size_t m) {
            for (; v.size() > m; v.pop_back()) {
                const entry& e = v.back();
                PYCLAD_TAPE_POPPED(sizeof(entry) + e.n);
                e.put(e.v, e.i, e.offset, bytes.data() + bytes.size() - e.n, e.n);
                bytes.resize(bytes.size() - e.n);
            }
        }
        std::size_t size() const { return v.size(); }
    };
    struct position {
        std::size_t s1, s2, s4, s8, s16, other, elements;
    };
    stack<1> s1_;
    stack<2> s2_;
    stack<4> s4_;
    stack<8> s8_;
    stack<16> s16_;
    any_size other_;
    by_index elements_;
    reused_vector<position> marks_r_;
    std::vector<position>& marks_ = marks_r_.v;
};

template <typename T>
inline void save(undo_log& log, T& x) {
    log.save(x);
}
template <typename V, typename I, typename T>
inline void save_element(undo_log& log, V& v, I i, T& x) {
    log.save_element(v, static_cast<std::size_t>(i), x);
}
inline void mark(undo_log& log) { log.mark(); }
inline void undo(undo_log& log) { log.undo(); }

// The buffers the primal frees (and their adjoint buffers) while the reverse sweep may still
// read them: released when the gradient or pullback returns, after its reverse sweep.
class deferred_release {
public:
    deferred_release() = default;
    deferred_release(const deferred_release&) = delete;
    deferred_release& operator=(const deferred_release&) = delete;
    ~deferred_release() {
        for (std::size_t k = items_.size(); k-- > 0;) items_[k].release(items_[k].p);
    }
    template <typename T>
    void delete_array(T* p) { items_.push_back({const_cast<void*>(static_cast<const void*>(p)), &del_array<T>}); }
    template <typename T>
    void delete_one(T* p) { items_.push_back({const_cast<void*>(static_cast<const void*>(p)), &del_one<T>}); }
    void free(void* p) { items_.push_back({p, &free_raw}); }
    template <typename T>
    void delete_array(const checked<T>& p) { delete_array(static_cast<T*>(p)); }
    template <typename T>
    void delete_one(const checked<T>& p) { delete_one(static_cast<T*>(p)); }

private:
    struct item {
        void* p;
        void (*release)(void*);
    };
    template <typename T>
    static void del_array(void* p) { delete[] static_cast<T*>(p); }
    template <typename T>
    static void del_one(void* p) { delete static_cast<T*>(p); }
    static void free_raw(void* p) { std::free(p); }
    std::vector<item> items_;
};

template <typename T, typename U>
inline void push(tape<T>& t, const U& v) {
    t.push(static_cast<T>(v));
}

template <typename T>
inline T pop(tape<T>& t) {
    return t.pop();
}

// ---------------------------------------------------------------- Jacobian drivers
// A generated NAME_jac runs a vector-mode kernel in passes of L lanes: L columns of the
// Jacobian per forward pass (tangents of the inputs seeded with unit vectors), or L rows per
// reverse pass (adjoints of the outputs seeded so).  Its seed and result buffers live in
// scratch memory that each thread keeps across calls: no allocation in steady state.
inline double* jacobian_scratch(std::size_t n) {
    static thread_local std::vector<double> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// buf: n x L; zero but for rows first..first+L-1 (those below n), which get unit vectors.
template <std::size_t L>
inline void seed_lanes(double* buf, std::size_t n, std::size_t first) {
    std::fill(buf, buf + n * L, 0.0);
    for (std::size_t k = 0; k < L && first + k < n; ++k) buf[(first + k) * L + k] = 1.0;
}

// A forward pass's output tangents (rows x L) are columns first..first+L-1 of the
// row-major rows x cols Jacobian.
template <std::size_t L>
inline void put_columns(const double* t, std::size_t rows, double* jac, std::size_t cols, std::size_t first) {
    std::size_t width = cols - first < L ? cols - first : L;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t k = 0; k < width; ++k) jac[r * cols + first + k] = t[r * L + k];
}

// A reverse pass's input adjoints (cols x L) are rows first..first+L-1 of the Jacobian.
template <std::size_t L>
inline void put_rows(const double* a, std::size_t cols, double* jac, std::size_t rows, std::size_t first) {
    std::size_t height = rows - first < L ? rows - first : L;
    for (std::size_t k = 0; k < height; ++k)
        for (std::size_t c = 0; c < cols; ++c) jac[(first + k) * cols + c] = a[c * L + k];
}

}  // namespace pyclad

#endif  // PYCLAD_RUNTIME_HPP
