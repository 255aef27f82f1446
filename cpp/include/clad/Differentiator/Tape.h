// clad::tape<T>: the stack clad's gradients push values on in the forward sweep and pop
// in the reverse sweep, with the free functions clad::push / clad::pop / clad::back that
// code written for clad calls on it (for instance a custom reverse_forw recording values
// for its pullback).
//
// Facts from clad's documented interface: tape<T> takes optional parameters after T
// (small-buffer size, slab size, thread safety, disk and GPU offload); push(t, v)
// appends and returns a reference to the stored value; pop(t) removes the last value
// and returns it; back(t) is the last value; size() / empty() / clear() / iteration
// from the first pushed value.  A tape of C arrays (tape<T[N]>) stores copies of
// arrays.  The storage policies are clad's tuning; here every tape keeps its values in
// one growing buffer, which gives the same values back in the same order.
// detail::DiskManager / RamDiskManager store fixed-size slabs of values and read them
// back by the offset write_slab returned (in memory, or in a temporary file when asked
// for file-backed storage).
#ifndef PYCLAD_CLAD_TAPE_H
#define PYCLAD_CLAD_TAPE_H

#include "clad/Differentiator/CladConfig.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace clad {

namespace detail {
// The lock of a tape that is not thread-safe: nothing to take.
struct no_lock {
    void lock() {}
    void unlock() {}
};
}  // namespace detail

template <typename T, std::size_t SBO_SIZE = 64, std::size_t SLAB_SIZE = 1024, bool is_multithread = false,
          bool DiskOffload = false, bool GpuOffload = false>
class tape_impl {
    // A C array element type is stored in a struct so that std::vector can hold it.
    struct boxed {
        T value;
    };

public:
    using value_type = T;
    using size_type = std::size_t;
    using reference = T&;
    using const_reference = const T&;

    tape_impl() { m_data.reserve(SBO_SIZE); }

    template <typename... Args>
    void emplace_back(Args&&... args) {
        m_data.push_back(boxed{T(std::forward<Args>(args)...)});
    }
    void emplace_back() { m_data.push_back(boxed{}); }
    T& back() {
        assert(!m_data.empty() && "clad::tape: back() of an empty tape");
        return m_data.back().value;
    }
    const T& back() const {
        assert(!m_data.empty() && "clad::tape: back() of an empty tape");
        return m_data.back().value;
    }
    void pop_back() {
        assert(!m_data.empty() && "clad::tape: pop of an empty tape");
        m_data.pop_back();
    }
    std::size_t size() const { return m_data.size(); }
    bool empty() const { return m_data.empty(); }
    void clear() { m_data.clear(); }
    T& operator[](std::size_t i) { return m_data[i].value; }
    const T& operator[](std::size_t i) const { return m_data[i].value; }

    // Iteration from the first pushed value to the last.
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = T*;
        using reference = T&;
        explicit iterator(boxed* at) : m_at(at) {}
        T& operator*() const { return m_at->value; }
        T* operator->() const { return &m_at->value; }
        iterator& operator++() { return ++m_at, *this; }
        iterator operator++(int) { return iterator(m_at++); }
        bool operator==(const iterator& o) const { return m_at == o.m_at; }
        bool operator!=(const iterator& o) const { return m_at != o.m_at; }

    private:
        boxed* m_at;
    };
    iterator begin() { return iterator(m_data.data()); }
    iterator end() { return iterator(m_data.data() + m_data.size()); }

    // The lock a thread-safe tape (is_multithread) takes around push and pop; other
    // tapes hold none.
    using lock_type = std::conditional_t<is_multithread, std::mutex, detail::no_lock>;
    lock_type& lock() { return m_lock; }

private:
    std::vector<boxed> m_data;
    lock_type m_lock;
};

template <typename T, std::size_t SBO_SIZE = 64, std::size_t SLAB_SIZE = 1024, bool is_multithread = false,
          bool DiskOffload = false, bool GpuOffload = false>
using tape = tape_impl<T, SBO_SIZE, SLAB_SIZE, is_multithread, DiskOffload, GpuOffload>;

