#include "api/admin_routes.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "api/responder_message.hpp"
#include "persistence/backup_actor.hpp"

namespace wfe::api {

namespace {

using backup_atom = caf::atom_constant<caf::atom("backup")>;

unsigned status_of(persistence::errc code) {
  switch (code) {
    case persistence::errc::invalid_argument:
      return 400;
    case persistence::errc::unavailable:
      return 503;
    default:
      return 500;
  }
}

std::string render(const persistence::backup_info& b, const std::string& dir) {
  boost::json::object o{{"id", b.id},
                        {"dir", dir},
                        {"journalBackupId", b.journal_backup_id},
                        {"snapshotsBackupId", b.snapshots_backup_id},
                        {"timestamp", b.timestamp_s},
                        {"journalSizeBytes", b.journal_size_bytes},
                        {"snapshotsSizeBytes", b.snapshots_size_bytes}};
  return boost::json::serialize(o);
}

// The optional body {"dir": "..."}; an error response when it is malformed.
std::optional<http_response> parse_dir(const std::string& body, std::string& dir) {
  if (body.empty()) return std::nullopt;
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return http_response::error(400, "invalid_json", "the body must be a JSON object");
  }
  const auto* d = v.as_object().if_contains("dir");
  if (d == nullptr) return std::nullopt;
  if (!d->is_string() || d->as_string().empty()) {
    return http_response::error(400, "invalid_field", "\"dir\" must be a non-empty string");
  }
  dir = std::string(d->as_string());
  return std::nullopt;
}

caf::behavior admin_gateway(caf::event_based_actor* self, const admin_routes_config& cfg) {
  auto backup = *cfg.backup_actor;
  auto timeout = cfg.backup_timeout;
  auto default_dir = cfg.default_backup_dir;
  return {
      [self, backup, timeout, default_dir](backup_atom, const std::string& requested,
                                           const responder& r) {
        auto dir = requested.empty() ? default_dir : requested;
        persistence::request_backup(self, backup, timeout, dir, [r, dir](auto result) {
          if (result) {
            r(http_response::json(201, render(*result, dir)));
          } else {
            r(http_response::error(status_of(result.error().code), "backup_failed",
                                   result.error().describe()));
          }
        });
      },
  };
}

}  // namespace

caf::actor add_admin_routes(router& r, const admin_routes_config& cfg) {
  auto gw = cfg.system->spawn(admin_gateway, cfg);
  r.add("POST", "/api/v1/admin/backup", [gw](http_request&& req, responder respond) {
    std::string dir;
    if (auto bad = parse_dir(req.body, dir)) {
      respond(std::move(*bad));
      return;
    }
    caf::anon_send(gw, backup_atom::value, std::move(dir), std::move(respond));
  });
  return gw;
}

}  // namespace wfe::api
