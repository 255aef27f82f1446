// Bundle adjustment: reprojection residuals of 3-D points seen by pinhole cameras with
// two-parameter radial distortion, and the weight residuals of a robust error model.
//
// A camera is 11 numbers: rotation (axis-angle, 3), centre (3), focal length (1),
// principal point (2), radial distortion (2).
#include <cmath>

#include "rotation.hpp"

constexpr int BA_NCAMPARAMS = 11;
constexpr int ROT_IDX = 0;
constexpr int C_IDX = 3;
constexpr int F_IDX = 6;
constexpr int X0_IDX = 7;
constexpr int RAD_IDX = 9;

template <typename T>
void radial_distort(const T* rad_params, T* proj) {
    T rsq = proj[0] * proj[0] + proj[1] * proj[1];
    T l = 1 + rad_params[0] * rsq + rad_params[1] * rsq * rsq;
    proj[0] = proj[0] * l;
    proj[1] = proj[1] * l;
}

template <typename T>
void project(const T* cam, const T* X, T* proj) {
    T xo[3];
    for (int i = 0; i < 3; ++i) {
        xo[i] = X[i] - cam[C_IDX + i];
    }
    T xcam[3];
    rw::rodrigues_rotate(&cam[ROT_IDX], xo, xcam);
    proj[0] = xcam[0] / xcam[2];
    proj[1] = xcam[1] / xcam[2];
    radial_distort(&cam[RAD_IDX], proj);
    proj[0] = proj[0] * cam[F_IDX] + cam[X0_IDX + 0];
    proj[1] = proj[1] * cam[F_IDX] + cam[X0_IDX + 1];
}

// The residual of one observation: w * (projection - feature), two numbers.
template <typename T>
void reprojection_error(const T* cam, const T* X, const T* w, const double* feat, T* err) {
    T proj[2];
    project(cam, X, proj);
    err[0] = w[0] * (proj[0] - feat[0]);
    err[1] = w[0] * (proj[1] - feat[1]);
}

template <typename T>
void weight_error(const T* w, T* err) {
    err[0] = 1 - w[0] * w[0];
}

// All residuals: obs[2*i] is the camera and obs[2*i+1] the point of observation i.
template <typename T>
void ba_objective(int n, int m, int p, const T* cams, const T* X, const T* w, const int* obs, const double* feats,
                  T* reproj_err, T* w_err) {
    (void)n;
    (void)m;
    for (int i = 0; i < p; ++i) {
        int camera = obs[2 * i];
        int point = obs[2 * i + 1];
        reprojection_error(&cams[camera * BA_NCAMPARAMS], &X[point * 3], &w[i], &feats[2 * i], &reproj_err[2 * i]);
    }
    for (int i = 0; i < p; ++i) {
        weight_error(&w[i], &w_err[i]);
    }
}
