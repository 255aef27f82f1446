// A damped spring: a mass m on a spring of stiffness k with damping c,
// released at rest from x = 1 (underdamped: c*c < 4*k*m).
#include <cmath>

// Position and velocity at time t.
double position(double t, double k, double m, double c) {
    double gamma = c / (2 * m);
    double omega = std::sqrt(k / m - gamma * gamma);
    return std::exp(-gamma * t) * (std::cos(omega * t) + gamma / omega * std::sin(omega * t));
}

double velocity(double t, double k, double m, double c) {
    double gamma = c / (2 * m);
    double omega = std::sqrt(k / m - gamma * gamma);
    return -(omega * omega + gamma * gamma) / omega * std::exp(-gamma * t) * std::sin(omega * t);
}

// Mechanical energy (kinetic + spring) left at time t.
double energy(double t, double k, double m, double c) {
    double x = position(t, k, m, c);
    double v = velocity(t, k, m, c);
    return 0.5 * m * v * v + 0.5 * k * x * x;
}
