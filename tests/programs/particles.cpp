// A 1-D particle system: particles on springs to their neighbours and to fixed anchors,
// integrated with velocity Verlet; the objective is the mechanical energy after the run.
#include <cmath>
#include <vector>

struct Particle {
    double x;  // position
    double v;  // velocity
    double m;  // mass

    double kinetic() const { return 0.5 * m * v * v; }
};

struct Springs {
    double k;       // stiffness between neighbours
    double anchor;  // stiffness to the particle's rest position
    double rest;    // rest length between neighbours
};

double potential(const std::vector<Particle>& ps, const Springs& s) {
    double u = 0.0;
    for (std::size_t i = 0; i + 1 < ps.size(); ++i) {
        double stretch = ps[i + 1].x - ps[i].x - s.rest;
        u += 0.5 * s.k * stretch * stretch;
    }
    for (std::size_t i = 0; i < ps.size(); ++i) {
        double d = ps[i].x - s.rest * i;
        u += 0.5 * s.anchor * d * d;
    }
    return u;
}

double energy(const std::vector<Particle>& ps, const Springs& s) {
    double e = potential(ps, s);
    for (const Particle& p : ps) {
        e += p.kinetic();
    }
    return e;
}

void forces(const std::vector<Particle>& ps, const Springs& s, std::vector<double>& f) {
    // The force law as a lambda over a pair of positions.
    auto pull = [&s](double a, double b) { return s.k * (b - a - s.rest); };
    for (std::size_t i = 0; i < ps.size(); ++i) {
        f[i] = -s.anchor * (ps[i].x - s.rest * i);
    }
    for (std::size_t i = 0; i + 1 < ps.size(); ++i) {
        double t = pull(ps[i].x, ps[i + 1].x);
        f[i] += t;
        f[i + 1] -= t;
    }
}

// Energy after `steps` velocity-Verlet steps of size dt, from positions x0 and velocities v0.
double simulate(const double* x0, const double* v0, const double* mass, int n, double k, double dt, int steps) {
    std::vector<Particle> ps;
    for (int i = 0; i < n; ++i) {
        ps.push_back(Particle{x0[i], v0[i], mass[i]});
    }
    Springs s{k, 0.25 * k, 1.0};
    std::vector<double> f(n);
    forces(ps, s, f);
    for (int step = 0; step < steps; ++step) {
        for (int i = 0; i < n; ++i) {
            ps[i].v += 0.5 * dt * f[i] / ps[i].m;
            ps[i].x += dt * ps[i].v;
        }
        forces(ps, s, f);
        for (int i = 0; i < n; ++i) {
            ps[i].v += 0.5 * dt * f[i] / ps[i].m;
        }
    }
    return energy(ps, s);
}
