#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "persistence/internal/crc32c.hpp"

// RocksDB does not install util/crc32c.h; this is the function's declaration there.
namespace rocksdb::crc32c {
std::uint32_t Extend(std::uint32_t init_crc, const char* data, std::size_t n);
}

// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): the linker's names
extern "C" std::uint32_t __wrap__ZN7rocksdb6crc32c6ExtendEjPKcm(std::uint32_t, const char*,
                                                                std::size_t);
// RocksDB's own function, still reachable under this name with --wrap.
extern "C" std::uint32_t __real__ZN7rocksdb6crc32c6ExtendEjPKcm(std::uint32_t, const char*,
                                                                std::size_t);
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

namespace {

std::uint32_t rocksdb_own(std::uint32_t crc, std::string_view d) {
  return __real__ZN7rocksdb6crc32c6ExtendEjPKcm(crc, d.data(), d.size());
}
std::uint32_t rocksdb_linked(std::uint32_t crc, std::string_view d) {
  return rocksdb::crc32c::Extend(crc, d.data(), d.size());
}

}  // namespace

TEST_CASE("RocksDB's crc32c::Extend is ours in the link") {
  // Without the link options (persistence/CMakeLists.txt) the name is RocksDB's own.
  CHECK(reinterpret_cast<const void*>(&rocksdb::crc32c::Extend) ==
        reinterpret_cast<const void*>(&__wrap__ZN7rocksdb6crc32c6ExtendEjPKcm));
  CHECK(reinterpret_cast<const void*>(&rocksdb::crc32c::Extend) !=
        reinterpret_cast<const void*>(&__real__ZN7rocksdb6crc32c6ExtendEjPKcm));
  CHECK(rocksdb_linked(0, "123456789") == 0xE3069283u);
}

TEST_CASE("the replacement gives RocksDB's values for every length, alignment and seed") {
  std::string data;
  for (int i = 0; i < 600; ++i) data.push_back(static_cast<char>((i * 151) ^ (i >> 2)));
  const std::uint32_t seeds[] = {0, 1, 0xE3069283u, 0xFFFFFFFFu, 0x8A9136AAu};
  for (const auto seed : seeds) {
    for (std::size_t offset = 0; offset < 8; ++offset) {
      for (std::size_t n = 0; offset + n <= data.size(); n += (n < 40 ? 1 : 13)) {
        const auto part = std::string_view(data).substr(offset, n);
        REQUIRE(rocksdb_linked(seed, part) == rocksdb_own(seed, part));
      }
    }
  }
  // Extending in pieces is the CRC of the whole (how RocksDB uses it).
  const std::string_view all(data);
  CHECK(rocksdb_linked(rocksdb_linked(0, all.substr(0, 123)), all.substr(123)) ==
        rocksdb_own(0, all));
  CHECK(wfe::persistence::internal::crc32c(all) == rocksdb_own(0, all));
}

TEST_CASE("the table CRC32C extends like the hardware one") {
  std::string data(300, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  for (std::size_t n = 0; n <= data.size(); n += 11) {
    const auto part = std::string_view(data).substr(0, n);
    REQUIRE(wfe::persistence::internal::crc32c_portable(part, 0x12345678u) ==
            rocksdb_own(0x12345678u, part));
    if (wfe::persistence::internal::crc32c_hardware_available())
      REQUIRE(wfe::persistence::internal::crc32c_hardware(part, 0x12345678u) ==
              rocksdb_own(0x12345678u, part));
  }
}
