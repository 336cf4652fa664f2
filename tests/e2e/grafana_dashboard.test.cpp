// The deployment guide's Grafana dashboard (grafana/workflow-engine-dashboard.json): it
// imports the way the guide says (a Prometheus data source is chosen at import), and every
// panel's query, run by a real Prometheus scraping a real node with the guide's scrape
// config, returns series carrying the labels its legend and its `by` clauses name.

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>

#include "tests/support/eventually.hpp"
#include "tests/support/node.hpp"
#include "tests/support/workflow_api.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

const std::filesystem::path dashboard_path =
    std::filesystem::path(WFE_SOURCE_DIR) / "grafana/workflow-engine-dashboard.json";

// WFE_PROMETHEUS, else what scripts/fetch-test-tools.sh unpacked (`make test` runs it),
// else a prometheus on the PATH.
std::string prometheus_binary() {
  if (const char* env = std::getenv("WFE_PROMETHEUS"); env != nullptr && *env != '\0') return env;
  auto fetched = std::filesystem::path(WFE_TEST_TOOLS_DIR) / "usr/bin/prometheus";
  if (std::filesystem::exists(fetched)) return fetched.string();
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    auto p = std::filesystem::path(dir) / "prometheus";
    if (std::filesystem::exists(p)) return p.string();
  }
  return {};
}

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// One Prometheus on 127.0.0.1 scraping `target` every second with the guide's job;
// `job_options` adds lines to the job (indented 4 spaces).
class prometheus {
 public:
  prometheus(const std::string& binary, const std::string& target,
             const std::string& job_options = {})
      : port_(free_port()) {
    auto config = dir_.write("prometheus.yml", R"(global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: 'workflow-engine'
    static_configs:
      - targets:
        - ')" + target + R"('
    metrics_path: '/metrics'
    scrape_interval: 1s
)" + job_options);
    proc_.emplace(
        binary,
        std::vector<std::string>{"--config.file=" + config.string(),
                                 "--storage.tsdb.path=" + (dir_.path() / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--log.level=warn"},
        dir_.path());
  }
  ~prometheus() {
    if (proc_) {
      proc_->signal(SIGTERM);
      proc_->wait(std::chrono::seconds(20));
    }
  }
  prometheus(const prometheus&) = delete;
  prometheus& operator=(const prometheus&) = delete;

  // GET /api/v1/<path>; the parsed body, or null when there was no JSON answer.
  [[nodiscard]] json::value api(const std::string& path_and_query) const {
    auto r = http_request(port_, "GET", "/api/v1/" + path_and_query);
    if (!r) return nullptr;
    std::error_code ec;
    auto v = json::parse(r->body, ec);
    return ec ? json::value(nullptr) : v;
  }
  [[nodiscard]] json::value query(const std::string& promql) const {
    return api("query?query=" + url_encode(promql));
  }
  // Whether `promql` returns at least one series now.
  [[nodiscard]] bool has_series(const std::string& promql) const {
    auto v = query(promql);
    return v.is_object() && v.at("status") == "success" &&
           !v.at("data").at("result").as_array().empty();
  }
  [[nodiscard]] std::string logs() const { return proc_->stdout_text() + proc_->stderr_text(); }

 private:
  temp_dir dir_;
  std::uint16_t port_;
  std::optional<process> proc_;
};

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

// The panel's queries with Grafana's variables replaced as an "All" selection does.
std::string expand(std::string expr) {
  for (auto [var, value] : {std::pair{"$__rate_interval", "15s"}, std::pair{"$instance", ".*"}}) {
    for (auto p = expr.find(var); p != std::string::npos; p = expr.find(var, p)) {
      expr.replace(p, std::string_view(var).size(), value);
    }
  }
  return expr;
}

// Labels a query's result must carry: its `by (...)` labels (but `le`, which
// histogram_quantile consumes) and the `{{label}}`s of its legend.
std::set<std::string> labels_named(const std::string& expr, const std::string& legend) {
  std::set<std::string> out;
  static const std::regex by(R"(\bby\s*\(([^)]*)\))");
  static const std::regex name(R"([A-Za-z_][A-Za-z0-9_]*)");
  for (std::sregex_iterator m(expr.begin(), expr.end(), by), end; m != end; ++m) {
    auto list = (*m)[1].str();
    for (std::sregex_iterator l(list.begin(), list.end(), name); l != end; ++l) {
      if (l->str() != "le") out.insert(l->str());
    }
  }
  static const std::regex legend_label(R"(\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
  for (std::sregex_iterator m(legend.begin(), legend.end(), legend_label), end; m != end; ++m) {
    out.insert((*m)[1].str());
  }
  return out;
}

void check_prometheus_datasource(const json::value& ds, const std::string& where) {
  INFO(where);
  REQUIRE(ds.is_object());
  CHECK(ds.at("type") == "prometheus");
  CHECK(ds.at("uid") == "${DS_PROMETHEUS}");
}

}  // namespace

TEST_CASE(
    "the guide's Grafana dashboard imports with a chosen Prometheus and lays out its panels") {
  auto dash = json::parse(read_file(dashboard_path)).as_object();
  CHECK(str(dash.at("title")) == "workflow-engine");
  CHECK(!str(dash.at("uid")).empty());
  CHECK(dash.at("schemaVersion").is_int64());

  // "选择Prometheus数据源" at import: the dashboard asks for one data source input.
  const auto& inputs = dash.at("__inputs").as_array();
  REQUIRE(inputs.size() == 1);
  CHECK(inputs[0].at("name") == "DS_PROMETHEUS");
  CHECK(inputs[0].at("type") == "datasource");
  CHECK(inputs[0].at("pluginId") == "prometheus");
  for (const auto& v : dash.at("templating").at("list").as_array()) {
    check_prometheus_datasource(v.at("datasource"), "variable " + str(v.at("name")));
  }

  struct box {
    std::int64_t x, y, w, h;
    std::string title;
  };
  std::vector<box> boxes;
  std::set<std::int64_t> ids;
  std::size_t queries = 0;
  for (const auto& pv : dash.at("panels").as_array()) {
    const auto& p = pv.as_object();
    auto title = str(p.at("title"));
    INFO("panel " << title);
    CHECK(!title.empty());
    CHECK(ids.insert(p.at("id").as_int64()).second);
    const auto& g = p.at("gridPos").as_object();
    box b{g.at("x").as_int64(), g.at("y").as_int64(), g.at("w").as_int64(), g.at("h").as_int64(),
          title};
    CHECK(b.x >= 0);
    CHECK(b.y >= 0);
    CHECK(b.w > 0);
    CHECK(b.h > 0);
    CHECK(b.x + b.w <= 24);
    for (const auto& o : boxes) {
      bool apart = b.x + b.w <= o.x || o.x + o.w <= b.x || b.y + b.h <= o.y || o.y + o.h <= b.y;
      CHECK_MESSAGE(apart, title << " overlaps " << o.title);
    }
    boxes.push_back(b);
    if (p.at("type") == "row") continue;
    check_prometheus_datasource(p.at("datasource"), title);
    std::set<std::string> refs;
    const auto& targets = p.at("targets").as_array();
    CHECK(!targets.empty());
    for (const auto& t : targets) {
      check_prometheus_datasource(t.at("datasource"), title);
      CHECK(refs.insert(str(t.at("refId"))).second);
      CHECK(!str(t.at("expr")).empty());
      ++queries;
    }
  }
  CHECK(queries >= 30);
}

TEST_CASE(
    "every query of the guide's Grafana dashboard returns series from a real node on a real "
    "Prometheus") {
  auto binary = prometheus_binary();
  REQUIRE_MESSAGE(!binary.empty(), "no prometheus binary: run `bash scripts/fetch-test-tools.sh "
                                       << WFE_TEST_TOOLS_DIR
                                       << "` (make test does) or set WFE_PROMETHEUS");
  auto dash = json::parse(read_file(dashboard_path)).as_object();

  // Retention with an archive: its counters exist (at 0) for the "Index and retention"
  // panel; nothing is old enough to be deleted during the test.
  temp_dir archive;
  node n({"-Dpekko.workflow.retention.finished-after=1h",
          "-Dpekko.workflow.retention.archive-dir=" + (archive.path() / "archive").string()});
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
  workflow_api api(n.http_port());
  // Every series a panel reads exists before the first scrape: a task ran (its histogram and
  // its outcome counter), a workflow finished, and a request was refused (a 4xx status).
  api.define("dash", R"([{"name":"a","task":"sleep","input":{"ms":1}}])");
  api.started("dash-1", "dash");
  CHECK(api.wait_status("dash-1", "COMPLETED") == "COMPLETED");
  CHECK(api.get("/api/v1/workflows/no-such-workflow").status == 404);

  auto target = "127.0.0.1:" + std::to_string(n.metrics_port());
  prometheus prom(binary, target);
  // Three scrapes, so that a rate over the dashboard's interval has two samples or more.
  bool scraped = eventually(
      [&] { return prom.has_series(R"(sum_over_time(up{job="workflow-engine"}[1m]) >= 3)"); },
      std::chrono::seconds(60), std::chrono::milliseconds(250));
  REQUIRE_MESSAGE(scraped, prom.logs());

  // The node variable lists the node as Prometheus labels it.
  for (const auto& v : dash.at("templating").at("list").as_array()) {
    static const std::regex label_values(R"(label_values\((\w+),\s*(\w+)\))");
    std::smatch m;
    auto def = str(v.at("definition"));
    REQUIRE_MESSAGE(std::regex_match(def, m, label_values), def);
    auto series = prom.api("series?match[]=" + url_encode(m[1].str()));
    REQUIRE(series.is_object());
    std::set<std::string> values;
    for (const auto& s : series.at("data").as_array()) values.insert(str(s.at(m[2].str())));
    CHECK_MESSAGE(values.count(target) == 1, def);
  }

  std::size_t run = 0;
  for (const auto& pv : dash.at("panels").as_array()) {
    const auto& p = pv.as_object();
    if (p.at("type") == "row") continue;
    for (const auto& t : p.at("targets").as_array()) {
      auto expr = str(t.at("expr"));
      auto legend = t.as_object().contains("legendFormat") ? str(t.at("legendFormat")) : "";
      INFO("panel " << str(p.at("title")) << ": " << expr);
      auto q = expand(expr);
      CHECK_MESSAGE(q.find('$') == std::string::npos, "a variable the dashboard does not define");
      auto v = prom.query(q);
      REQUIRE(v.is_object());
      CHECK_MESSAGE(v.at("status") == "success", json::serialize(v));
      if (v.at("status") != "success") continue;
      const auto& result = v.at("data").at("result").as_array();
      CHECK_MESSAGE(!result.empty(), "no series: a metric or label value the node does not export");
      auto wanted = labels_named(expr, legend);
      for (const auto& s : result) {
        const auto& metric = s.at("metric").as_object();
        for (const auto& l : wanted) {
          CHECK_MESSAGE((metric.contains(l) && !str(metric.at(l)).empty()),
                        "a series without the label " << l << ": " << json::serialize(s));
        }
      }
      ++run;
    }
  }
  CHECK(run >= 30);
}

// grafana/README.md's scrape job for a node whose metrics port takes the API's
// certificate and tokens (pekko.workflow.metrics.tls / auth), on a real Prometheus.
TEST_CASE("Prometheus scrapes an HTTPS metrics port with a token, as grafana/README.md says") {
  auto binary = prometheus_binary();
  REQUIRE_MESSAGE(!binary.empty(), "no prometheus binary: run `bash scripts/fetch-test-tools.sh "
                                       << WFE_TEST_TOOLS_DIR
                                       << "` (make test does) or set WFE_PROMETHEUS");
  temp_dir files;
  const std::string token = "prometheusprometheus0123";
  auto tokens = files.write("tokens", token + " read\n");
  auto credentials = files.write("workflow-engine-token", token + "\n");
  const auto tls = std::filesystem::path(WFE_SOURCE_DIR) / "tests/data/tls";
  node n({"-Dpekko.workflow.http.tls.cert-file=" + (tls / "server.pem").string(),
          "-Dpekko.workflow.http.tls.key-file=" + (tls / "server.key").string(),
          "-Dpekko.workflow.http.auth.tokens-file=" + tokens.string(),
          "-Dpekko.workflow.metrics.tls=on", "-Dpekko.workflow.metrics.auth=on"});
  REQUIRE_MESSAGE(n.wait_listening(), (n.proc().stdout_text() + n.proc().stderr_text()));

  prometheus prom(binary, "127.0.0.1:" + std::to_string(n.metrics_port()),
                  "    scheme: https\n    tls_config: {ca_file: " + (tls / "ca.pem").string() +
                      "}\n    authorization: {credentials_file: " + credentials.string() + "}\n");
  bool scraped = eventually([&] { return prom.has_series(R"(up{job="workflow-engine"} == 1)"); },
                            std::chrono::seconds(60), std::chrono::milliseconds(250));
  REQUIRE_MESSAGE(scraped, prom.logs());
  CHECK(prom.has_series("workflow_started_total"));
}
