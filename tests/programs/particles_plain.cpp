// particles.cpp written with plain arrays and scalars (the independent reference and the
// benchmark's baseline): the same mathematics, no records, no containers, no lambda.
#include <cmath>

double simulate_plain(const double* x0, const double* v0, const double* mass, int n, double k, double dt,
                      int steps, double* x, double* v, double* f) {
    const double anchor = 0.25 * k;
    const double rest = 1.0;
    for (int i = 0; i < n; ++i) {
        x[i] = x0[i];
        v[i] = v0[i];
    }
    for (int i = 0; i < n; ++i) {
        f[i] = -anchor * (x[i] - rest * i);
    }
    for (int i = 0; i + 1 < n; ++i) {
        double t = k * (x[i + 1] - x[i] - rest);
        f[i] += t;
        f[i + 1] -= t;
    }
    for (int step = 0; step < steps; ++step) {
        for (int i = 0; i < n; ++i) {
            v[i] += 0.5 * dt * f[i] / mass[i];
            x[i] += dt * v[i];
        }
        for (int i = 0; i < n; ++i) {
            f[i] = -anchor * (x[i] - rest * i);
        }
        for (int i = 0; i + 1 < n; ++i) {
            double t = k * (x[i + 1] - x[i] - rest);
            f[i] += t;
            f[i + 1] -= t;
        }
        for (int i = 0; i < n; ++i) {
            v[i] += 0.5 * dt * f[i] / mass[i];
        }
    }
    double e = 0.0;
    for (int i = 0; i + 1 < n; ++i) {
        double stretch = x[i + 1] - x[i] - rest;
        e += 0.5 * k * stretch * stretch;
    }
    for (int i = 0; i < n; ++i) {
        double d = x[i] - rest * i;
        e += 0.5 * anchor * d * d;
    }
    for (int i = 0; i < n; ++i) {
        e += 0.5 * mass[i] * v[i] * v[i];
    }
    return e;
}
