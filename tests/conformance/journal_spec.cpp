#include "tests/conformance/journal_spec.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

namespace wfe::test {

using persistence::errc;
using persistence::event;
using persistence::journal;
using persistence::max_sequence_nr;
using persistence::persistence_id;
using persistence::purge_request;
using persistence::result;
using persistence::shard_id;
using persistence::write_request;

namespace {

constexpr auto k_all = max_sequence_nr;

const persistence_id k_pid{shard_id{7}, "p-1"};

event make_event(std::uint64_t seq, std::string writer = "writer-1") {
  return event{seq, "test-event", "a-" + std::to_string(seq), std::move(writer),
               static_cast<std::int64_t>(1'700'000'000'000 + seq)};
}

std::vector<event> make_events(std::uint64_t from, std::uint64_t to) {
  std::vector<event> out;
  for (auto seq = from; seq <= to; ++seq) out.push_back(make_event(seq));
  return out;
}

template <class T>
T must(result<T> r) {
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  return std::move(r).value();
}

std::vector<std::uint64_t> replayed(journal& j, const persistence_id& pid, std::uint64_t from,
                                    std::uint64_t to, std::uint64_t max) {
  std::vector<std::uint64_t> seqs;
  const auto count =
      must(j.replay(pid, from, to, max, [&](const event& e) { seqs.push_back(e.sequence_nr); }));
  CHECK(count == seqs.size());
  return seqs;
}

std::vector<std::uint64_t> seq_range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (auto s = from; s <= to; ++s) out.push_back(s);
  return out;
}

// Pekko's beforeEach: events 1..5 of k_pid, 1..3 one by one and 4..5 as one atomic batch.
journal_under_test prepared(const journal_factory& make) {
  auto t = make();
  REQUIRE(t.journal != nullptr);
  for (std::uint64_t seq = 1; seq <= 3; ++seq)
    CHECK(must(t.journal->write(k_pid, {make_event(seq)})) == seq);
  CHECK(must(t.journal->write(k_pid, make_events(4, 5))) == 5);
  return t;
}

}  // namespace

void journal_replay_spec(const journal_factory& make) {
  auto t = prepared(make);
  auto& j = *t.journal;
  SUBCASE("replays all events with every field intact") {
    std::vector<event> events;
    CHECK(must(j.replay(k_pid, 1, k_all, k_all, [&](const event& e) { events.push_back(e); })) ==
          5);
    CHECK(events == make_events(1, 5));
    CHECK(must(j.highest_sequence_nr(k_pid)) == 5);
  }
  SUBCASE("replays from a lower sequence number bound") {
    CHECK(replayed(j, k_pid, 3, k_all, k_all) == seq_range(3, 5));
  }
  SUBCASE("replays up to an upper sequence number bound") {
    CHECK(replayed(j, k_pid, 1, 3, k_all) == seq_range(1, 3));
  }
  SUBCASE("replays at most a count limit") {
    CHECK(replayed(j, k_pid, 1, k_all, 3) == seq_range(1, 3));
  }
  SUBCASE("replays between a lower and an upper bound") {
    CHECK(replayed(j, k_pid, 2, 3, k_all) == seq_range(2, 3));
  }
  SUBCASE("replays between bounds and up to a count limit") {
    CHECK(replayed(j, k_pid, 2, 5, 2) == seq_range(2, 3));
  }
  SUBCASE("replays a single event when the lower bound equals the upper bound") {
    CHECK(replayed(j, k_pid, 2, 2, k_all) == seq_range(2, 2));
  }
  SUBCASE("replays a single event when the count limit is 1") {
    CHECK(replayed(j, k_pid, 2, 4, 1) == seq_range(2, 2));
  }
  SUBCASE("replays nothing when the count limit is 0") {
    CHECK(replayed(j, k_pid, 2, 4, 0).empty());
  }
  SUBCASE("replays nothing when the lower bound is above the upper bound") {
    CHECK(replayed(j, k_pid, 3, 2, k_all).empty());
  }
  SUBCASE("replays nothing when the lower bound is above the highest sequence number") {
    CHECK(replayed(j, k_pid, 6, k_all, k_all).empty());
  }
  SUBCASE("treats a lower bound of 0 like 1") {
    CHECK(replayed(j, k_pid, 0, k_all, k_all) == seq_range(1, 5));
  }
  SUBCASE("replays nothing for an id that never wrote and reports highest 0") {
    const persistence_id unknown{shard_id{7}, "non-existing-pid"};
    CHECK(replayed(j, unknown, 0, k_all, k_all).empty());
    CHECK(must(j.highest_sequence_nr(unknown)) == 0);
  }
  SUBCASE("round-trips binary payloads and empty fields") {
    event e{6, "", std::string("\0\xff\x01 bytes", 9), "", 0};
    CHECK(must(j.write(k_pid, {e})) == 6);
    std::vector<event> events;
    CHECK(must(j.replay(k_pid, 6, 6, 1, [&](const event& x) { events.push_back(x); })) == 1);
    REQUIRE(events.size() == 1);
    CHECK(events[0] == e);
  }
}

