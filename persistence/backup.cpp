#include "persistence/backup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include <rocksdb/db.h>
#include <rocksdb/utilities/backup_engine.h>

#include "engine/core/logging.hpp"
#include "persistence/internal/rocksdb_support.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "persistence/snapshot_store.hpp"

namespace wfe::persistence {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_manifest = "backups.txt";

template <class Engine>
result<std::unique_ptr<Engine>> open_engine(const fs::path& dir) {
  rocksdb::BackupEngineOptions options(dir.string());
  options.share_table_files = true;  // incremental: an SST is copied once
  options.sync = true;
  Engine* raw = nullptr;
  auto s = Engine::Open(options, rocksdb::Env::Default(), &raw);
  if (!s.ok()) return fail(internal::from_status(s, "opening backups in " + dir.string()));
  return std::unique_ptr<Engine>(raw);
}

result<std::vector<backup_info>> read_manifest(const fs::path& backup_dir) {
  std::vector<backup_info> out;
  std::ifstream in(backup_dir / k_manifest);
  if (!in) return out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    backup_info b;
    if (!(fields >> b.id >> b.snapshots_backup_id >> b.journal_backup_id >> b.timestamp_s)) {
      return fail(errc::corruption,
                  "malformed line in " + (backup_dir / k_manifest).string() + ": " + line);
    }
    out.push_back(b);
  }
  return out;
}

// Rewrites the manifest atomically (temp file + rename): a crash never leaves half a list.
result<done> write_manifest(const fs::path& backup_dir, const std::vector<backup_info>& pairs) {
  const auto tmp = backup_dir / (std::string(k_manifest) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& b : pairs)
      out << b.id << ' ' << b.snapshots_backup_id << ' ' << b.journal_backup_id << ' '
          << b.timestamp_s << '\n';
    out.flush();
    if (!out) return fail(errc::io_error, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, backup_dir / k_manifest, ec);
  if (ec) return fail(errc::io_error, "cannot write manifest: " + ec.message());
  return done{};
}

template <class Engine>
void fill_sizes(Engine& journal, Engine& snapshots, backup_info& b) {
  rocksdb::BackupInfo ji;
  rocksdb::BackupInfo si;
  if (journal.GetBackupInfo(b.journal_backup_id, &ji).ok()) {
    b.journal_size_bytes = ji.size;
    b.journal_files = ji.number_files;
  }
  if (snapshots.GetBackupInfo(b.snapshots_backup_id, &si).ok()) {
    b.snapshots_size_bytes = si.size;
    b.snapshots_files = si.number_files;
  }
}

result<std::uint32_t> backup_one(rocksdb::BackupEngine& engine, rocksdb::DB& db,
                                 const std::string& what) {
  rocksdb::CreateBackupOptions options;
  // Flush memtables first so the data lands in SST files, which later backups share
  // (incremental); RocksDB still copies the WAL needed for a consistent point.
  options.flush_before_backup = true;
  rocksdb::BackupID id = 0;
  auto s = engine.CreateNewBackup(options, &db, &id);
  if (!s.ok()) return fail(internal::from_status(s, "backup of the " + what));
  return id;
}

// RocksDB takes an fcntl write lock on <dir>/LOCK while a DB is open; F_GETLK tells
// whether another process holds it (our own locks are not reported).
bool locked_by_other_process(const fs::path& dir) {
  const int fd = ::open((dir / "LOCK").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

bool non_empty(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir, ec) && !fs::is_empty(dir, ec);
}

result<done> check_target(const fs::path& dir, bool force) {
  if (locked_by_other_process(dir))
    return fail(errc::locked,
                dir.string() + " is in use by a running process; stop the node first");
  if (non_empty(dir) && !force)
    return fail(errc::not_empty, dir.string() + " is not empty; use --force to replace it");
  return done{};
}

// Restores one engine's backup into `dir` via "<dir>.restoring" and a rename.
result<done> restore_one(rocksdb::BackupEngineReadOnly& engine, std::uint32_t id,
                         const fs::path& dir) {
  const fs::path staging = dir.string() + ".restoring";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging.parent_path(), ec);
  auto s =
      engine.RestoreDBFromBackup(rocksdb::RestoreOptions(), id, staging.string(), staging.string());
  if (!s.ok()) return fail(internal::from_status(s, "restore into " + staging.string()));
  fs::remove_all(dir, ec);
  if (!ec) fs::create_directories(dir.parent_path(), ec);
  if (!ec) fs::rename(staging, dir, ec);
  if (ec)
    return fail(errc::io_error, "moving restored store to " + dir.string() + ": " + ec.message());
  return done{};
}

result<backup_info> select(const std::vector<backup_info>& pairs, std::optional<std::uint32_t> id,
                           const fs::path& backup_dir) {
  if (pairs.empty()) return fail(errc::invalid_argument, "no backups in " + backup_dir.string());
  if (!id) return pairs.back();
  for (const auto& b : pairs) {
    if (b.id == *id) return b;
  }
  return fail(errc::invalid_argument,
              "no backup " + std::to_string(*id) + " in " + backup_dir.string());
}

}  // namespace

