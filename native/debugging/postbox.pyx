# cython: language_level=3
"""A post box a native "postman" thread fills: lab 05's hang (part 1).

`Postbox.get(timeout)` waits, without the GIL, until the postman thread delivers
a letter or `timeout` seconds have passed, then raises TimeoutError. Nobody sends
a letter in the lab, so `get(0.5)` should give up after half a second. It does
not: a planted bug makes it wait far longer. Find it with gdb (py-bt, bt,
print __pyx_v_...), then fix it.
"""

from libc.stdint cimport int64_t

cdef extern from *:
    """
    #include <pthread.h>
    #include <time.h>
    #include <errno.h>

    /* The shared state of one post box: a count of letters under a mutex. */
    typedef struct {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        int letters;      /* delivered, not yet taken */
        int requested;    /* letters asked of the postman */
        int closing;
        pthread_t postman;
    } postbox_state;

    static int64_t postbox_now_ns(void) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    }

    /* The postman: a native thread that sleeps until a letter is requested. */
    static void *postbox_postman(void *arg) {
        postbox_state *box = (postbox_state *)arg;
        pthread_mutex_lock(&box->lock);
        while (!box->closing) {
            if (box->requested > 0) {
                box->requested--;
                box->letters++;
                pthread_cond_broadcast(&box->changed);
            }
            pthread_cond_wait(&box->changed, &box->lock);
        }
        pthread_mutex_unlock(&box->lock);
        return NULL;
    }

    static int postbox_open(postbox_state *box) {
        pthread_mutex_init(&box->lock, NULL);
        pthread_cond_init(&box->changed, NULL);
        box->letters = box->requested = box->closing = 0;
        return pthread_create(&box->postman, NULL, postbox_postman, box);
    }

    static void postbox_close(postbox_state *box) {
        pthread_mutex_lock(&box->lock);
        box->closing = 1;
        pthread_cond_broadcast(&box->changed);
        pthread_mutex_unlock(&box->lock);
        pthread_join(box->postman, NULL);
        pthread_cond_destroy(&box->changed);
        pthread_mutex_destroy(&box->lock);
    }

    /* Wait until a letter is there or the absolute deadline (ns of
     * CLOCK_REALTIME) passes: 1 if a letter was taken, 0 on timeout. */
    static int postbox_take(postbox_state *box, int64_t deadline_ns) {
        struct timespec until;
        int got = 0;
        until.tv_sec = deadline_ns / 1000000000;
        until.tv_nsec = deadline_ns % 1000000000;
        pthread_mutex_lock(&box->lock);
        while (box->letters == 0) {
            if (pthread_cond_timedwait(&box->changed, &box->lock, &until) == ETIMEDOUT)
                break;
        }
        if (box->letters > 0) {
            box->letters--;
            got = 1;
        }
        pthread_mutex_unlock(&box->lock);
        return got;
    }

    static void postbox_request(postbox_state *box) {
        pthread_mutex_lock(&box->lock);
        box->requested++;
        pthread_cond_broadcast(&box->changed);
        pthread_mutex_unlock(&box->lock);
    }
    """
    ctypedef struct postbox_state:
        int letters
    int64_t postbox_now_ns() nogil
    int postbox_open(postbox_state *box) nogil
    void postbox_close(postbox_state *box) nogil
    int postbox_take(postbox_state *box, int64_t deadline_ns) nogil
    void postbox_request(postbox_state *box) nogil


cdef class Postbox:
    """Letters from a native postman thread."""

    cdef postbox_state state
    cdef bint opened

    def __cinit__(self):
        if postbox_open(&self.state) != 0:
            raise OSError("cannot start the postman thread")
        self.opened = True

    def __dealloc__(self):
        if self.opened:
            with nogil:
                postbox_close(&self.state)

    def send(self):
        """Ask the postman for one letter (it delivers it from its own thread)."""
        postbox_request(&self.state)

    def get(self, double timeout):
        """Take one letter, waiting at most `timeout` seconds (TimeoutError after)."""
        if timeout < 0:
            raise ValueError(f"timeout must be >= 0, not {timeout}")
        cdef int64_t deadline = postbox_now_ns() + <int64_t>(timeout * 1e12)
        cdef int got
        with nogil:  # the postman, and other Python threads, run while we wait
            got = postbox_take(&self.state, deadline)
        if not got:
            raise TimeoutError(f"no letter within {timeout} s")
