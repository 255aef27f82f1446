// A 2-D point class with the arithmetic a particle code needs, generic in T.
#pragma once

#include <cmath>

namespace rw {

template <typename T>
class Point {
public:
    T x, y;

    Point() : x(0), y(0) {}
    Point(T x_, T y_) : x(x_), y(y_) {}

    Point operator+(const Point& o) const { return Point(x + o.x, y + o.y); }
    Point operator-(const Point& o) const { return Point(x - o.x, y - o.y); }
    Point operator*(T s) const { return Point(x * s, y * s); }
    Point& operator+=(const Point& o) {
        x += o.x;
        y += o.y;
        return *this;
    }

    T norm2() const { return x * x + y * y; }
};

}  // namespace rw