result<backup_info> create_backup(rocksdb::DB& journal_db, rocksdb::DB& snapshots_db,
                                  const fs::path& backup_dir) try {
  static std::mutex one_at_a_time;  // the manifest and the engines are not shared-safe
  std::scoped_lock lock(one_at_a_time);
  std::error_code ec;
  fs::create_directories(backup_dir, ec);
  if (ec) return fail(errc::io_error, "cannot create " + backup_dir.string() + ": " + ec.message());
  auto pairs = read_manifest(backup_dir);
  if (!pairs) return core::unexpected<error>{pairs.error()};
  auto snapshots = open_engine<rocksdb::BackupEngine>(backup_dir / "snapshots");
  if (!snapshots) return core::unexpected<error>{snapshots.error()};
  auto journal = open_engine<rocksdb::BackupEngine>(backup_dir / "journal");
  if (!journal) return core::unexpected<error>{journal.error()};
  // Snapshots first, journal second: see backup.hpp.
  auto sid = backup_one(**snapshots, snapshots_db, "snapshot store");
  if (!sid) return core::unexpected<error>{sid.error()};
  auto jid = backup_one(**journal, journal_db, "journal");
  if (!jid) return core::unexpected<error>{jid.error()};
  backup_info b;
  b.id = pairs->empty() ? 1 : pairs->back().id + 1;
  b.snapshots_backup_id = *sid;
  b.journal_backup_id = *jid;
  b.timestamp_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  fill_sizes(**journal, **snapshots, b);
  pairs->push_back(b);
  if (auto ok = write_manifest(backup_dir, *pairs); !ok) return core::unexpected<error>{ok.error()};
  core::logger("persistence")
      ->info("backup {} written to {} (journal {} bytes, snapshots {} bytes)", b.id,
             backup_dir.string(), b.journal_size_bytes, b.snapshots_size_bytes);
  return b;
} catch (const std::exception& e) {
  return fail(errc::internal, "backup to " + backup_dir.string() + ": " + e.what());
}

result<backup_info> create_backup(rocksdb_journal& journal, rocksdb_snapshot_store& snapshots,
                                  const fs::path& backup_dir) {
  return create_backup(*journal.db(), *snapshots.db(), backup_dir);
}

result<backup_info> create_backup_from_dirs(const fs::path& journal_dir,
                                            const fs::path& snapshot_dir,
                                            const fs::path& backup_dir) {
  for (const auto& dir : {journal_dir, snapshot_dir}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      return fail(errc::invalid_argument, dir.string() + " is not a directory");
    if (locked_by_other_process(dir))
      return fail(errc::locked, dir.string() +
                                    " is in use by a running node; ask it to back up "
                                    "(POST /api/v1/admin/backup)");
  }
  auto journal = rocksdb_journal::open(rocksdb_journal_config{.dir = journal_dir});
  if (!journal) return core::unexpected<error>{journal.error()};
  auto snapshots = rocksdb_snapshot_store::open(rocksdb_snapshot_store_config{.dir = snapshot_dir});
  if (!snapshots) return core::unexpected<error>{snapshots.error()};
  return create_backup(**journal, **snapshots, backup_dir);
}

result<std::vector<backup_info>> list_backups(const fs::path& backup_dir) try {
  auto pairs = read_manifest(backup_dir);
  if (!pairs || pairs->empty()) return pairs;
  auto journal = open_engine<rocksdb::BackupEngineReadOnly>(backup_dir / "journal");
  if (!journal) return core::unexpected<error>{journal.error()};
  auto snapshots = open_engine<rocksdb::BackupEngineReadOnly>(backup_dir / "snapshots");
  if (!snapshots) return core::unexpected<error>{snapshots.error()};
  for (auto& b : *pairs) fill_sizes(**journal, **snapshots, b);
  return pairs;
} catch (const std::exception& e) {
  return fail(errc::internal, "listing backups in " + backup_dir.string() + ": " + e.what());
}

