#include "persistence/persistence_settings.hpp"

#include <system_error>

#include "engine/core/settings_reader.hpp"

namespace wfe::persistence {

persistence_settings persistence_settings::read(core::settings_reader& r) {
  persistence_settings s;
  constexpr std::string_view k_journal = "pekko.persistence.journal.rocksdb.dir";
  constexpr std::string_view k_snapshots = "pekko.persistence.snapshot-store.rocksdb.dir";
  s.journal_dir = r.non_empty_string(k_journal);
  s.snapshot_dir = r.non_empty_string(k_snapshots);
  if (r.ok() && std::filesystem::weakly_canonical(s.journal_dir) ==
                    std::filesystem::weakly_canonical(s.snapshot_dir)) {
    r.fail(k_snapshots, "must differ from " + std::string(k_journal) +
                            " (the snapshot store is its own RocksDB)");
  }
  s.snapshot_every = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.event-sourcing.snapshot-every", 1, 1'000'000));
  return s;
}

std::string persistence_settings::prepare_dirs() const {
  for (const auto& dir : {journal_dir, snapshot_dir}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return "cannot create data directory " + dir.string() + ": " + ec.message();
  }
  return {};
}

}  // namespace wfe::persistence
