// A minimal check macro for the runtime's tests: print the failing expression, count it.
#pragma once

#include <cstdio>

inline int& check_failures() {
    static int n = 0;
    return n;
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            std::printf("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            ++check_failures();                                                \
        }                                                                      \
    } while (0)

inline int check_result(const char* what) {
    std::printf("%s: %s\n", what, check_failures() ? "FAILED" : "ok");
    return check_failures() ? 1 : 0;
}
