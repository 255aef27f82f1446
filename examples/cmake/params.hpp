// Physical constants of the hanging chain (in SI units).
#pragma once

constexpr double kStiffness = 80.0;  // N/m, each spring
constexpr double kRest = 0.8;        // m, each spring's rest length
constexpr double kMass = 0.15;       // kg, each node
constexpr double kGravity = 9.81;    // m/s^2
