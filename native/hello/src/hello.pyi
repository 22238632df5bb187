"""Stage 1 of the workshop: a hand-written C extension module."""

def hello_world() -> None:
    """Print 'Hello World' to sys.stdout and return None."""

def greet(name: str, /) -> str:
    """Return 'Hello, <name>!'. Raise TypeError if name is not a str."""

def call_noargs() -> None:
    """METH_NOARGS: take nothing, return None."""

def call_o(obj: object, /) -> None:
    """METH_O: take one object, return None."""

def call_varargs(obj: object, /) -> None:
    """METH_VARARGS: unpack one object from the argument tuple, return None."""

def call_fastcall(obj: object, /) -> None:
    """METH_FASTCALL: take one object from a C array, return None."""
