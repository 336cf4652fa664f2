// The file system that keeps deleted files for a while (live copies of a store).
#include "persistence/internal/deferred_delete_fs.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.hpp"

using namespace wfe::persistence::internal;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

struct fixture {
  wfe::test::temp_dir dir;
  clock_type::time_point now = clock_type::now();

  deferred_delete_fs make(std::chrono::milliseconds keep_for, std::uint64_t max_bytes) {
    return deferred_delete_fs(rocksdb::FileSystem::Default(), {.store = "test",
                                                               .keep_for = keep_for,
                                                               .max_bytes = max_bytes,
                                                               .now = [this] { return now; }});
  }
  std::string file(const std::string& name, std::size_t bytes) {
    auto p = dir.path() / name;
    std::ofstream(p) << std::string(bytes, 'x');
    return p.string();
  }
  static rocksdb::IOStatus del(deferred_delete_fs& f, const std::string& name) {
    return f.DeleteFile(name, rocksdb::IOOptions{}, nullptr);
  }
};

}  // namespace

TEST_CASE_FIXTURE(fixture, "deleted files stay until keep-for has passed, then go") {
  auto f = make(std::chrono::seconds(60), 1 << 20);
  const auto a = file("000004.log", 100);
  const auto b = file("000007.sst", 50);
  CHECK(del(f, a).ok());
  now += std::chrono::seconds(30);
  CHECK(del(f, b).ok());
  CHECK(fs::exists(a));
  CHECK(fs::exists(b));
  CHECK(f.stats().files == 2);
  CHECK(f.stats().bytes == 150);
  // The next deletion, 31 s later, finds the first one expired.
  now += std::chrono::seconds(31);
  const auto c = file("MANIFEST-000009", 10);
  CHECK(del(f, c).ok());
  CHECK_FALSE(fs::exists(a));
  CHECK(fs::exists(b));
  CHECK(fs::exists(c));
  CHECK(f.stats().files == 2);
  CHECK(f.stats().bytes == 60);
  CHECK(f.stats().deleted_early == 0);
}

TEST_CASE_FIXTURE(fixture, "beyond max-bytes the oldest kept files go at once") {
  auto f = make(std::chrono::minutes(15), 250);
  const auto a = file("000004.log", 100);
  const auto b = file("000005.log", 100);
  const auto c = file("000006.log", 100);
  CHECK(del(f, a).ok());
  CHECK(del(f, b).ok());
  CHECK(fs::exists(a));
  CHECK(del(f, c).ok());  // 300 > 250: the oldest goes
  CHECK_FALSE(fs::exists(a));
  CHECK(fs::exists(b));
  CHECK(fs::exists(c));
  CHECK(f.stats().bytes == 200);
  CHECK(f.stats().deleted_early == 1);
}

TEST_CASE_FIXTURE(fixture,
                  "release_all deletes every kept file, keep-for 0 and temp files are not kept") {
  auto f = make(std::chrono::minutes(15), 1 << 20);
  const auto a = file("000004.log", 10);
  const auto tmp = file("000010.dbtmp", 10);
  CHECK(del(f, a).ok());
  CHECK(del(f, tmp).ok());
  CHECK_FALSE(fs::exists(tmp));
  CHECK(fs::exists(a));
  f.release_all();
  CHECK_FALSE(fs::exists(a));
  CHECK(f.stats().files == 0);
  CHECK(f.stats().deleted_early == 1);

  auto off = make(std::chrono::milliseconds(0), 1 << 20);
  const auto b = file("000005.log", 10);
  CHECK(del(off, b).ok());
  CHECK_FALSE(fs::exists(b));
}

TEST_CASE_FIXTURE(
    fixture, "a missing file gets the file system's own answer, a second delete is kept once") {
  auto f = make(std::chrono::minutes(15), 1 << 20);
  CHECK_FALSE(del(f, (dir.path() / "000099.log").string()).ok());
  CHECK(f.stats().files == 0);
  const auto a = file("000004.log", 10);
  CHECK(del(f, a).ok());
  CHECK(del(f, a).ok());  // an open's scan deletes it again
  CHECK(f.stats().files == 1);
  CHECK(f.stats().bytes == 10);
}

TEST_CASE_FIXTURE(fixture, "only files named by a file number are kept") {
  auto f = make(std::chrono::minutes(15), 1 << 20);
  for (const char* name : {"000004.log", "000012.sst", "000013.ldb", "000014.blob",
                           "MANIFEST-000005", "OPTIONS-000009"}) {
    const auto p = file(name, 10);
    CHECK(del(f, p).ok());
    CHECK_MESSAGE(fs::exists(p), name);
  }
  // Names RocksDB may write again after deleting them, and anything unknown.
  for (const char* name : {"IDENTITY", "CURRENT", "000010.dbtmp", "LOG", "LOG.old.1", "MANIFEST-",
                           "OPTIONS-x1", "12a.log", ".log", "000004.log.bak"}) {
    const auto p = file(name, 10);
    CHECK(del(f, p).ok());
    CHECK_MESSAGE(!fs::exists(p), name);
  }
  CHECK(f.stats().files == 6);
}
