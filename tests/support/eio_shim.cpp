// An LD_PRELOAD library for end-to-end tests of a disk that fails: while the file named
// by WFE_TEST_EIO_TRIGGER exists, write() to a RocksDB write-ahead log (a *.log file)
// under the directory WFE_TEST_EIO_DIR fails with EIO — the way a failing disk answers
// the journal's WAL append — under the real binary (tests/e2e/workflow_durability.test.cpp).
// Every other write goes through untouched.

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using write_fn = ssize_t (*)(int, const void*, size_t);

bool fails(int fd) {
  const char* trigger = std::getenv("WFE_TEST_EIO_TRIGGER");
  const char* dir = std::getenv("WFE_TEST_EIO_DIR");
  if (trigger == nullptr || dir == nullptr || ::access(trigger, F_OK) != 0) return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char path[PATH_MAX];
  const auto n = ::readlink(link, path, sizeof path - 1);
  if (n <= 4) return false;
  path[n] = '\0';
  return std::strncmp(path, dir, std::strlen(dir)) == 0 && std::strcmp(path + n - 4, ".log") == 0;
}

}  // namespace

extern "C" ssize_t write(int fd, const void* buf, size_t count) {
  static const auto real = reinterpret_cast<write_fn>(::dlsym(RTLD_NEXT, "write"));
  if (fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, buf, count);
}
