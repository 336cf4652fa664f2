// End-to-end storage behaviour of the real binary: a corrupt or busy journal stops
// the start, and backup / restore work through the command line (online through
// the running node, and from a tar of a stopped node's directories).

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <cstdio>
#include <thread>
#include <tuple>

#include "persistence/rocksdb_journal.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/node.hpp"

using namespace wfe::test;
namespace wp = wfe::persistence;
namespace json = boost::json;

namespace {

const wp::persistence_id pid_a{wp::shard_id{3}, "wf-a"};
const wp::persistence_id pid_b{wp::shard_id{7}, "wf-b"};

// Writes `count` synced events for each id straight into a journal directory.
void write_events(const std::filesystem::path& dir, std::uint64_t count) {
  auto j = wp::rocksdb_journal::open({.dir = dir});
  REQUIRE_MESSAGE(j, (j ? "" : j.error().describe()));
  for (const auto& pid : {pid_a, pid_b}) {
    auto from = *(*j)->highest_sequence_nr(pid) + 1;
    std::vector<wp::event> events;
    for (std::uint64_t i = 0; i < count; ++i) {
      events.push_back({from + i, "Evt", "payload-" + std::to_string(from + i), "test", 0});
    }
    auto results = (*j)->write_many({{pid, std::move(events)}});
    REQUIRE(results.size() == 1);
    REQUIRE(results[0]);
  }
}

// Every event of both ids, checked contiguous from 1; returns the count per id.
std::uint64_t count_events(const std::filesystem::path& dir) {
  auto j = wp::rocksdb_journal::open({.dir = dir});
  REQUIRE_MESSAGE(j, (j ? "" : j.error().describe()));
  std::uint64_t count = 0;
  for (const auto& pid : {pid_a, pid_b}) {
    std::uint64_t expect = 1;
    auto r = (*j)->replay(pid, 1, UINT64_MAX, UINT64_MAX, [&](const wp::event& e) {
      CHECK(e.sequence_nr == expect);
      CHECK(e.payload == "payload-" + std::to_string(expect));
      ++expect;
    });
    REQUIRE(r);
    count = expect - 1;
  }
  return count;
}

std::vector<std::string> dirs_of(const temp_dir& d) {
  return {"-Dpekko.persistence.journal.rocksdb.dir=" + (d.path() / "journal").string(),
          "-Dpekko.persistence.snapshot-store.rocksdb.dir=" + (d.path() / "snapshots").string()};
}

// Runs `command` with /bin/sh: its stdout and stderr, its exit status in `status`.
std::string shell(const std::string& command, int& status) {
  return shell_output(command + " 2>&1", status);
}

const std::filesystem::path k_tls = std::filesystem::path(WFE_SOURCE_DIR) / "tests/data/tls";

// curl over HTTPS trusting the test CA (or `ca`); `extra` adds options (a client
// certificate). The output ends with " <status code>".
std::string curl_https(std::uint16_t port, const std::string& path, int& status,
                       const std::string& extra = {},
                       const std::filesystem::path& ca = k_tls / "ca.pem") {
  return shell("curl -sS --max-time 10 --cacert " + ca.string() + " " + extra +
                   " -w ' %{http_code}' https://127.0.0.1:" + std::to_string(port) + path,
               status);
}

// curl_https until its output ends with `expected` (the node may still be starting), for
// at most ~10 s; the last output.
std::string curl_https_until(std::uint16_t port, const std::string& path,
                             const std::string& expected, const std::string& extra) {
  int status = -1;
  std::string out;
  for (int i = 0; i < 50 && !out.ends_with(expected); ++i) {
    out = curl_https(port, path, status, extra);
    if (!out.ends_with(expected)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return out;
}

int run_tool(std::vector<std::string> args, const temp_dir& logs, std::string* out = nullptr) {
  process p(WFE_BINARY, args, logs.path());
  auto code = p.wait(std::chrono::seconds(60));
  if (out) *out = p.stdout_text() + p.stderr_text();
  REQUIRE(code);
  return *code;
}

}  // namespace

TEST_CASE("a node whose journal WAL has a flipped byte refuses to start, naming corruption") {
  temp_dir data;
  write_events(data.path() / "journal", 200);
  std::filesystem::path wal;
  for (const auto& f : std::filesystem::directory_iterator(data.path() / "journal")) {
    if (f.path().extension() == ".log" && f.file_size() > 1000) wal = f.path();
  }
  REQUIRE(!wal.empty());
  {
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    auto middle = static_cast<std::streamoff>(std::filesystem::file_size(wal) / 2);
    f.seekg(middle);
    char c = 0;
    f.get(c);
    f.seekp(middle);
    f.put(static_cast<char>(c ^ 0x40));
  }
  node n(dirs_of(data));
  auto code = n.proc().wait(std::chrono::seconds(30));
  REQUIRE(code);
  CHECK(*code == 3);
  auto out = n.proc().stdout_text();
  CHECK(out.find("cannot open the journal") != std::string::npos);
  CHECK(out.find("orruption") != std::string::npos);
  CHECK(out.find(wal.filename().string()) != std::string::npos);
}

TEST_CASE("a second node on the same data directories refuses to start") {
  node first;
  REQUIRE(first.wait_started());
  node second(dirs_of(first.dir()));
  auto code = second.proc().wait(std::chrono::seconds(30));
  REQUIRE(code);
  CHECK(*code == 3);
  CHECK(second.proc().stdout_text().find("cannot open the journal") != std::string::npos);
  first.proc().signal(SIGTERM);
  CHECK(first.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE("backup while the node runs, wipe, restore: every event is back") {
  temp_dir data;
  write_events(data.path() / "journal", 50);
  temp_dir backups;
  temp_dir logs;
  {
    auto args = dirs_of(data);
    args.push_back("-Dpekko.persistence.backup.dir=" + (data.path() / "default-backups").string());
    node n(args);
    REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
    // The CLI finds the stores locked and asks the node over HTTP.
    std::string out;
    auto cli = dirs_of(data);
    cli.insert(cli.begin(), {"backup", "--to", backups.path().string()});
    cli.push_back("-Dpekko.workflow.http.port=" + std::to_string(n.http_port()));
    CHECK(run_tool(cli, logs, &out) == 0);
    CHECK(out.find("backup taken by the running node") != std::string::npos);
    // The HTTP endpoint itself.
    auto r = http_request(n.http_port(), "POST", "/api/v1/admin/backup",
                          json::serialize(json::object{{"dir", backups.path().string()}}));
    REQUIRE(r);
    CHECK(r->status == 201);
    CHECK(json::parse(r->body).at("id") == 2);
    auto to_default = http_request(n.http_port(), "POST", "/api/v1/admin/backup");
    REQUIRE(to_default);
    CHECK(to_default->status == 201);
    CHECK(json::parse(to_default->body).at("dir") ==
          json::value((data.path() / "default-backups").string()));
    CHECK(std::filesystem::exists(data.path() / "default-backups" / "backups.txt"));
    auto bad = http_request(n.http_port(), "POST", "/api/v1/admin/backup", "{not json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(json::parse(bad->body).at("error").at("code") == "invalid_json");
    n.proc().signal(SIGTERM);
    REQUIRE(n.proc().wait(std::chrono::seconds(40)) == 0);
  }
  std::string listing;
  CHECK(run_tool({"backup", "--list", backups.path().string()}, logs, &listing) == 0);
  CHECK(listing.find("2 backups") != std::string::npos);

  std::string refused;
  auto restore = dirs_of(data);
  restore.insert(restore.begin(), {"restore", "--from", backups.path().string()});
  CHECK(run_tool(restore, logs, &refused) == 1);  // data dirs are not empty
  CHECK(refused.find("--force") != std::string::npos);

  std::filesystem::remove_all(data.path() / "journal");
  std::filesystem::remove_all(data.path() / "snapshots");
  // The workflow index (derived from the journal, default next to it) describes the old
  // data: restore removes it so the node rebuilds it at start.
  const auto index_dir = data.path() / "workflow-index";
  CHECK(std::filesystem::exists(index_dir));
  std::string restored;
  CHECK(run_tool(restore, logs, &restored) == 0);
  CHECK(count_events(data.path() / "journal") == 50);
  CHECK_FALSE(std::filesystem::exists(index_dir));
  CHECK(restored.find("removed the workflow index") != std::string::npos);

  restore.insert(restore.end(), {"--backup-id", "1", "--force"});
  CHECK(run_tool(restore, logs) == 0);
  CHECK(count_events(data.path() / "journal") == 50);
}

TEST_CASE("a tar of a stopped node's directories restores with every event") {
  temp_dir data;
  write_events(data.path() / "journal", 40);
  {
    node n(dirs_of(data));
    REQUIRE(n.wait_started());
    n.proc().signal(SIGTERM);
    REQUIRE(n.proc().wait(std::chrono::seconds(40)) == 0);
  }
  temp_dir archive;
  auto tarball = (archive.path() / "pekko.tar.gz").string();
  // As the deployment guide does: tar -czf ... /var/lib/pekko/journal, then extract.
  auto pack = "tar -czf " + tarball + " -C " + data.path().string() + " journal snapshots";
  REQUIRE(std::system(pack.c_str()) == 0);
  temp_dir restored;
  auto unpack = "tar -xzf " + tarball + " -C " + restored.path().string();
  REQUIRE(std::system(unpack.c_str()) == 0);
  CHECK(count_events(restored.path() / "journal") == 40);
  node n(dirs_of(restored));
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// The deployment guide's "配置认证和授权 / 限制API访问": with a token file every API
// request needs a bearer token (401 otherwise, before any route runs), the probes stay
// open, and the backup command still reaches the running node (it sends the file's
// first token).
TEST_CASE("API tokens: 401 without a valid bearer token, probes open, backup CLI through") {
  temp_dir data;
  temp_dir backups;
  temp_dir logs;
  const std::string token = "3f2a9c4e8b7d6a5f4e3d2c1b0a998877";
  const std::string reader = "1111222233334444555566667777aaaa";
  const std::string worker = "9999888877776666555544443333bbbb";
  // The read-only token first: the backup command must pick the admin one.
  auto tokens = data.write("tokens", "# dashboards\n" + reader + " read\n# API clients\n" + token +
                                         "\n" + worker + " worker\n");
  auto args = dirs_of(data);
  args.push_back("-Dpekko.workflow.http.auth.tokens-file=" + tokens.string());
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
  auto bearer = [](const std::string& t) { return "Authorization: Bearer " + t + "\r\n"; };
  for (const auto& [target, headers] :
       std::vector<std::pair<std::string, std::string>>{{"/api/v1/cluster/stats", ""},
                                                        {"/api/v1/cluster/stats", bearer("x")},
                                                        {"/api/v1/workflows/none", ""},
                                                        {"/no/such/route", ""}}) {
    INFO(target << " with [" << headers << "]");
    auto r = n.request("GET", target, "", headers);
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->headers["www-authenticate"] == "Bearer realm=\"workflow-engine\"");
    CHECK(json::parse(r->body).at("error").at("code") == "unauthorized");
  }
  auto ok = n.request("GET", "/api/v1/cluster/stats", "", bearer(token));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  auto lower =
      n.request("GET", "/api/v1/cluster/stats", "", "Authorization: bearer " + token + "\r\n");
  REQUIRE(lower);
  CHECK(lower->status == 200);
  // Roles: a read token reads, a worker token only reaches the task routes.
  auto read_ok = n.request("GET", "/api/v1/cluster/stats", "", bearer(reader));
  REQUIRE(read_ok);
  CHECK(read_ok->status == 200);
  for (const auto& [method, target, t] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/api/v1/admin/backup", reader},
           {"POST", "/api/v1/workflows", reader},
           {"GET", "/api/v1/cluster/stats", worker}}) {
    INFO(method << " " << target);
    auto r = n.request(method, target, method == "POST" ? "{}" : "", bearer(t));
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(json::parse(r->body).at("error").at("code") == "forbidden");
  }
  auto queues = n.request("GET", "/api/v1/tasks/queues", "", bearer(worker));
  REQUIRE(queues);
  CHECK(queues->status == 200);
  // Nothing is done for a refused request: a backup asked without a token is not taken.
  auto refused = n.request("POST", "/api/v1/admin/backup",
                           json::serialize(json::object{{"dir", backups.path().string()}}));
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK_FALSE(std::filesystem::exists(backups.path() / "backups.txt"));
  for (const char* probe : {"/health", "/ready"}) {
    auto r = n.get(probe);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  auto metrics = n.metrics();  // its own port, not covered
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  // Refused before routing: counted under route "unmatched" (no label per unknown path).
  CHECK(metrics->body.find("http_requests_total{method=\"GET\",route=\"unmatched\","
                           "server=\"api\",status=\"401\"} 4") != std::string::npos);

  std::string out;
  auto cli = dirs_of(data);
  cli.insert(cli.begin(), {"backup", "--to", backups.path().string()});
  cli.push_back("-Dpekko.workflow.http.port=" + std::to_string(n.http_port()));
  cli.push_back("-Dpekko.workflow.http.auth.tokens-file=" + tokens.string());
  CHECK(run_tool(cli, logs, &out) == 0);
  CHECK(out.find("backup taken by the running node") != std::string::npos);
  CHECK(std::filesystem::exists(backups.path() / "backups.txt"));
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE("a token file that is missing or has a short token refuses the start naming it") {
  temp_dir data;
  temp_dir logs;
  auto short_file = data.write("tokens", "tooshort\n");
  for (const auto& [file, expect] : std::vector<std::pair<std::string, std::string>>{
           {(data.path() / "missing").string(), "cannot read the token file"},
           {short_file.string(),
            short_file.string() + ":1: a token must have at least 16 bytes"}}) {
    INFO(file);
    auto args = dirs_of(data);
    args.push_back("-Dpekko.workflow.http.auth.tokens-file=" + file);
    std::string out;
    CHECK(run_tool(args, logs, &out) == 2);
    CHECK(out.find("pekko.workflow.http.auth.tokens-file") != std::string::npos);
    CHECK(out.find(expect) != std::string::npos);
  }
}

// The deployment guide's "启用TLS/SSL": with a certificate and key the API port speaks
// HTTPS only (curl trusting the test CA gets answers, a plain HTTP request does not),
// and the backup command reaches the running node over it.
TEST_CASE("HTTPS: the API answers over TLS only, the backup CLI trusts the node's certificate") {
  temp_dir data;
  temp_dir backups;
  temp_dir logs;
  const auto& tls = k_tls;
  auto args = dirs_of(data);
  args.push_back("-Dpekko.workflow.http.tls.cert-file=" + (tls / "server.pem").string());
  args.push_back("-Dpekko.workflow.http.tls.key-file=" + (tls / "server.key").string());
  node n(args);
  REQUIRE_MESSAGE(n.wait_listening(), (n.proc().stdout_text() + n.proc().stderr_text()));
  auto curl = [&](const std::string& path, int& status) {
    return curl_https(n.http_port(), path, status);
  };
  int status = -1;
  std::string ready;
  for (int i = 0; i < 100; ++i) {  // until the member is Up (/ready 200)
    ready = curl("/ready", status);
    if (ready.ends_with(" 200")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK_MESSAGE(ready.ends_with(" 200"), ready);
  auto health = curl("/health", status);
  CHECK(status == 0);
  CHECK(health == R"({"status":"UP"} 200)");
  auto stats = curl("/api/v1/cluster/stats", status);
  CHECK(stats.find(R"("status":"Up")") != std::string::npos);
  // Plain HTTP on the HTTPS port: no HTTP answer.
  auto plain = n.get("/health");
  CHECK_FALSE((plain && plain->status == 200));
  // Without trusting the test CA, curl refuses the certificate.
  shell("curl -sS --max-time 10 -o /dev/null https://127.0.0.1:" + std::to_string(n.http_port()) +
            "/health",
        status);
  CHECK(status != 0);

  std::string out;
  auto cli = dirs_of(data);
  cli.insert(cli.begin(), {"backup", "--to", backups.path().string()});
  cli.push_back("-Dpekko.workflow.http.port=" + std::to_string(n.http_port()));
  cli.push_back("-Dpekko.workflow.http.tls.cert-file=" + (tls / "server.pem").string());
  cli.push_back("-Dpekko.workflow.http.tls.key-file=" + (tls / "server.key").string());
  CHECK(run_tool(cli, logs, &out) == 0);
  CHECK_MESSAGE(out.find("backup taken by the running node") != std::string::npos, out);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE(
    "mutual TLS: only a client with a certificate of the client CA gets an answer, the backup CLI "
    "with the admin certificate") {
  temp_dir data;
  auto args = dirs_of(data);
  args.push_back("-Dpekko.workflow.http.tls.cert-file=" + (k_tls / "server.pem").string());
  args.push_back("-Dpekko.workflow.http.tls.key-file=" + (k_tls / "server.key").string());
  args.push_back("-Dpekko.workflow.http.tls.client-ca-file=" + (k_tls / "client-ca.pem").string());
  node n(args);
  REQUIRE_MESSAGE(n.wait_listening(), (n.proc().stdout_text() + n.proc().stderr_text()));
  const auto cert =
      "--cert " + (k_tls / "client.pem").string() + " --key " + (k_tls / "client.key").string();
  int status = -1;
  const auto health = curl_https_until(n.http_port(), "/health", " 200", cert);
  CHECK_MESSAGE(health == R"({"status":"UP"} 200)", health);
  auto without = curl_https(n.http_port(), "/health", status);
  CHECK(status != 0);
  CHECK(without.find(R"({"status":"UP"})") == std::string::npos);
  // A certificate of another CA (the server's own) is refused too.
  auto other = curl_https(
      n.http_port(), "/health", status,
      "--cert " + (k_tls / "server.pem").string() + " --key " + (k_tls / "server.key").string());
  CHECK(status != 0);
  CHECK(other.find(R"({"status":"UP"})") == std::string::npos);

  // The backup CLI asking the node: refused without a client certificate, taken with the
  // config's admin certificate.
  temp_dir backups;
  temp_dir logs;
  auto cli = args;
  cli.insert(cli.begin(), {"backup", "--to", backups.path().string()});
  cli.push_back("-Dpekko.workflow.http.port=" + std::to_string(n.http_port()));
  std::string out;
  CHECK(run_tool(cli, logs, &out) != 0);
  CHECK_MESSAGE(out.find("asking it failed") != std::string::npos, out);
  cli.push_back("-Dpekko.workflow.http.tls.admin-cert-file=" + (k_tls / "client.pem").string());
  cli.push_back("-Dpekko.workflow.http.tls.admin-key-file=" + (k_tls / "client.key").string());
  CHECK(run_tool(cli, logs, &out) == 0);
  CHECK_MESSAGE(out.find("backup taken by the running node") != std::string::npos, out);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE(
    "certificate roles: a mutual-TLS client certificate listed by its common name or a DNS "
    "name needs no token, within its role") {
  temp_dir data;
  const std::string token = "0123456789abcdef0123456789abcdef";
  auto tokens = data.write("tokens", token + "\n");
  auto args = dirs_of(data);
  args.push_back("-Dpekko.workflow.http.tls.cert-file=" + (k_tls / "server.pem").string());
  args.push_back("-Dpekko.workflow.http.tls.key-file=" + (k_tls / "server.key").string());
  args.push_back("-Dpekko.workflow.http.tls.client-ca-file=" + (k_tls / "client-ca.pem").string());
  args.push_back("-Dpekko.workflow.http.auth.tokens-file=" + tokens.string());
  // client.pem's subject is "CN=workflow-engine test client".
  args.push_back(
      R"(-Dpekko.workflow.http.auth.certificate-roles={"workflow-engine test client" = read})");
  node n(args);
  REQUIRE_MESSAGE(n.wait_listening(), (n.proc().stdout_text() + n.proc().stderr_text()));
  const auto cert =
      "--cert " + (k_tls / "client.pem").string() + " --key " + (k_tls / "client.key").string();
  int status = -1;
  const auto stats = curl_https_until(n.http_port(), "/api/v1/cluster/stats", " 200", cert);
  CHECK_MESSAGE(stats.ends_with(" 200"), stats);  // read role, no token
  auto post = curl_https(n.http_port(), "/api/v1/workflow-definitions", status,
                         cert + " -X POST -H 'Content-Type: application/json' -d '{}'");
  CHECK_MESSAGE(post.ends_with(" 403"), post);  // beyond the read role
  // A token wins over the certificate: admin may POST (400: the definition is empty).
  auto with_token = curl_https(n.http_port(), "/api/v1/workflow-definitions", status,
                               cert +
                                   " -X POST -H 'Content-Type: application/json' -d '{}' -H "
                                   "'Authorization: Bearer " +
                                   token + "'");
  CHECK_MESSAGE(with_token.ends_with(" 400"), with_token);
  // A wrong token is not saved by the certificate.
  auto wrong = curl_https(n.http_port(), "/api/v1/cluster/stats", status,
                          cert + " -H 'Authorization: Bearer wrongwrongwrongwrong'");
  CHECK_MESSAGE(wrong.ends_with(" 401"), wrong);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);

  // A certificate that is not listed needs a token: restart with another name listed.
  args.back() = R"(-Dpekko.workflow.http.auth.certificate-roles={"someone else" = admin})";
  node m(args);
  REQUIRE_MESSAGE(m.wait_listening(), (m.proc().stdout_text() + m.proc().stderr_text()));
  const auto unlisted = curl_https_until(m.http_port(), "/api/v1/cluster/stats", " 401", cert);
  CHECK_MESSAGE(unlisted.ends_with(" 401"), unlisted);
  m.proc().signal(SIGTERM);
  CHECK(m.proc().wait(std::chrono::seconds(40)) == 0);

  // By a DNS subjectAltName too (cert-manager leaves the CN out): names-a.pem is
  // "CN=node-a" with DNS names node-a.workflow-engine.cluster.test and
  // workflow-engine.cluster.test; names-c.pem carries other.cluster.test instead.
  args[args.size() - 3] =
      "-Dpekko.workflow.http.tls.client-ca-file=" + (k_tls / "names-ca.pem").string();
  args.back() =
      R"(-Dpekko.workflow.http.auth.certificate-roles={"Workflow-Engine.Cluster.Test" = read})";
  node d(args);
  REQUIRE_MESSAGE(d.wait_listening(), (d.proc().stdout_text() + d.proc().stderr_text()));
  const auto cert_of = [](const std::string& id) {
    return "--cert " + (k_tls / ("names-" + id + ".pem")).string() + " --key " +
           (k_tls / ("names-" + id + ".key")).string();
  };
  const auto by_dns =
      curl_https_until(d.http_port(), "/api/v1/cluster/stats", " 200", cert_of("a"));
  CHECK_MESSAGE(by_dns.ends_with(" 200"), by_dns);
  const auto other = curl_https(d.http_port(), "/api/v1/cluster/stats", status, cert_of("c"));
  CHECK_MESSAGE(other.ends_with(" 401"), other);
  d.proc().signal(SIGTERM);
  CHECK(d.proc().wait(std::chrono::seconds(40)) == 0);
}

// SIGHUP, as the systemd unit's `systemctl reload` and logrotate's postrotate send it:
// the token file is read again (a bad one keeps the tokens in use) and the log file is
// reopened at its path.
TEST_CASE("SIGHUP reloads the API tokens and reopens the log file") {
  temp_dir data;
  const std::string first = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb";
  const std::string second = "ccccccccccccccccdddddddddddddddd";
  auto tokens = data.write("tokens", first + "\n");
  const auto log_file = data.path() / "application.log";
  auto args = dirs_of(data);
  args.push_back("-Dpekko.workflow.http.auth.tokens-file=" + tokens.string());
  args.push_back("-Dpekko.workflow.logging.file=" + log_file.string());
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
  auto status_with = [&](const std::string& token) {
    auto r =
        n.request("GET", "/api/v1/cluster/stats", "", "Authorization: Bearer " + token + "\r\n");
    return r ? r->status : 0;
  };
  CHECK(status_with(first) == 200);
  CHECK(status_with(second) == 401);

  data.write("tokens", second + "\n");
  std::filesystem::rename(log_file, data.path() / "application.log.1");  // logrotate
  n.proc().signal(SIGHUP);
  CHECK(eventually([&] { return status_with(second) == 200; }, std::chrono::seconds(10)));
  CHECK(status_with(first) == 401);
  CHECK(eventually(
      [&] {
        return read_file(log_file).find("SIGHUP: API tokens reloaded (1 tokens)") !=
               std::string::npos;
      },
      std::chrono::seconds(10)));
  CHECK(read_file(log_file).find("NODE_STARTED") == std::string::npos);  // a new file
  CHECK(read_file(data.path() / "application.log.1").find("NODE_STARTED") != std::string::npos);

  data.write("tokens", "short\n");  // a broken file: the tokens in use stay
  n.proc().signal(SIGHUP);
  CHECK(eventually(
      [&] {
        return read_file(log_file).find("SIGHUP: the API tokens are unchanged") !=
               std::string::npos;
      },
      std::chrono::seconds(10)));
  CHECK(status_with(second) == 200);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// A renewed certificate (certbot, cert-manager) is installed over the files the config
// names and the node gets SIGHUP: new connections get the new one, no restart. A
// certificate whose key does not match is refused and the one in use stays.
TEST_CASE("SIGHUP loads a renewed TLS certificate, a broken one keeps the certificate in use") {
  temp_dir data;
  const auto cert = data.path() / "api.pem";
  const auto key = data.path() / "api.key";
  auto install = [&](const char* pem, const char* k) {
    std::filesystem::copy_file(k_tls / pem, cert,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(k_tls / k, key, std::filesystem::copy_options::overwrite_existing);
  };
  install("server.pem", "server.key");
  const auto log_file = data.path() / "application.log";
  auto args = dirs_of(data);
  args.push_back("-Dpekko.workflow.http.tls.cert-file=" + cert.string());
  args.push_back("-Dpekko.workflow.http.tls.key-file=" + key.string());
  args.push_back("-Dpekko.workflow.logging.file=" + log_file.string());
  node n(args);
  REQUIRE_MESSAGE(n.wait_listening(), (n.proc().stdout_text() + n.proc().stderr_text()));
  // Whether a client trusting exactly `ca` gets an answer.
  auto trusted_with = [&](const char* ca) {
    int status = -1;
    const auto out = curl_https(n.http_port(), "/health", status, {}, k_tls / ca);
    return status == 0 && out.ends_with(" 200");
  };
  CHECK(eventually([&] { return trusted_with("ca.pem"); }, std::chrono::seconds(10)));
  CHECK_FALSE(trusted_with("server2.pem"));

  install("server2.pem", "server2.key");  // the renewed, self-signed one
  n.proc().signal(SIGHUP);
  CHECK(eventually([&] { return trusted_with("server2.pem"); }, std::chrono::seconds(10)));
  CHECK_FALSE(trusted_with("ca.pem"));
  CHECK(read_file(log_file).find("SIGHUP: the API's TLS certificate " + cert.string() +
                                 " reloaded") != std::string::npos);

  install("server.pem", "server2.key");  // a certificate without its key
  n.proc().signal(SIGHUP);
  CHECK(eventually(
      [&] {
        return read_file(log_file).find("SIGHUP: the API's TLS certificate is unchanged") !=
               std::string::npos;
      },
      std::chrono::seconds(10)));
  CHECK(trusted_with("server2.pem"));
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// The metrics port with the API's certificate and tokens: Prometheus scraping with
// `scheme: https` and a bearer token.
TEST_CASE("metrics over HTTPS with a token when asked: 401 without one, 403 for a worker token") {
  temp_dir data;
  const std::string reader = "rrrrrrrrrrrrrrrrssssssssssssssss";
  const std::string worker = "wwwwwwwwwwwwwwwwxxxxxxxxxxxxxxxx";
  auto tokens = data.write("tokens", reader + " read\n" + worker + " worker\n");
  auto args = dirs_of(data);
  args.push_back("-Dpekko.workflow.http.tls.cert-file=" + (k_tls / "server.pem").string());
  args.push_back("-Dpekko.workflow.http.tls.key-file=" + (k_tls / "server.key").string());
  args.push_back("-Dpekko.workflow.http.auth.tokens-file=" + tokens.string());
  args.push_back("-Dpekko.workflow.metrics.tls=on");
  args.push_back("-Dpekko.workflow.metrics.auth=on");
  node n(args);
  REQUIRE_MESSAGE(n.wait_listening(), (n.proc().stdout_text() + n.proc().stderr_text()));
  auto scrape = [&](const std::string& token, int& status) {
    return curl_https(n.metrics_port(), "/metrics", status,
                      token.empty() ? std::string() : "-H 'Authorization: Bearer " + token + "'");
  };
  int status = -1;
  std::string out;
  CHECK(eventually(
      [&] {
        out = scrape(reader, status);
        return status == 0 && out.ends_with(" 200");
      },
      std::chrono::seconds(10)));
  CHECK_MESSAGE(out.find("workflow_started_total") != std::string::npos, out);
  CHECK(scrape("", status).ends_with(" 401"));
  CHECK(scrape(worker, status).ends_with(" 403"));
  // Plain HTTP on the metrics port gets no metrics.
  auto plain = n.metrics();
  CHECK_FALSE((plain && plain->status == 200));
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}
