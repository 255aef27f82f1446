// What code written for clad includes to differentiate through the standard
// containers.  clad declares the containers' custom derivatives here; pyclad's
// translator differentiates std::vector, std::array and the other containers with its
// own rules, so this header only brings in the containers and clad's API types
// (zero_like / zero_init among them) that such code uses next to them.
#ifndef PYCLAD_CLAD_STL_BUILTINS_H
#define PYCLAD_CLAD_STL_BUILTINS_H

#include "clad/Differentiator/BuiltinDerivatives.h"
#include "clad/Differentiator/ZeroInit.h"

#include <array>
#include <map>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#endif  // PYCLAD_CLAD_STL_BUILTINS_H
