// Backup and restore: online backup while writing, incremental backups, restore
// refusing non-empty or locked targets, and the deployment guide's tar procedure.
#include "persistence/backup.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "persistence/journal_actor.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "persistence/snapshot_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::persistence;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int k_pids = 4;

persistence_id pid_of(int i) {
  return persistence_id{shard_id{static_cast<std::uint32_t>(i % 2)}, "e-" + std::to_string(i)};
}

event make_event(std::uint64_t seq, std::size_t bytes = 100) {
  return event{seq, "e", std::string(bytes, static_cast<char>('a' + seq % 26)), "w", 0};
}

struct stores {
  std::unique_ptr<rocksdb_journal> journal;
  std::unique_ptr<rocksdb_snapshot_store> snapshots;
};

stores open_stores(const fs::path& journal_dir, const fs::path& snapshot_dir) {
  fs::create_directories(journal_dir.parent_path());
  fs::create_directories(snapshot_dir.parent_path());
  auto j = rocksdb_journal::open({.dir = journal_dir, .write_buffer_size_bytes = 256 * 1024});
  REQUIRE_MESSAGE(j.has_value(), (j ? std::string() : j.error().describe()));
  auto s = rocksdb_snapshot_store::open({.dir = snapshot_dir});
  REQUIRE_MESSAGE(s.has_value(), (s ? std::string() : s.error().describe()));
  return {std::move(j).value(), std::move(s).value()};
}

// Every event 1..highest of `pid` replays, contiguous and intact; returns highest.
std::uint64_t check_contiguous(journal& j, const persistence_id& pid) {
  const auto highest = *j.highest_sequence_nr(pid);
  std::uint64_t next = 1;
  auto r = j.replay(pid, 1, max_sequence_nr, max_sequence_nr, [&](const event& e) {
    CHECK(e == make_event(next));
    ++next;
  });
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  CHECK(*r == highest);
  return highest;
}

std::uint64_t dir_size(const fs::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

void write_n(journal& j, const persistence_id& pid, std::uint64_t from, std::uint64_t n,
             std::size_t bytes = 100) {
  for (std::uint64_t seq = from; seq < from + n; seq += 100) {
    std::vector<event> batch;
    for (auto s = seq; s < std::min(from + n, seq + 100); ++s)
      batch.push_back(make_event(s, bytes));
    REQUIRE(j.write(pid, std::move(batch)).has_value());
  }
}

}  // namespace

TEST_CASE("a backup taken while writing restores every event acknowledged before it started") {
  wfe::test::temp_dir dir;
  auto live = open_stores(dir.path() / "journal", dir.path() / "snapshots");
  std::shared_ptr<journal> shared(std::move(live.journal));
  auto* rj = static_cast<rocksdb_journal*>(shared.get());
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto journal_actor = spawn_journal_actor(sys, {shared, nullptr, nullptr}, {});
  std::array<std::atomic<std::uint64_t>, k_pids> acked{};
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int i = 0; i < k_pids; ++i) {
    writers.emplace_back([&, i] {
      for (std::uint64_t seq = 1; !stop; ++seq) {
        auto r =
            write_blocking(sys, journal_actor, 10s, write_request{pid_of(i), {make_event(seq)}});
        if (!r) break;  // checked below: the highest would fall short of `before`
        acked[i] = seq;
      }
    });
  }
  while (acked[0] < 500) std::this_thread::sleep_for(5ms);
  REQUIRE(live.snapshots->save(pid_of(0), snapshot{acked[0], 0, "s", "state"}).has_value());
  std::array<std::uint64_t, k_pids> before{};
  for (int i = 0; i < k_pids; ++i) before[i] = acked[i];
  auto b = create_backup(*rj, *live.snapshots, dir.path() / "backup");
  REQUIRE_MESSAGE(b.has_value(), (b ? std::string() : b.error().describe()));
  std::this_thread::sleep_for(50ms);  // writes go on after the backup
  stop = true;
  for (auto& t : writers) t.join();
  caf::anon_send_exit(journal_actor, caf::exit_reason::user_shutdown);
  CHECK(b->id == 1);
  auto restored = restore_backup({.backup_dir = dir.path() / "backup",
                                  .backup_id = std::nullopt,
                                  .journal_dir = dir.path() / "r" / "journal",
                                  .snapshot_dir = dir.path() / "r" / "snapshots"});
  REQUIRE_MESSAGE(restored.has_value(), (restored ? std::string() : restored.error().describe()));
  auto back = open_stores(dir.path() / "r" / "journal", dir.path() / "r" / "snapshots");
  for (int i = 0; i < k_pids; ++i) {
    const auto highest = check_contiguous(*back.journal, pid_of(i));
    CHECK(highest >= before[i]);
    CHECK(highest <= acked[i]);
  }
  auto snap = back.snapshots->load_latest(pid_of(0), max_sequence_nr);
  REQUIRE(snap.has_value());
  REQUIRE(snap->has_value());
  CHECK((*snap)->payload == "state");
}

