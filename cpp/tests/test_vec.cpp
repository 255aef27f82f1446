// pyclad::vec<N>, the tangent of vector forward mode: arithmetic acts on each direction,
// a scalar converts to a uniform vector, and as_vec/store share the caller's row-major buffer.
#include <pyclad/runtime.hpp>

#include <clad/Differentiator/Differentiator.h>

#include "check.hpp"

int main() {
    using V = pyclad::vec<3>;
    V a = V::unit(0) + 2.0 * V::unit(2);
    CHECK(a[0] == 1.0 && a[1] == 0.0 && a[2] == 2.0);
    V b(0.5);
    CHECK(b[0] == 0.5 && b[1] == 0.5 && b[2] == 0.5);
    V c = (a - b) * 4.0 / 2.0;
    CHECK(c[0] == 1.0 && c[1] == -1.0 && c[2] == 3.0);
    V d = -c;
    CHECK(d[0] == -1.0 && d[1] == 1.0 && d[2] == -3.0);
    d += c;
    CHECK(d[0] == 0.0 && d[1] == 0.0 && d[2] == 0.0);
    d -= a;
    d *= 3.0;
    d /= -1.5;
    CHECK(d[0] == 2.0 && d[1] == 0.0 && d[2] == 4.0);

    double rows[2][3] = {{1, 2, 3}, {4, 5, 6}};  // two tangents of three directions each
    pyclad::vec<3>* t = pyclad::as_vec<3>(&rows[0][0]);
    CHECK(t[1][0] == 4.0 && t[1][2] == 6.0);
    t[0] += t[1];
    CHECK(rows[0][0] == 5.0 && rows[0][1] == 7.0 && rows[0][2] == 9.0);
    double out[3] = {0, 0, 0};
    pyclad::store(t[1] * 0.5, out);
    CHECK(out[0] == 2.0 && out[1] == 2.5 && out[2] == 3.0);

    clad::ValueAndPushforward<double> vp{2.0, -1.0};  // clad's spelling of the runtime's type
    pyclad::ValueAndPushforward<double> same = vp;
    CHECK(same.value == 2.0 && same.pushforward == -1.0);
    return check_result("vec");
}
