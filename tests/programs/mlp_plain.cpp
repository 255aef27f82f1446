// mlp.cpp written with plain arrays and scalars: the same network, the same loss.
#include <cmath>

double mse_loss_plain(const double* theta, const double* X, const double* y, int n_samples, int n_in,
                      int n_hidden) {
    const double* w1 = theta;
    const double* b1 = theta + n_in * n_hidden;
    const double* w2 = b1 + n_hidden;
    const double b2 = w2[n_hidden];
    double loss = 0.0;
    for (int s = 0; s < n_samples; ++s) {
        double out = b2;
        for (int h = 0; h < n_hidden; ++h) {
            double a = b1[h];
            for (int i = 0; i < n_in; ++i) {
                a += w1[h * n_in + i] * X[s * n_in + i];
            }
            out += w2[h] * std::tanh(a);
        }
        double r = out - y[s];
        loss += r * r;
    }
    return loss / n_samples;
}
