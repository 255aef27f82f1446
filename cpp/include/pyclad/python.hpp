// pyclad's Python bindings runtime: argument checks and conversions shared by every
// ahead-of-time module (`pyclad build`), with the rules of the JIT path: numbers for scalar
// parameters (not bools, not strings), numpy float64 arrays passed without a copy, other
// sequences of numbers converted, integers for integer parameters. A bad argument raises
// TypeError, which the module's Python side turns into pyclad.ArgumentError.
#ifndef PYCLAD_PYTHON_HPP
#define PYCLAD_PYTHON_HPP

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>

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

}  // namespace python
}  // namespace pyclad

#endif  // PYCLAD_PYTHON_HPP