void journal_delete_spec(const journal_factory& make) {
  auto t = prepared(make);
  auto& j = *t.journal;
  SUBCASE("does not replay events deleted by a range deletion") {
    must(j.delete_to(k_pid, 3));
    CHECK(replayed(j, k_pid, 1, k_all, k_all) == seq_range(4, 5));
    CHECK(replayed(j, k_pid, 2, 4, k_all) == seq_range(4, 4));
  }
  SUBCASE("keeps the highest sequence number after a deletion") {
    must(j.delete_to(k_pid, 3));
    CHECK(must(j.highest_sequence_nr(k_pid)) == 5);
  }
  SUBCASE("keeps the highest sequence number after deleting beyond it") {
    must(j.delete_to(k_pid, k_all));
    CHECK(replayed(j, k_pid, 0, k_all, k_all).empty());
    CHECK(must(j.highest_sequence_nr(k_pid)) == 5);
    SUBCASE("and the next write continues after the old highest") {
      CHECK(must(j.write(k_pid, {make_event(6)})) == 6);
      CHECK(replayed(j, k_pid, 0, k_all, k_all) == seq_range(6, 6));
      auto restart = j.write(k_pid, {make_event(1)});
      REQUIRE_FALSE(restart.has_value());
      CHECK(restart.error().code == errc::sequence_conflict);
    }
  }
  SUBCASE("ignores a deletion below an earlier one") {
    must(j.delete_to(k_pid, 3));
    must(j.delete_to(k_pid, 2));
    CHECK(replayed(j, k_pid, 1, k_all, k_all) == seq_range(4, 5));
  }
  SUBCASE("deletes nothing of other ids") {
    const persistence_id other{shard_id{7}, "p-2"};
    must(j.write(other, make_events(1, 2)));
    must(j.delete_to(k_pid, k_all));
    CHECK(replayed(j, other, 1, k_all, k_all) == seq_range(1, 2));
  }
  SUBCASE("accepts deleting an id that never wrote") {
    const persistence_id unknown{shard_id{7}, "non-existing-pid"};
    must(j.delete_to(unknown, 10));
    CHECK(must(j.highest_sequence_nr(unknown)) == 0);
    CHECK(must(j.write(unknown, {make_event(1)})) == 1);
  }
  SUBCASE("still lists an id whose events are all deleted") {
    must(j.delete_to(k_pid, k_all));
    CHECK(must(j.persistence_ids()) == std::vector<persistence_id>{k_pid});
  }
}

