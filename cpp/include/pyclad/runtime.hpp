// pyclad runtime: the few types generated derivative code relies on.
#ifndef PYCLAD_RUNTIME_HPP
#define PYCLAD_RUNTIME_HPP

#include <cmath>
#include <cstddef>
#include <vector>

namespace pyclad {

// What a user's custom NAME_pushforward returns: the value of the function and
// its directional derivative.
template <typename T, typename U = T>
struct ValueAndPushforward {
    T value;
    U pushforward;
};

// A stack of values the forward sweep of a gradient saves inside loops and the
// reverse sweep takes back in the opposite order.
template <typename T>
class tape {
public:
    void push(const T& v) { data_.push_back(v); }
    T pop() {
        T v = data_.back();
        data_.pop_back();
        return v;
    }
    std::size_t size() const { return data_.size(); }

private:
    std::vector<T> data_;
};

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
    vec& operator*=(double s) {
        for (std::size_t i = 0; i < N; ++i) v[i] *= s;
        return *this;
    }
    vec& operator/=(double s) {
        for (std::size_t i = 0; i < N; ++i) v[i] /= s;
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

template <typename T, typename U>
inline void push(tape<T>& t, const U& v) {
    t.push(static_cast<T>(v));
}

template <typename T>
inline T pop(tape<T>& t) {
    return t.pop();
}

}  // namespace pyclad

#endif  // PYCLAD_RUNTIME_HPP
