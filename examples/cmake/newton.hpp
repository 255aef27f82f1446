// Minima of the double well (well.hpp) by Newton's method.
#pragma once

// Newton steps from (x, y) until the step is below tol; false if the Hessian is not
// positive definite on the way (a saddle or a maximum) or max_steps run out.
bool newton(double& x, double& y, double tol, int max_steps);