result<backup_info> restore_backup(const restore_request& r) try {
  auto pairs = read_manifest(r.backup_dir);
  if (!pairs) return core::unexpected<error>{pairs.error()};
  auto chosen = select(*pairs, r.backup_id, r.backup_dir);
  if (!chosen) return chosen;
  for (const auto& dir : {r.journal_dir, r.snapshot_dir}) {
    if (auto ok = check_target(dir, r.force); !ok) return core::unexpected<error>{ok.error()};
  }
  auto journal = open_engine<rocksdb::BackupEngineReadOnly>(r.backup_dir / "journal");
  if (!journal) return core::unexpected<error>{journal.error()};
  auto snapshots = open_engine<rocksdb::BackupEngineReadOnly>(r.backup_dir / "snapshots");
  if (!snapshots) return core::unexpected<error>{snapshots.error()};
  // Verify both (every file's checksum) before touching the target directories.
  if (auto s = (*journal)->VerifyBackup(chosen->journal_backup_id, true); !s.ok())
    return fail(internal::from_status(s, "verifying journal backup " + std::to_string(chosen->id)));
  if (auto s = (*snapshots)->VerifyBackup(chosen->snapshots_backup_id, true); !s.ok())
    return fail(
        internal::from_status(s, "verifying snapshot backup " + std::to_string(chosen->id)));
  if (auto ok = restore_one(**snapshots, chosen->snapshots_backup_id, r.snapshot_dir); !ok)
    return core::unexpected<error>{ok.error()};
  if (auto ok = restore_one(**journal, chosen->journal_backup_id, r.journal_dir); !ok)
    return core::unexpected<error>{ok.error()};
  fill_sizes(**journal, **snapshots, *chosen);
  core::logger("persistence")
      ->info("backup {} from {} restored into {} and {}", chosen->id, r.backup_dir.string(),
             r.journal_dir.string(), r.snapshot_dir.string());
  return chosen;
} catch (const std::exception& e) {
  return fail(errc::internal, "restore from " + r.backup_dir.string() + ": " + e.what());
}

namespace {

// The newest change time of a regular file under `dir` (st_mtim: the store's writes) or
// the oldest (st_ctim: an extraction sets it to the time of extraction, whatever mtime
// the archive restores).
std::optional<std::int64_t> file_times(const fs::path& dir, bool newest_mtime) {
  std::optional<std::int64_t> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto& ts = newest_mtime ? st.st_mtim : st.st_ctim;
    const std::int64_t ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    if (!out || (newest_mtime ? ns > *out : ns < *out)) out = ns;
  }
  return out;
}

std::string utc_stamp() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

result<std::optional<std::string>> adopt_extracted_copy(const fs::path& dir) try {
  std::error_code ec;
  auto target = fs::absolute(dir, ec).lexically_normal();
  const std::optional<std::string> nothing;
  if (ec) return nothing;
  if (!target.has_filename()) target = target.parent_path();  // "journal/" -> "journal"
  const auto parent = target.parent_path();
  if (parent.empty() || target.relative_path().empty() || parent == target) return nothing;
  const auto copy = parent / target.relative_path();
  if (!fs::exists(copy / "CURRENT", ec)) return nothing;
  if (locked_by_other_process(target)) {
    return fail(errc::locked,
                target.string() + " is in use by a running process; stop the node first");
  }
  // A symbolic link or a mount point (a volume of its own) cannot be moved aside: the
  // copy would land off the link's target, or the rename fails.
  struct stat target_st {};
  struct stat parent_st {};
  const bool mount_point = ::stat(target.c_str(), &target_st) == 0 &&
                           ::stat(parent.c_str(), &parent_st) == 0 &&
                           target_st.st_dev != parent_st.st_dev;
  if (fs::is_symlink(target, ec) || mount_point) {
    return fail(errc::not_empty,
                "found a store at " + copy.string() + " (where `tar -xzf <archive> -C " +
                    parent.string() + "` puts a copy of " + target.string() + "), but " +
                    target.string() + " is a " + (mount_point ? "mount point" : "symbolic link") +
                    ": stop the node, then `rm -rf " + target.string() + "/* && mv " +
                    copy.string() + "/* " + target.string() + "/`, or delete " + copy.string());
  }
  std::string kept;
  if (non_empty(target)) {
    const auto written = file_times(target, true);
    const auto extracted = file_times(copy, false);
    if (written && extracted && *written >= *extracted) {
      return fail(errc::not_empty,
                  "found a store at " + copy.string() + " (where `tar -xzf <archive> -C " +
                      parent.string() + "` of the deployment guide puts a copy of " +
                      target.string() + "), but " + target.string() +
                      " was written after it was extracted, so it is not used. To restore it: stop "
                      "the node, then `rm -rf " +
                      target.string() + " && mv " + copy.string() + " " + target.string() +
                      "`; to keep " + target.string() + ": `rm -rf " + copy.string() + "`");
    }
    kept = target.string() + ".before-restore-" + utc_stamp();
    fs::rename(target, kept);
  } else if (fs::exists(target, ec)) {
    fs::remove(target);
  }
  fs::rename(copy, target);
  // The directories tar made on the way (var/lib/pekko under the parent), if now empty.
  for (auto p = copy.parent_path(); p != parent && p.string().size() > parent.string().size();
       p = p.parent_path()) {
    if (!fs::is_empty(p, ec) || ec || !fs::remove(p, ec)) break;
  }
  return std::optional<std::string>{
      "moved the store found at " + copy.string() + " (where `tar -xzf <archive> -C " +
      parent.string() + "` puts a copy of " + target.string() + ") into " + target.string() +
      (kept.empty() ? std::string() : "; the store it replaces is kept as " + kept)};
} catch (const std::exception& e) {
  return fail(errc::io_error, "moving a restored copy into " + dir.string() + ": " + e.what());
}

}  // namespace wfe::persistence