namespace detail {
template <bool locked>
struct tape_guard;
template <>
struct tape_guard<false> {
    template <typename Tape>
    explicit tape_guard(Tape&) {}
};
template <>
struct tape_guard<true> {
    template <typename Tape>
    explicit tape_guard(Tape& t) : hold(t.lock()) {}
    std::lock_guard<std::mutex> hold;
};
}  // namespace detail

// Appends a value (built from args) and returns the stored copy.
template <typename T, std::size_t S, std::size_t L, bool M, bool D, bool G, typename... Args,
          std::enable_if_t<!std::is_array<T>::value, int> = 0>
T& push(tape_impl<T, S, L, M, D, G>& to, Args&&... args) {
    detail::tape_guard<M> guard(to);
    to.emplace_back(std::forward<Args>(args)...);
    return to.back();
}

// A tape of C arrays stores a copy of the array.
template <typename T, std::size_t N, std::size_t S, std::size_t L, bool M, bool D, bool G, typename U>
void push(tape_impl<T[N], S, L, M, D, G>& to, const U& values) {
    detail::tape_guard<M> guard(to);
    to.emplace_back();
    std::copy(std::begin(values), std::begin(values) + N, std::begin(to.back()));
}

// Removes the last value and returns it.
template <typename T, std::size_t S, std::size_t L, bool M, bool D, bool G>
T pop(tape_impl<T, S, L, M, D, G>& from) {
    detail::tape_guard<M> guard(from);
    T value = std::move(from.back());
    from.pop_back();
    return value;
}

template <typename T, std::size_t N, std::size_t S, std::size_t L, bool M, bool D, bool G>
void pop(tape_impl<T[N], S, L, M, D, G>& from) {
    detail::tape_guard<M> guard(from);
    from.pop_back();
}

// The last value, in place.
template <typename T, std::size_t S, std::size_t L, bool M, bool D, bool G>
T& back(tape_impl<T, S, L, M, D, G>& of) {
    return of.back();
}

// Any other stack with back() (a user's own tape type).
template <typename Tape>
auto back(Tape& of) -> decltype(of.back()) {
    return of.back();
}

namespace detail {

// Fixed-size slabs of SLAB_SIZE values, written one after another and read back by
// the offset (in bytes) write_slab returned.
template <typename T, std::size_t SLAB_SIZE>
struct DiskManager {
    explicit DiskManager(bool use_file_offload = false)
        : m_file(use_file_offload ? std::tmpfile() : nullptr) {}
    DiskManager(const DiskManager&) = delete;
    DiskManager& operator=(const DiskManager&) = delete;
    ~DiskManager() {
        if (m_file != nullptr) std::fclose(m_file);
    }

    std::size_t write_slab(const T* values) {
        const std::size_t offset = m_end;
        const std::size_t bytes = SLAB_SIZE * sizeof(T);
        if (m_file != nullptr) {
            std::fseek(m_file, static_cast<long>(offset), SEEK_SET);
            std::fwrite(values, 1, bytes, m_file);
        } else {
            m_memory.resize(offset + bytes);
            std::copy_n(reinterpret_cast<const unsigned char*>(values), bytes, m_memory.data() + offset);
        }
        m_end += bytes;
        return offset;
    }

    void read_slab(T* dest, std::size_t offset) {
        const std::size_t bytes = SLAB_SIZE * sizeof(T);
        assert(offset + bytes <= m_end && "clad::detail::DiskManager: no slab at this offset");
        if (m_file != nullptr) {
            std::fseek(m_file, static_cast<long>(offset), SEEK_SET);
            const std::size_t got = std::fread(dest, 1, bytes, m_file);
            assert(got == bytes);
            (void)got;
        } else {
            std::copy_n(m_memory.data() + offset, bytes, reinterpret_cast<unsigned char*>(dest));
        }
    }

private:
    std::FILE* m_file;
    std::vector<unsigned char> m_memory;
    std::size_t m_end = 0;
};

template <typename T, std::size_t SLAB_SIZE>
struct RamDiskManager : DiskManager<T, SLAB_SIZE> {
    explicit RamDiskManager(bool use_file_offload = false) : DiskManager<T, SLAB_SIZE>(use_file_offload) {}
};

}  // namespace detail
}  // namespace clad

#endif  // PYCLAD_CLAD_TAPE_H
