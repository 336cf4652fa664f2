#pragma once
// Validated persistence settings: where the journal and the snapshots live, and
// how often entities snapshot.

#include <cstdint>
#include <filesystem>

namespace wfe::core {
class settings_reader;
}

namespace wfe::persistence {

struct persistence_settings {
  std::filesystem::path journal_dir;
  std::filesystem::path snapshot_dir;
  std::uint32_t snapshot_every = 100;

  // pekko.persistence.journal.rocksdb.dir, pekko.persistence.snapshot-store.rocksdb.dir,
  // pekko.workflow.event-sourcing.snapshot-every
  static persistence_settings read(core::settings_reader& r);

  // Creates both directories if missing; returns an error naming the directory.
  [[nodiscard]] std::string prepare_dirs() const;
};

}  // namespace wfe::persistence
