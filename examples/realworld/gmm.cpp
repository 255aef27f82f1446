// Negative log-likelihood of a Gaussian mixture model with a Wishart prior on the
// precision matrices.
//
// Parameters, for K components in d dimensions:
//   alphas[K]      unnormalised log weights (weights are softmax(alphas));
//   means[K*d]     component means;
//   icf[K*(d + d(d-1)/2)]  the inverse-covariance factor Q_k of each component: its d
//                  log-diagonal entries, then the strictly lower triangle column by column.
// The precision of component k is Q_k^T Q_k, so log|det Q_k| = sum of the log-diagonal.
#include <cmath>
#include <vector>

#include "vecmath.hpp"

struct Wishart {
    double gamma;  // scale of the prior
    int m;         // extra degrees of freedom
};

// log of the multivariate gamma function Gamma_p(a).
inline double log_gamma_distrib(double a, int p) {
    double out = 0.25 * p * (p - 1) * std::log(M_PI);
    for (int j = 1; j <= p; ++j) {
        out += std::lgamma(a + 0.5 * (1 - j));
    }
    return out;
}

// out = Q x for the lower-triangular factor given by its diagonal and packed lower triangle.
template <typename T>
void q_times_x(int d, const T* qdiag, const T* ltri, const T* x, T* out) {
    for (int i = 0; i < d; ++i) {
        out[i] = qdiag[i] * x[i];
    }
    int lparam = 0;
    for (int j = 0; j < d; ++j) {
        for (int i = j + 1; i < d; ++i) {
            out[i] += ltri[lparam] * x[j];
            ++lparam;
        }
    }
}

// Negative log of the Wishart prior, up to what does not depend on the parameters'
// values (the normalising constant is included so the value is the textbook one).
template <typename T>
T wishart_penalty(int d, int k, const std::vector<T>& qdiags, const std::vector<T>& sum_qs, const T* icf,
                  Wishart wishart) {
    int icf_size = d * (d + 1) / 2;
    int n_dof = wishart.m + d + 1;
    T out = 0;
    for (int ik = 0; ik < k; ++ik) {
        T frobenius = rw::sqnorm(&qdiags[ik * d], d) + rw::sqnorm(&icf[ik * icf_size + d], icf_size - d);
        out += 0.5 * wishart.gamma * wishart.gamma * frobenius - wishart.m * sum_qs[ik];
    }
    double c = n_dof * d * (std::log(wishart.gamma) - 0.5 * std::log(2.0)) - log_gamma_distrib(0.5 * n_dof, d);
    return out - k * c;
}

template <typename T>
void gmm_objective(int d, int k, int n, const T* alphas, const T* means, const T* icf, const double* x,
                   Wishart wishart, T* err) {
    const double log_2pi = std::log(2 * M_PI);
    int icf_size = d * (d + 1) / 2;

    std::vector<T> qdiags(d * k);
    std::vector<T> sum_qs(k);
    for (int ik = 0; ik < k; ++ik) {
        sum_qs[ik] = rw::sum(&icf[ik * icf_size], d);
        for (int id = 0; id < d; ++id) {
            qdiags[ik * d + id] = std::exp(icf[ik * icf_size + id]);
        }
    }

    std::vector<T> xcentered(d);
    std::vector<T> qxcentered(d);
    std::vector<T> main_term(k);
    T slse = 0;
    for (int ix = 0; ix < n; ++ix) {
        for (int ik = 0; ik < k; ++ik) {
            for (int id = 0; id < d; ++id) {
                xcentered[id] = x[ix * d + id] - means[ik * d + id];
            }
            q_times_x(d, &qdiags[ik * d], &icf[ik * icf_size + d], xcentered.data(), qxcentered.data());
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * rw::sqnorm(qxcentered.data(), d);
        }
        slse += rw::logsumexp(main_term.data(), k);
    }

    T lse_alphas = rw::logsumexp(alphas, k);
    *err = 0.5 * n * d * log_2pi - slse + n * lse_alphas + wishart_penalty(d, k, qdiags, sum_qs, icf, wishart);
}
