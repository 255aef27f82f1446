// pyclad's Python bindings runtime: argument checks and conversions shared by every
// ahead-of-time module (`pyclad build`), with the rules of the JIT path: numbers for scalar
// parameters (not bools, not strings), numpy float64 arrays passed without a copy, other
// sequences of numbers converted, integers for integer parameters. A bad argument raises
// TypeError, which the module's Python side turns into pyclad.ArgumentError.
#ifndef PYCLAD_PYTHON_HPP
#define PYCLAD_PYTHON_HPP

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace pyclad {
namespace python {

namespace py = pybind11;
using darray = py::array_t<double, py::array::c_style>;

[[noreturn]] inline void bad(const std::string& where, const std::string& what) {
    throw py::type_error(where + " " + what);
}

inline std::string type_name(py::handle h) { return Py_TYPE(h.ptr())->tp_name; }

// A numpy scalar or 0-d array (anything with a dtype and no length), read as its item.
inline bool numpy_scalar(py::handle h) {
    if (py::isinstance<py::array>(h)) return py::reinterpret_borrow<py::array>(h).ndim() == 0;
    return py::hasattr(h, "dtype") && py::hasattr(h, "item") && !py::hasattr(h, "__len__");
}

// A Python int as a double; one beyond every double is a bad argument (as in the JIT path).
inline double long_as_double(py::handle h, const std::string& where) {
    double v = PyLong_AsDouble(h.ptr());
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        throw py::type_error(where + " is double: " + py::str(h).cast<std::string>() + " is outside its range");
    }
    return v;
}

inline void arity(const py::args& args, std::size_t n, const char* signature) {
    if (args.size() != n) {
        throw py::type_error(std::string(signature) + " takes " + std::to_string(n) + " arguments, got " +
                             std::to_string(args.size()));
    }
}

inline double scalar(py::handle h, const std::string& where) {
    if (PyFloat_Check(h.ptr())) return PyFloat_AS_DOUBLE(h.ptr());
    if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) return long_as_double(h, where);
    if (numpy_scalar(h)) {
        py::object item = h.attr("item")();
        if (PyFloat_Check(item.ptr())) return PyFloat_AS_DOUBLE(item.ptr());
        if (PyLong_Check(item.ptr()) && !PyBool_Check(item.ptr())) return long_as_double(item, where);
    }
    bad(where, "must be a number, got " + type_name(h));
}

template <typename T>
inline T integer(py::handle h, const std::string& where) {
    py::object v = py::reinterpret_borrow<py::object>(h);
    if (numpy_scalar(h)) v = h.attr("item")();
    if (PyBool_Check(v.ptr())) bad(where, "must be an integer, got " + py::repr(v).cast<std::string>());
    double d = PyFloat_Check(v.ptr()) ? PyFloat_AS_DOUBLE(v.ptr()) : 0.5;
    if (std::isfinite(d) && std::floor(d) == d)
        v = py::int_(v);  // 3.0 passes as 3, as on the JIT path
    if (PyLong_Check(v.ptr())) {
        try {
            return py::cast<T>(v);
        } catch (const py::cast_error&) {  // negative for an unsigned type, or too large
            bad(where, "is out of range for its integer type, got " + py::repr(v).cast<std::string>());
        }
    }
    bad(where, "must be an integer, got " + py::repr(v).cast<std::string>());
}

inline bool boolean(py::handle h, const std::string&) { return PyObject_IsTrue(h.ptr()) == 1; }

