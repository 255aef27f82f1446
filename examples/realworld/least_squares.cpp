// Linear least squares: 0.5 * |A x - b|^2 for a dense m-by-n matrix A stored by rows.
#include <vector>

#include "vecmath.hpp"

template <typename T>
T least_squares(int m, int n, const double* A, const double* b, const T* x) {
    std::vector<T> r(m);
    for (int i = 0; i < m; ++i) {
        r[i] = -b[i];
        for (int j = 0; j < n; ++j) {
            r[i] += A[i * n + j] * x[j];
        }
    }
    return 0.5 * rw::sqnorm(r.data(), m);
}
