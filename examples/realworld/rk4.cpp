// Fitting an ODE by integration: the Lotka-Volterra predator-prey model integrated
// with the classical fourth-order Runge-Kutta method, and the squared misfit of the
// final state to a target.
#include <array>

template <typename T>
struct LotkaVolterra {
    T alpha;  // prey growth
    T beta;   // predation
    T delta;  // predator growth per prey eaten
    T gamma;  // predator death

    std::array<T, 2> operator()(const std::array<T, 2>& y) const {
        return {alpha * y[0] - beta * y[0] * y[1], delta * y[0] * y[1] - gamma * y[1]};
    }
};

template <typename T>
std::array<T, 2> axpy(const std::array<T, 2>& y, double h, const std::array<T, 2>& k) {
    return {y[0] + h * k[0], y[1] + h * k[1]};
}

template <typename T, typename F>
std::array<T, 2> rk4_step(const F& f, const std::array<T, 2>& y, double h) {
    std::array<T, 2> k1 = f(y);
    std::array<T, 2> k2 = f(axpy(y, 0.5 * h, k1));
    std::array<T, 2> k3 = f(axpy(y, 0.5 * h, k2));
    std::array<T, 2> k4 = f(axpy(y, h, k3));
    std::array<T, 2> out;
    for (int i = 0; i < 2; ++i) {
        out[i] = y[i] + h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    }
    return out;
}

// params = {alpha, beta, delta, gamma}; y0 the initial populations.
template <typename T>
T rk4_loss(const T* params, const T* y0, double h, int steps, const double* target) {
    LotkaVolterra<T> model{params[0], params[1], params[2], params[3]};
    std::array<T, 2> y{y0[0], y0[1]};
    for (int s = 0; s < steps; ++s) {
        y = rk4_step(model, y, h);
    }
    T d0 = y[0] - target[0];
    T d1 = y[1] - target[1];
    return d0 * d0 + d1 * d1;
}
