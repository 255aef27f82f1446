"""The data types of pyclad's clad-compatible API headers (cpp/include/clad/Differentiator/):
clad::array, array_ref, matrix, tape, zero_like, in C++ programs built by g++ (and clang++
where installed) with -Wall -Wextra, each result compared with a value worked out by hand.
Every program also runs under AddressSanitizer and UBSan (conftest.gxx_build_and_run)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import gxx_build_and_run

import pyclad

PRELUDE = r"""
#include "clad/Differentiator/ArrayRef.h"
#include "clad/Differentiator/Matrix.h"
#include "clad/Differentiator/Tape.h"
#include "clad/Differentiator/ZeroInit.h"
#include <cstdio>
static int failures = 0;
#define EXPECT(cond) do { if (!(cond)) { std::printf("FAIL line %d: %s\n", __LINE__, #cond); ++failures; } } while (0)
"""
EPILOGUE = r"""
int main() { run(); std::printf(failures ? "failed\n" : "ok\n"); return failures != 0; }
"""


def build_and_run(tmp_path, body: str, *flags: str) -> str:
    src = tmp_path / "prog.cpp"
    src.write_text(PRELUDE + body + EPILOGUE)
    out, warnings = gxx_build_and_run(tmp_path, src.name, "-Wextra", *flags)
    assert warnings == "", warnings
    return out


ARRAY = r"""
void run() {
    clad::array<double> zeros(3);
    EXPECT(zeros.size() == 3 && zeros[0] == 0 && zeros[1] == 0 && zeros[2] == 0);
    double raw[] = {1, 2, 3};
    clad::array<double> copy(raw, 3);
    copy[0] = 10;
    EXPECT(raw[0] == 1);                                   // a copy, not a view
    clad::array<int> a = {1, 2, 3};
    int p[] = {2, 2, 2};
    a += p;  EXPECT(a[0] == 3 && a[1] == 4 && a[2] == 5);  // element-wise with a pointer
    a *= 2;  EXPECT(a[0] == 6 && a[2] == 10);              // with a scalar
    clad::array<int> b = {1, 2, 5};
    a -= b;  EXPECT(a[0] == 5 && a[1] == 6 && a[2] == 5);  // with an array
    a /= b;  EXPECT(a[0] == 5 && a[1] == 3 && a[2] == 1);
    clad::array_ref<int> view(p, 3);
    a += view; EXPECT(a[0] == 7 && a[1] == 5 && a[2] == 3); // with a view
    a = p;   EXPECT(a[0] == 2 && a[1] == 2);               // assignment from a pointer copies
    clad::array<long double> wide = b;                      // element types convert
    EXPECT(wide.size() == 3 && wide[2] == 5.0L);
    clad::array<double> hot = clad::one_hot_vector<double>(4, 2);
    EXPECT(hot[0] == 0 && hot[1] == 0 && hot[2] == 1 && hot[3] == 0);
    clad::array<double> part = hot.slice(1, 2);
    part[1] = 7;
    EXPECT(part.size() == 2 && part[0] == 0 && hot[2] == 1); // a slice of an array is a copy
    clad::array<double> small(1);
    small = hot;                                            // assignment takes the other's size
    EXPECT(small.size() == 4 && small[2] == 1);
    clad::array<double> moved(std::move(small));
    EXPECT(moved.size() == 4 && small.size() == 0);
    clad::array<double> s = 1.0 - hot * 2.0;                // arithmetic makes new arrays
    EXPECT(s[0] == 1 && s[2] == -1);
    clad::array<double> neg = -hot;
    EXPECT(neg[2] == -1 && hot[2] == 1);
    double* decayed = hot;                                  // decays to a pointer
    EXPECT(decayed[2] == 1);
    clad::array<double> first2(2, hot);
    EXPECT(first2.size() == 2 && first2[1] == 0);
    clad::array<float> filled(3, 2.5);
    EXPECT(filled[0] == 2.5f && filled[2] == 2.5f);
}
"""

ARRAY_REF = r"""
void run() {
    double buf[] = {1, 2, 3, 4};
    clad::array_ref<double> v(buf, 4);
    v[1] = 20;
    EXPECT(buf[1] == 20);                                   // a view writes through
    clad::array_ref<double> tail = v.slice(2, 2);
    tail[0] = 30;
    EXPECT(tail.size() == 2 && buf[2] == 30);               // a slice of a view shares storage
    tail *= 2;
    EXPECT(buf[2] == 60 && buf[3] == 8 && buf[1] == 20);
    double other[] = {5, 6};
    clad::array_ref<double> o(other, 2);
    tail = o;                                               // assignment copies the elements
    EXPECT(buf[2] == 5 && buf[3] == 6 && tail.ptr() == buf + 2);
    tail += o;
    EXPECT(buf[2] == 10 && buf[3] == 12);
    clad::array<double> arr = {1, 1};
    tail -= arr;
    EXPECT(buf[2] == 9 && buf[3] == 11);
    tail = arr;
    EXPECT(buf[2] == 1 && buf[3] == 1);
    double x = 3;
    clad::array_ref<double> one(&x);
    EXPECT(one.size() == 1 && *one == 3);
    clad::array<double> owned(3);
    clad::array_ref<double> of_array(owned);
    of_array[2] = 4;
    EXPECT(owned[2] == 4);                                  // a view of a clad::array
    const double* cp = static_cast<const clad::array_ref<double>&>(v);
    EXPECT(cp[0] == 1);
    clad::array_ref<void> erased(v);
    clad::array_ref<double> back = erased;
    EXPECT(back.size() == 4 && back.ptr() == buf);          // erased and back
    clad::array_ref<void> from_ptr(buf, 2);
    EXPECT(from_ptr.size() == 2 && from_ptr.ptr() == static_cast<void*>(buf));
    double sum = 0;
    for (double e : v) sum += e;
    EXPECT(sum == 1 + 20 + 1 + 1);
}
"""

MATRIX = r"""
void run() {
    clad::matrix<int> m(2, 3);
    EXPECT(m.rows() == 2 && m.cols() == 3 && m(1, 2) == 0);
    m(1, 2) = 5;
    EXPECT(m[1][2] == 5);                                   // m[i][j] is m(i, j)
    m[0][1] = 7;
    EXPECT(m(0, 1) == 7);
    clad::matrix<int> id = clad::identity_matrix<int>(3, 3, 1);
    EXPECT(id(0, 1) == 1 && id(1, 2) == 1 && id(2, 2) == 0 && id(0, 0) == 0);
    clad::matrix<int> low = clad::identity_matrix<int>(3, 3, -1);
    EXPECT(low(1, 0) == 1 && low(2, 1) == 1 && low(0, 0) == 0 && low(0, 2) == 0);
    clad::matrix<double> tall = clad::identity_matrix<double>(3, 2);
    EXPECT(tall(0, 0) == 1 && tall(1, 1) == 1 && tall(2, 0) == 0 && tall(2, 1) == 0);
    clad::array<int> row = {1, 2};
    tall[2] += row;                                         // a row is a view
    EXPECT(tall(2, 0) == 1 && tall(2, 1) == 2 && tall(0, 1) == 0);
    tall[0] /= 4;
    EXPECT(tall(0, 0) == 0.25);
    clad::matrix<int> sum = m + 2 * clad::identity_matrix<int>(2, 3);
    EXPECT(sum(0, 0) == 2 && sum(1, 1) == 2 && sum(0, 1) == 7 && sum(1, 2) == 5);
    clad::matrix<int> diff = 10 - m;
    EXPECT(diff(0, 0) == 10 && diff(0, 1) == 3);
    clad::matrix<int> prod = m * m;                         // element-wise
    EXPECT(prod(0, 1) == 49 && prod(1, 2) == 25);
    clad::matrix<int> neg = -m;
    EXPECT(neg(0, 1) == -7 && m(0, 1) == 7);
    clad::matrix<double> fives(2, 2, 5);
    fives /= 2;
    EXPECT(fives(1, 1) == 2.5);
    clad::matrix<double> copy = fives;
    copy(0, 0) = 0;
    EXPECT(fives(0, 0) == 2.5);                             // copies are deep
}
"""

TAPE = r"""
#include <thread>
#include <vector>
void run() {
    clad::tape<double> t;
    EXPECT(t.empty());
    double& stored = clad::push(t, 1.5);
    EXPECT(stored == 1.5);
    clad::push(t, 2.5);
    clad::push(t, 3);                                       // converts to the element type
    EXPECT(t.size() == 3 && clad::back(t) == 3);
    clad::back(t) = 4;
    double order[3];
    int k = 0;
    for (double v : t) order[k++] = v;
    EXPECT(order[0] == 1.5 && order[1] == 2.5 && order[2] == 4);  // iteration: first pushed first
    EXPECT(clad::pop(t) == 4 && clad::pop(t) == 2.5 && clad::pop(t) == 1.5);  // last in, first out
    EXPECT(t.empty());
    for (int i = 0; i < 1000; ++i) clad::push(t, i);        // beyond the small buffer
    double total = 0;
    while (!t.empty()) total += clad::pop(t);
    EXPECT(total == 999.0 * 1000.0 / 2.0);
    clad::tape<double[3]> arrays;
    double a[3] = {1, 2, 3};
    clad::push(arrays, a);
    a[0] = 9;
    EXPECT(clad::back(arrays)[0] == 1 && clad::back(arrays)[2] == 3);  // stores a copy
    clad::pop(arrays);
    EXPECT(arrays.empty());
    clad::tape<int, 64, 1024, true> shared;                  // the thread-safe tape
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w)
        threads.emplace_back([&shared] { for (int i = 0; i < 500; ++i) clad::push(shared, 1); });
    for (auto& th : threads) th.join();
    EXPECT(shared.size() == 2000);
    double slab[16], back_slab[16];
    for (int i = 0; i < 16; ++i) slab[i] = i * 0.5;
    clad::detail::RamDiskManager<double, 16> ram;
    std::size_t first = ram.write_slab(slab);
    slab[0] = -1;
    std::size_t second = ram.write_slab(slab);
    ram.read_slab(back_slab, first);
    EXPECT(back_slab[0] == 0 && back_slab[15] == 7.5 && second != first);
    ram.read_slab(back_slab, second);
    EXPECT(back_slab[0] == -1);
    clad::detail::DiskManager<double, 16> file(true);       // file-backed
    std::size_t at = file.write_slab(slab);
    for (double& e : back_slab) e = 0;
    file.read_slab(back_slab, at);
    EXPECT(back_slab[0] == -1 && back_slab[15] == 7.5);
}
"""

ZERO_LIKE = r"""
#include <array>
#include <forward_list>
#include <string>
#include <vector>
namespace user {
struct Counted {
    double value = 7;
    static int copies;
    Counted() = default;
    Counted(const Counted& o) : value(o.value) { ++copies; }
    Counted& operator=(const Counted&) = default;
};
int Counted::copies = 0;
void zero_init(Counted& c) { c.value = 0; }                 // found by argument-dependent lookup
struct Plain { double a; int b; };
}
void run() {
    EXPECT(clad::zero_like(3.5) == 0.0);
    std::vector<std::vector<user::Counted>> ragged(2);
    ragged[0].resize(3);
    ragged[1].resize(1);
    user::Counted::copies = 0;
    auto z = clad::zero_like(ragged);
    EXPECT(z.size() == 2 && z[0].size() == 3 && z[1].size() == 1);  // same ragged shape
    EXPECT(z[0][2].value == 0 && z[1][0].value == 0 && ragged[0][0].value == 7);
    EXPECT(user::Counted::copies == 0);                       // no element copied
    std::array<double, 3> fixed{{1, 2, 3}};
    auto zf = clad::zero_like(fixed);
    EXPECT(zf[0] == 0 && zf[2] == 0 && fixed[2] == 3);
    std::forward_list<double> fl{1, 2};
    auto zl = clad::zero_like(fl);
    EXPECT(*zl.begin() == 0 && *fl.begin() == 1);
    std::string s = "ab";
    EXPECT(clad::zero_like(s) == std::string(2, '\0'));
    user::Plain p{1.5, 2};
    clad::zero_init(p);
    EXPECT(p.a == 0 && p.b == 0);
    std::vector<double> v{1, 2};
    clad::zero_init(v);
    EXPECT(v.size() == 2 && v[0] == 0 && v[1] == 0);
}
"""

PROGRAMS = {"array": ARRAY, "array_ref": ARRAY_REF, "matrix": MATRIX, "tape": TAPE, "zero_like": ZERO_LIKE}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_each_clad_type_behaves_as_worked_out_by_hand(tmp_path, name):
    flags = ("-pthread",) if name == "tape" else ()
    out = build_and_run(tmp_path, PROGRAMS[name], *flags)
    assert out.strip().splitlines()[-1] == "ok", out


@pytest.mark.parametrize("std", ["c++14", "c++20"])
def test_the_types_work_in_the_other_standards_clad_tests_use(tmp_path, std):
    src = tmp_path / "prog.cpp"
    src.write_text(PRELUDE + ARRAY + EPILOGUE)
    gxx = shutil.which("g++") or pytest.skip("g++ is not installed")
    exe = tmp_path / "prog"
    build = subprocess.run(
        [
            gxx,
            f"-std={std}",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{pyclad.get_include()}",
            str(src),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert run.stdout.strip() == "ok", run.stdout


def test_a_failed_expectation_in_these_programs_is_reported(tmp_path):
    """The harness itself: a wrong hand value must fail the program, or the tests above prove nothing."""
    src = tmp_path / "prog.cpp"
    src.write_text(PRELUDE + "void run() { clad::array<double> a(2); EXPECT(a[0] == 1); }" + EPILOGUE)
    gxx = shutil.which("g++") or pytest.skip("g++ is not installed")
    exe = tmp_path / "prog"
    subprocess.run([gxx, "-std=c++17", f"-I{pyclad.get_include()}", str(src), "-o", str(exe)], check=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert run.returncode != 0 and "FAIL line" in run.stdout
