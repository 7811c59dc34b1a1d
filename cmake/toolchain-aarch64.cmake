# Cross-build for aarch64 Linux with Debian's g++-aarch64-linux-gnu; ctest runs
# the target binaries under qemu-aarch64 (package qemu-user). Libraries for the
# target come from Debian multiarch (arm64 packages under /usr/lib/aarch64-linux-gnu);
# the header-only ones (xsimd, xtl, doctest, nlohmann-json) are the host's.
# scripts/cross_aarch64.sh installs all of it and runs the suite.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# GCC's -Wpsabi note (std::pair argument passing changed in GCC 10.1) concerns
# linking with objects from older compilers; every object here comes from one.
set(CMAKE_CXX_FLAGS_INIT -Wno-psabi)

# -cpu max: every extension qemu emulates (dotprod and fp16 included), so the
# NEON kernels run. No -L /usr/aarch64-linux-gnu: the loader and libc come from
# multiarch libc6:arm64, like libpcre2/libicu; that prefix would pair the cross
# toolchain's ld.so with multiarch's libc.so.6 (two glibc builds), which hangs
# in pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-cpu;max)

# Target and host files live side by side under / (multiarch): no sysroot,
# and pkg-config reads the arm64 .pc files only (plus the arch-independent ones).
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# xsimd is header-only, but Debian installs its CMake package under the host's
# library directory, where a find_package for aarch64 does not look.
set(xsimd_DIR /usr/lib/x86_64-linux-gnu/cmake/xsimd CACHE PATH "xsimd CMake package (header-only, host copy)")
