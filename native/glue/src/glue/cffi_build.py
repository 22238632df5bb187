"""Write the C source of glue._glue_cffi, cffi's API mode compiled out of line.

meson runs ``python cffi_build.py OUTPUT.c`` at build time and compiles OUTPUT.c
like any other extension module (cffi's own ``ffibuilder.compile()`` would call
setuptools instead). ``with_cffi.py`` is the Python half of the glue.
"""

import sys

import cffi

ffibuilder = cffi.FFI()

# The declarations cffi parses: C syntax, copied from glue_work.h (cffi cannot read
# a real header with its #include lines and macros).
ffibuilder.cdef("""
    void glue_noop(void);
    bool glue_is_prime(uint64_t n);
    uint64_t glue_count_primes(uint64_t lo, uint64_t hi);
    void glue_reverse(const char *src, size_t n, char *dst);
    typedef int (*glue_callback)(void *ctx);
    int glue_call_back(glue_callback callback, void *ctx, uint64_t n);

    /* Implemented in Python by with_cffi.py (@ffi.def_extern), callable from C. */
    extern "Python" int glue_cffi_call_python(void *ctx);
""")

# The C that the generated module compiles against: the real header.
ffibuilder.set_source("glue._glue_cffi", '#include "glue_work.h"')

if __name__ == "__main__":
    ffibuilder.emit_c_code(sys.argv[1])
