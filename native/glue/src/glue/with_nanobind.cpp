// glue.with_nanobind: the glue API in nanobind (C++17, pybind11's leaner successor).
//
// Same shape as with_pybind11.cpp: nanobind kept pybind11's style of binding and
// changed what it costs (smaller binaries, faster calls, a stricter type caster).
#include <nanobind/nanobind.h>

#include "glue_work.h"

namespace nb = nanobind;

namespace {

// nanobind, like pybind11, reports any failed conversion as a TypeError; CPython
// raises OverflowError for a negative or too large int, so convert with its functions.
uint64_t
as_u64(nb::handle obj)
{
    nb::object index = nb::steal(PyNumber_Index(obj.ptr()));
    if (!index.is_valid()) {
        throw nb::python_error();
    }
    unsigned long long value = PyLong_AsUnsignedLongLong(index.ptr());
    if (value == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        throw nb::python_error();
    }
    return value;
}

// glue_call_back's callback: no C++ exception may cross the C frames of the loop.
int
call_python(void *ctx) noexcept
{
    try {
        (*static_cast<nb::callable *>(ctx))();
        return 0;
    } catch (nb::python_error &error) {
        error.restore();
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "unexpected C++ exception in call_back()");
    }
    return -1;
}

} // namespace

NB_MODULE(with_nanobind, m)
{
    m.doc() = "The glue API through nanobind.";

    m.def("noop", &glue_noop, "noop() -> None: call a C function that does nothing.");

    m.def(
        "is_prime", [](nb::handle n) { return glue_is_prime(as_u64(n)); }, nb::arg("n"),
        "True if 0 <= n < 2**64 is prime.");

    // nanobind's own conversion, kept to show its error message (see the lab).
    m.def("is_prime_u64", &glue_is_prime, nb::arg("n"));

    m.def(
        "count_primes",
        [](nb::handle lo, nb::handle hi) {
            uint64_t first = as_u64(lo), last = as_u64(hi);
            nb::gil_scoped_release released; // until the end of this block
            return glue_count_primes(first, last);
        },
        nb::arg("lo"), nb::arg("hi"), "Count the primes in [lo, hi) with the GIL released.");

    m.def(
        "reverse",
        [](nb::bytes data) {
            // Allocate the result first and fill it in place: no second copy.
            nb::object out = nb::steal(PyBytes_FromStringAndSize(nullptr, data.size()));
            if (!out.is_valid()) {
                throw nb::python_error();
            }
            glue_reverse(data.c_str(), data.size(), PyBytes_AsString(out.ptr()));
            return out;
        },
        nb::arg("data"), "The bytes of data in reverse order.");

    m.def(
        "call_back",
        [](nb::callable func, nb::handle n) {
            if (glue_call_back(call_python, &func, as_u64(n)) != 0) {
                throw nb::python_error(); // the exception call_python parked
            }
        },
        nb::arg("func"), nb::arg("n"), "Call func() n times from C.");
}
