#include "api/http/bearer_auth.hpp"

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"

using wfe::api::bearer_auth;

namespace {

const std::string k_token = "0123456789abcdef0123456789abcdef";
const std::string k_other = "fedcba9876543210fedcba9876543210";

}  // namespace

TEST_CASE("a token file: one token per line, comments, blanks and CRs skipped") {
  wfe::test::temp_dir dir;
  auto file = dir.write("tokens", "# workers\n\n  " + k_token + "  \r\n#old: x\n" + k_other + "\n");
  auto a = bearer_auth::from_file(file, {"/health", "/ready"});
  REQUIRE_MESSAGE(a, (a ? "" : a.error()));
  CHECK(a->size() == 2);
  CHECK(a->first_token() == k_token);
  CHECK(a->accepts("Bearer " + k_token));
  CHECK(a->accepts("Bearer " + k_other));
  CHECK(a->accepts("bearer " + k_token));  // the scheme is case-insensitive
  CHECK(a->accepts("  BEARER   " + k_token + " "));
  CHECK_FALSE(a->accepts(""));
  CHECK_FALSE(a->accepts("Bearer"));
  CHECK_FALSE(a->accepts("Bearer "));
  CHECK_FALSE(a->accepts(k_token));                        // no scheme
  CHECK_FALSE(a->accepts("Basic " + k_token));             // another scheme
  CHECK_FALSE(a->accepts("Bearer" + k_token));             // no blank after the scheme
  CHECK_FALSE(a->accepts("Bearer " + k_token.substr(1)));  // a prefix or suffix of a token
  CHECK_FALSE(a->accepts("Bearer " + k_token + "0"));
  CHECK_FALSE(a->accepts("Bearer " + k_token + " " + k_other));
  CHECK_FALSE(a->accepts("Bearer #old:"));
  CHECK(a->is_public("/health"));
  CHECK(a->is_public("/ready"));
  CHECK_FALSE(a->is_public("/health/"));
  CHECK_FALSE(a->is_public("/api/v1/cluster/stats"));
}

TEST_CASE("a bad token file is refused naming the file and the line") {
  wfe::test::temp_dir dir;
  auto missing = bearer_auth::from_file(dir.path() / "nope", {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find((dir.path() / "nope").string()) != std::string::npos);

  auto empty = bearer_auth::from_file(dir.write("empty", "# only a comment\n\n"), {});
  REQUIRE_FALSE(empty);
  CHECK(empty.error().find("has no token") != std::string::npos);

  auto short_token = bearer_auth::from_file(dir.write("short", k_token + "\nshort\n"), {});
  REQUIRE_FALSE(short_token);
  CHECK(short_token.error().find("short:2: a token must have at least 16 bytes") !=
        std::string::npos);

  auto inner = bearer_auth::from_file(dir.write("inner", k_token + " " + k_other + "\n"), {});
  REQUIRE_FALSE(inner);
  CHECK(inner.error().find("inner:1: a token has no blanks inside") != std::string::npos);

  std::string many;
  for (std::size_t i = 0; i <= bearer_auth::max_tokens; ++i) many += k_token + "\n";
  auto too_many = bearer_auth::from_file(dir.write("many", many), {});
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().find("many:1001: more than 1000 tokens") != std::string::npos);

  auto big = bearer_auth::from_file(
      dir.write("big", std::string(bearer_auth::max_file_bytes + 1, '#')), {});
  REQUIRE_FALSE(big);
  CHECK(big.error().find("larger than") != std::string::npos);
}