// The caller's float64 C-contiguous array itself, or a converted copy of anything else
// that holds numbers (a list, ints, float32, a strided view). ``writes``: the function
// writes through this parameter, so a read-only array is refused.
inline darray array(py::handle h, const std::string& where, const std::string& type, bool writes) {
    if (h.is_none() || PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyUnicode_Check(h.ptr()))
        bad(where, "is " + type + ": pass an array, got " + type_name(h));
    if (writes) {  // written in place: a converted copy would lose the writes
        bool is_array = py::isinstance<py::array>(h);
        py::array given = is_array ? py::reinterpret_borrow<py::array>(h) : py::array();
        if (!is_array || given.dtype().kind() != 'f' || given.itemsize() != 8 ||
            !(given.flags() & py::array::c_style) || !given.writeable()) {
            std::string what = !is_array ? "a " + type_name(h)
                                      : std::string(given.writeable() ? "" : "read-only ") +
                                            ((given.flags() & py::array::c_style) ? "" : "non-contiguous (strided) ") +
                                            py::str(given.dtype()).cast<std::string>() + " array";
            bad(where, "(" + type + ") is written in place: pass a writable C-contiguous float64 numpy array "
                       "(or declare the parameter const); got " + what);
        }
    }
    py::array any = py::array::ensure(h);
    if (!any) bad(where, ": cannot convert to an array");
    char kind = any.dtype().kind();
    if (std::strchr("biuf", kind) == nullptr)
        bad(where, ": expected numbers, got an array of " + py::str(any.dtype()).cast<std::string>());
    darray a = darray::ensure(any);  // no copy when it is float64 and C-contiguous already
    if (!a) bad(where, ": cannot convert to an array of double");
    if (a.size() == 0) bad(where, "is an empty array");
    if (writes && !a.writeable()) bad(where, "is a read-only array, and the function writes into it");
    return a;
}

// A private copy: a derivative is taken at the arguments as given and leaves them alone.
inline darray copy(const darray& a) {
    darray c(a.size());
    std::memcpy(c.mutable_data(), a.data(), sizeof(double) * static_cast<std::size_t>(a.size()));
    return c;
}

inline darray zeros(std::size_t n) {
    darray a(static_cast<py::ssize_t>(n));
    std::memset(a.mutable_data(), 0, sizeof(double) * n);
    return a;
}