void journal_purge_spec(const journal_factory& make) {
  auto t = prepared(make);
  auto& j = *t.journal;
  SUBCASE("forgets every event and the highest sequence number of the id") {
    must(j.purge(k_pid, 5));
    CHECK(replayed(j, k_pid, 0, k_all, k_all).empty());
    CHECK(must(j.highest_sequence_nr(k_pid)) == 0);
    CHECK(must(j.persistence_ids()).empty());
    CHECK(must(j.persistence_ids(k_pid.shard())).empty());
    SUBCASE("and the id is written again from 1") {
      auto after_old_highest = j.write(k_pid, {make_event(6)});
      REQUIRE_FALSE(after_old_highest.has_value());
      CHECK(after_old_highest.error().code == errc::sequence_conflict);
      CHECK(must(j.write(k_pid, make_events(1, 2))) == 2);
      CHECK(replayed(j, k_pid, 0, k_all, k_all) == seq_range(1, 2));
      CHECK(must(j.persistence_ids()) == std::vector<persistence_id>{k_pid});
    }
  }
  SUBCASE("refuses when the highest is not the one expected and deletes nothing") {
    for (const std::uint64_t expected : {std::uint64_t{0}, std::uint64_t{4}, std::uint64_t{6}}) {
      auto r = j.purge(k_pid, expected);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == errc::sequence_conflict);
      CHECK(r.error().message.find(k_pid.describe()) != std::string::npos);
    }
    CHECK(must(j.highest_sequence_nr(k_pid)) == 5);
    CHECK(replayed(j, k_pid, 1, k_all, k_all) == seq_range(1, 5));
  }
  SUBCASE("purges an id whose events were deleted before") {
    must(j.delete_to(k_pid, 3));
    must(j.purge(k_pid, 5));
    CHECK(must(j.highest_sequence_nr(k_pid)) == 0);
    CHECK(must(j.write(k_pid, {make_event(1)})) == 1);
    CHECK(replayed(j, k_pid, 0, k_all, k_all) == seq_range(1, 1));
  }
  SUBCASE("accepts purging an id that never wrote only when 0 is expected") {
    const persistence_id unknown{shard_id{7}, "non-existing-pid"};
    must(j.purge(unknown, 0));
    auto r = j.purge(unknown, 1);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::sequence_conflict);
    CHECK(must(j.persistence_ids()) == std::vector<persistence_id>{k_pid});
  }
  SUBCASE("purges nothing of other ids, of ids it prefixes or of the same id in other shards") {
    const persistence_id longer{shard_id{7}, "p-10"};
    const persistence_id shorter{shard_id{7}, "p-"};
    const persistence_id elsewhere{shard_id{8}, "p-1"};
    for (const auto& pid : {longer, shorter, elsewhere}) must(j.write(pid, make_events(1, 2)));
    must(j.purge(k_pid, 5));
    for (const auto& pid : {longer, shorter, elsewhere}) {
      CHECK(replayed(j, pid, 1, k_all, k_all) == seq_range(1, 2));
      CHECK(must(j.highest_sequence_nr(pid)) == 2);
    }
    std::vector<persistence_id> visited;
    must(j.for_each_persistence_id([&](const persistence_id& pid, std::uint64_t) {
      visited.push_back(pid);
      return true;
    }));
    CHECK(visited == std::vector<persistence_id>{shorter, longer, elsewhere});
  }
  SUBCASE("purge_many checks each request on its own and answers them in order") {
    const persistence_id other{shard_id{7}, "p-2"};
    const persistence_id third{shard_id{9}, "p-3"};
    must(j.write(other, make_events(1, 3)));
    must(j.write(third, make_events(1, 2)));
    auto results = j.purge_many({purge_request{other, 3}, purge_request{k_pid, 4},
                                 purge_request{third, 2}, purge_request{k_pid, 5}});
    REQUIRE(results.size() == 4);
    CHECK(results[0].has_value());
    REQUIRE_FALSE(results[1].has_value());
    CHECK(results[1].error().code == errc::sequence_conflict);
    CHECK(results[2].has_value());
    CHECK(results[3].has_value());
    CHECK(must(j.persistence_ids()).empty());
    for (const auto& pid : {k_pid, other, third}) {
      CHECK(must(j.highest_sequence_nr(pid)) == 0);
      CHECK(replayed(j, pid, 0, k_all, k_all).empty());
    }
    CHECK(must(j.write(other, make_events(1, 1))) == 1);
  }
  SUBCASE("purge_many sees the purges before it of the same id") {
    auto results =
        j.purge_many({purge_request{k_pid, 5}, purge_request{k_pid, 5}, purge_request{k_pid, 0}});
    REQUIRE(results.size() == 3);
    CHECK(results[0].has_value());
    REQUIRE_FALSE(results[1].has_value());
    CHECK(results[1].error().code == errc::sequence_conflict);
    CHECK(results[2].has_value());
    CHECK(must(j.highest_sequence_nr(k_pid)) == 0);
    CHECK(must(j.write(k_pid, make_events(1, 2))) == 2);
    CHECK(replayed(j, k_pid, 0, k_all, k_all) == seq_range(1, 2));
  }
  SUBCASE("purge_many of nothing answers nothing") { CHECK(j.purge_many({}).empty()); }
}

