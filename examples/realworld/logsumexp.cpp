// log(sum_i exp(x_i)) over a std::vector, shifted by its largest entry for stability.
#include <algorithm>
#include <cmath>
#include <vector>

template <typename T>
T logsumexp(const std::vector<T>& x) {
    T mx = *std::max_element(x.begin(), x.end());
    T s = 0;
    for (const T& xi : x) {
        s += std::exp(xi - mx);
    }
    return mx + std::log(s);
}
