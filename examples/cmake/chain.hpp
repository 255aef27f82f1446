// A chain of n point masses hung between two anchors, (0, 0) and (span, 0), by n + 1
// springs. pos holds the masses' coordinates x0, y0, x1, y1, ...
#pragma once

#include <cmath>

#include "params.hpp"

// Elastic energy of one spring whose ends are dx, dy apart.
inline double spring(double dx, double dy) {
    double stretch = std::sqrt(dx * dx + dy * dy) - kRest;
    return 0.5 * kStiffness * stretch * stretch;
}

// Potential energy: the springs' elastic energy plus the masses' weight.
inline double chain_energy(const double* pos, int n, double span) {
    double e = spring(pos[0], pos[1]) + spring(span - pos[2 * n - 2], pos[2 * n - 1]);
    for (int i = 0; i < n; ++i) {
        e += kMass * kGravity * pos[2 * i + 1];
    }
    for (int i = 0; i + 1 < n; ++i) {
        e += spring(pos[2 * i + 2] - pos[2 * i], pos[2 * i + 3] - pos[2 * i + 1]);
    }
    return e;
}