inline darray zeros(std::size_t rows, std::size_t cols) {
    darray a({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
    std::memset(a.mutable_data(), 0, sizeof(double) * rows * cols);
    return a;
}

// A tangent array shaped like ``like``, zero but for a 1 at ``seed`` (a wrt array element).
inline darray seeded(const darray& like, py::ssize_t seed, const std::string& name) {
    darray t = zeros(static_cast<std::size_t>(like.size()));
    if (seed >= 0) {
        if (seed >= like.size()) {
            throw py::type_error("index " + std::to_string(seed) + " is out of range for '" + name +
                                 "' (length " + std::to_string(like.size()) + ")");
        }
        t.mutable_data()[seed] = 1.0;
    }
    return t;
}

inline double* ptr(darray& a) { return a.mutable_data(); }
inline std::size_t len(const darray& a) { return static_cast<std::size_t>(a.size()); }

// ---------------------------------------------------------------- integer (index) arrays
// ``const int* idx`` takes any array of integers whose values fit (int32 for int, int64 for
// long here), converted; floats holding integers are taken, others refused.  ``int* idx``
// written by the primal must be a writable C-contiguous array of exactly that dtype.
template <typename T>
using iarray = py::array_t<T, py::array::c_style | py::array::forcecast>;  // cast only after the range checks

template <typename T>
std::string dtype_name() {
    return py::str(py::dtype::of<T>()).cast<std::string>();
}

template <typename T>
iarray<T> int_array(py::handle h, const std::string& where, const std::string& type, bool writes) {
    if (h.is_none() || PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyUnicode_Check(h.ptr()))
        bad(where, "is " + type + ": pass an array, got " + type_name(h));
    if (writes) {
        bool is_array = py::isinstance<py::array>(h);
        py::array given = is_array ? py::reinterpret_borrow<py::array>(h) : py::array();
        if (!is_array || !given.dtype().is(py::dtype::of<T>()) || !(given.flags() & py::array::c_style) ||
            !given.writeable() || given.size() == 0) {
            if (is_array && given.size() == 0) bad(where, "is an empty array");
            bad(where, "(" + type + ") can be written in place: pass a writable C-contiguous " + dtype_name<T>() +
                           " numpy array (or declare the parameter const); got " +
                           (is_array ? py::str(given.dtype()).cast<std::string>() + " array" : "a " + type_name(h)));
        }
        return py::reinterpret_borrow<iarray<T>>(h);
    }
    py::array any = py::array::ensure(h);
    if (!any) bad(where, ": cannot convert to an array");
    if (any.size() == 0) bad(where, "is an empty array");
    char kind = any.dtype().kind();
    if (std::strchr("biuf", kind) == nullptr)
        bad(where, ": expected integers, got an array of " + py::str(any.dtype()).cast<std::string>());
    py::array_t<double, py::array::c_style | py::array::forcecast> values(any);
    const double* v = values.data();
    for (py::ssize_t k = 0; k < values.size(); ++k) {
        if (kind == 'f' && !(std::isfinite(v[k]) && std::floor(v[k]) == v[k]))
            bad(where, "is " + type + ": the array holds non-integer values");
        if (v[k] < static_cast<double>(std::numeric_limits<T>::min()) ||
            v[k] > static_cast<double>(std::numeric_limits<T>::max()))
            bad(where, "is " + type + ": a value is outside its range [" +
                           std::to_string(std::numeric_limits<T>::min()) + ", " +
                           std::to_string(std::numeric_limits<T>::max()) + "]");
    }
    iarray<T> a = iarray<T>::ensure(any);
    if (!a) bad(where, ": cannot convert to an array of " + dtype_name<T>());
    return a;
}

// A private copy, for a derivative (which never writes the caller's array).
template <typename T>
iarray<T> copy(const iarray<T>& a) {
    iarray<T> c(a.size());
    std::memcpy(c.mutable_data(), a.data(), sizeof(T) * static_cast<std::size_t>(a.size()));
    return c;
}
template <typename T>
T* ptr(iarray<T>& a) {
    return a.mutable_data();
}
template <typename T>
std::size_t len(const iarray<T>& a) {
    return static_cast<std::size_t>(a.size());
}
template <typename T, typename A>
std::size_t len(const std::vector<T, A>& v) {
    return v.size();
}

// ---------------------------------------------------------------- standard containers
// ``std::vector<double>`` / ``std::array<double, N>`` parameters take a numpy array or a list
// of numbers (a copy); a vector of vectors takes a list of such rows.  A gradient w.r.t. one
// comes back as a numpy array (a list of arrays for a vector of vectors).
inline py::array numbers(py::handle h, const std::string& where) {
    if (h.is_none() || PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyUnicode_Check(h.ptr()))
        bad(where, "is a container: pass an array or a list, got " + type_name(h));
    py::array any = py::array::ensure(h);
    if (!any) bad(where, ": cannot convert to an array");
    char kind = any.dtype().kind();
    if (std::strchr("iuf", kind) == nullptr)
        bad(where, ": expected numbers, got an array of " + py::str(any.dtype()).cast<std::string>());
    if (any.ndim() != 1)
        bad(where, ": expected a 1-D array, got shape " + py::str(py::tuple(any.attr("shape"))).cast<std::string>());
    return any;
}

inline void fill(std::vector<double>& out, py::handle h, const std::string& where, const std::string&) {
    py::array_t<double, py::array::c_style | py::array::forcecast> a(numbers(h, where));
    out.assign(a.data(), a.data() + a.size());
}

template <std::size_t N>
void fill(std::array<double, N>& out, py::handle h, const std::string& where, const std::string& type) {
    py::array_t<double, py::array::c_style | py::array::forcecast> a(numbers(h, where));
    if (static_cast<std::size_t>(a.size()) != N)
        bad(where, "is " + type + ": pass exactly " + std::to_string(N) + " numbers, got " + std::to_string(a.size()));
    std::copy(a.data(), a.data() + N, out.begin());
}

template <typename T, typename A>
void fill(std::vector<std::vector<T, A>>& out, py::handle h, const std::string& where, const std::string& type) {
    if (h.is_none() || PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyUnicode_Check(h.ptr()))
        bad(where, "is " + type + ": pass a list of arrays, got " + type_name(h));
    out.clear();
    std::size_t k = 0;
    for (py::handle row : py::reinterpret_borrow<py::iterable>(h)) {
        out.emplace_back();
        fill(out.back(), row, where + " (row " + std::to_string(k++) + ")", type);
    }
}

template <typename C>
C container(py::handle h, const std::string& where, const std::string& type) {
    C out{};
    fill(out, h, where, type);
    return out;
}

inline py::object to_py(double v) { return py::float_(v); }
inline py::object to_py(const std::vector<double>& v) {
    darray a(static_cast<py::ssize_t>(v.size()));
    if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), sizeof(double) * v.size());
    return std::move(a);
}
template <std::size_t N>
py::object to_py(const std::array<double, N>& v) {
    darray a(static_cast<py::ssize_t>(N));
    if (N) std::memcpy(a.mutable_data(), v.data(), sizeof(double) * N);
    return std::move(a);
}
template <typename T, typename A>
py::object to_py(const std::vector<std::vector<T, A>>& v) {
    py::list out;
    for (const auto& row : v) out.append(to_py(row));
    return std::move(out);
}

