// The generated gradient of the chain's energy agrees with central finite differences at
// a few configurations, and the relaxed chain is at rest (zero gradient), sagging downwards.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chain.hpp"
#include "chain_d.hpp"
#include "relax.hpp"

static int failures = 0;

static void check_at(std::vector<double> pos, int n, double span) {
    std::vector<double> grad(2 * n, 0.0);
    chain_energy_grad_0(pos.data(), n, span, grad.data());
    for (int i = 0; i < 2 * n; ++i) {
        const double h = 1e-6, keep = pos[i];
        pos[i] = keep + h;
        double up = chain_energy(pos.data(), n, span);
        pos[i] = keep - h;
        double down = chain_energy(pos.data(), n, span);
        pos[i] = keep;
        double fd = (up - down) / (2 * h);
        if (!(std::fabs(grad[i] - fd) <= 1e-6 * (1.0 + std::fabs(fd)))) {  // NaN fails too
            std::printf("FAIL d/dpos[%d]: gradient %.12g, finite differences %.12g\n", i, grad[i], fd);
            ++failures;
        }
    }
}

int main() {
    check_at({0.5, -0.2, 1.1, -0.6, 2.0, -0.3}, 3, 2.7);
    check_at({1.0, 0.4}, 1, 1.5);
    check_at({0.3, 0.1, 0.9, -1.2, 1.4, -1.0, 2.2, 0.2}, 4, 3.0);

    const int n = 4;
    std::vector<double> pos = {0.6, 0.0, 1.2, 0.0, 1.8, 0.0, 2.4, 0.0};
    if (relax(pos.data(), n, 3.0, 1e-6, 100000) < 0) {
        std::printf("FAIL relax did not converge\n");
        ++failures;
    }
    std::vector<double> grad(2 * n, 0.0);
    chain_energy_grad_0(pos.data(), n, 3.0, grad.data());
    for (int i = 0; i < 2 * n; ++i) {
        if (!(std::fabs(grad[i]) <= 1e-6)) {
            std::printf("FAIL at rest, d/dpos[%d] = %.3g\n", i, grad[i]);
            ++failures;
        }
    }
    for (int i = 0; i < n; ++i) {
        if (!(pos[2 * i + 1] < 0.0)) {
            std::printf("FAIL mass %d does not hang below the anchors (y = %g)\n", i, pos[2 * i + 1]);
            ++failures;
        }
    }
    if (!(std::fabs(pos[1] - pos[7]) <= 1e-6)) {  // the anchors are level: the chain is symmetric
        std::printf("FAIL not symmetric: y0 = %g, y3 = %g\n", pos[1], pos[7]);
        ++failures;
    }
    std::printf("%s\n", failures ? "FAILED" : "chain gradient ok");
    return failures ? 1 : 0;
}
