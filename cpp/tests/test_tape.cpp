// pyclad::tape gives back what was pushed, last first, and converts on push
// (a loop's forward sweep pushes, its reverse sweep pops).
#include <pyclad/runtime.hpp>

#include "check.hpp"

int main() {
    pyclad::tape<double> t;
    CHECK(t.size() == 0);
    for (int i = 0; i < 1000; ++i) pyclad::push(t, 0.5 * i);
    CHECK(t.size() == 1000);
    bool in_order = true;
    for (int i = 999; i >= 0; --i) in_order = in_order && pyclad::pop(t) == 0.5 * i;
    CHECK(in_order);
    CHECK(t.size() == 0);

    pyclad::tape<bool> taken;  // branch outcomes
    pyclad::push(taken, 3 > 2);
    pyclad::push(taken, 0);
    CHECK(pyclad::pop(taken) == false);
    CHECK(pyclad::pop(taken) == true);

    pyclad::tape<double> widened;  // an int saved as the tape's type
    pyclad::push(widened, 7);
    CHECK(widened.pop() == 7.0);

    pyclad::tape<int> counts;  // interleaved pushes and pops, as nested loops do
    pyclad::push(counts, 1);
    pyclad::push(counts, 2);
    CHECK(pyclad::pop(counts) == 2);
    pyclad::push(counts, 3);
    CHECK(pyclad::pop(counts) == 3);
    CHECK(pyclad::pop(counts) == 1);
    return check_result("tape");
}
