#pragma once
// CRC32C (Castagnoli), the checksum of journal envelope payloads. RocksDB has one
// but does not install its header (and Debian's build uses its portable table
// version), so this is our own: the SSE4.2 `crc32` instruction where the CPU has it
// (chosen once at start-up), else a table-driven version (slicing-by-8). Five
// events per workflow start: the table version cost ~2k instructions per start.
// RocksDB's own CRC32C (its WAL records and table blocks) is routed here too:
// internal/rocksdb_link_overrides.cpp.

#include <cstdint>
#include <string_view>

namespace wfe::persistence::internal {

[[nodiscard]] std::uint32_t crc32c(std::string_view data);
// The CRC32C of the bytes whose CRC32C is `crc` followed by `data` (crc32c_extend(0, d)
// == crc32c(d)): RocksDB's crc32c::Extend.
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc, std::string_view data);

// The two implementations behind crc32c (tests compare them); crc32c_hardware is
// only callable when crc32c_hardware_available().
[[nodiscard]] std::uint32_t crc32c_portable(std::string_view data, std::uint32_t crc = 0);
[[nodiscard]] std::uint32_t crc32c_hardware(std::string_view data, std::uint32_t crc = 0);
[[nodiscard]] bool crc32c_hardware_available();

}  // namespace wfe::persistence::internal
