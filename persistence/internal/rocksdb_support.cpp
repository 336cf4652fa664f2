#include "persistence/internal/rocksdb_support.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include "engine/core/health.hpp"
#include "engine/core/logging.hpp"
#include "persistence/internal/copy_rollback.hpp"
#include "persistence/internal/crc32c.hpp"
#include "proto/journal.pb.h"

namespace wfe::persistence::internal {

error from_status(const rocksdb::Status& s, const std::string& context) {
  const auto code = s.IsCorruption() ? errc::corruption : errc::io_error;
  return error{code, context + ": " + s.ToString()};
}

bool refuses_to_resume(const rocksdb::Status& resumed) {
  if (resumed.ok() || resumed.IsBusy()) return false;
  return resumed.IsCorruption() || resumed.severity() >= rocksdb::Status::Severity::kFatalError;
}

void report_resume(const rocksdb::Status& resumed, core::health* health, std::string_view component,
                   const std::string& what) {
  if (health == nullptr) return;
  if (resumed.ok()) {
    health->set_up(component);
  } else if (refuses_to_resume(resumed)) {
    health->set_down(component, what + " is read-only after a failed write; resume failed: " +
                                    resumed.ToString() + "; restart the node");
  }
}

result<done> check_format_version(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
                                  const rocksdb::WriteOptions& write_options, std::string_view what,
                                  const std::filesystem::path& dir, std::string_view current,
                                  const std::vector<std::string_view>& upgradable) {
  static constexpr std::string_view k_key = "format-version";
  std::string value;
  auto s = db.Get(rocksdb::ReadOptions{}, family, k_key, &value);
  if (s.IsNotFound()) {
    s = db.Put(write_options, family, k_key, current);
  } else if (s.ok() && value != current) {
    if (std::find(upgradable.begin(), upgradable.end(), value) == upgradable.end()) {
      return fail(errc::corruption, std::string(what) + " " + dir.string() +
                                        " has format version '" + value + "', this build reads '" +
                                        std::string(current) + "'");
    }
    s = db.Put(write_options, family, k_key, current);
    if (s.ok()) {
      core::logger("persistence")
          ->info("{} {}: format version {} upgraded to {} (older builds refuse it from now on)",
                 what, dir.string(), value, current);
    }
  }
  if (!s.ok()) return fail(from_status(s, "format version of " + dir.string()));
  return done{};
}

bool is_lock_error(const rocksdb::Status& s) {
  // RocksDB has no distinct code: "IO error: While lock file: <dir>/LOCK: Resource
  // temporarily unavailable" (or "lock hold by current process" within one process).
  return s.IsIOError() && s.ToString().find("lock") != std::string::npos;
}

rocksdb::Status open_rolling_back_copies(
    const rocksdb::DBOptions& options, const std::filesystem::path& dir,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
    std::vector<rocksdb::ColumnFamilyHandle*>& handles, std::unique_ptr<rocksdb::DB>& db,
    bool roll_back, std::string_view store, std::string& note) {
  auto open = [&] {
    rocksdb::DB* raw = nullptr;
    handles.clear();
    auto s = rocksdb::DB::Open(options, dir.string(), families, &handles, &raw);
    db.reset(raw);
    return s;
  };
  auto s = open();
  if (s.ok() || is_lock_error(s) || !roll_back) return s;
  auto r = roll_back_incomplete_copy(dir);
  if (r.result == copy_rollback::outcome::rolled_back) {
    core::logger("persistence")->warn("{} {}: {}", store, dir.string(), r.report);
    return open();
  }
  if (r.result == copy_rollback::outcome::refused) note = "; " + r.report;
  return s;
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

namespace {

// Protobuf wire format (proto3: fields at their default value are not written; fields
// in field-number order, as SerializeAsString writes them), written through a pointer
// into a buffer sized for the worst case first: std::string::push_back per byte cost
// ~1.3k instructions per event (callgrind, bench/README.md "Thirty-seventh pass").
enum wire_type : std::uint8_t { varint = 0, length_delimited = 2, fixed32 = 5 };
constexpr std::size_t k_max_varint = 10;

char* put_varint(char* out, std::uint64_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

void put_varint(std::string& out, std::uint64_t v) {
  char buf[k_max_varint];
  out.append(buf, static_cast<std::size_t>(put_varint(buf, v) - buf));
}

char* put_tag(char* out, std::uint32_t field, wire_type type) {
  return put_varint(out, (std::uint64_t{field} << 3) | type);
}

char* put_bytes(char* out, std::uint32_t field, std::string_view bytes) {
  if (bytes.empty()) return out;
  out = put_varint(put_tag(out, field, length_delimited), bytes.size());
  std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

// int64 and uint64 fields: a negative int64 is its two's complement, ten bytes long.
char* put_uint(char* out, std::uint32_t field, std::uint64_t v) {
  if (v == 0) return out;
  return put_varint(put_tag(out, field, varint), v);
}

char* put_fixed32(char* out, std::uint32_t field, std::uint32_t v) {
  if (v == 0) return out;
  out = put_tag(out, field, fixed32);
  for (int i = 0; i < 4; ++i) *out++ = static_cast<char>(v >> (8 * i));  // little-endian
  return out;
}

}  // namespace

// Field numbers of proto/journal.proto's JournalEnvelope.
void encode_envelope_parts(const event& e, std::string& head, std::string& tail) {
  // Each field at most a one-byte tag and a varint, plus the two strings' bytes.
  head.resize(4 * (1 + k_max_varint) + e.writer_id.size() + e.manifest.size());
  char* const head_begin = head.data();
  char* h = put_bytes(head_begin, 1, e.writer_id);
  h = put_uint(h, 2, static_cast<std::uint64_t>(e.timestamp_ms));
  h = put_bytes(h, 3, e.manifest);
  if (!e.payload.empty()) {  // field 4's tag and length; its bytes are e.payload
    h = put_varint(put_tag(h, 4, length_delimited), e.payload.size());
  }
  head.resize(static_cast<std::size_t>(h - head_begin));
  char buf[2 * (1 + k_max_varint)];
  char* t = put_fixed32(buf, 5, crc32c(e.payload));
  t = put_uint(t, 6, e.sequence_nr);
  tail.assign(buf, static_cast<std::size_t>(t - buf));
}

void encode_envelope(const event& e, std::string& out) {
  std::string tail;
  encode_envelope_parts(e, out, tail);
  out.reserve(out.size() + e.payload.size() + tail.size());
  out.append(e.payload).append(tail);
}

std::string encode_envelope(const event& e) {
  std::string out;
  encode_envelope(e, out);
  return out;
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

void encode_value_parts(const std::vector<event>& events, std::string& scratch,
                        std::vector<rocksdb::Slice>& parts) {
  struct span {
    std::size_t at, size;
    const std::string* payload;  // after this part, if any
  };
  thread_local std::vector<span> spans;  // buffers reused by a writer's thread
  thread_local std::string head;
  thread_local std::string tail;
  parts.clear();
  scratch.clear();
  if (events.size() == 1) {  // format 1's value: the envelope alone
    encode_envelope_parts(events.front(), scratch, tail);
    const auto head_size = scratch.size();
    scratch += tail;
    const std::string_view all(scratch);
    const std::string_view head_part = all.substr(0, head_size);
    const std::string_view tail_part = all.substr(head_size);
    parts = {head_part, events.front().payload, tail_part};
    return;
  }
  // The pack's own bytes and each envelope's head and tail go into `scratch`, one after
  // the other; views into it are taken once it no longer grows.
  spans.clear();
  scratch.push_back('\0');
  put_varint(scratch, events.size());
  std::size_t open = 0;  // start of the part being written
  for (const auto& e : events) {
    encode_envelope_parts(e, head, tail);
    put_varint(scratch, head.size() + e.payload.size() + tail.size());
    scratch += head;
    spans.push_back({open, scratch.size() - open, &e.payload});
    open = scratch.size();
    scratch += tail;
  }
  spans.push_back({open, scratch.size() - open, nullptr});
  const std::string_view all(scratch);
  for (const auto& sp : spans) {
    if (sp.size > 0) parts.emplace_back(all.substr(sp.at, sp.size));
    if (sp.payload != nullptr && !sp.payload->empty()) parts.emplace_back(*sp.payload);
  }
}

std::string encode_value(const std::vector<event>& events) {
  thread_local std::string scratch;  // buffers reused by a writer's thread
  thread_local std::vector<rocksdb::Slice> parts;
  encode_value_parts(events, scratch, parts);
  std::size_t size = 0;
  for (const auto& p : parts) size += p.size();
  std::string out;
  out.reserve(size);
  for (const auto& p : parts) out.append(p.data(), p.size());
  return out;
}

namespace {

// A varint of a pack; false when it runs past the end or over 10 bytes.
bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    v |= std::uint64_t{byte & 0x7fU} << shift;
    if ((byte & 0x80U) == 0) return true;
  }
  return false;
}

}  // namespace

result<value_reader> value_reader::open(std::string_view bytes, const persistence_id& pid,
                                        std::uint64_t last_sequence_nr) {
  value_reader r;
  r.last_ = last_sequence_nr;
  if (bytes.empty() || bytes.front() != '\0') {  // one envelope (format 1's value)
    r.rest_ = bytes;
    r.count_ = 1;
    return r;
  }
  const auto bad = [&](const std::string& what) {
    return fail(errc::corruption, "malformed event pack of " + pid.describe() +
                                      " under sequence nr " + std::to_string(last_sequence_nr) +
                                      ": " + what);
  };
  bytes.remove_prefix(1);
  std::uint64_t n = 0;
  if (!get_varint(bytes, n) || n == 0 || n > last_sequence_nr) {
    return bad("event count " + std::to_string(n));
  }
  // Every length must fit in what follows, and nothing may be left after the last.
  auto check = bytes;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t len = 0;
    if (!get_varint(check, len) || len > check.size()) {
      return bad("event " + std::to_string(i + 1) + " of " + std::to_string(n) +
                 " runs past the end");
    }
    check.remove_prefix(len);
  }
  if (!check.empty()) return bad(std::to_string(check.size()) + " bytes after the last event");
  r.rest_ = bytes;
  r.count_ = n;
  r.pack_ = true;
  return r;
}

bool value_reader::next(std::string_view& envelope) {
  if (read_ == count_) return false;
  ++read_;
  if (!pack_) {
    envelope = rest_;
    return true;
  }
  std::uint64_t len = 0;
  (void)get_varint(rest_, len);  // checked by open
  envelope = rest_.substr(0, len);
  rest_.remove_prefix(len);
  return true;
}

namespace {

class spdlog_info_logger final : public rocksdb::Logger {
 public:
  explicit spdlog_info_logger(std::string store)
      : rocksdb::Logger(rocksdb::InfoLogLevel::DEBUG_LEVEL),
        store_(std::move(store)),
        log_(core::logger("rocksdb")) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const auto to = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? spdlog::level::err
                    : level == rocksdb::InfoLogLevel::WARN_LEVEL ? spdlog::level::warn
                                                                 : spdlog::level::debug;
    if (!log_->should_log(to)) return;
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n < 0) return;
    std::string_view line(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
    log_->log(to, "{}: {}", store_, line);
  }

 private:
  std::string store_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_info_logger(std::string store) {
  return std::make_shared<spdlog_info_logger>(std::move(store));
}

void bound_writeback(rocksdb::DBOptions& o, std::uint64_t bytes_per_sync) {
  o.bytes_per_sync = bytes_per_sync;
  o.strict_bytes_per_sync = bytes_per_sync > 0;
}

}  // namespace wfe::persistence::internal
