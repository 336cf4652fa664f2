#include "persistence/internal/crc32c.hpp"

#include <doctest/doctest.h>

#include <string>

using wfe::persistence::internal::crc32c;
using wfe::persistence::internal::crc32c_hardware;
using wfe::persistence::internal::crc32c_hardware_available;
using wfe::persistence::internal::crc32c_portable;

TEST_CASE("crc32c matches the published check values") {
  CHECK(crc32c("") == 0x00000000u);
  CHECK(crc32c("123456789") == 0xE3069283u);            // the standard CRC-32C check value
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);  // RFC 3720 B.4
  CHECK(crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
}

TEST_CASE("crc32c gives the same value whatever the length split between the fast and slow paths") {
  std::string data;
  for (int i = 0; i < 100; ++i) data.push_back(static_cast<char>(i * 37));
  // Reference: byte-at-a-time over a prefix, compared with the sliced version.
  for (std::size_t n = 0; n <= data.size(); ++n) {
    std::uint32_t c = 0xFFFFFFFF;
    for (std::size_t i = 0; i < n; ++i) {
      c ^= static_cast<unsigned char>(data[i]);
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    CHECK(crc32c(std::string_view(data).substr(0, n)) == (c ^ 0xFFFFFFFF));
  }
}

TEST_CASE("crc32c changes when a single bit flips") {
  std::string data(256, 'x');
  const auto before = crc32c(data);
  data[100] ^= 0x04;
  CHECK(crc32c(data) != before);
}

TEST_CASE("the hardware and the table CRC32C agree on every length and alignment") {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>((i * 131) ^ (i >> 3)));
  CHECK(crc32c_portable("123456789") == 0xE3069283u);
  if (!crc32c_hardware_available()) {
    MESSAGE("no SSE4.2 on this CPU: crc32c uses the table version only");
    return;
  }
  CHECK(crc32c_hardware("123456789") == 0xE3069283u);
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t n = 0; offset + n <= data.size(); n += 7) {
      const auto part = std::string_view(data).substr(offset, n);
      REQUIRE(crc32c_hardware(part) == crc32c_portable(part));
    }
  }
}
