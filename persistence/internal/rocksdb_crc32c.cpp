// RocksDB's CRC32C, computed by ours (internal/crc32c.hpp: the SSE4.2 instruction).
//
// Every WAL record RocksDB writes or reads, and every table block it checksums with
// CRC32C, goes through `rocksdb::crc32c::Extend`. Debian builds RocksDB for any x86-64,
// without SSE4.2, so that function is its portable `Slow_CRC32`: ~3k of the ~95k
// instructions a workflow start costs (its ~1.5 KB of WAL), all on the journal's
// thread. RocksDB is linked statically (librocksdb.a), so the link replaces the
// function without rebuilding the library: persistence/CMakeLists.txt links every
// consumer of wfe_persistence with `--wrap=<Extend's symbol>`, which sends the calls
// from RocksDB's other objects (log_writer, log_reader, the table builder and reader,
// ...) to `__wrap_<symbol>` below, and `-u __wrap_<symbol>` so this object is always
// in the link. Same function, same values (rocksdb_crc32c.test.cpp compares it with
// RocksDB's own on every length, alignment and seed), so stores written before and
// after read the same.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "persistence/internal/crc32c.hpp"

// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): the linker's name
extern "C" std::uint32_t __wrap__ZN7rocksdb6crc32c6ExtendEjPKcm(std::uint32_t crc, const char* data,
                                                                std::size_t n) {
  return wfe::persistence::internal::crc32c_extend(crc, std::string_view(data, n));
}