TEST_CASE("a second backup shares the files of the first and grows by the new data only") {
  wfe::test::temp_dir dir;
  auto live = open_stores(dir.path() / "journal", dir.path() / "snapshots");
  write_n(*live.journal, pid_of(0), 1, 20'000, 200);  // ~4 MB of events
  auto first = create_backup(*live.journal, *live.snapshots, dir.path() / "backup");
  REQUIRE(first.has_value());
  const auto after_first = dir_size(dir.path() / "backup");
  write_n(*live.journal, pid_of(0), 20'001, 100, 200);
  auto second = create_backup(*live.journal, *live.snapshots, dir.path() / "backup");
  REQUIRE(second.has_value());
  const auto growth = dir_size(dir.path() / "backup") - after_first;
  MESSAGE("first backup " << after_first << " bytes, second added " << growth << " bytes");
  CHECK(after_first > 300'000);  // ~4 MB of events, compressed
  CHECK(growth < after_first / 10);
  auto list = list_backups(dir.path() / "backup");
  REQUIRE(list.has_value());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].id == 1);
  CHECK((*list)[1].id == 2);
  CHECK((*list)[1].journal_size_bytes >= (*list)[0].journal_size_bytes);
  CHECK((*list)[1].timestamp_s >= (*list)[0].timestamp_s);
}

TEST_CASE("restore refuses non-empty directories unless forced, and picks the backup by id") {
  wfe::test::temp_dir dir;
  const auto backup_dir = dir.path() / "backup";
  {
    auto live = open_stores(dir.path() / "journal", dir.path() / "snapshots");
    write_n(*live.journal, pid_of(1), 1, 10);
    REQUIRE(create_backup(*live.journal, *live.snapshots, backup_dir).has_value());
    write_n(*live.journal, pid_of(1), 11, 10);
    REQUIRE(create_backup(*live.journal, *live.snapshots, backup_dir).has_value());
  }
  const auto target = dir.path() / "target";
  dir.write("target/journal/keep-me.txt", "operator's file");
  restore_request req{.backup_dir = backup_dir,
                      .backup_id = 1,
                      .journal_dir = target / "journal",
                      .snapshot_dir = target / "snapshots"};
  auto refused = restore_backup(req);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == errc::not_empty);
  CHECK(refused.error().message.find("journal") != std::string::npos);
  CHECK(fs::exists(target / "journal" / "keep-me.txt"));
  req.force = true;
  auto forced = restore_backup(req);
  REQUIRE_MESSAGE(forced.has_value(), (forced ? std::string() : forced.error().describe()));
  CHECK(forced->id == 1);
  CHECK_FALSE(fs::exists(target / "journal" / "keep-me.txt"));
  {
    auto back = open_stores(target / "journal", target / "snapshots");
    CHECK(check_contiguous(*back.journal, pid_of(1)) == 10);  // backup 1, not 2
  }
  req.backup_id = 7;
  auto missing = restore_backup(req);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == errc::invalid_argument);
  req.backup_id.reset();  // latest
  auto latest = restore_backup(req);
  REQUIRE(latest.has_value());
  CHECK(latest->id == 2);
  auto back = open_stores(target / "journal", target / "snapshots");
  CHECK(check_contiguous(*back.journal, pid_of(1)) == 20);
}

