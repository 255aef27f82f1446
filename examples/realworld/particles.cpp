// Particles in 2-D under pairwise soft-core attraction, integrated with symplectic
// Euler; the objective is the total energy at the end of the run.
#include <cmath>
#include <vector>

#include "point.hpp"

template <typename T>
struct Body {
    rw::Point<T> pos;
    rw::Point<T> vel;
    double mass;
};

// Pairwise potential -G m_i m_j / sqrt(r^2 + eps^2): smooth at r = 0.
template <typename T>
T pair_potential(const Body<T>& a, const Body<T>& b, double g, double eps) {
    return -g * a.mass * b.mass / std::sqrt((a.pos - b.pos).norm2() + eps * eps);
}

template <typename T>
T total_energy(const std::vector<Body<T>>& bodies, double g, double eps) {
    T e = 0;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        e += 0.5 * bodies[i].mass * bodies[i].vel.norm2();
        for (std::size_t j = i + 1; j < bodies.size(); ++j) {
            e += pair_potential(bodies[i], bodies[j], g, eps);
        }
    }
    return e;
}

template <typename T>
void accelerations(const std::vector<Body<T>>& bodies, double g, double eps, std::vector<rw::Point<T>>& acc) {
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        acc[i] = rw::Point<T>();
    }
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        for (std::size_t j = 0; j < bodies.size(); ++j) {
            if (i == j) {
                continue;
            }
            rw::Point<T> d = bodies[j].pos - bodies[i].pos;
            T r2 = d.norm2() + eps * eps;
            T inv_r3 = 1 / (r2 * std::sqrt(r2));
            acc[i] += d * (g * bodies[j].mass * inv_r3);
        }
    }
}

// xy0 and v0 hold n points each as x, y pairs.
template <typename T>
T simulate(int n, const T* xy0, const T* v0, const double* mass, double dt, int steps) {
    const double g = 1.0;
    const double eps = 0.1;
    std::vector<Body<T>> bodies;
    for (int i = 0; i < n; ++i) {
        bodies.push_back(Body<T>{rw::Point<T>(xy0[2 * i], xy0[2 * i + 1]), rw::Point<T>(v0[2 * i], v0[2 * i + 1]),
                                 mass[i]});
    }
    std::vector<rw::Point<T>> acc(n);
    for (int s = 0; s < steps; ++s) {
        accelerations(bodies, g, eps, acc);
        for (int i = 0; i < n; ++i) {
            bodies[i].vel += acc[i] * T(dt);
            bodies[i].pos += bodies[i].vel * T(dt);
        }
    }
    return total_energy(bodies, g, eps);
}
