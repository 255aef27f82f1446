// k-means cost: the sum over points of the squared distance to the nearest centre.
#include <algorithm>

template <typename T>
T sqdist(int d, const double* p, const T* c) {
    T s = 0;
    for (int i = 0; i < d; ++i) {
        T diff = p[i] - c[i];
        s += diff * diff;
    }
    return s;
}

template <typename T>
T kmeans_cost(int n, int k, int d, const double* points, const T* centers) {
    T cost = 0;
    for (int i = 0; i < n; ++i) {
        T best = sqdist(d, &points[i * d], &centers[0]);
        for (int j = 1; j < k; ++j) {
            best = std::min(best, sqdist(d, &points[i * d], &centers[j * d]));
        }
        cost += best;
    }
    return cost;
}