// The "running process" is a forked child that opens RocksDB, which starts threads:
// ThreadSanitizer does not support threads started after a multi-threaded fork (the
// child dies), so `make tsan` skips this one; `make test` and `make sanitize` run it.
#if defined(__SANITIZE_THREAD__)
constexpr bool k_fork_unsupported = true;
#else
constexpr bool k_fork_unsupported = false;
#endif

TEST_CASE("an offline backup refuses directories held by a running process" *
          doctest::skip(k_fork_unsupported)) {
  wfe::test::temp_dir dir;
  { open_stores(dir.path() / "journal", dir.path() / "snapshots"); }
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // a "node" holding the journal open
    ::close(ready[0]);
    auto j = rocksdb_journal::open({.dir = dir.path() / "journal"});
    const char c = j ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  // Only the child writes: a child that died before it did ends the read (0), not hangs it.
  ::close(ready[1]);
  char c = 0;
  const auto got = ::read(ready[0], &c, 1);
  if (got != 1 || c != 'y') {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  REQUIRE(got == 1);
  REQUIRE(c == 'y');
  auto r = create_backup_from_dirs(dir.path() / "journal", dir.path() / "snapshots",
                                   dir.path() / "backup");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::locked);
  CHECK(r.error().message.find("admin/backup") != std::string::npos);
  auto offline = create_backup_from_dirs(dir.path() / "journal", dir.path() / "snapshots",
                                         dir.path() / "backup");
  CHECK(offline.has_value());  // the holder is gone
}

TEST_CASE("a tar of the directories of a stopped node restores with every event") {
  wfe::test::temp_dir dir;
  const auto data = dir.path() / "var-lib-pekko";
  {
    auto live = open_stores(data / "journal", data / "snapshots");
    for (int i = 0; i < k_pids; ++i) write_n(*live.journal, pid_of(i), 1, 300 + i);
    REQUIRE(live.snapshots->save(pid_of(2), snapshot{302, 0, "s", "at-302"}).has_value());
  }  // closed: the node is stopped
  const auto archive = dir.path() / "pekko.tar.gz";
  const auto pack = "tar -czf " + archive.string() + " -C " + data.string() + " journal snapshots";
  REQUIRE(std::system(pack.c_str()) == 0);
  const auto elsewhere = dir.path() / "new-host";
  fs::create_directories(elsewhere);
  const auto unpack = "tar -xzf " + archive.string() + " -C " + elsewhere.string();
  REQUIRE(std::system(unpack.c_str()) == 0);
  auto back = open_stores(elsewhere / "journal", elsewhere / "snapshots");
  for (int i = 0; i < k_pids; ++i) CHECK(check_contiguous(*back.journal, pid_of(i)) == 300u + i);
  auto snap = back.snapshots->load_latest(pid_of(2), max_sequence_nr);
  REQUIRE(snap.has_value());
  REQUIRE(snap->has_value());
  CHECK((*snap)->payload == "at-302");
}

