#!/usr/bin/env bash
# Builds CAF 0.17.6 (libcaf_core, libcaf_io) with -fsanitize=thread into DIR/lib, from
# Debian's own source tarball of the packaged version, for `make tsan`. Debian's
# libcaf_core is not instrumented, so ThreadSanitizer cannot see the synchronisation
# inside CAF's mailboxes and reports every message handed between threads as a race;
# run against these libraries (LD_LIBRARY_PATH=DIR/lib; same version, same
# CAF_LOG_LEVEL as the package's build_config.hpp, so the installed headers match) it
# reports only what our code does.
#
# Usage: scripts/build-caf-tsan.sh DIR     (does nothing when DIR/lib is built already)
set -euo pipefail
dir=${1:?usage: scripts/build-caf-tsan.sh DIR}
[[ -f $dir/lib/libcaf_core.so.0.17.6 && -f $dir/lib/libcaf_io.so.0.17.6 ]] && exit 0
tarball=actor-framework_0.17.6.orig.tar.gz
sha256=e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c  # Debian's .dsc
mkdir -p "$dir"
if ! echo "$sha256  $dir/$tarball" | sha256sum -c --status 2>/dev/null; then
  curl -fsSL -o "$dir/$tarball" "http://deb.debian.org/debian/pool/main/a/actor-framework/$tarball"
  echo "$sha256  $dir/$tarball" | sha256sum -c --status ||
    { echo "build-caf-tsan: $tarball does not match Debian's checksum" >&2; exit 1; }
fi
src=$dir/actor-framework-0.17.6
rm -rf "$src"
tar xzf "$dir/$tarball" -C "$dir"
# GCC 12 no longer gets std::numeric_limits through other headers (Debian patches it too).
sed -i '0,/#include/s//#include <limits>\n#include/' "$src"/libcaf_io/caf/io/network/receive_buffer.hpp
cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer -w" \
  -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread -DCAF_NO_EXAMPLES=yes \
  -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_OPENCL=yes -DCAF_NO_PYTHON=yes -DCAF_NO_TOOLS=yes \
  -DCAF_NO_OPENSSL=yes -DCAF_NO_COMPILER_CHECK=yes >"$dir/configure.log"
# The packaged build_config.hpp is what our code compiles against: the levels must agree.
diff <(grep '#define' /usr/include/caf/detail/build_config.hpp) \
  <(grep '#define' "$src"/build/libcaf_core/caf/detail/build_config.hpp) ||
  { echo "build-caf-tsan: CAF's build configuration differs from the package's" >&2; exit 1; }
cmake --build "$src/build" -j "$(nproc)" --target libcaf_core_shared libcaf_io_shared
mkdir -p "$dir/lib"
cp -P "$src"/build/lib/libcaf_core.so* "$src"/build/lib/libcaf_io.so* "$dir/lib/"
rm -rf "$src"
