#include "engine/admin_commands.hpp"

#include <ctime>
#include <filesystem>
#include <iostream>

#include <boost/json.hpp>

#include "api/admin_client.hpp"
#include "api/http/bearer_auth.hpp"
#include "persistence/backup.hpp"

namespace wfe::engine {

namespace {

std::string format_time(std::int64_t unix_s) {
  std::time_t t = unix_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print(const persistence::backup_info& b) {
  std::cout << b.id << "  " << format_time(b.timestamp_s) << "  journal " << b.journal_size_bytes
            << " B (" << b.journal_files << " files)  snapshots " << b.snapshots_size_bytes
            << " B (" << b.snapshots_files << " files)\n";
}

int list(const std::filesystem::path& dir) {
  auto backups = persistence::list_backups(dir);
  if (!backups) {
    std::cerr << "workflow-engine: cannot list backups in " << dir.string() << ": "
              << backups.error().describe() << "\n";
    return exit_failure;
  }
  std::cout << "id  finished  sizes (" << backups->size() << " backups in " << dir.string()
            << ")\n";
  for (const auto& b : *backups) print(b);
  return exit_ok;
}

// The node holds the stores: ask it over its HTTP API to take the backup.
int backup_through_node(const node_settings& s, const std::filesystem::path& dir) {
  auto host = s.api.http.interface == "0.0.0.0" ? std::string("127.0.0.1") : s.api.http.interface;
  boost::json::object body{{"dir", dir.string()}};
  // With authentication on, the node's own token file says what to send.
  const auto token = s.api.http.auth ? s.api.http.auth->current()->admin_token() : std::string();
  // With HTTPS on, it trusts exactly the node's own certificate.
  // With mutual TLS, it presents the config's admin certificate.
  api::admin_call call{host,
                       s.api.http.port,
                       s.api.http.limits.request_timeout,
                       token,
                       s.api.tls_cert_file,
                       s.api.admin_cert_file,
                       s.api.admin_key_file};
  auto reply = api::post_json(call, "/api/v1/admin/backup", boost::json::serialize(body));
  if (!reply) {
    std::cerr << "workflow-engine: the stores are in use by a running node, and asking it failed: "
              << reply.error() << "\n";
    return exit_failure;
  }
  if (reply->status != 201) {
    std::cerr << "workflow-engine: the running node refused the backup (HTTP " << reply->status
              << "): " << reply->body << "\n";
    return exit_failure;
  }
  std::cout << "backup taken by the running node: " << reply->body << "\n";
  return exit_ok;
}

}  // namespace

int run_backup(const node_settings& s, const core::backup_command& cmd) {
  if (!cmd.list.empty()) return list(cmd.list);
  auto dir = std::filesystem::absolute(cmd.to);
  auto r = persistence::create_backup_from_dirs(s.persistence.journal_dir,
                                                s.persistence.snapshot_dir, dir);
  if (!r && r.error().code == persistence::errc::locked) return backup_through_node(s, dir);
  if (!r) {
    std::cerr << "workflow-engine: backup to " << dir.string()
              << " failed: " << r.error().describe() << "\n";
    return r.error().code == persistence::errc::corruption ? exit_storage : exit_failure;
  }
  std::cout << "backup written to " << dir.string() << ":\n";
  print(*r);
  return exit_ok;
}

int run_restore(const node_settings& s, const core::restore_command& cmd) {
  persistence::restore_request req{cmd.from, cmd.backup_id, s.persistence.journal_dir,
                                   s.persistence.snapshot_dir, cmd.force};
  auto r = persistence::restore_backup(req);
  if (!r) {
    std::cerr << "workflow-engine: restore from " << cmd.from.string()
              << " failed: " << r.error().describe();
    if (r.error().code == persistence::errc::not_empty) {
      std::cerr << " (use --force to replace the existing data)";
    } else if (r.error().code == persistence::errc::locked) {
      std::cerr << " (stop the node first)";
    }
    std::cerr << "\n";
    return exit_failure;
  }
  std::cout << "restored backup " << r->id << " into " << s.persistence.journal_dir.string()
            << " and " << s.persistence.snapshot_dir.string() << "\n";
  // The workflow index (visibility, dead letters, timers) is derived from the journal:
  // the old one describes other data, so it goes; the node rebuilds it at start.
  std::error_code ec;
  const auto removed = std::filesystem::remove_all(s.store.index.dir, ec);
  if (ec) {
    std::cerr << "workflow-engine: restored, but could not remove the old workflow index "
              << s.store.index.dir.string() << ": " << ec.message()
              << " (delete it before starting the node)\n";
    return exit_failure;
  }
  if (removed > 0) {
    std::cout << "removed the workflow index " << s.store.index.dir.string()
              << "; the node rebuilds it from the journal at start\n";
  }
  return exit_ok;
}

}  // namespace wfe::engine