namespace {

// The deployment guide's commands: `tar -czf <archive> /abs/journal/` (tar drops the
// leading '/') and `tar -xzf <archive> -C /abs/` (the copy lands in /abs/abs/journal).
void guide_tar(const fs::path& archive, const fs::path& journal_dir) {
  const auto pack = "tar -czf " + archive.string() + " " + journal_dir.string() + "/ 2>/dev/null";
  REQUIRE(std::system(pack.c_str()) == 0);
}
void guide_untar(const fs::path& archive, const fs::path& into) {
  const auto unpack = "tar -xzf " + archive.string() + " -C " + into.string() + "/";
  REQUIRE(std::system(unpack.c_str()) == 0);
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("the guide's tar -xzf -C <parent> restores: the copy it nests is moved into place") {
  wfe::test::temp_dir dir;
  const auto data = dir.path() / "pekko";
  const auto archive = dir.path() / "journal.tar.gz";
  {
    auto live = open_stores(data / "journal", data / "snapshots");
    for (int i = 0; i < k_pids; ++i) write_n(*live.journal, pid_of(i), 1, 100);
  }
  guide_tar(archive, data / "journal");
  {  // the node goes on writing after the backup, then is stopped
    auto live = open_stores(data / "journal", data / "snapshots");
    write_n(*live.journal, pid_of(0), 101, 50);
  }
  const auto nested = data / data.relative_path() / "journal";
  CHECK(adopt_extracted_copy(data / "journal").value() == std::nullopt);  // nothing there yet

  SUBCASE("over the journal it had: that one is kept beside it") {
    guide_untar(archive, data);
    REQUIRE(fs::exists(nested / "CURRENT"));
    auto adopted = adopt_extracted_copy(data / "journal");
    REQUIRE(adopted.has_value());
    REQUIRE(adopted->has_value());
    CHECK((*adopted)->find("kept as") != std::string::npos);
    CHECK_FALSE(fs::exists(nested));
    CHECK_FALSE(fs::exists(data / data.relative_path().begin()->string()));  // tar's dirs gone
    auto names = names_in(data);
    REQUIRE(names.size() == 3);  // journal, journal.before-restore-…, snapshots
    CHECK(names[1].starts_with("journal.before-restore-"));
    auto back = open_stores(data / "journal", data / "snapshots");
    CHECK(check_contiguous(*back.journal, pid_of(0)) == 100);  // the backup's state
    auto kept = open_stores(data / names[1], dir.path() / "s2");
    CHECK(check_contiguous(*kept.journal, pid_of(0)) == 150);  // nothing lost
  }
  SUBCASE("after the journal was wiped") {
    fs::remove_all(data / "journal");
    guide_untar(archive, data);
    auto adopted = adopt_extracted_copy(data / "journal");
    REQUIRE(adopted.has_value());
    CHECK(adopted->has_value());
    auto back = open_stores(data / "journal", data / "snapshots");
    for (int i = 0; i < k_pids; ++i) CHECK(check_contiguous(*back.journal, pid_of(i)) == 100);
  }
  SUBCASE("not over a journal that is a symbolic link: the data would leave its target") {
    fs::rename(data / "journal", data / "real-journal");
    fs::create_directory_symlink(data / "real-journal", data / "journal");
    guide_untar(archive, data);
    auto adopted = adopt_extracted_copy(data / "journal");
    REQUIRE_FALSE(adopted.has_value());
    CHECK(adopted.error().message.find("symbolic link") != std::string::npos);
    CHECK(fs::is_symlink(data / "journal"));
    CHECK(fs::exists(nested / "CURRENT"));
  }
  SUBCASE("a copy extracted before the journal was last written is not used") {
    guide_untar(archive, data);
    {
      auto live = open_stores(data / "journal", data / "snapshots");
      write_n(*live.journal, pid_of(1), 101, 5);
    }
    auto adopted = adopt_extracted_copy(data / "journal");
    REQUIRE_FALSE(adopted.has_value());
    CHECK(adopted.error().code == errc::not_empty);
    CHECK(adopted.error().message.find("mv " + nested.string()) != std::string::npos);
    CHECK(fs::exists(nested / "CURRENT"));  // nothing moved
    auto live = open_stores(data / "journal", data / "snapshots");
    CHECK(check_contiguous(*live.journal, pid_of(1)) == 105);
  }
}
