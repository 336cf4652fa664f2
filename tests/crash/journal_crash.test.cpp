// Crash test: run journal_crash_writer on a real journal (fsync on, group commit with
// many concurrent writers), SIGKILL it at a random moment, reopen the journal and
// check that every acknowledged event is present, intact and contiguous. Writes that
// were in flight (never acknowledged) may or may not be present: both are correct.
//
// WFE_CRASH_ROUNDS (default 5) rounds run on ONE journal, so later rounds also
// recover from earlier crashes. WFE_CRASH_SEED replays a run (the seed is printed).
// Thousands of rounds: WFE_CRASH_ROUNDS=2000 ./wfe_crash_tests
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "persistence/rocksdb_journal.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

using namespace wfe::persistence;

namespace {

constexpr int k_pids = 16;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

struct writer_run {
  std::map<std::string, std::uint64_t> acked;  // id -> highest acknowledged in this run
  std::uint64_t lines = 0;
};

void parse_lines(std::string& buffer, writer_run& run) {
  std::size_t start = 0;
  for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n', start)) {
    std::istringstream line(buffer.substr(start, nl - start));
    std::string tag, id;
    std::uint64_t seq = 0;
    if (line >> tag >> id >> seq && tag == "ack") {
      auto& highest = run.acked[id];
      highest = std::max(highest, seq);
      ++run.lines;
    }
    start = nl + 1;
  }
  buffer.erase(0, start);  // keep a partial last line (cut by the kill): not an ack
}

// Runs the writer, kills it `kill_after` after it is ready, returns what it acknowledged.
writer_run run_and_kill(const std::string& dir, std::chrono::milliseconds kill_after) {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::string exe = WFE_CRASH_WRITER;
  std::string pids = std::to_string(k_pids);
  char* args[] = {exe.data(),
                  const_cast<char*>("--dir"),
                  const_cast<char*>(dir.c_str()),
                  const_cast<char*>("--pids"),
                  pids.data(),
                  nullptr};
  pid_t child = 0;
  REQUIRE(posix_spawn(&child, exe.c_str(), &actions, nullptr, args, environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  writer_run run;
  std::string buffer;
  bool killed = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  char chunk[65536];
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (!killed && now >= deadline) {
      ::kill(child, SIGKILL);
      killed = true;
    }
    pollfd p{out[0], POLLIN, 0};
    const int wait_ms =
        killed || deadline == std::chrono::steady_clock::time_point::max()
            ? 1000
            : static_cast<int>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) +
                  1;
    if (::poll(&p, 1, wait_ms) <= 0) continue;
    const auto n = ::read(out[0], chunk, sizeof chunk);
    if (n <= 0) break;  // EOF: the writer is dead and everything it printed is read
    buffer.append(chunk, static_cast<std::size_t>(n));
    if (deadline == std::chrono::steady_clock::time_point::max() &&
        buffer.find("ready\n") != std::string::npos) {
      deadline = std::chrono::steady_clock::now() + kill_after;
    }
    parse_lines(buffer, run);
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK_MESSAGE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL),
                "the writer exited on its own (status " << status << ")");
  return run;
}

// Every event 1..highest of every id is there, intact, contiguous; and highest covers
// everything ever acknowledged.
void check_journal(const std::string& dir, const std::map<std::string, std::uint64_t>& acked,
                   std::uint64_t seed, int round) {
  auto j = rocksdb_journal::open(rocksdb_journal_config{.dir = dir});
  REQUIRE_MESSAGE(j.has_value(), "seed " << seed << " round " << round << ": "
                                         << (j ? std::string() : j.error().describe()));
  for (int i = 0; i < k_pids; ++i) {
    const persistence_id pid{shard_id{static_cast<std::uint32_t>(i % 4)},
                             "crash-" + std::to_string(i)};
    const auto highest = *(*j)->highest_sequence_nr(pid);
    const auto found = acked.find(pid.id());
    const std::uint64_t must_have = found == acked.end() ? 0 : found->second;
    CHECK_MESSAGE(highest >= must_have, "seed " << seed << " round " << round << ": " << pid.id()
                                                << " acknowledged " << must_have
                                                << " but highest is " << highest);
    std::uint64_t next = 1;
    auto r = (*j)->replay(pid, 1, max_sequence_nr, max_sequence_nr, [&](const event& e) {
      CHECK(e.sequence_nr == next);
      CHECK(e.payload == pid.id() + ":" + std::to_string(next));
      ++next;
    });
    REQUIRE_MESSAGE(r.has_value(), "seed " << seed << " round " << round << ": "
                                           << (r ? std::string() : r.error().describe()));
    CHECK(*r == highest);
  }
}

}  // namespace

TEST_CASE("every acknowledged event survives SIGKILL of the writer at random moments") {
  const auto rounds = static_cast<int>(env_or("WFE_CRASH_ROUNDS", 5));
  const auto seed = env_or("WFE_CRASH_SEED", std::random_device{}());
  MESSAGE("crash test: " << rounds << " rounds, seed " << seed
                         << " (replay with WFE_CRASH_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> kill_ms(0, 300);
  wfe::test::temp_dir dir;
  const auto journal_dir = (dir.path() / "journal").string();
  std::map<std::string, std::uint64_t> acked;  // across rounds: highest ever acknowledged
  std::uint64_t total = 0;
  for (int round = 1; round <= rounds; ++round) {
    auto run = run_and_kill(journal_dir, std::chrono::milliseconds(kill_ms(rng)));
    for (const auto& [id, seq] : run.acked) acked[id] = std::max(acked[id], seq);
    total += run.lines;
    check_journal(journal_dir, acked, seed, round);
  }
  MESSAGE(total << " acknowledged writes checked over " << rounds << " crashes");
  CHECK(total > 0);
}
