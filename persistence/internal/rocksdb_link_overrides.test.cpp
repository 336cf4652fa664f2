#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "persistence/internal/crc32c.hpp"

// RocksDB does not install util/crc32c.h; these are the functions' declarations there.
namespace rocksdb::crc32c {
std::uint32_t Extend(std::uint32_t init_crc, const char* data, std::size_t n);
std::uint32_t Crc32cCombine(std::uint32_t crc1, std::uint32_t crc2, std::size_t crc2len);
}  // namespace rocksdb::crc32c

// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): the linker's names
extern "C" {
std::uint32_t __wrap__ZN7rocksdb6crc32c6ExtendEjPKcm(std::uint32_t, const char*, std::size_t);
std::uint32_t __real__ZN7rocksdb6crc32c6ExtendEjPKcm(std::uint32_t, const char*, std::size_t);
std::uint32_t __wrap__ZN7rocksdb6crc32c13Crc32cCombineEjjm(std::uint32_t, std::uint32_t,
                                                           std::size_t);
std::uint32_t __real__ZN7rocksdb6crc32c13Crc32cCombineEjjm(std::uint32_t, std::uint32_t,
                                                           std::size_t);
// rocksdb::SyncPoint::Process by its symbol (the class is not installed either).
void _ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv(void*, const void*, void*);
void __wrap__ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv(void*, const void*, void*);
void __real__ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv(void*, const void*, void*);
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

namespace {

std::uint32_t rocksdb_own_extend(std::uint32_t crc, std::string_view d) {
  return __real__ZN7rocksdb6crc32c6ExtendEjPKcm(crc, d.data(), d.size());
}
std::uint32_t linked_extend(std::uint32_t crc, std::string_view d) {
  return rocksdb::crc32c::Extend(crc, d.data(), d.size());
}

const void* address(auto* f) { return reinterpret_cast<const void*>(f); }

}  // namespace

TEST_CASE("RocksDB's CRC32C functions and sync points are ours in the link") {
  // Without the link options (persistence/CMakeLists.txt) each name is RocksDB's own.
  CHECK(address(&rocksdb::crc32c::Extend) == address(&__wrap__ZN7rocksdb6crc32c6ExtendEjPKcm));
  CHECK(address(&rocksdb::crc32c::Extend) != address(&__real__ZN7rocksdb6crc32c6ExtendEjPKcm));
  CHECK(address(&rocksdb::crc32c::Crc32cCombine) ==
        address(&__wrap__ZN7rocksdb6crc32c13Crc32cCombineEjjm));
  CHECK(address(&rocksdb::crc32c::Crc32cCombine) !=
        address(&__real__ZN7rocksdb6crc32c13Crc32cCombineEjjm));
  CHECK(address(&_ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv) ==
        address(&__wrap__ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv));
  CHECK(address(&_ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv) !=
        address(&__real__ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv));
  CHECK(linked_extend(0, "123456789") == 0xE3069283u);
}

TEST_CASE("the replaced Extend gives RocksDB's values for every length, alignment and seed") {
  std::string data;
  for (int i = 0; i < 600; ++i) data.push_back(static_cast<char>((i * 151) ^ (i >> 2)));
  const std::uint32_t seeds[] = {0, 1, 0xE3069283u, 0xFFFFFFFFu, 0x8A9136AAu};
  for (const auto seed : seeds) {
    for (std::size_t offset = 0; offset < 8; ++offset) {
      for (std::size_t n = 0; offset + n <= data.size(); n += (n < 40 ? 1 : 13)) {
        const auto part = std::string_view(data).substr(offset, n);
        REQUIRE(linked_extend(seed, part) == rocksdb_own_extend(seed, part));
      }
    }
  }
  // Extending in pieces is the CRC of the whole (how RocksDB uses it).
  const std::string_view all(data);
  CHECK(linked_extend(linked_extend(0, all.substr(0, 123)), all.substr(123)) ==
        rocksdb_own_extend(0, all));
  CHECK(wfe::persistence::internal::crc32c(all) == rocksdb_own_extend(0, all));
}

TEST_CASE("the replaced Crc32cCombine gives RocksDB's values, and the CRC of both parts") {
  std::mt19937_64 rng(20261207);
  std::string data(5000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const std::string_view all(data);
  // Real parts: combine(CRC(A), CRC(B), |B|) is CRC(A||B), like RocksDB's own.
  for (std::size_t cut = 0; cut <= all.size(); cut += (cut < 70 ? 1 : 397)) {
    const auto a = rocksdb_own_extend(0, all.substr(0, cut));
    const auto b = rocksdb_own_extend(0, all.substr(cut));
    const auto n = all.size() - cut;
    REQUIRE(rocksdb::crc32c::Crc32cCombine(a, b, n) == rocksdb_own_extend(0, all));
    REQUIRE(rocksdb::crc32c::Crc32cCombine(a, b, n) ==
            __real__ZN7rocksdb6crc32c13Crc32cCombineEjjm(a, b, n));
  }
  // Any values and lengths, up to 2^40 (each bit of the length a different power).
  for (int i = 0; i < 2000; ++i) {
    const auto c1 = static_cast<std::uint32_t>(rng());
    const auto c2 = static_cast<std::uint32_t>(rng());
    const std::size_t n =
        i < 64 ? static_cast<std::size_t>(i) : static_cast<std::size_t>(rng() >> (24 + rng() % 40));
    REQUIRE(rocksdb::crc32c::Crc32cCombine(c1, c2, n) ==
            __real__ZN7rocksdb6crc32c13Crc32cCombineEjjm(c1, c2, n));
  }
}

TEST_CASE("the table CRC32C extends like RocksDB's") {
  std::string data(300, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  for (std::size_t n = 0; n <= data.size(); n += 11) {
    const auto part = std::string_view(data).substr(0, n);
    REQUIRE(wfe::persistence::internal::crc32c_portable(part, 0x12345678u) ==
            rocksdb_own_extend(0x12345678u, part));
    if (wfe::persistence::internal::crc32c_hardware_available())
      REQUIRE(wfe::persistence::internal::crc32c_hardware(part, 0x12345678u) ==
              rocksdb_own_extend(0x12345678u, part));
  }
}
