// Small fixed-size linear algebra for rigid transforms: a 3-vector, a 3x3 matrix class
// and a rigid transform (rotation then translation), generic in the number type T.
#pragma once

#include <cmath>

namespace rw {

template <typename T>
struct Vec3 {
    T x, y, z;

    Vec3 operator+(const Vec3& o) const { return Vec3{x + o.x, y + o.y, z + o.z}; }
    Vec3 operator-(const Vec3& o) const { return Vec3{x - o.x, y - o.y, z - o.z}; }
    Vec3 operator*(T s) const { return Vec3{x * s, y * s, z * s}; }
};

// Row-major storage, private, read and written through (row, column).
template <typename T>
class Mat3 {
public:
    Mat3() : a{} {}

    static Mat3 identity() {
        Mat3 m;
        m(0, 0) = 1;
        m(1, 1) = 1;
        m(2, 2) = 1;
        return m;
    }

    // Rotation by angle t about one coordinate axis (0: x, 1: y, 2: z).
    static Mat3 axis_rotation(int axis, T t) {
        Mat3 m;
        T c = std::cos(t);
        T s = std::sin(t);
        int i = (axis + 1) % 3;
        int j = (axis + 2) % 3;
        m(axis, axis) = 1;
        m(i, i) = c;
        m(i, j) = -s;
        m(j, i) = s;
        m(j, j) = c;
        return m;
    }

    T& operator()(int r, int c) { return a[3 * r + c]; }
    const T& operator()(int r, int c) const { return a[3 * r + c]; }

    Mat3 operator*(const Mat3& o) const {
        Mat3 out;
        for (int r = 0; r < 3; ++r) {
            for (int c = 0; c < 3; ++c) {
                T s = 0;
                for (int k = 0; k < 3; ++k) {
                    s += (*this)(r, k) * o(k, c);
                }
                out(r, c) = s;
            }
        }
        return out;
    }

    Vec3<T> operator*(const Vec3<T>& v) const {
        return Vec3<T>{a[0] * v.x + a[1] * v.y + a[2] * v.z, a[3] * v.x + a[4] * v.y + a[5] * v.z,
                       a[6] * v.x + a[7] * v.y + a[8] * v.z};
    }

private:
    T a[9];
};

// x -> R x + t.
template <typename T>
struct Rigid {
    Mat3<T> R;
    Vec3<T> t;

    Vec3<T> apply(const Vec3<T>& v) const { return R * v + t; }

    // The transform that applies `inner` first, then this one.
    Rigid compose(const Rigid& inner) const { return Rigid{R * inner.R, R * inner.t + t}; }
};

}  // namespace rw
