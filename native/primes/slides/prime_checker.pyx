from libc.math cimport sqrt, floor

cdef am_i_prime(int x):
    cdef double root = sqrt(<double>x)
    for i in range(2, <int>floor(root)):
        if x % i == 0:
            return False
    return True
