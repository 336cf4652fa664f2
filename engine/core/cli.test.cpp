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
