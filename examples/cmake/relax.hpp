// Equilibrium of the hanging chain (chain.hpp) by gradient descent.
#pragma once

// Moves pos (2 n coordinates) downhill in the chain's energy until the gradient's largest
// component is below tol; returns the number of steps taken, or -1 if max_steps ran out.
int relax(double* pos, int n, double span, double tol, int max_steps);
