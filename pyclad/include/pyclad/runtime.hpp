// pyclad runtime: the few types generated derivative code relies on.
#ifndef PYCLAD_RUNTIME_HPP
#define PYCLAD_RUNTIME_HPP

#include <cmath>
#include <cstddef>
#include <vector>

namespace pyclad {

// What a user's custom NAME_pushforward returns: the value of the function and
// its directional derivative.
template <typename T, typename U = T>
struct ValueAndPushforward {
    T value;
    U pushforward;
};

// A stack of values the forward sweep of a gradient saves inside loops and the
// reverse sweep takes back in the opposite order.
template <typename T>
class tape {
public:
    void push(const T& v) { data_.push_back(v); }
    T pop() {
        T v = data_.back();
        data_.pop_back();
        return v;
    }
    std::size_t size() const { return data_.size(); }

private:
    std::vector<T> data_;
};

template <typename T, typename U>
inline void push(tape<T>& t, const U& v) {
    t.push(static_cast<T>(v));
}

template <typename T>
inline T pop(tape<T>& t) {
    return t.pop();
}

}  // namespace pyclad

#endif  // PYCLAD_RUNTIME_HPP
