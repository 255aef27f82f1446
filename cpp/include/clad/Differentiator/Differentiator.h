// clad-compatible names for code written against clad's API.
#ifndef PYCLAD_CLAD_DIFFERENTIATOR_H
#define PYCLAD_CLAD_DIFFERENTIATOR_H

#include <pyclad/runtime.hpp>

namespace clad {
using pyclad::ValueAndPushforward;
}  // namespace clad

#endif  // PYCLAD_CLAD_DIFFERENTIATOR_H