void journal_write_spec(const journal_factory& make) {
  auto t = prepared(make);
  auto& j = *t.journal;
  auto expect_rejected = [&](std::vector<event> batch, errc code) {
    auto r = j.write(k_pid, std::move(batch));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == code);
    CHECK(must(j.highest_sequence_nr(k_pid)) == 5);
    CHECK(replayed(j, k_pid, 1, k_all, k_all) == seq_range(1, 5));
    return r.error().message;
  };
  SUBCASE("appends an atomic batch of several events") {
    CHECK(must(j.write(k_pid, make_events(6, 8))) == 8);
    CHECK(replayed(j, k_pid, 6, k_all, k_all) == seq_range(6, 8));
  }
  SUBCASE("rejects a batch that reuses a sequence number and writes none of it") {
    const auto message = expect_rejected(make_events(5, 7), errc::sequence_conflict);
    CHECK(message.find("p-1") != std::string::npos);
    CHECK(message.find("starts at 5") != std::string::npos);
    CHECK(message.find("highest is 5") != std::string::npos);
  }
  SUBCASE("rejects a batch that leaves a gap") {
    expect_rejected(make_events(7, 8), errc::sequence_conflict);
  }
  SUBCASE("rejects a batch whose sequence numbers are not contiguous and writes none of it") {
    expect_rejected({make_event(6), make_event(8)}, errc::invalid_argument);
  }
  SUBCASE("rejects an empty batch") { expect_rejected({}, errc::invalid_argument); }
  SUBCASE("rejects a second writer that races for the same sequence number") {
    CHECK(must(j.write(k_pid, {make_event(6, "writer-1")})) == 6);
    auto second = j.write(k_pid, {make_event(6, "writer-2")});
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == errc::sequence_conflict);
    std::vector<event> events;
    must(j.replay(k_pid, 6, 6, 1, [&](const event& e) { events.push_back(e); }));
    REQUIRE(events.size() == 1);
    CHECK(events[0].writer_id == "writer-1");
  }
  SUBCASE("rejects a first write of a new id that does not start at 1") {
    auto r = j.write(persistence_id{shard_id{7}, "fresh"}, make_events(2, 3));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::sequence_conflict);
  }
  SUBCASE("writes many ids in one call and rejects only the conflicting request") {
    const persistence_id a{shard_id{1}, "a"};
    const persistence_id b{shard_id{2}, "b"};
    std::vector<write_request> requests{{a, make_events(1, 2)},
                                        {k_pid, make_events(3, 4)},  // conflicts
                                        {b, make_events(1, 1)},
                                        {a, make_events(3, 3)}};  // continues the first
    auto results = j.write_many(std::move(requests));
    REQUIRE(results.size() == 4);
    CHECK(must(std::move(results[0])) == 2);
    REQUIRE_FALSE(results[1].has_value());
    CHECK(results[1].error().code == errc::sequence_conflict);
    CHECK(must(std::move(results[2])) == 1);
    CHECK(must(std::move(results[3])) == 3);
    CHECK(replayed(j, a, 1, k_all, k_all) == seq_range(1, 3));
    CHECK(replayed(j, b, 1, k_all, k_all) == seq_range(1, 1));
    CHECK(replayed(j, k_pid, 1, k_all, k_all) == seq_range(1, 5));
  }
}

