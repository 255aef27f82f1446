// A two-layer perceptron with tanh hidden units, its weights in std::vectors, and the
// mean squared error of its predictions on a small data set.
#include <cmath>
#include <vector>

class MLP {
public:
    int n_in;
    int n_hidden;
    std::vector<double> w1;  // n_hidden x n_in, row-major
    std::vector<double> b1;  // n_hidden
    std::vector<double> w2;  // n_hidden
    double b2;

    MLP(int in, int hidden) : n_in(in), n_hidden(hidden), w1(in * hidden), b1(hidden), w2(hidden), b2(0.0) {}

    double forward(const double* x) const {
        double out = b2;
        for (int h = 0; h < n_hidden; ++h) {
            double a = b1[h];
            for (int i = 0; i < n_in; ++i) {
                a += w1[h * n_in + i] * x[i];
            }
            out += w2[h] * std::tanh(a);
        }
        return out;
    }
};

// theta packs w1, b1, w2, b2; X is n_samples x n_in, row-major.
double mse_loss(const double* theta, const double* X, const double* y, int n_samples, int n_in, int n_hidden) {
    MLP net(n_in, n_hidden);
    int k = 0;
    for (int j = 0; j < n_in * n_hidden; ++j) {
        net.w1[j] = theta[k++];
    }
    for (int h = 0; h < n_hidden; ++h) {
        net.b1[h] = theta[k++];
    }
    for (int h = 0; h < n_hidden; ++h) {
        net.w2[h] = theta[k++];
    }
    net.b2 = theta[k];
    double loss = 0.0;
    for (int s = 0; s < n_samples; ++s) {
        double r = net.forward(X + s * n_in) - y[s];
        loss += r * r;
    }
    return loss / n_samples;
}
