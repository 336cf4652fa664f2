#pragma once
// Starts a real workflow-engine node (on 127.0.0.1 unless overridden) with a temp data dir, JSON
// logs and ephemeral HTTP/metrics ports read back from its NODE_STARTED log line.

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace wfe::test {

inline std::uint16_t port_of(const std::string& host_port) {
  return static_cast<std::uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
}

class node {
 public:
  // `extra` args come after the defaults, so they may override them. `prefix` runs the
  // binary through a wrapper command (e.g. setpriv to run it as another user).
  explicit node(std::vector<std::string> extra = {}, std::vector<std::string> env = {},
                std::vector<std::string> prefix = {}) {
    transport_port_ = free_port();
    std::vector<std::string> args{
        "-Dpekko.workflow.logging.format=json",
        "-Dpekko.remote.artery.canonical.hostname=127.0.0.1",
        "-Dpekko.remote.artery.canonical.port=" + std::to_string(transport_port_),
        "-Dpekko.workflow.http.interface=127.0.0.1",
        "-Dpekko.workflow.http.port=0",
        "-Dpekko.workflow.metrics.interface=127.0.0.1",
        "-Dpekko.workflow.metrics.port=0",
        "-Dpekko.persistence.journal.rocksdb.dir=" + (dir_.path() / "journal").string(),
        "-Dpekko.persistence.snapshot-store.rocksdb.dir=" + (dir_.path() / "snapshots").string(),
        // The configs' seeds name fixed ports; alone, the node forms its own cluster.
        "-Dpekko.cluster.seed-nodes=[]",
    };
    args.insert(args.end(), extra.begin(), extra.end());
    std::string binary = WFE_BINARY;
    if (!prefix.empty()) {
      args.insert(args.begin(), binary);
      args.insert(args.begin(), prefix.begin() + 1, prefix.end());
      binary = prefix.front();
    }
    proc_ = std::make_unique<process>(binary, args, dir_.path(), env);
  }

  // Waits for the NODE_STARTED line, then until the member is Up (/ready is 200);
  // false if the node exited or took too long.
  bool wait_started() { return wait_listening() && wait_ready(std::chrono::seconds(30)); }

  // Waits for the NODE_STARTED line and reads the HTTP/metrics addresses from it.
  bool wait_listening() {
    auto line = proc_->wait_for_line("NODE_STARTED", std::chrono::seconds(30));
    if (!line) return false;
    auto v = boost::json::parse(*line).as_object();
    std::string http(v.at("http").as_string());
    http_port_ = port_of(http);
    host_ = http.substr(0, http.rfind(':'));
    if (host_ == "0.0.0.0") host_ = "127.0.0.1";
    metrics_port_ = port_of(std::string(v.at("metrics").as_string()));
    self_ = std::string(v.at("self").as_string());
    return true;
  }

  // Waits until the member is Up (/ready is 200); false if the node exited first.
  bool wait_ready(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      auto r = get("/ready");
      if (r && r->status == 200) return true;
      if (proc_->wait(std::chrono::milliseconds(0))) return false;  // exited
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::optional<http_reply> get(const std::string& target) const {
    return http_request(http_port_, "GET", target, {}, {}, host_);
  }
  std::optional<http_reply> request(const std::string& method, const std::string& target,
                                    const std::string& body = {},
                                    const std::string& extra_headers = {}) const {
    return http_request(http_port_, method, target, body, extra_headers, host_);
  }
  // GET /metrics on the node's metrics port.
  std::optional<http_reply> metrics() const {
    return http_request(metrics_port_, "GET", "/metrics", {}, {}, host_);
  }

  [[nodiscard]] process& proc() { return *proc_; }
  [[nodiscard]] const temp_dir& dir() const { return dir_; }
  [[nodiscard]] std::uint16_t http_port() const { return http_port_; }
  [[nodiscard]] std::uint16_t metrics_port() const { return metrics_port_; }
  [[nodiscard]] std::uint16_t transport_port() const { return transport_port_; }
  [[nodiscard]] const std::string& self() const { return self_; }
  [[nodiscard]] const std::string& host() const { return host_; }  // where HTTP listens

 private:
  temp_dir dir_;
  std::unique_ptr<process> proc_;
  std::uint16_t transport_port_ = 0;
  std::uint16_t http_port_ = 0;
  std::uint16_t metrics_port_ = 0;
  std::string self_;
  std::string host_ = "127.0.0.1";
};

}  // namespace wfe::test
