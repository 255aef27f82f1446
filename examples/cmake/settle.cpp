// Drops a bead into each of the double well's two basins and prints where it settles.
#include <cstdio>

#include "newton.hpp"
#include "well.hpp"

int main() {
    const double starts[2][2] = {{-1.2, 0.3}, {0.9, -0.2}};
    for (const auto& s : starts) {
        double x = s[0], y = s[1];
        if (!newton(x, y, 1e-12, 50)) {
            std::printf("no minimum from (%g, %g)\n", s[0], s[1]);
            return 1;
        }
        std::printf("from (%g, %g): minimum at (%.9f, %.9f), energy %.9f\n", s[0], s[1], x, y, well(x, y));
    }
    return 0;
}
