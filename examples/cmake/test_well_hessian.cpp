// The generated Hessian of the double well agrees with second differences of the energy and
// is symmetric; Newton's method with it lands where the generated gradient vanishes.
#include <cmath>
#include <cstdio>

#include "newton.hpp"
#include "well.hpp"
#include "well_grad.hpp"
#include "well_hessian.hpp"

static int failures = 0;

static void expect_close(const char* what, double got, double want, double tol) {
    if (!(std::fabs(got - want) <= tol * (1.0 + std::fabs(want)))) {  // NaN fails too
        std::printf("FAIL %s: %.12g, expected %.12g\n", what, got, want);
        ++failures;
    }
}

static void check_at(double x, double y) {
    double h[4];
    well_hessian(x, y, h);
    const double e = 1e-4;
    double fxx = (well(x + e, y) - 2 * well(x, y) + well(x - e, y)) / (e * e);
    double fyy = (well(x, y + e) - 2 * well(x, y) + well(x, y - e)) / (e * e);
    double fxy = (well(x + e, y + e) - well(x + e, y - e) - well(x - e, y + e) + well(x - e, y - e)) / (4 * e * e);
    expect_close("d2/dx2", h[0], fxx, 1e-5);
    expect_close("d2/dxdy", h[1], fxy, 1e-5);
    expect_close("d2/dydx", h[2], fxy, 1e-5);
    expect_close("d2/dy2", h[3], fyy, 1e-5);
    expect_close("symmetry", h[1], h[2], 1e-14);
}

int main() {
    check_at(0.3, -0.7);
    check_at(-1.1, 0.4);
    check_at(1.7, 1.2);

    double x = -1.2, y = 0.3;
    if (!newton(x, y, 1e-12, 50)) {
        std::printf("FAIL newton found no minimum\n");
        ++failures;
    }
    double gx = 0.0, gy = 0.0;
    well_grad(x, y, &gx, &gy);
    expect_close("gradient at the minimum, x", gx, 0.0, 1e-10);
    expect_close("gradient at the minimum, y", gy, 0.0, 1e-10);
    std::printf("%s\n", failures ? "FAILED" : "well hessian ok");
    return failures ? 1 : 0;
}
