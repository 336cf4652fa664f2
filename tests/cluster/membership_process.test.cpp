// Multi-process membership: three wfe_membership_node processes on 127.0.0.1 form a
// cluster over the CAF transport, survive kill -9 of one (unreachable, downed by the
// split-brain resolver, removed) and let another leave gracefully on SIGTERM.

#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/eventually.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using wfe::test::eventually;
using wfe::test::process;

std::string addr(std::uint16_t port) { return "pekko://wfe@127.0.0.1:" + std::to_string(port); }

std::vector<std::uint16_t> distinct_ports(std::size_t n) {
  std::set<std::uint16_t> ports;
  while (ports.size() < n) ports.insert(wfe::test::free_port());
  return {ports.begin(), ports.end()};
}

// The last "VIEW ..." line the node printed ("" when none yet).
std::string last_view(const process& p) {
  auto text = p.stdout_text();
  auto at = text.rfind("\nVIEW ");
  if (at == std::string::npos) return {};
  auto end = text.find('\n', at + 1);
  return text.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

std::string field(const std::string& view, const std::string& key) {
  auto at = view.find(" " + key + "=");
  if (at == std::string::npos) return {};
  at += key.size() + 2;
  return view.substr(at, view.find(' ', at) - at);
}

struct node {
  std::uint16_t port;
  wfe::test::temp_dir dir;
  std::unique_ptr<process> proc;
};

std::unique_ptr<node> start(std::uint16_t port, std::uint16_t seed,
                            std::vector<std::string> extra = {}) {
  auto n = std::make_unique<node>();
  n->port = port;
  std::vector<std::string> args{"--port",
                                std::to_string(port),
                                "--seeds",
                                "127.0.0.1:" + std::to_string(seed),
                                "--stable-after-ms",
                                "2000"};
  args.insert(args.end(), extra.begin(), extra.end());
  n->proc = std::make_unique<process>(WFE_MEMBERSHIP_NODE, args, n->dir.path());
  REQUIRE(n->proc->started());
  return n;
}

std::string dump(const std::vector<std::unique_ptr<node>>& nodes) {
  std::string out;
  for (const auto& n : nodes) {
    out += "--- node " + std::to_string(n->port) + " stdout:\n" + n->proc->stdout_text() +
           "--- stderr:\n" + n->proc->stderr_text();
  }
  return out;
}

bool contains(const process& p, const std::string& s) {
  return p.stdout_text().find(s) != std::string::npos;
}

}  // namespace

TEST_CASE("three processes form a cluster, survive kill -9 and a graceful leave") {
  auto ports = distinct_ports(3);
  std::vector<std::unique_ptr<node>> nodes;
  for (auto p : ports) nodes.push_back(start(p, ports[0]));

  // All three Up with the same leader.
  auto all_up = [&] {
    std::set<std::string> leaders;
    for (const auto& n : nodes) {
      auto v = last_view(*n->proc);
      if (field(v, "members") != "3" || field(v, "self") != "Up" ||
          field(v, "unreachable") != "-") {
        return false;
      }
      leaders.insert(field(v, "leader"));
    }
    return leaders.size() == 1 && *leaders.begin() != "-";
  };
  REQUIRE_MESSAGE(eventually(all_up, 30s), dump(nodes));
  auto leader = field(last_view(*nodes[0]->proc), "leader");
  CHECK(leader == addr(ports[0]));  // lowest address; ports are sorted

  // kill -9 the youngest: the others see it unreachable, then the SBR (keep-majority,
  // stable-after 2 s) downs it and the leader removes it.
  auto& victim = nodes[2];
  victim->proc->signal(SIGKILL);
  CHECK(victim->proc->wait(5s) == 128 + SIGKILL);
  for (std::size_t i = 0; i < 2; ++i) {
    auto& p = *nodes[i]->proc;
    CHECK_MESSAGE(
        eventually([&] { return contains(p, "EVENT UnreachableMember " + addr(victim->port)); },
                   15s),
        dump(nodes));
    CHECK_MESSAGE(
        eventually([&] { return contains(p, "EVENT MemberRemoved " + addr(victim->port)); }, 20s),
        dump(nodes));
    CHECK_MESSAGE(eventually(
                      [&] {
                        auto v = last_view(p);
                        return field(v, "members") == "2" && field(v, "unreachable") == "-";
                      },
                      10s),
                  dump(nodes));
  }
  CHECK(contains(*nodes[0]->proc, "EVENT MemberDowned " + addr(victim->port)));

  // SIGTERM: graceful leave (Leaving -> Exiting -> Removed), exit 0.
  auto& leaver = nodes[1];
  leaver->proc->signal(SIGTERM);
  CHECK_MESSAGE(leaver->proc->wait(20s) == 0, dump(nodes));
  CHECK(contains(*leaver->proc, "LEFT"));
  CHECK(!contains(*leaver->proc, "SELF_REMOVED"));
  auto& survivor = *nodes[0]->proc;
  CHECK_MESSAGE(
      eventually([&] { return contains(survivor, "EVENT MemberRemoved " + addr(leaver->port)); },
                 10s),
      dump(nodes));
  CHECK(contains(survivor, "EVENT MemberLeft " + addr(leaver->port)));
  CHECK(eventually([&] { return field(last_view(survivor), "members") == "1"; }, 5s));

  survivor.signal(SIGTERM);
  CHECK(survivor.wait(20s) == 0);
}

TEST_CASE("a node with incompatible configuration is refused and reports self-removal") {
  auto ports = distinct_ports(2);
  std::vector<std::unique_ptr<node>> nodes;
  nodes.push_back(start(ports[0], ports[0]));
  REQUIRE_MESSAGE(
      eventually([&] { return field(last_view(*nodes[0]->proc), "self") == "Up"; }, 15s),
      dump(nodes));
  nodes.push_back(start(ports[1], ports[0], {"--shards", "7"}));
  // on_self_removed fires: the node prints SELF_REMOVED and exits 3.
  CHECK_MESSAGE(nodes[1]->proc->wait(30s) == 3, dump(nodes));
  CHECK(contains(*nodes[1]->proc, "SELF_REMOVED joining the cluster was refused"));
  CHECK(field(last_view(*nodes[0]->proc), "members") == "1");
}
