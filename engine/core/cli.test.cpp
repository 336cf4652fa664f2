#include "engine/core/cli.hpp"

#include <doctest/doctest.h>

using wfe::core::parse_cli;

TEST_CASE("java-style -D flags select the config file and override keys in order") {
  auto o = parse_cli({"-Dconfig.file=/opt/workflow-engine/node1.conf",
                      "-Dpekko.workflow.http.port=9000", "-Da.b=[1,2]"});
  REQUIRE(o);
  REQUIRE(o->sources.config_file);
  CHECK(o->sources.config_file->string() == "/opt/workflow-engine/node1.conf");
  REQUIRE(o->sources.overrides.size() == 2);
  CHECK(o->sources.overrides[0].first == "pekko.workflow.http.port");
  CHECK(o->sources.overrides[0].second == "9000");
  CHECK(o->sources.overrides[1].second == "[1,2]");
}

TEST_CASE("--config takes a path, as a separate word or after '='") {
  auto a = parse_cli({"--config", "x.conf"});
  REQUIRE(a);
  CHECK(a->sources.config_file->string() == "x.conf");
  auto b = parse_cli({"--config=y.conf"});
  REQUIRE(b);
  CHECK(b->sources.config_file->string() == "y.conf");
  auto c = parse_cli({"--config"});
  REQUIRE_FALSE(c);
  CHECK(c.error().find("--config") != std::string::npos);
}

TEST_CASE("-Dconfig.resource names a compiled-in resource") {
  auto o = parse_cli({"-Dconfig.resource=application-prod.conf"});
  REQUIRE(o);
  CHECK(*o->sources.config_resource == "application-prod.conf");
  CHECK_FALSE(o->sources.config_file);
}

TEST_CASE("help, version and print-config are flags") {
  auto o = parse_cli({"--help", "--version", "--print-config"});
  REQUIRE(o);
  CHECK(o->help);
  CHECK(o->version);
  CHECK(o->print_config);
}

TEST_CASE("unknown options, malformed -D and unknown commands are errors naming them") {
  auto a = parse_cli({"--frobnicate"});
  REQUIRE_FALSE(a);
  CHECK(a.error().find("--frobnicate") != std::string::npos);
  auto b = parse_cli({"-Dnovalue"});
  REQUIRE_FALSE(b);
  CHECK(b.error().find("-Dnovalue") != std::string::npos);
  auto c = parse_cli({"explode"});
  REQUIRE_FALSE(c);
  CHECK(c.error().find("explode") != std::string::npos);
}

TEST_CASE("backup takes --to or --list, and -D flags anywhere") {
  auto a = parse_cli({"backup", "--to", "/backups", "-Dconfig.file=n.conf"});
  REQUIRE(a);
  CHECK(a->command == "backup");
  CHECK(a->backup.to == "/backups");
  CHECK(a->sources.config_file->string() == "n.conf");
  auto b = parse_cli({"-Dx.y=1", "backup", "--list", "/backups"});
  REQUIRE(b);
  CHECK(b->backup.list == "/backups");
  CHECK(b->sources.overrides.size() == 1);
  auto neither = parse_cli({"backup"});
  REQUIRE_FALSE(neither);
  CHECK(neither.error().find("--to") != std::string::npos);
  auto both = parse_cli({"backup", "--to", "a", "--list", "b"});
  CHECK_FALSE(both);
  auto missing_value = parse_cli({"backup", "--to"});
  REQUIRE_FALSE(missing_value);
  CHECK(missing_value.error().find("--to needs a value") != std::string::npos);
}

TEST_CASE("restore takes --from, an optional positive --backup-id and --force") {
  auto a = parse_cli({"restore", "--from", "/b", "--backup-id", "3", "--force"});
  REQUIRE(a);
  CHECK(a->restore.from == "/b");
  CHECK(a->restore.backup_id == 3u);
  CHECK(a->restore.force);
  auto latest = parse_cli({"restore", "--from", "/b"});
  REQUIRE(latest);
  CHECK_FALSE(latest->restore.backup_id);
  CHECK_FALSE(latest->restore.force);
  auto bad_id = parse_cli({"restore", "--from", "/b", "--backup-id", "x1"});
  REQUIRE_FALSE(bad_id);
  CHECK(bad_id.error().find("x1") != std::string::npos);
  auto no_from = parse_cli({"restore"});
  REQUIRE_FALSE(no_from);
  CHECK(no_from.error().find("--from") != std::string::npos);
  auto wrong_flag = parse_cli({"restore", "--from", "/b", "--to", "x"});
  REQUIRE_FALSE(wrong_flag);
  CHECK(wrong_flag.error().find("--to") != std::string::npos);
}
