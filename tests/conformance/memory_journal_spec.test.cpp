// The conformance suite against the in-memory journal.
#include <doctest/doctest.h>

#include "persistence/memory_journal.hpp"
#include "tests/conformance/journal_spec.hpp"

namespace {

wfe::test::journal_under_test make_memory_journal() {
  return {nullptr, std::make_unique<wfe::persistence::memory_journal>()};
}

}  // namespace

TEST_CASE("the memory journal passes the replay spec") {
  wfe::test::journal_replay_spec(make_memory_journal);
}
TEST_CASE("the memory journal passes the delete spec") {
  wfe::test::journal_delete_spec(make_memory_journal);
}
TEST_CASE("the memory journal passes the write spec") {
  wfe::test::journal_write_spec(make_memory_journal);
}
TEST_CASE("the memory journal passes the isolation spec") {
  wfe::test::journal_isolation_spec(make_memory_journal);
}
TEST_CASE("the memory journal passes the purge spec") {
  wfe::test::journal_purge_spec(make_memory_journal);
}
