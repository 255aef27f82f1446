// pyclad runtime: the few types generated derivative code relies on.
#ifndef PYCLAD_RUNTIME_HPP
#define PYCLAD_RUNTIME_HPP

#include <cmath>

namespace pyclad {

// What a user's custom NAME_pushforward returns: the value of the function and
// its directional derivative.
template <typename T, typename U = T>
struct ValueAndPushforward {
    T value;
    U pushforward;
};

}  // namespace pyclad

#endif  // PYCLAD_RUNTIME_HPP
