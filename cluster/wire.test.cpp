#include "cluster/wire.hpp"

#include <doctest/doctest.h>

#include "proto/cluster.pb.h"

namespace wfe::cluster {

namespace {

unique_address node(std::uint16_t port, std::uint64_t uid) {
  return {core::address{"wfe", "127.0.0.1", port}, uid};
}

gossip sample_gossip() {
  gossip g;
  member a{node(2551, 11), member_status::up, {"coordinator", "worker"}, "1.2.3", 0};
  member b{node(2552, 22), member_status::leaving, {}, "1.2.4", 1};
  g.members = {a, b};
  g.seen = {a.node, b.node};
  g.reach = reachability{}.unreachable(a.node, b.node);
  g.version = vector_clock{}.increment(clock_node(a.node)).increment(clock_node(a.node));
  g.tombstones[node(2553, 33)] = 123456;
  return g;
}

membership_message round_trip(const membership_message& m) {
  auto bytes = encode_message(m);
  REQUIRE(bytes.has_value());
  auto back = decode_message(bytes.value());
  REQUIRE_MESSAGE(back.has_value(), back.error());
  REQUIRE(back.value().index() == m.index());
  return back.value();
}

}  // namespace

TEST_CASE("wire: gossip envelope round-trips every field") {
  auto g = sample_gossip();
  auto back =
      std::get<gossip_envelope>(round_trip(gossip_envelope{node(2551, 11), node(2552, 22), g}));
  CHECK(back.from == node(2551, 11));
  CHECK(back.to == node(2552, 22));
  CHECK(back.state.members == g.members);
  CHECK(back.state.seen == g.seen);
  CHECK(back.state.reach == g.reach);
  CHECK(back.state.version == g.version);
  CHECK(back.state.tombstones == g.tombstones);
}

TEST_CASE("wire: every message kind round-trips") {
  auto a = node(2551, 11);
  auto init = std::get<init_join>(round_trip(init_join{a, "wfe", {{"k", "v"}, {"n", "100"}}}));
  CHECK(init.from == a);
  CHECK(init.system_name == "wfe");
  CHECK(init.config == join_config{{"k", "v"}, {"n", "100"}});
  auto ack = std::get<init_join_ack>(round_trip(init_join_ack{a, false, "shards differ"}));
  CHECK(!ack.compatible);
  CHECK(ack.reason == "shards differ");
  CHECK(std::get<init_join_nack>(round_trip(init_join_nack{a, "other system"})).reason ==
        "other system");
  member m{a, member_status::joining, {"worker"}, "1.0.0", up_number_unassigned};
  auto j = std::get<join>(round_trip(join{m, "wfe"}));
  CHECK(j.joining == m);
  CHECK(j.system_name == "wfe");
  CHECK(std::get<welcome>(round_trip(welcome{a, sample_gossip()})).state.members ==
        sample_gossip().members);
  auto gs = std::get<gossip_status>(
      round_trip(gossip_status{a, node(2552, 22), sample_gossip().version, {a}}));
  CHECK(gs.version == sample_gossip().version);
  CHECK(gs.seen == std::set<unique_address>{a});
  CHECK(std::get<heartbeat>(round_trip(heartbeat{a, 42})).sequence_nr == 42);
  CHECK(std::get<heartbeat_rsp>(round_trip(heartbeat_rsp{a, 43})).sequence_nr == 43);
  CHECK(std::get<exiting_confirmed>(round_trip(exiting_confirmed{a})).from == a);
}

TEST_CASE("wire: garbage and invalid values are errors, not crashes") {
  CHECK(!decode_message("\xff\xff\xff garbage").has_value());
  CHECK(!decode_message("").has_value());  // no message kind set

  proto::MembershipMessage bad_port;
  auto* from = bad_port.mutable_heartbeat()->mutable_from();
  from->mutable_address()->set_host("h");
  from->mutable_address()->set_port(70000);
  auto r = decode_message(bad_port.SerializeAsString());
  REQUIRE(!r.has_value());
  CHECK(r.error().find("port") != std::string::npos);

  proto::MembershipMessage no_from;
  no_from.mutable_heartbeat()->set_sequence_nr(1);
  CHECK(!decode_message(no_from.SerializeAsString()).has_value());

  proto::MembershipMessage bad_status;
  auto* w = bad_status.mutable_welcome();
  w->mutable_from()->mutable_address()->set_host("h");
  w->mutable_state()->add_members()->set_status(static_cast<proto::MemberStatus>(17));
  CHECK(!decode_message(bad_status.SerializeAsString()).has_value());
}

}  // namespace wfe::cluster
