// A chain of three particles joined by springs, integrated with symplectic Euler steps;
// the objective is the total energy at the end.  Written the way a physicist writes it:
// a Particle struct with methods, a Spring functor, a lambda for the pair force.
// simulate_plain is the same computation with plain arrays (a second reference).
#include <cmath>

struct Particle {
    double x, v, m;
    double kinetic() const { return 0.5 * m * v * v; }
    void kick(double f, double dt) { v += f / m * dt; }
    void drift(double dt) { x += v * dt; }
};

struct Spring {
    double k, rest;
    double operator()(double d) const {
        double s = d - rest;
        return 0.5 * k * s * s;
    }
    double force(double d) const { return -k * (d - rest); }
};

double simulate(const double* x0, double k, double dt, int steps) {
    Particle ps[3];
    for (int i = 0; i < 3; i++) {
        ps[i].x = x0[i];
        ps[i].v = 0;
        ps[i].m = 1.0 + i;
    }
    Spring s{k, 1.0};
    auto pair_force = [&](int i, int j) { return s.force(ps[j].x - ps[i].x); };
    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < 2; i++) {
            double f = pair_force(i, i + 1);
            ps[i].kick(-f, dt);
            ps[i + 1].kick(f, dt);
        }
        for (int i = 0; i < 3; i++) ps[i].drift(dt);
    }
    double e = 0;
    for (int i = 0; i < 3; i++) e += ps[i].kinetic();
    for (int i = 0; i < 2; i++) e += s(ps[i + 1].x - ps[i].x);
    return e;
}

double simulate_plain(const double* x0, double k, double dt, int steps) {
    double x[3], v[3], m[3];
    for (int i = 0; i < 3; i++) {
        x[i] = x0[i];
        v[i] = 0;
        m[i] = 1.0 + i;
    }
    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < 2; i++) {
            double f = -k * (x[i + 1] - x[i] - 1.0);
            v[i] += -f / m[i] * dt;
            v[i + 1] += f / m[i + 1] * dt;
        }
        for (int i = 0; i < 3; i++) x[i] += v[i] * dt;
    }
    double e = 0;
    for (int i = 0; i < 3; i++) e += 0.5 * m[i] * v[i] * v[i];
    for (int i = 0; i < 2; i++) e += 0.5 * k * (x[i + 1] - x[i] - 1.0) * (x[i + 1] - x[i] - 1.0);
    return e;
}
