#include "cluster/membership.hpp"

#include <random>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "cluster/cluster_view.hpp"
#include "engine/core/logging.hpp"

// Local-only message type: never crosses the wire (wire messages are protobuf).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::cluster::cluster_view)

namespace wfe::cluster {

namespace {

struct membership_state {
  cluster_view view;
  static inline const char* name = "membership";
};

std::uint64_t new_uid() {
  std::random_device rd;
  std::uint64_t uid = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  return uid == 0 ? 1 : uid;
}

void become_up(cluster_view& v, const std::string& app_version) {
  v.self_status = member_status::up;
  v.leader = v.self_address;
  v.members = {
      member_info{v.self_address, v.self_uid, member_status::up, v.self_roles, app_version}};
  auto log = core::logger("cluster");
  core::log_event(*log, spdlog::level::info, "CLUSTER_EVENT",
                  {{"type", "MemberUp"}, {"member", v.self_address}},
                  "Member is Up (single-node cluster)");
  core::log_event(*log, spdlog::level::info, "CLUSTER_EVENT",
                  {{"type", "LeaderChanged"}, {"leader", v.self_address}}, "Leader changed");
}

caf::behavior membership_actor(caf::stateful_actor<membership_state>* self,
                               const membership_config& cfg) {
  auto& v = self->state.view;
  v.self_address = cfg.settings.self.to_string();
  v.self_uid = new_uid();
  v.self_roles = cfg.settings.roles;
  become_up(v, cfg.app_version);
  return {
      [self](get_view_atom) { return self->state.view; },
      [self](leave_atom) {
        auto& view = self->state.view;
        view.self_status = member_status::removed;
        view.members.clear();
        view.leader.clear();
        core::log_event(*core::logger("cluster"), spdlog::level::info, "CLUSTER_EVENT",
                        {{"type", "MemberRemoved"}, {"member", view.self_address}},
                        "Member left and was removed");
      },
  };
}

}  // namespace

caf::actor spawn_membership(caf::actor_system& sys, membership_config cfg) {
  return sys.spawn(membership_actor, std::move(cfg));
}

}  // namespace wfe::cluster
