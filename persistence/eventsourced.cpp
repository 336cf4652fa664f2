#include "persistence/eventsourced.hpp"

#include <random>

#include <caf/sec.hpp>

#include "engine/core/logging.hpp"
#include "persistence/internal/crc32c.hpp"

namespace wfe::persistence::detail {

std::string new_writer_id() {
  // One per incarnation (Pekko's writerUuid): tells apart events of two incarnations
  // when diagnosing a split brain. Uniqueness, not secrecy, is needed: 60 random bits,
  // 15 hex digits, which std::string keeps inline — every event carries a copy, and a
  // 16th digit made each copy a heap allocation (five per workflow start).
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%015llx", static_cast<unsigned long long>(rng() >> 4));
  return buf;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error recovery_failure(const persistence_id& pid, const error& e) {
  auto msg = e.describe();
  if (msg.find(pid.describe()) == std::string::npos) msg = pid.describe() + ": " + msg;
  return caf::make_error(caf::sec::runtime_error, std::move(msg));
}

void log_recovered(const persistence_id& pid, std::uint64_t seq, std::uint64_t snapshot_seq,
                   double seconds) {
  core::logger("persistence")
      ->debug("{} recovered to sequence nr {} (snapshot at {}) in {:.3f} ms", pid.describe(), seq,
              snapshot_seq, seconds * 1e3);
}

void log_recovery_failed(const persistence_id& pid, const error& e) {
  core::logger("persistence")
      ->error("recovery of {} failed, the entity stops: {}", pid.describe(), e.describe());
}

void log_snapshot_skipped(const persistence_id& pid, std::uint64_t seq, const std::string& why) {
  core::logger("persistence")
      ->warn(
          "snapshot of {} at sequence nr {} not used ({}); falling back to an older snapshot "
          "or a full replay",
          pid.describe(), seq, why);
}

void log_snapshot_failed(const persistence_id& pid, std::uint64_t seq, const error& e) {
  core::logger("persistence")
      ->warn("snapshot of {} at sequence nr {} (or its event deletion) failed: {}", pid.describe(),
             seq, e.describe());
}

void log_persist_failed(const persistence_id& pid, const error& e) {
  core::logger("persistence")
      ->error("persisting events of {} failed, the entity stops: {}", pid.describe(), e.describe());
}

std::uint32_t event_fingerprint(const std::string& payload) { return internal::crc32c(payload); }

void log_foreign_snapshot(const persistence_id& pid, std::uint64_t seq) {
  core::logger("persistence")
      ->warn(
          "snapshot of {} at sequence nr {} is not of this journal (the journal's event {} "
          "differs: a journal restored without its snapshots, after the id was deleted and "
          "used again?); it is deleted and the entity recovers from its first event",
          pid.describe(), seq, seq);
}

}  // namespace wfe::persistence::detail
