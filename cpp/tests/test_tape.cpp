// pyclad::tape gives back what was pushed, last first, and converts on push
// (a loop's forward sweep pushes, its reverse sweep pops).
#include <pyclad/runtime.hpp>

#include <cstdlib>
#include <new>
#include <vector>

#include "check.hpp"

static long allocations = 0;  // every operator new of the program, counted
void* operator new(std::size_t n) {
    ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

// What a pullback does at each call: tapes and an undo log filled and emptied again.
static double one_call(int n) {
    pyclad::tape<double> t;
    pyclad::tape<int> counts;
    pyclad::undo_log log;
    double x[4] = {1, 2, 3, 4};
    for (int i = 0; i < n; ++i) {
        pyclad::push(t, 0.5 * i);
        pyclad::push(counts, i);
        log.mark();
        log.save(x[i % 4]);
        x[i % 4] = 0;
        log.undo();
    }
    double s = x[0] + x[3];
    while (t.size()) s += t.pop() + counts.pop();
    return s;
}

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

    // Tapes and undo logs reuse their buffers: once one call has run, the next allocates nothing.
    double first = one_call(200);
    long before = allocations;
    double again = one_call(200);
    CHECK(allocations == before);
    CHECK(first == again);

    // Handing state from a forward sweep to its reverse sweep moves it (last in, first out).
    std::vector<double> kept(3, 2.0);
    pyclad::tape<int> left;
    pyclad::push(left, 5);
    double x = 1.5;
    pyclad::stash(kept);
    pyclad::stash(left);
    pyclad::stash(x);
    x = 0;
    std::vector<double> back;
    pyclad::tape<int> handed;
    pyclad::unstash(x);
    pyclad::unstash(handed);
    pyclad::unstash(back);
    CHECK(x == 1.5 && back.size() == 3 && back[2] == 2.0 && pyclad::pop(handed) == 5);
    return check_result("tape");
}
