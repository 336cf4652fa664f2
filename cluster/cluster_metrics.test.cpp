#include "cluster/cluster_metrics.hpp"

#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include <string>

#include "cluster/membership_core.hpp"

namespace wfe::cluster {

namespace {

// The value of the sample of `family` whose label `key` is `value` ("" = unlabelled).
double sample(prometheus::Registry& r, const std::string& family, const std::string& key = {},
              const std::string& value = {}) {
  for (const auto& f : r.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      bool match = key.empty() ? m.label.empty()
                               : (m.label.size() == 1 && m.label[0].name == key &&
                                  m.label[0].value == value);
      if (!match) continue;
      return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

member_info info(std::string address, member_status s) {
  member_info m;
  m.address = std::move(address);
  m.status = s;
  return m;
}

}  // namespace

TEST_CASE("cluster_members counts members per status, unreachable members are a gauge") {
  prometheus::Registry r;
  cluster_metrics m(&r);
  CHECK(sample(r, "cluster_members", "status", "up") == 0);
  cluster_view v;
  v.members = {info("a", member_status::up), info("b", member_status::up),
               info("c", member_status::joining), info("d", member_status::down),
               info("e", member_status::weakly_up)};
  v.unreachable = {"d"};
  m.update(v);
  CHECK(sample(r, "cluster_members", "status", "up") == 2);
  CHECK(sample(r, "cluster_members", "status", "joining") == 1);
  CHECK(sample(r, "cluster_members", "status", "down") == 1);
  CHECK(sample(r, "cluster_members", "status", "weakly_up") == 1);
  CHECK(sample(r, "cluster_members", "status", "leaving") == 0);
  CHECK(sample(r, "cluster_members", "status", "exiting") == 0);
  CHECK(sample(r, "cluster_unreachable_members") == 1);
  v.members.pop_back();
  v.unreachable.clear();
  m.update(v);
  CHECK(sample(r, "cluster_members", "status", "weakly_up") == 0);
  CHECK(sample(r, "cluster_unreachable_members") == 0);
}

TEST_CASE("cluster events are counted by name, LeaderChanged also counts a leader change") {
  prometheus::Registry r;
  cluster_metrics m(&r);
  m.event(event_kind::member_up);
  m.event(event_kind::member_up);
  m.event(event_kind::leader_changed);
  CHECK(sample(r, "cluster_events_total", "event", "MemberUp") == 2);
  CHECK(sample(r, "cluster_events_total", "event", "LeaderChanged") == 1);
  CHECK(sample(r, "cluster_events_total", "event", "MemberRemoved") == 0);
  CHECK(sample(r, "cluster_leader_changes_total") == 1);
}

TEST_CASE("without a registry every call is a no-op") {
  cluster_metrics m(nullptr);
  m.update(cluster_view{});
  m.event(event_kind::member_up);
}

}  // namespace wfe::cluster
