#include "api/api_settings.hpp"

#include <map>

#include "api/admin_client.hpp"
#include "api/http/bearer_auth.hpp"
#include "api/http/server_tls.hpp"
#include "engine/core/settings_reader.hpp"
#include "engine/core/tls.hpp"

namespace wfe::api {

namespace {

http_limits read_limits(core::settings_reader& r) {
  using std::chrono::milliseconds;
  http_limits l;
  l.max_connections =
      static_cast<std::size_t>(r.integer("pekko.workflow.http.max-connections", 1, 1'000'000));
  // DESIGN.md §9: no looser than Pekko HTTP's defaults (URI 2 KiB, headers 8 KiB, body 8 MiB).
  l.max_uri_bytes = r.bytes("pekko.workflow.http.max-uri-length", 64, 2048);
  l.max_header_bytes = r.bytes("pekko.workflow.http.max-header-size", 512, 8192);
  l.max_body_bytes = r.bytes("pekko.workflow.http.max-body-size", 0, 8ULL << 20);
  l.header_read_timeout = r.duration("pekko.workflow.http.header-read-timeout", milliseconds(10),
                                     milliseconds(600'000));
  l.idle_timeout =
      r.duration("pekko.workflow.http.idle-timeout", milliseconds(10), milliseconds(3'600'000));
  l.request_timeout =
      r.duration("pekko.workflow.http.request-timeout", milliseconds(10), milliseconds(600'000));
  return l;
}

// pekko.workflow.http.auth.certificate-roles { "<client certificate CN>" = <role> }: a
// mutual-TLS client presenting such a certificate needs no token. Needs the client CA
// (else no certificate is asked for) and the token file (auth on).
void read_certificate_roles(core::settings_reader& r, api_settings& s) {
  constexpr std::string_view k_roles = "pekko.workflow.http.auth.certificate-roles";
  const auto names = r.cfg().keys(k_roles);
  if (names.empty()) return;
  std::map<std::string, token_role, std::less<>> roles;
  for (const auto& name : names) {
    std::string key(k_roles);
    key += ".\"" + name + "\"";
    const auto value = r.string(key);
    if (auto role = role_named(value)) {
      roles.emplace(core::certificate_name(name), *role);
    } else {
      r.fail(key, "unknown role \"" + value + "\" (known: admin, client, worker, read)");
    }
  }
  if (r.string("pekko.workflow.http.tls.client-ca-file").empty()) {
    r.fail(k_roles, "needs mutual TLS: set pekko.workflow.http.tls.client-ca-file");
  } else if (!s.http.auth) {
    r.fail(k_roles, "needs pekko.workflow.http.auth.tokens-file (auth on)");
  } else {
    s.http.auth->set_certificate_roles(std::move(roles));
  }
}

}  // namespace

api_settings api_settings::read(core::settings_reader& r) {
  api_settings s;
  s.http.name = "api";
  s.http.interface = r.non_empty_string("pekko.workflow.http.interface");
  s.http.port = r.port("pekko.workflow.http.port", /*allow_zero=*/true);
  s.http.io_threads = static_cast<std::size_t>(r.integer("pekko.workflow.http.io-threads", 1, 64));
  s.http.limits = read_limits(r);
  const auto tokens = r.string("pekko.workflow.http.auth.tokens-file");
  auto public_paths = r.string_list("pekko.workflow.http.auth.public-paths");
  if (!tokens.empty()) {
    auto auth = auth_source::open(tokens, std::move(public_paths));
    if (auth) {
      s.http.auth = std::move(*auth);
    } else {
      r.fail("pekko.workflow.http.auth.tokens-file", auth.error());
    }
  }
  read_certificate_roles(r, s);
  const auto cert = r.string("pekko.workflow.http.tls.cert-file");
  const auto key = r.string("pekko.workflow.http.tls.key-file");
  if (cert.empty() != key.empty()) {
    r.fail(cert.empty() ? "pekko.workflow.http.tls.cert-file" : "pekko.workflow.http.tls.key-file",
           "cert-file and key-file go together (both set: HTTPS; both empty: HTTP)");
  } else if (!cert.empty()) {
    if (auto policy = core::read_tls_policy(r, "pekko.workflow.http.tls")) {
      auto tls = server_tls::load(cert, key, r.string("pekko.workflow.http.tls.client-ca-file"),
                                  std::move(*policy));
      if (tls) {
        s.http.tls = std::move(*tls);
        s.tls_cert_file = cert;
      } else {
        r.fail("pekko.workflow.http.tls.cert-file", tls.error());
      }
    }
  }
  const auto admin_cert = r.string("pekko.workflow.http.tls.admin-cert-file");
  const auto admin_key = r.string("pekko.workflow.http.tls.admin-key-file");
  if (admin_cert.empty() != admin_key.empty()) {
    r.fail(admin_cert.empty() ? "pekko.workflow.http.tls.admin-cert-file"
                              : "pekko.workflow.http.tls.admin-key-file",
           "admin-cert-file and admin-key-file go together");
  } else if (!admin_cert.empty()) {
    if (auto err = check_client_certificate(admin_cert, admin_key); !err.empty()) {
      r.fail("pekko.workflow.http.tls.admin-cert-file", err);
    } else {
      s.admin_cert_file = admin_cert;
      s.admin_key_file = admin_key;
    }
  }
  s.metrics.name = "metrics";
  s.metrics.interface = r.non_empty_string("pekko.workflow.metrics.interface");
  s.metrics.port = r.port("pekko.workflow.metrics.port", /*allow_zero=*/true);
  s.metrics.io_threads = 1;
  s.metrics.limits = s.http.limits;
  if (r.boolean("pekko.workflow.metrics.tls")) {
    if (s.http.tls) {
      s.metrics.tls = s.http.tls;  // the same object: SIGHUP reloads both
    } else if (r.ok()) {
      r.fail("pekko.workflow.metrics.tls",
             "needs the API's certificate: set pekko.workflow.http.tls.cert-file and key-file");
    }
  }
  if (r.boolean("pekko.workflow.metrics.auth")) {
    if (s.http.auth) {
      s.metrics.auth = s.http.auth;
    } else if (r.ok()) {
      r.fail("pekko.workflow.metrics.auth",
             "needs the API's tokens: set pekko.workflow.http.auth.tokens-file");
    }
  }
  if (r.ok() && s.http.port != 0 && s.http.port == s.metrics.port &&
      s.http.interface == s.metrics.interface) {
    r.fail("pekko.workflow.metrics.port", "must differ from pekko.workflow.http.port");
  }
  return s;
}

}  // namespace wfe::api
