// Hangs a chain of five masses between anchors 4 m apart and prints where they come to rest.
#include <cstdio>
#include <vector>

#include "chain.hpp"
#include "relax.hpp"

int main() {
    const int n = 5;
    const double span = 4.0;
    std::vector<double> pos(2 * n);
    for (int i = 0; i < n; ++i) {  // start on the straight line between the anchors
        pos[2 * i] = span * (i + 1) / (n + 1);
        pos[2 * i + 1] = 0.0;
    }
    int steps = relax(pos.data(), n, span, 1e-6, 100000);
    if (steps < 0) {
        std::printf("did not converge\n");
        return 1;
    }
    std::printf("equilibrium after %d steps, energy %.6f J\n", steps, chain_energy(pos.data(), n, span));
    for (int i = 0; i < n; ++i) std::printf("  mass %d at (%.4f, %.4f)\n", i, pos[2 * i], pos[2 * i + 1]);
    return 0;
}
