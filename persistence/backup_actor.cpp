#include "persistence/backup_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>

#include "engine/core/logging.hpp"

// In-process only: never crosses the wire.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::result<wfe::persistence::backup_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::filesystem::path)

namespace wfe::persistence {

namespace {

using backup_atom = caf::atom_constant<caf::atom("backup")>;

caf::behavior backup_actor(caf::event_based_actor*, const backup_actor_deps& deps) {
  return {
      [deps](backup_atom, const std::filesystem::path& requested) -> result<backup_info> {
        auto dir = requested.empty() ? deps.default_dir : requested;
        auto log = core::logger("persistence");
        auto r = create_backup(*deps.journal, *deps.snapshots, dir);
        if (r) {
          log->info("backup {} written to {} (journal {} B, snapshots {} B)", r->id, dir.string(),
                    r->journal_size_bytes, r->snapshots_size_bytes);
        } else {
          log->error("backup to {} failed: {}", dir.string(), r.error().describe());
        }
        return r;
      },
  };
}

}  // namespace

caf::actor spawn_backup_actor(caf::actor_system& sys, backup_actor_deps deps) {
  return sys.spawn<caf::detached>(backup_actor, std::move(deps));
}

void request_backup(caf::event_based_actor* self, const caf::actor& backup_actor,
                    std::chrono::milliseconds timeout, std::filesystem::path dir,
                    const std::function<void(result<backup_info>)>& on_done) {
  self->request(backup_actor, timeout, backup_atom::value, std::move(dir))
      .then([on_done](result<backup_info>& r) { on_done(std::move(r)); },
            [on_done](caf::error& e) {
              on_done(fail(errc::unavailable, "backup actor did not answer: " + caf::to_string(e)));
            });
}

}  // namespace wfe::persistence
