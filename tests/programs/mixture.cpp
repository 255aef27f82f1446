// Negative log-posterior of a 1-D Gaussian mixture: weights by softmax of logits, scales by
// their logs, a log-sum-exp over components per sample, and a prior whose parameters
// come in a struct (a normal prior on the means, an inverse-gamma-like penalty on scales).
#include <cmath>

struct Prior {
    double mean_scale;  // standard deviation of the normal prior on the means
    double alpha;       // shape of the scale penalty
    double beta;        // rate of the scale penalty
};

struct Component {
    double log_weight;
    double mean;
    double log_sigma;
};

double log_density(const Component& c, double x) {
    const double half_log_2pi = 0.91893853320467274178;
    double z = (x - c.mean) * std::exp(-c.log_sigma);
    return c.log_weight - c.log_sigma - half_log_2pi - 0.5 * z * z;
}

double log_prior(const Component& c, const Prior& p) {
    double m = c.mean / p.mean_scale;
    return -0.5 * m * m - p.alpha * c.log_sigma - p.beta * std::exp(-2.0 * c.log_sigma);
}

// logits, means, log_sigmas: K each; x: n samples.
double neg_log_posterior(const double* logits, const double* means, const double* log_sigmas, int K,
                         const double* x, int n, Prior prior) {
    double lse_w = logits[0];
    for (int k = 1; k < K; ++k) {
        lse_w = std::fmax(lse_w, logits[k]);
    }
    double sw = 0.0;
    for (int k = 0; k < K; ++k) {
        sw += std::exp(logits[k] - lse_w);
    }
    lse_w += std::log(sw);
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
        double best = -1e300;
        for (int k = 0; k < K; ++k) {
            Component c{logits[k] - lse_w, means[k], log_sigmas[k]};
            best = std::fmax(best, log_density(c, x[i]));
        }
        double s = 0.0;
        for (int k = 0; k < K; ++k) {
            Component c{logits[k] - lse_w, means[k], log_sigmas[k]};
            s += std::exp(log_density(c, x[i]) - best);
        }
        total += best + std::log(s);
    }
    for (int k = 0; k < K; ++k) {
        Component c{logits[k] - lse_w, means[k], log_sigmas[k]};
        total += log_prior(c, prior);
    }
    return -total;
}
