// A bead in a tilted double-well potential on the plane (Newton's method finds a minimum).
#pragma once

#include <cmath>

inline double well(double x, double y) {
    double r = x * x - 1.0;
    return r * r + 0.3 * x + 2.0 * y * y + 0.5 * std::sin(x * y);
}
