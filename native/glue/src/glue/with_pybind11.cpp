// glue.with_pybind11: the glue API in pybind11 (C++11 and later, header-only).
//
// Types in the C++ signature drive the conversions; lambdas adapt the C functions.
#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "glue_work.h"

namespace py = pybind11;

namespace {

// pybind11 turns every failed conversion into one TypeError ("incompatible function
// arguments"), even for a negative int given to an unsigned parameter. CPython raises
// OverflowError there, so integers are converted with CPython's own functions.
uint64_t
as_u64(py::handle obj)
{
    py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
    if (!index) {
        throw py::error_already_set();
    }
    unsigned long long value = PyLong_AsUnsignedLongLong(index.ptr());
    if (value == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        throw py::error_already_set();
    }
    return value;
}

// glue_call_back's callback. A C++ exception must not unwind through C frames, so a
// Python error is parked in the interpreter (restore) and reported as -1.
int
call_python(void *ctx) noexcept
{
    try {
        (*static_cast<py::function *>(ctx))();
        return 0;
    } catch (py::error_already_set &error) {
        error.restore();
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "unexpected C++ exception in call_back()");
    }
    return -1;
}

} // namespace

PYBIND11_MODULE(with_pybind11, m)
{
    m.doc() = "The glue API through pybind11.";

    m.def("noop", &glue_noop, "noop() -> None: call a C function that does nothing.");

    m.def(
        "is_prime", [](py::handle n) { return glue_is_prime(as_u64(n)); }, py::arg("n"),
        "True if 0 <= n < 2**64 is prime.");

    // pybind11's own conversion, kept to show its error message (see the lab).
    m.def("is_prime_u64", &glue_is_prime, py::arg("n"));

    m.def(
        "count_primes",
        [](py::handle lo, py::handle hi) {
            uint64_t first = as_u64(lo), last = as_u64(hi);
            py::gil_scoped_release released; // until the end of this block
            return glue_count_primes(first, last);
        },
        py::arg("lo"), py::arg("hi"), "Count the primes in [lo, hi) with the GIL released.");

    m.def(
        "reverse",
        [](const py::bytes &data) {
            std::string_view src = data; // points into the bytes object, no copy
            std::string out(src.size(), '\0');
            glue_reverse(src.data(), src.size(), out.data());
            return py::bytes(out); // copies out into a new bytes object
        },
        py::arg("data"), "The bytes of data in reverse order.");

    m.def(
        "call_back",
        [](py::function func, py::handle n) {
            if (glue_call_back(call_python, &func, as_u64(n)) != 0) {
                throw py::error_already_set(); // the exception call_python parked
            }
        },
        py::arg("func"), py::arg("n"), "Call func() n times from C.");
}
