// 3-vector helpers and the Rodrigues rotation, generic in the number type T.
#pragma once

#include <cmath>

namespace rw {

template <typename T>
void cross(const T* a, const T* b, T* out) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

// Rotates X by the axis-angle vector rot (angle |rot| about rot / |rot|). Near the
// identity it uses the first-order form X + rot x X, exact to the rounding of doubles.
template <typename T>
void rodrigues_rotate(const T* rot, const T* X, T* out) {
    T sqtheta = rot[0] * rot[0] + rot[1] * rot[1] + rot[2] * rot[2];
    if (sqtheta > 1e-16) {
        T theta = std::sqrt(sqtheta);
        T costheta = std::cos(theta);
        T sintheta = std::sin(theta);
        T w[3] = {rot[0] / theta, rot[1] / theta, rot[2] / theta};
        T w_cross_X[3];
        cross(w, X, w_cross_X);
        T tmp = (w[0] * X[0] + w[1] * X[1] + w[2] * X[2]) * (1 - costheta);
        for (int i = 0; i < 3; ++i) {
            out[i] = X[i] * costheta + w_cross_X[i] * sintheta + w[i] * tmp;
        }
    } else {
        T rot_cross_X[3];
        cross(rot, X, rot_cross_X);
        for (int i = 0; i < 3; ++i) {
            out[i] = X[i] + rot_cross_X[i];
        }
    }
}

}  // namespace rw
