// pyclad::undo_log puts back what the marked call overwrote, most recent store first, and
// leaves earlier calls' entries alone; pyclad::deferred_release frees what it was handed
// when it goes out of scope (the end of a gradient), each with its own deallocator.
#include <pyclad/runtime.hpp>

#include <cstdlib>

#include "check.hpp"

int main() {
    double a[3] = {1.0, 2.0, 3.0};
    int k = 4;
    pyclad::undo_log log;
    pyclad::mark(log);  // a first call: writes a[0] twice and k
    pyclad::save(log, a[0]);
    a[0] = 9.0;
    pyclad::save(log, k);
    k = 7;
    pyclad::save(log, a[0]);
    a[0] = 10.0;
    pyclad::mark(log);  // a second call: writes a[2]
    pyclad::save(log, a[2]);
    a[2] = -1.0;
    pyclad::undo(log);  // the reverse sweep reaches the second call first
    CHECK(a[2] == 3.0 && a[0] == 10.0 && k == 7);
    pyclad::undo(log);
    CHECK(a[0] == 1.0 && a[1] == 2.0 && k == 4);

    long double wide = 1.5L;  // a value wider than a double
    pyclad::mark(log);
    pyclad::save(log, wide);
    wide = 2.5L;
    pyclad::undo(log);
    CHECK(wide == 1.5L);

    struct pair3 {  // a value of another size
        double a, b, c;
    };
    pair3 r = {1.0, 2.0, 3.0};
    char ch = 'a';
    pyclad::mark(log);
    pyclad::save(log, r);
    r.b = 5.0;
    pyclad::save(log, ch);
    ch = 'b';
    pyclad::save(log, r);
    r = {7.0, 8.0, 9.0};
    pyclad::undo(log);
    CHECK(r.a == 1.0 && r.b == 2.0 && r.c == 3.0 && ch == 'a');

    {
        pyclad::deferred_release released;
        double* buf = new double[8]();
        released.delete_array(buf);
        released.delete_one(new double(2.0));
        released.free(std::malloc(16));
        pyclad::checked<double> c(new double[2](), 2, "c");
        released.delete_array(c);
        CHECK(buf[7] == 0.0);  // still readable after the primal's delete[]
    }  // everything freed here (run under ASan: no leak, no double free)
    return check_result("memory");
}
