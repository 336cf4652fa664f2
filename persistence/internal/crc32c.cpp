#include "persistence/internal/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace wfe::persistence::internal {
namespace {

constexpr std::uint32_t k_polynomial = 0x82F63B78;  // reflected Castagnoli

using table = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table make_table() {
  table t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ k_polynomial : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}

constexpr table k_table = make_table();

}  // namespace

std::uint32_t crc32c_portable(std::string_view data, std::uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  std::uint32_t c = crc ^ 0xFFFFFFFF;
  while (n >= 8) {
    // Bytes combined explicitly (not a word load): endian- and alignment-independent.
    const std::uint32_t lo = c ^ (p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t{p[3]} << 24));
    c = k_table[7][lo & 0xFF] ^ k_table[6][(lo >> 8) & 0xFF] ^ k_table[5][(lo >> 16) & 0xFF] ^
        k_table[4][lo >> 24] ^ k_table[3][p[4]] ^ k_table[2][p[5]] ^ k_table[1][p[6]] ^
        k_table[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ k_table[0][(c ^ *p++) & 0xFF];
  return c ^ 0xFFFFFFFF;
}

#if defined(__x86_64__)

__attribute__((target("sse4.2"))) std::uint32_t crc32c_hardware(std::string_view data,
                                                                std::uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  std::uint64_t c = crc ^ 0xFFFFFFFF;
  while (n >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);  // little-endian, as the instruction expects
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32 ^ 0xFFFFFFFF;
}

bool crc32c_hardware_available() {
  // RocksDB may checksum before main(): make sure GCC's CPU detection ran.
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}

#else

std::uint32_t crc32c_hardware(std::string_view data, std::uint32_t crc) {
  return crc32c_portable(data, crc);
}
bool crc32c_hardware_available() { return false; }

#endif

std::uint32_t crc32c_extend(std::uint32_t crc, std::string_view data) {
  static const auto impl = crc32c_hardware_available() ? &crc32c_hardware : &crc32c_portable;
  return impl(data, crc);
}

std::uint32_t crc32c(std::string_view data) { return crc32c_extend(0, data); }

}  // namespace wfe::persistence::internal