void journal_isolation_spec(const journal_factory& make) {
  auto t = prepared(make);
  auto& j = *t.journal;
  SUBCASE("lists every id that wrote, ordered by shard and id") {
    const persistence_id b{shard_id{2}, "b"};
    const persistence_id a{shard_id{9}, "a"};
    const persistence_id c{shard_id{2}, "a"};
    for (const auto& pid : {b, a, c}) must(j.write(pid, {make_event(1)}));
    CHECK(must(j.persistence_ids()) == std::vector<persistence_id>{c, b, k_pid, a});
    CHECK(must(j.persistence_ids(shard_id{2})) == std::vector<persistence_id>{c, b});
    CHECK(must(j.persistence_ids(shard_id{3})).empty());
  }
  SUBCASE("visits every id with its highest sequence nr, in listing order, until told to stop") {
    const persistence_id b{shard_id{2}, "b"};
    const persistence_id a{shard_id{9}, "a"};
    const persistence_id c{shard_id{2}, "a"};
    must(j.write(b, make_events(1, 2)));
    must(j.write(a, make_events(1, 1)));
    must(j.write(c, make_events(1, 3)));
    must(j.delete_to(c, k_all));  // highest stays 3
    std::vector<std::pair<persistence_id, std::uint64_t>> seen;
    must(j.for_each_persistence_id([&](const persistence_id& pid, std::uint64_t highest) {
      seen.emplace_back(pid, highest);
      return true;
    }));
    using visit = std::pair<persistence_id, std::uint64_t>;
    CHECK(seen == std::vector<visit>{{c, 3}, {b, 2}, {k_pid, 5}, {a, 1}});
    std::size_t calls = 0;
    must(j.for_each_persistence_id([&](const persistence_id&, std::uint64_t) {
      ++calls;
      return calls < 2;
    }));
    CHECK(calls == 2);
  }
  SUBCASE("keeps ids that are prefixes of each other apart") {
    const std::vector<persistence_id> ids{{shard_id{7}, "p"},
                                          {shard_id{7}, "p-10"},
                                          {shard_id{7}, std::string("p-1\0", 4)},
                                          {shard_id{7}, std::string("p-1\0x", 5)}};
    for (std::size_t i = 0; i < ids.size(); ++i) must(j.write(ids[i], make_events(1, i + 1)));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      CHECK(replayed(j, ids[i], 1, k_all, k_all) == seq_range(1, i + 1));
      CHECK(must(j.highest_sequence_nr(ids[i])) == i + 1);
    }
    CHECK(replayed(j, k_pid, 1, k_all, k_all) == seq_range(1, 5));
    CHECK(must(j.persistence_ids()).size() == ids.size() + 1);
  }
  SUBCASE("keeps the same id in two shards apart") {
    const persistence_id other_shard{shard_id{8}, k_pid.id()};
    CHECK(must(j.highest_sequence_nr(other_shard)) == 0);
    CHECK(must(j.write(other_shard, make_events(1, 2))) == 2);
    must(j.delete_to(other_shard, k_all));
    CHECK(replayed(j, k_pid, 1, k_all, k_all) == seq_range(1, 5));
    CHECK(must(j.persistence_ids(shard_id{8})) == std::vector<persistence_id>{other_shard});
  }
  SUBCASE("keeps the first and the last shard apart from their neighbours") {
    const persistence_id first{shard_id{0}, "x"};
    const persistence_id last{shard_id{UINT32_MAX}, "x"};
    must(j.write(first, make_events(1, 1)));
    must(j.write(last, make_events(1, 2)));
    CHECK(must(j.persistence_ids(shard_id{0})) == std::vector<persistence_id>{first});
    CHECK(must(j.persistence_ids(shard_id{UINT32_MAX})) == std::vector<persistence_id>{last});
    CHECK(replayed(j, last, 1, k_all, k_all) == seq_range(1, 2));
  }
}

}  // namespace wfe::test
