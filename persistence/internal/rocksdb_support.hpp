#pragma once
// Helpers of rocksdb_journal: the one adapter from rocksdb::Status to our errors,
// envelope and metadata encoding with their checks.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <memory>

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
struct ColumnFamilyDescriptor;
class Logger;
struct DBOptions;
struct WriteOptions;
}  // namespace rocksdb

#include "persistence/journal.hpp"

namespace wfe::core {
class health;
}

namespace wfe::persistence::internal {

// Corruption -> errc::corruption, everything else -> errc::io_error (a full disk
// reads "IO error: No space left on device"). `context` says what was being done.
[[nodiscard]] error from_status(const rocksdb::Status& s, const std::string& context);

// Whether `resumed`, what DB::Resume() answered after a failed write, says RocksDB will
// not write again while this process has the store open: a fatal or unrecoverable
// background error, such as damaged data (not a full disk, a hard error it resumes from,
// nor Busy, its own recovery under way). core::health reports the store down then.
[[nodiscard]] bool refuses_to_resume(const rocksdb::Status& resumed);

// Tells `health` (may be null) what DB::Resume() answered for the store `what` (e.g.
// "journal /data/journal"): `component` up when it resumed, down when RocksDB refuses to
// ("<what> is read-only after a failed write; resume failed: <status>; restart the
// node"), nothing else (Busy, or an error it may yet resume from).
void report_resume(const rocksdb::Status& resumed, core::health* health, std::string_view component,
                   const std::string& what);

// True when RocksDB could not take the directory's LOCK file: another process (a
// running node) has the store open.
[[nodiscard]] bool is_lock_error(const rocksdb::Status& s);

// DB::Open of the store in `dir` with `families` into `db` and `handles`. When that
// fails, not for the lock, and `roll_back` is on, an incomplete live copy is rolled back
// (copy_rollback.hpp; logged as `store`) and opened once more; a refusal's report goes
// to `note` ("; not rolled back: ..."), for the caller's error message.
[[nodiscard]] rocksdb::Status open_rolling_back_copies(
    const rocksdb::DBOptions& options, const std::filesystem::path& dir,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
    std::vector<rocksdb::ColumnFamilyHandle*>& handles, std::unique_ptr<rocksdb::DB>& db,
    bool roll_back, std::string_view store, std::string& note);

// Bytes held by the memtables of every column family of `db` (active, immutable and
// pinned): bounded by write_buffer_size, not by the data. Thread-safe.
[[nodiscard]] std::uint64_t memtable_bytes(rocksdb::DB& db);

// The store's format version, under the key "format-version" of its default family:
// written when absent (a new store); `current` is accepted, a version in `upgradable`
// (one this build reads, whose data stays as it is) is replaced by `current` — from then
// on an older build refuses the store instead of misreading what this one writes;
// another value is errc::corruption, "<what> <dir> has format version 'V', this build
// reads '<current>'".
[[nodiscard]] result<done> check_format_version(
    rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
    const rocksdb::WriteOptions& write_options, std::string_view what,
    const std::filesystem::path& dir, std::string_view current = "1",
    const std::vector<std::string_view>& upgradable = {});

struct metadata {
  std::uint64_t highest = 0;
  std::uint64_t deleted_to = 0;
};

[[nodiscard]] std::string encode_metadata(const metadata& m);
[[nodiscard]] result<metadata> decode_metadata(std::string_view bytes, const persistence_id& pid);

// Serializes `e` with the CRC32C of its payload: a proto::JournalEnvelope, written
// directly in protobuf's wire format (byte for byte what SerializeAsString writes,
// without copying the payload into a message first). The second form reuses `out`.
[[nodiscard]] std::string encode_envelope(const event& e);
void encode_envelope(const event& e, std::string& out);
// The same envelope in three parts, `head` + e.payload + `tail`, so a writer can hand
// the payload to RocksDB (SliceParts) without copying it into the envelope first.
void encode_envelope_parts(const event& e, std::string& head, std::string& tail);

// Parses and checks an envelope stored under (pid, sequence_nr): parse errors, a
// CRC mismatch, or a sequence number differing from the key are errc::corruption.
[[nodiscard]] result<event> decode_envelope(std::string_view bytes, const persistence_id& pid,
                                            std::uint64_t sequence_nr);

// The value of an event key holds the events of one write of one id (journal format 2;
// the key carries the sequence nr of the write's last event):
//   one event      its envelope, as in format 1 (a key per event);
//   n > 1 events   a pack: 0x00 (no envelope starts with it: a protobuf tag of field 0
//                  is invalid), varint n, then per event varint length + envelope.
// encode_value_parts writes `events` (contiguous sequence nrs, at least one) as parts
// for a SliceParts: views into `scratch` (overwritten) and into the events' payloads,
// which must outlive the parts; `parts` is cleared first.
void encode_value_parts(const std::vector<event>& events, std::string& scratch,
                        std::vector<rocksdb::Slice>& parts);
// The same value in one string (rocksdb_journal::prepare, tests and tools).
[[nodiscard]] std::string encode_value(const std::vector<event>& events);

// The envelopes of a stored value, split without parsing them: `first_sequence_nr()` =
// the key's sequence nr - count + 1; `next()` yields each envelope's bytes in order.
// A malformed pack (a bad count or length, bytes left over) is errc::corruption naming
// the id and the key's sequence nr, from `open`.
class value_reader {
 public:
  [[nodiscard]] static result<value_reader> open(std::string_view bytes, const persistence_id& pid,
                                                 std::uint64_t last_sequence_nr);
  [[nodiscard]] std::uint64_t first_sequence_nr() const { return last_ - count_ + 1; }
  [[nodiscard]] std::uint64_t last_sequence_nr() const { return last_; }
  // The next envelope; false after the last.
  bool next(std::string_view& envelope);

 private:
  std::string_view rest_;
  std::uint64_t last_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t read_ = 0;
  bool pack_ = false;
};

// RocksDB's info log, sent to the node's log (spdlog logger "rocksdb") instead of a
// LOG file in the store's directory. On a full disk RocksDB's own file logger fails its
// append and its next message aborts the process (an assertion in the distribution's
// librocksdb: WritableFileWriter "sync_without_flush_called_") — a node must answer
// 503 then, not die. It also stops LOG.old.* files piling up in the data directories.
// RocksDB's INFO/DEBUG/HEADER lines (flushes, compactions, the options at open) log at
// debug; WARN at warn; ERROR and FATAL at error. `store` names the store in each line.
[[nodiscard]] std::shared_ptr<rocksdb::Logger> make_info_logger(std::string store);

// Bounds the dirty data a store's background writes (memtable flushes, compactions) leave
// for the kernel: every `bytes_per_sync` bytes written to a table file are handed to
// writeback, waiting for the previous range (RocksDB's strict_bytes_per_sync). Without it
// a flush fsyncs tens of MB at its end, and every WAL fdatasync of the node's stores
// queues behind that on the same disk: stalls of 50–300 ms under load on this kind of
// VM (bench/README.md, "Fifteenth pass"). 0 = RocksDB's default (off).
void bound_writeback(rocksdb::DBOptions& o, std::uint64_t bytes_per_sync);

}  // namespace wfe::persistence::internal
