// A stand-alone membership node for multi-process tests: an actor system with the io
// middleman and the wire types, the membership actor published on the transport,
// joining the seeds from the command line. Prints to stdout, one line each:
//   EVENT <type> <member-or-leader> [reason]
//   VIEW members=<up count> total=<n> self=<status> leader=<addr> unreachable=<a,b|->
//   SELF_REMOVED <reason>        (then exits 3)
//   LEFT                         (after SIGTERM: graceful leave done, exits 0)
// Usage: wfe_membership_node --port P [--host H] [--system S] [--seeds h:p,h:p]
//                            [--stable-after-ms N] [--roles a,b] [--shards N]
// (--shards feeds the join compatibility check: a different value is refused.)

#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "cluster/membership_actor.hpp"
#include "cluster/transport.hpp"
#include "cluster/wire_envelope.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::cluster::cluster_view)

namespace {

std::atomic<bool> term_requested{false};
std::atomic<bool> self_removed{false};
std::mutex out_mutex;
std::string removed_reason;

void on_term(int) { term_requested = true; }

void print_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(out_mutex);
  std::cout << line << std::endl;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string view_line(const wfe::cluster::cluster_view& v) {
  std::string unreachable;
  for (const auto& u : v.unreachable) unreachable += (unreachable.empty() ? "" : ",") + u;
  return "VIEW members=" + std::to_string(v.up_count()) +
         " total=" + std::to_string(v.members.size()) +
         " self=" + wfe::cluster::to_string(v.self_status) +
         " leader=" + (v.leader.empty() ? "-" : v.leader) +
         " unreachable=" + (unreachable.empty() ? "-" : unreachable);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace wfe::cluster;
  using std::chrono::milliseconds;
  std::string host = "127.0.0.1";
  std::string system_name = "wfe";
  std::uint16_t port = 0;
  std::vector<std::string> seeds;
  std::vector<std::string> roles;
  long stable_after_ms = 2000;
  std::string shards = "100";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--port")
      port = static_cast<std::uint16_t>(std::stoi(v));
    else if (k == "--host")
      host = v;
    else if (k == "--system")
      system_name = v;
    else if (k == "--seeds")
      seeds = split(v, ',');
    else if (k == "--roles")
      roles = split(v, ',');
    else if (k == "--stable-after-ms")
      stable_after_ms = std::stol(v);
    else if (k == "--shards")
      shards = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (port == 0) {
    std::cerr << "--port is required\n";
    return 2;
  }

  membership_actor_config mc;
  mc.settings.system_name = system_name;
  mc.settings.self = wfe::core::address{system_name, host, port};
  mc.settings.bind_hostname = host;
  mc.settings.bind_port = port;
  mc.settings.roles = roles;
  for (const auto& s : seeds) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) {
      std::cerr << "bad seed " << s << "\n";
      return 2;
    }
    mc.settings.seed_nodes.push_back(
        wfe::core::address{system_name, s.substr(0, colon),
                           static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1)))});
  }
  auto& ms = mc.membership;
  ms.seed_node_timeout = milliseconds(1000);
  ms.retry_unsuccessful_join_after = milliseconds(2000);
  ms.gossip_interval = milliseconds(200);
  ms.leader_actions_interval = milliseconds(200);
  ms.unreachable_nodes_reaper_interval = milliseconds(200);
  ms.failure_detector.heartbeat_interval = milliseconds(200);
  ms.failure_detector.acceptable_heartbeat_pause = milliseconds(1000);
  ms.failure_detector.expected_response_after = milliseconds(500);
  ms.split_brain_resolver.stable_after = milliseconds(stable_after_ms);
  ms.split_brain_resolver.down_all_when_unstable = milliseconds(0);
  mc.app_version = "1.0.0";
  mc.join_compat = {{"pekko.cluster.sharding.number-of-shards", shards}};
  mc.on_event = [](const cluster_event& e) {
    std::string who = e.kind == event_kind::leader_changed
                          ? (e.leader ? e.leader->address.to_string() : std::string("-"))
                          : e.subject.node.address.to_string();
    print_line(std::string("EVENT ") + to_string(e.kind) + " " + who +
               (e.reason.empty() ? "" : " " + e.reason));
  };
  mc.on_self_removed = [](std::string reason) {
    {
      std::lock_guard<std::mutex> lock(out_mutex);
      removed_reason = std::move(reason);
    }
    self_removed = true;
  };

  std::signal(SIGTERM, on_term);
  std::signal(SIGINT, on_term);

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("middleman.workers", std::size_t{0});
  register_wire_types(cfg);
  caf::actor_system sys{cfg};

  auto membership = spawn_membership_actor(sys, std::move(mc));
  cluster_settings ts;
  ts.bind_hostname = host;
  ts.bind_port = port;
  auto opened = open_transport(sys, membership, ts);
  if (!opened) {
    std::cerr << opened.error() << "\n";
    caf::anon_send_exit(membership, caf::exit_reason::user_shutdown);
    return 1;
  }
  print_line("LISTENING " + std::to_string(opened.value()));

  caf::scoped_actor self{sys};
  int rc = 0;
  auto next_view = std::chrono::steady_clock::now();
  for (;;) {
    if (self_removed) {
      std::lock_guard<std::mutex> lock(out_mutex);
      std::cout << "SELF_REMOVED " << removed_reason << std::endl;
      rc = 3;
      break;
    }
    if (term_requested) {
      print_line("LEAVING");
      bool ok = false;
      self->request(membership, std::chrono::seconds(20), leave_atom::value)
          .receive([&ok] { ok = true; },
                   [](caf::error& e) { print_line("LEAVE_FAILED " + caf::to_string(e)); });
      if (ok) print_line("LEFT");
      rc = ok ? 0 : 1;
      break;
    }
    if (std::chrono::steady_clock::now() >= next_view) {
      next_view += milliseconds(500);
      self->request(membership, std::chrono::seconds(2), get_view_atom::value)
          .receive([](const cluster_view& v) { print_line(view_line(v)); },
                   [](caf::error& e) { print_line("VIEW_FAILED " + caf::to_string(e)); });
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  caf::anon_send_exit(membership, caf::exit_reason::user_shutdown);
  return rc;
}
