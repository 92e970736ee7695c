"""The compiled value passes (scanner/kernels/native/*.c), built where they can be: x86-64
with a C compiler. Where the build fails, the install goes on and numpy does the work."""
import platform
import sys

from setuptools import Extension, setup

_X86_64 = platform.machine().lower() in ("x86_64", "amd64")
_PARTS = ("module", "buffers", "bytes", "floats", "tagged", "records", "hashes", "phash",
          "phash_grey", "phash_median", "jpeg", "bands", "sorts", "repeats", "prints",
          "one_pass", "hashed_bytes", "hashed_floats", "phash_samples")
native = Extension("scanner.kernels._native",
                   [f"scanner/kernels/native/{part}.c" for part in _PARTS],
                   depends=["scanner/kernels/native/native.h",
                            "scanner/kernels/native/phash.h",
                            "scanner/kernels/native/one_pass.h"],
                   extra_compile_args=["-O3", "-fvisibility=hidden"], optional=True)
setup(ext_modules=[native] if _X86_64 and sys.platform != "win32" else [])
