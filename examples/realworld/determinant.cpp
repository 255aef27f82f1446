// The determinant of an n-by-n matrix (stored by rows) by cofactor expansion along the
// first row, recursing on the minors.
#include <vector>

template <typename T>
T det(const std::vector<T>& a, int n) {
    if (n == 1) {
        return a[0];
    }
    if (n == 2) {
        return a[0] * a[3] - a[1] * a[2];
    }
    T out = 0;
    double sign = 1;
    std::vector<T> minor((n - 1) * (n - 1));
    for (int col = 0; col < n; ++col) {
        int k = 0;
        for (int r = 1; r < n; ++r) {
            for (int c = 0; c < n; ++c) {
                if (c != col) {
                    minor[k] = a[r * n + c];
                    ++k;
                }
            }
        }
        out += sign * a[col] * det(minor, n - 1);
        sign = -sign;
    }
    return out;
}
