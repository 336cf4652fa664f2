#include "persistence/internal/rocksdb_support.hpp"

#include <rocksdb/db.h>

#include "persistence/internal/crc32c.hpp"
#include "proto/journal.pb.h"

namespace wfe::persistence::internal {

error from_status(const rocksdb::Status& s, const std::string& context) {
  const auto code = s.IsCorruption() ? errc::corruption : errc::io_error;
  return error{code, context + ": " + s.ToString()};
}

bool is_lock_error(const rocksdb::Status& s) {
  // RocksDB has no distinct code: "IO error: While lock file: <dir>/LOCK: Resource
  // temporarily unavailable" (or "lock hold by current process" within one process).
  return s.IsIOError() && s.ToString().find("lock") != std::string::npos;
}

std::uint64_t memtable_bytes(rocksdb::DB& db) {
  std::uint64_t n = 0;
  if (!db.GetAggregatedIntProperty(rocksdb::DB::Properties::kSizeAllMemTables, &n)) return 0;
  return n;
}

std::string encode_metadata(const metadata& m) {
  proto::JournalMetadata msg;
  msg.set_highest_sequence_nr(m.highest);
  msg.set_deleted_to(m.deleted_to);
  return msg.SerializeAsString();
}

result<metadata> decode_metadata(std::string_view bytes, const persistence_id& pid) {
  proto::JournalMetadata msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return fail(errc::corruption, "unparsable metadata of " + pid.describe());
  }
  if (msg.deleted_to() > msg.highest_sequence_nr()) {
    return fail(errc::corruption, "metadata of " + pid.describe() + " has deleted_to " +
                                      std::to_string(msg.deleted_to()) + " above highest " +
                                      std::to_string(msg.highest_sequence_nr()));
  }
  return metadata{msg.highest_sequence_nr(), msg.deleted_to()};
}

std::string encode_envelope(const event& e) {
  proto::JournalEnvelope msg;
  msg.set_writer_id(e.writer_id);
  msg.set_timestamp_ms(e.timestamp_ms);
  msg.set_manifest(e.manifest);
  msg.set_payload(e.payload);
  msg.set_payload_crc32c(crc32c(e.payload));
  msg.set_sequence_nr(e.sequence_nr);
  return msg.SerializeAsString();
}

result<event> decode_envelope(std::string_view bytes, const persistence_id& pid,
                              std::uint64_t sequence_nr) {
  const auto where = pid.describe() + " sequence nr " + std::to_string(sequence_nr);
  proto::JournalEnvelope msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return fail(errc::corruption, "unparsable envelope of " + where);
  }
  if (const auto crc = crc32c(msg.payload()); crc != msg.payload_crc32c()) {
    return fail(errc::corruption, "payload CRC32C mismatch in " + where + " (stored " +
                                      std::to_string(msg.payload_crc32c()) + ", computed " +
                                      std::to_string(crc) + ")");
  }
  if (msg.sequence_nr() != sequence_nr) {
    return fail(errc::corruption, "envelope under " + where + " carries sequence nr " +
                                      std::to_string(msg.sequence_nr()));
  }
  event e;
  e.sequence_nr = sequence_nr;
  e.manifest = std::move(*msg.mutable_manifest());
  e.payload = std::move(*msg.mutable_payload());
  e.writer_id = std::move(*msg.mutable_writer_id());
  e.timestamp_ms = msg.timestamp_ms();
  return e;
}

}  // namespace wfe::persistence::internal
