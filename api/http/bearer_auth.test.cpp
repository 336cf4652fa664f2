#include "api/http/bearer_auth.hpp"

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"

using wfe::api::bearer_auth;
using wfe::api::permits;
using wfe::api::token_role;

namespace {

const std::string k_token = "0123456789abcdef0123456789abcdef";
const std::string k_other = "fedcba9876543210fedcba9876543210";
const std::string k_third = "aaaabbbbccccddddeeeeffff00001111";

}  // namespace

TEST_CASE("a token file: one token per line with its role, comments, blanks and CRs skipped") {
  wfe::test::temp_dir dir;
  auto file = dir.write("tokens", "# workers\n\n  " + k_other + "  worker\r\n#old: x\n" + k_token +
                                      "\n" + k_third + "\tread\n");
  auto a = bearer_auth::from_file(file, {"/health", "/ready"});
  REQUIRE_MESSAGE(a, (a ? "" : a.error()));
  CHECK(a->size() == 3);
  CHECK(a->admin_token() == k_token);  // the first admin token, not the first line
  CHECK(a->authenticate("Bearer " + k_token) == token_role::admin);  // no role: admin
  CHECK(a->authenticate("Bearer " + k_other) == token_role::worker);
  CHECK(a->authenticate("Bearer " + k_third) == token_role::read);
  CHECK(a->authenticate("bearer " + k_token) == token_role::admin);  // case-insensitive scheme
  CHECK(a->authenticate("  BEARER   " + k_token + " ") == token_role::admin);
  for (const auto& bad : {std::string(), std::string("Bearer"), std::string("Bearer "), k_token,
                          "Basic " + k_token, "Bearer" + k_token, "Bearer " + k_token.substr(1),
                          "Bearer " + k_token + "0", "Bearer " + k_token + " " + k_other,
                          std::string("Bearer #old:"), "Bearer " + k_other + " worker"}) {
    INFO(bad);
    CHECK_FALSE(a->authenticate(bad));
  }
  CHECK(a->is_public("/health"));
  CHECK(a->is_public("/ready"));
  CHECK_FALSE(a->is_public("/health/"));
  CHECK_FALSE(a->is_public("/api/v1/cluster/stats"));
}

TEST_CASE("what each role may do") {
  struct req {
    const char* method;
    const char* path;
  };
  const req get_stats{"GET", "/api/v1/cluster/stats"}, down{"PUT", "/api/v1/cluster/members/x"},
      backup{"POST", "/api/v1/admin/backup"}, start{"POST", "/api/v1/workflows"},
      cancel{"POST", "/api/v1/workflows/wf-1/cancel"}, remove{"DELETE", "/api/v1/workflows/wf-1"},
      define{"POST", "/api/v1/workflow-definitions"}, retry{"POST", "/api/v1/dead-letters/x/retry"},
      poll{"POST", "/api/v1/tasks/poll"}, queues{"GET", "/api/v1/tasks/queues"},
      head{"HEAD", "/api/v1/workflows"}, lookalike{"POST", "/api/v1/workflowsx"},
      task_lookalike{"POST", "/api/v1/tasksx/poll"};
  struct expect {
    token_role role;
    std::vector<req> allowed, refused;
  };
  for (const auto& e :
       std::vector<expect>{{token_role::admin,
                            {get_stats, down, backup, start, cancel, remove, define, retry, poll,
                             queues, head, lookalike},
                            {}},
                           {token_role::read,
                            {get_stats, queues, head},
                            {down, backup, start, cancel, remove, poll}},
                           {token_role::client,
                            {get_stats, start, cancel, remove, define, retry, queues, head},
                            {down, backup, poll, lookalike}},
                           {token_role::worker,
                            {poll, queues},
                            {get_stats, start, backup, down, head, task_lookalike}}}) {
    for (const auto& r : e.allowed) {
      INFO(to_string(e.role) << " " << r.method << " " << r.path);
      CHECK(permits(e.role, r.method, r.path));
    }
    for (const auto& r : e.refused) {
      INFO(to_string(e.role) << " " << r.method << " " << r.path);
      CHECK_FALSE(permits(e.role, r.method, r.path));
    }
  }
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

  auto fields = bearer_auth::from_file(dir.write("fields", k_token + " read extra\n"), {});
  REQUIRE_FALSE(fields);
  CHECK(fields.error().find("fields:1: expected \"<token> [role]\"") != std::string::npos);

  auto role = bearer_auth::from_file(dir.write("role", k_token + " root\n"), {});
  REQUIRE_FALSE(role);
  CHECK(role.error().find("role:1: unknown role \"root\"") != std::string::npos);

  auto twice = bearer_auth::from_file(dir.write("twice", k_token + "\n" + k_token + " read\n"), {});
  REQUIRE_FALSE(twice);
  CHECK(twice.error().find("twice:2: this token is listed before") != std::string::npos);

  std::string many;
  for (std::size_t i = 0; i <= bearer_auth::max_tokens; ++i) {
    many += k_token + std::to_string(i) + "\n";
  }
  auto too_many = bearer_auth::from_file(dir.write("many", many), {});
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().find("many:1001: more than 1000 tokens") != std::string::npos);

  auto big = bearer_auth::from_file(
      dir.write("big", std::string(bearer_auth::max_file_bytes + 1, '#')), {});
  REQUIRE_FALSE(big);
  CHECK(big.error().find("larger than") != std::string::npos);
}

TEST_CASE("an auth source reloads its file: new tokens at once, a bad file keeps the old ones") {
  wfe::test::temp_dir dir;
  auto file = dir.write("tokens", k_token + "\n");
  auto source = wfe::api::auth_source::open(file, {"/health"});
  REQUIRE_MESSAGE(source, (source ? "" : source.error()));
  auto before = (*source)->current();
  CHECK(before->authenticate("Bearer " + k_token));
  dir.write("tokens", k_other + " read\n");
  CHECK((*source)->reload().empty());
  CHECK((*source)->current()->authenticate("Bearer " + k_other) == token_role::read);
  CHECK_FALSE((*source)->current()->authenticate("Bearer " + k_token));
  CHECK((*source)->current()->is_public("/health"));
  CHECK(before->authenticate("Bearer " + k_token));  // a request holding the old set
  dir.write("tokens", "short\n");
  auto err = (*source)->reload();
  CHECK(err.find("a token must have at least 16 bytes") != std::string::npos);
  CHECK((*source)->current()->authenticate("Bearer " + k_other) == token_role::read);
}
