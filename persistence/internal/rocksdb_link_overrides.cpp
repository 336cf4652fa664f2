// Functions of librocksdb.a replaced at link time.
//
// Debian builds RocksDB for any x86-64 and without NDEBUG, and the library is linked
// statically, so a few of its hot functions are slower than they need to be: its CRC32C
// is the portable `Slow_CRC32`, and its test hooks (`TEST_SYNC_POINT`) run on every
// write. persistence/CMakeLists.txt links every consumer of wfe_persistence with
// `--wrap=<symbol>` for each function below, which sends the calls from RocksDB's other
// objects (log_writer, log_reader, db_impl_write, the table builder and reader, ...) to
// `__wrap_<symbol>` here, and `-u __wrap_<symbol>` so this object is always in the link.
// The library is not rebuilt; RocksDB's own function stays reachable as `__real_<symbol>`.
// rocksdb_link_overrides.test.cpp checks that each name is ours in the link and, for the
// CRC32C functions, that they give RocksDB's values (stores written before and after
// read the same).
//
// Per workflow start (bench/start_instructions.sh): the WAL's CRC32C ~3k instructions,
// the CRC combination of each WAL record ~3k per record, the sync points ~0.7k.

#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "persistence/internal/crc32c.hpp"

// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): the linker's names

extern "C" std::uint32_t __real__ZN7rocksdb6crc32c13Crc32cCombineEjjm(std::uint32_t, std::uint32_t,
                                                                      std::size_t);

// rocksdb::crc32c::Extend(crc, data, n): the CRC32C of the bytes whose CRC32C is `crc`
// followed by data[0, n). Every WAL record, written and read, and every table block
// checksummed with CRC32C.
extern "C" std::uint32_t __wrap__ZN7rocksdb6crc32c6ExtendEjPKcm(std::uint32_t crc, const char* data,
                                                                std::size_t n) {
  return wfe::persistence::internal::crc32c_extend(crc, std::string_view(data, n));
}

namespace {

#if defined(__x86_64__)

// CRC32C values are polynomials over GF(2) in reflected bit order (bit 31 is x^0).
// a * b mod P: the carry-less product (63 bits, one short of the 64-bit reflected
// layout, hence the shift), whose high-degree half (the low 32 bits) times x^32 is what
// the crc32 instruction computes from a zero state.
__attribute__((target("sse4.2,pclmul"))) std::uint32_t multiply_mod_p(std::uint32_t a,
                                                                      std::uint32_t b) {
  const __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(a)),
                                               _mm_cvtsi32_si128(static_cast<int>(b)), 0);
  const auto r = static_cast<std::uint64_t>(_mm_cvtsi128_si64(product)) << 1;
  return _mm_crc32_u32(0, static_cast<std::uint32_t>(r)) ^ static_cast<std::uint32_t>(r >> 32);
}

// x^(8 * 2^k) mod P for every bit k of a length in bytes.
struct byte_shift_powers {
  std::uint32_t power[64] = {};
  __attribute__((target("sse4.2,pclmul"))) byte_shift_powers() {
    power[0] = _mm_crc32_u8(0x80000000U, 0);  // x^0 (= 1) through one zero byte: x^8
    for (int k = 1; k < 64; ++k) power[k] = multiply_mod_p(power[k - 1], power[k - 1]);
  }
};

bool combine_in_hardware() {
  static const bool yes = [] {
    __builtin_cpu_init();  // in case RocksDB combines before main()
    return __builtin_cpu_supports("sse4.2") != 0 && __builtin_cpu_supports("pclmul") != 0;
  }();
  return yes;
}

#endif

}  // namespace

// rocksdb::crc32c::Crc32cCombine(crc1, crc2, n2): the CRC32C of A followed by B from
// crc1 = CRC32C(A), crc2 = CRC32C(B) and n2 = |B| — RocksDB's WAL writer computes each
// record's payload CRC apart and combines it with the record type's. The CRC of A||B is
// crc1 * x^(8 n2) + crc2 (the pre- and post-inversions cancel); RocksDB multiplies bit by
// bit (~400 instructions per set bit of n2/4), this with one carry-less multiply per set
// bit of n2.
extern "C" std::uint32_t __wrap__ZN7rocksdb6crc32c13Crc32cCombineEjjm(std::uint32_t crc1,
                                                                      std::uint32_t crc2,
                                                                      std::size_t n2) {
#if defined(__x86_64__)
  if (combine_in_hardware()) {
    static const byte_shift_powers table;
    std::uint32_t shifted = crc1;
    for (int k = 0; n2 != 0; ++k, n2 >>= 1) {
      if ((n2 & 1U) != 0) shifted = multiply_mod_p(shifted, table.power[k]);
    }
    return shifted ^ crc2;
  }
#endif
  return __real__ZN7rocksdb6crc32c13Crc32cCombineEjjm(crc1, crc2, n2);
}

// rocksdb::SyncPoint::Process(point, arg): RocksDB's test hook, called at ~25 places per
// workflow start's writes (TEST_SYNC_POINT, compiled in without NDEBUG); nothing here
// ever enables processing, so it does nothing, as in RocksDB's release builds.
extern "C" void __wrap__ZN7rocksdb9SyncPoint7ProcessERKNS_5SliceEPv(void* /*self*/,
                                                                    const void* /*point*/,
                                                                    void* /*arg*/) {}

// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)
