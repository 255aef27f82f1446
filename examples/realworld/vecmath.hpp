// Small generic helpers shared by the programs in this folder: sums, norms and a
// numerically stable log-sum-exp over plain arrays, written for any number type T.
#pragma once

#include <cmath>

namespace rw {

template <typename T>
T sqr(T x) {
    return x * x;
}

template <typename T>
T sum(const T* v, int n) {
    T s = 0;
    for (int i = 0; i < n; ++i) {
        s += v[i];
    }
    return s;
}

template <typename T>
T sqnorm(const T* v, int n) {
    T s = 0;
    for (int i = 0; i < n; ++i) {
        s += v[i] * v[i];
    }
    return s;
}

template <typename T>
T dot(const T* a, const T* b, int n) {
    T s = 0;
    for (int i = 0; i < n; ++i) {
        s += a[i] * b[i];
    }
    return s;
}

// log(sum_i exp(v[i])), shifted by the largest entry so that no exp overflows.
template <typename T>
T logsumexp(const T* v, int n) {
    T mx = v[0];
    for (int i = 1; i < n; ++i) {
        if (v[i] > mx) {
            mx = v[i];
        }
    }
    T s = 0;
    for (int i = 0; i < n; ++i) {
        s += std::exp(v[i] - mx);
    }
    return std::log(s) + mx;
}

}  // namespace rw
