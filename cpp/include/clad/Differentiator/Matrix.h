// clad::matrix<T>: a rows x cols array of values stored by rows, as clad's API defines
// it (the type a Jacobian is written into).
//
// Facts from clad's documented interface: a new matrix is zeros (or one value);
// m(i, j) is element (i, j); m[i] is row i as a clad::array_ref, so m[i][j] and
// row-wise compound assignments work; arithmetic with a scalar or a matrix of the
// same shape is element-wise; identity_matrix(rows, cols, offset) has ones on the
// diagonal moved right by offset (left when negative).
#ifndef PYCLAD_CLAD_MATRIX_H
#define PYCLAD_CLAD_MATRIX_H

#include "clad/Differentiator/Array.h"
#include "clad/Differentiator/ArrayRef.h"
#include "clad/Differentiator/CladConfig.h"

#include <cassert>
#include <cstddef>
#include <utility>

namespace clad {

template <typename T>
class matrix {
public:
    matrix() = delete;
    matrix(std::size_t rows, std::size_t cols) : m_data(rows * cols), m_rows(rows), m_cols(cols) {}
    template <typename U>
    matrix(std::size_t rows, std::size_t cols, U val) : m_data(rows * cols, val), m_rows(rows), m_cols(cols) {}
    matrix(const matrix&) = default;
    matrix(matrix&&) noexcept = default;
    matrix& operator=(const matrix&) = default;
    matrix& operator=(matrix&&) noexcept = default;
    ~matrix() = default;

    std::size_t rows() const { return m_rows; }
    std::size_t cols() const { return m_cols; }
    T* ptr() const { return m_data.ptr(); }
    T& operator()(std::size_t r, std::size_t c) { return m_data[index(r, c)]; }
    const T& operator()(std::size_t r, std::size_t c) const { return m_data[index(r, c)]; }
    // Row r, a view into this matrix.
    array_ref<T> operator[](std::size_t r) {
        assert(r < m_rows && "clad::matrix: row out of range");
        return array_ref<T>(m_data.ptr() + r * m_cols, m_cols);
    }
    array_ref<const T> operator[](std::size_t r) const {
        assert(r < m_rows && "clad::matrix: row out of range");
        return array_ref<const T>(m_data.ptr() + r * m_cols, m_cols);
    }

    template <typename U, detail::if_scalar<U> = 0>
    matrix& operator+=(U s) { return m_data += s, *this; }
    template <typename U, detail::if_scalar<U> = 0>
    matrix& operator-=(U s) { return m_data -= s, *this; }
    template <typename U, detail::if_scalar<U> = 0>
    matrix& operator*=(U s) { return m_data *= s, *this; }
    template <typename U, detail::if_scalar<U> = 0>
    matrix& operator/=(U s) { return m_data /= s, *this; }

    template <typename U>
    matrix& operator+=(const matrix<U>& o) { return m_data += same_shape(o).data(), *this; }
    template <typename U>
    matrix& operator-=(const matrix<U>& o) { return m_data -= same_shape(o).data(), *this; }
    template <typename U>
    matrix& operator*=(const matrix<U>& o) { return m_data *= same_shape(o).data(), *this; }
    template <typename U>
    matrix& operator/=(const matrix<U>& o) { return m_data /= same_shape(o).data(), *this; }

    matrix operator-() const {
        matrix r(*this);
        r.m_data = -m_data;
        return r;
    }

    // The elements, by rows.
    const array<T>& data() const { return m_data; }

private:
    std::size_t index(std::size_t r, std::size_t c) const {
        assert(r < m_rows && c < m_cols && "clad::matrix: element out of range");
        return r * m_cols + c;
    }
    template <typename U>
    const matrix<U>& same_shape(const matrix<U>& o) const {
        assert(o.rows() == m_rows && o.cols() == m_cols && "clad::matrix: shapes differ");
        return o;
    }

    array<T> m_data;
    std::size_t m_rows;
    std::size_t m_cols;
};

// Element-wise arithmetic making a new matrix: matrix (op) matrix, matrix (op) scalar,
// scalar (op) matrix.
#define PYCLAD_CLAD_MATRIX_BINARY(OP, NAME)                                           \
    template <typename T, typename U>                                                  \
    matrix<T> operator OP(const matrix<T>& a, const matrix<U>& b) {                    \
        matrix<T> r(a);                                                                \
        r NAME b;                                                                      \
        return r;                                                                      \
    }                                                                                  \
    template <typename T, typename U, detail::if_scalar<U> = 0>                        \
    matrix<T> operator OP(const matrix<T>& a, U s) {                                   \
        matrix<T> r(a);                                                                \
        r NAME s;                                                                      \
        return r;                                                                      \
    }                                                                                  \
    template <typename T, typename U, detail::if_scalar<U> = 0>                        \
    matrix<T> operator OP(U s, const matrix<T>& a) {                                   \
        matrix<T> r(a.rows(), a.cols(), s);                                            \
        r NAME a;                                                                      \
        return r;                                                                      \
    }
PYCLAD_CLAD_MATRIX_BINARY(+, +=)
PYCLAD_CLAD_MATRIX_BINARY(-, -=)
PYCLAD_CLAD_MATRIX_BINARY(*, *=)
PYCLAD_CLAD_MATRIX_BINARY(/, /=)
#undef PYCLAD_CLAD_MATRIX_BINARY

// Ones at (i, i + offset) where that is inside the matrix, zeros elsewhere.
template <typename T>
matrix<T> identity_matrix(std::size_t rows, std::size_t cols, int offset = 0) {
    matrix<T> r(rows, cols);
    for (std::size_t i = 0; i < rows; ++i) {
        const long long j = static_cast<long long>(i) + offset;
        if (j >= 0 && j < static_cast<long long>(cols)) r(i, static_cast<std::size_t>(j)) = 1;
    }
    return r;
}

}  // namespace clad

#endif  // PYCLAD_CLAD_MATRIX_H
