#include "engine/core/tls.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "engine/core/settings_reader.hpp"

namespace wfe::core {

expected<tls_policy, std::string> tls_policy::resolve(const std::string& protocol,
                                                      const std::vector<std::string>& algorithms) {
  static_assert(tls_policy{}.min_version == TLS1_2_VERSION);
  static_assert(tls_policy{}.max_version == TLS1_3_VERSION);
  tls_policy p;
  p.protocol = protocol;
  if (protocol == "TLSv1.2") {
    p.max_version = TLS1_2_VERSION;
  } else if (protocol == "TLSv1.3") {
    p.min_version = TLS1_3_VERSION;
  } else if (protocol != "TLS") {
    return unexpected{"protocol must be TLS, TLSv1.2 or TLSv1.3, got \"" + protocol + "\""};
  }
  if (algorithms.empty()) return p;
  // Every suite this OpenSSL knows, to look the names up in.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> all(SSL_CTX_new(TLS_method()), &SSL_CTX_free);
  if (!all || SSL_CTX_set_cipher_list(all.get(), "ALL:COMPLEMENTOFALL") != 1 ||
      SSL_CTX_set_ciphersuites(all.get(),
                               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                               "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:"
                               "TLS_AES_128_CCM_8_SHA256") != 1) {
    return unexpected{std::string{"cannot list OpenSSL's cipher suites"}};
  }
  STACK_OF(SSL_CIPHER)* known = SSL_CTX_get_ciphers(all.get());
  for (const auto& name : algorithms) {
    const SSL_CIPHER* found = nullptr;
    for (int i = 0; found == nullptr && i < sk_SSL_CIPHER_num(known); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(known, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      if ((standard != nullptr && name == standard) || name == SSL_CIPHER_get_name(c)) found = c;
    }
    if (found == nullptr) {
      return unexpected{"unknown cipher suite \"" + name +
                        "\" (IANA names, e.g. TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "
                        "TLS_AES_256_GCM_SHA384)"};
    }
    const bool v13 = std::string_view{SSL_CIPHER_get_version(found)} == "TLSv1.3";
    auto& list = v13 ? p.tls13_suites : p.tls12_ciphers;
    list += (list.empty() ? "" : ":") + std::string{SSL_CIPHER_get_name(found)};
  }
  if (p.tls12_ciphers.empty()) p.min_version = TLS1_3_VERSION;
  if (p.tls13_suites.empty()) p.max_version = TLS1_2_VERSION;
  if (p.min_version > p.max_version) return unexpected{"none of them is for protocol " + protocol};
  return p;
}

std::string tls_policy::apply(ssl_ctx_st* ctx) const {
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max_version) != 1 ||
      (!tls12_ciphers.empty() && SSL_CTX_set_cipher_list(ctx, tls12_ciphers.c_str()) != 1) ||
      (!tls13_suites.empty() && SSL_CTX_set_ciphersuites(ctx, tls13_suites.c_str()) != 1)) {
    return "OpenSSL refused protocol " + protocol + " with the suites [" + tls12_ciphers +
           (tls12_ciphers.empty() || tls13_suites.empty() ? "" : ":") + tls13_suites + "]";
  }
  return {};
}

std::optional<tls_policy> read_tls_policy(settings_reader& r, std::string_view prefix) {
  const std::string k_protocol = std::string(prefix) + ".protocol";
  const std::string k_algorithms = std::string(prefix) + ".enabled-algorithms";
  const std::vector<std::string_view> protocols = {"TLS", "TLSv1.2", "TLSv1.3"};
  const auto protocol = r.one_of(k_protocol, protocols);
  const auto algorithms = r.string_list(k_algorithms);
  if (std::find(protocols.begin(), protocols.end(), protocol) == protocols.end()) {
    return std::nullopt;  // named by one_of
  }
  auto policy = tls_policy::resolve(protocol, algorithms);
  if (!policy) {
    r.fail(k_algorithms, policy.error());
    return std::nullopt;
  }
  return std::move(*policy);
}

namespace {

// OpenSSL's last error as "<reason> (<library>)", the error queue cleared.
std::string openssl_error() {
  const unsigned long e = ERR_peek_last_error();
  const char* reason = ERR_reason_error_string(e);
  const char* lib = ERR_lib_error_string(e);
  std::string out = reason != nullptr ? reason : "unknown error";
  if (lib != nullptr) out += std::string(" (") + lib + ")";
  ERR_clear_error();
  return out;
}

}  // namespace

std::string certificate_name(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return n;
}

std::vector<std::string> certificate_names(x509_st* cert) {
  std::vector<std::string> names;
  auto add = [&names](const unsigned char* data, int len) {
    if (data == nullptr || len <= 0) return;
    auto n = certificate_name(
        std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len)));
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
  };
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    add(utf8, len);
    OPENSSL_free(utf8);
  }
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type == GEN_DNS) {
      add(ASN1_STRING_get0_data(gn->d.dNSName), ASN1_STRING_length(gn->d.dNSName));
    }
  }
  GENERAL_NAMES_free(sans);
  return names;
}

std::string use_certificate(ssl_ctx_st* ctx, const std::string& cert_file,
                            const std::string& key_file, std::string_view what) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return "cannot use the " + std::string(what) + " " + cert_file + ": " + openssl_error();
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return "cannot use the private key " + key_file + " (for " + cert_file +
           "): " + openssl_error();
  }
  return {};
}

}  // namespace wfe::core