// ---------------------------------------------------------------- records
// Records are the module's own classes (``mod.Particle(0.4, 1.5, 2.0)``).  A pointer to a
// record takes one object or a list of them (an array of records, copied into a vector;
// what the primal writes goes back into the objects); ``std::vector<Particle>`` a list.
template <typename R>
R& record(py::handle h, const std::string& where, const std::string& type, const char* name) {
    if (!py::isinstance<R>(h))
        bad(where, "is " + type + ": pass an object of the module's class " + name + " (e.g. mod." + name +
                       "(...)), got a " + type_name(h));
    return h.cast<R&>();
}

// Each object of the list or tuple ``h``, checked to be of the module's class R, copied into ``out``.
template <typename R>
void append_each(std::vector<R>& out, py::handle h, const std::string& where, const std::string& type,
                 const char* name) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(h);
    for (std::size_t k = 0; k < seq.size(); ++k) {
        py::object x = seq[k];
        if (!py::isinstance<R>(x))
            bad(where, "is " + type + ": element " + std::to_string(k) + " is a " + type_name(x) +
                           ", not the module's class " + name);
        out.push_back(x.cast<R&>());
    }
}

template <typename R>
std::vector<R> records(py::handle h, const std::string& where, const std::string& type, const char* name,
                       std::size_t extent, const char* declared) {
    std::vector<R> out;
    if (py::isinstance<R>(h)) {
        out.push_back(h.cast<R&>());
    } else {
        if (py::isinstance<py::array>(h))
            bad(where, "is " + type + ": pass a list of the module's " + name + " objects (mod." + name +
                           "(...)), not a numpy array (its layout is not the C++ record's)");
        if (!PyList_Check(h.ptr()) && !PyTuple_Check(h.ptr()))
            bad(where, "is " + type + ": pass an object of the module's class " + name + " (e.g. mod." + name +
                           "(...)) or a list of them, got a " + type_name(h));
        if (py::len(h) == 0) bad(where, std::string("is an empty list of ") + name);
        append_each(out, h, where, type, name);
    }
    if (out.size() < extent)
        bad(where, "is declared " + std::string(declared) + ", but the list passed has " + std::to_string(out.size()) +
                       " records");
    return out;
}

template <typename R>
void fill_records(std::vector<R>& out, py::handle h, const std::string& where, const std::string& type,
                  const char* name) {
    if (py::isinstance<py::array>(h) || (!PyList_Check(h.ptr()) && !PyTuple_Check(h.ptr())))
        bad(where, "is " + type + ": pass a list of the module's " + name + " objects (mod." + name +
                       "(...)), got a " + type_name(h));
    out.clear();
    append_each(out, h, where, type, name);
}

// What a primal wrote into an array of records, back into the objects given.
template <typename R>
void write_back(py::handle h, const std::vector<R>& v) {
    if (py::isinstance<R>(h)) {
        h.cast<R&>() = v[0];
        return;
    }
    py::sequence seq = py::reinterpret_borrow<py::sequence>(h);
    for (std::size_t k = 0; k < v.size(); ++k) seq[k].cast<R&>() = v[k];
}

// The adjoint of an array of records as the gradient returns it: one record when one
// object was passed, else a list of as many records.
template <typename R>
py::object records_out(py::handle given, const std::vector<R>& v) {
    if (py::isinstance<R>(given)) return py::cast(v[0]);
    py::list out;
    for (const R& r : v) out.append(py::cast(r));
    return std::move(out);
}
template <typename R, typename A>
py::object records_list(const std::vector<R, A>& v) {
    py::list out;
    for (const R& r : v) out.append(py::cast(r));
    return std::move(out);
}

}  // namespace python
}  // namespace pyclad

#endif  // PYCLAD_PYTHON_HPP
