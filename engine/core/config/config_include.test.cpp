// include "x", file(), classpath(), required(), nesting, cycles and the deployment guide.
#include <doctest/doctest.h>

#include "engine/core/config/config.hpp"
#include "engine/core/config/config_test_support.hpp"

using wfe::core::config;
using wfe::core::config_parse_options;
using namespace wfe::core::config_test;

TEST_CASE("a plain include reads a file relative to the including file and merges in place") {
  temp_dir dir;
  dir.write("sub/common.conf", "shared = from-include\noverridden = include\nobj { a = 1 }");
  const auto main = dir.write(
      "main.conf",
      "overridden = before\ninclude \"sub/common.conf\"\nobj { b = 2 }\nlate = ${shared}");
  auto c = config::parse_file(main);
  REQUIRE(c);
  auto r = c->resolve(env_of());
  REQUIRE(r);
  CHECK(r->get_string("shared").value() == "from-include");
  CHECK(r->get_string("overridden").value() == "include");  // the include comes later
  CHECK(r->get_int("obj.a").value() == 1);
  CHECK(r->get_int("obj.b").value() == 2);
  CHECK(r->get_string("late").value() == "from-include");
  CHECK(r->origin_of("shared").file == (dir.path() / "sub/common.conf").string());
  CHECK(r->origin_of("shared").line == 1);
}

TEST_CASE("fields after an include override the included ones") {
  temp_dir dir;
  dir.write("x.conf", "a = included\nb = included");
  config_parse_options opts;
  opts.base_dir = dir.path();
  const config c = parse_ok("include file(\"x.conf\")\na = local", opts);
  CHECK(c.get_string("a").value() == "local");
  CHECK(c.get_string("b").value() == "included");
}

TEST_CASE("an include without extension finds the .conf file") {
  temp_dir dir;
  dir.write("base.conf", "k = v");
  config_parse_options opts;
  opts.base_dir = dir.path();
  CHECK(parse_ok("include \"base\"", opts).get_string("k").value() == "v");
}

TEST_CASE("an include inside an object puts the included keys under that object") {
  temp_dir dir;
  dir.write("inner.conf", "x = 1\ny = ${x}\nz = ${top}\nl += e");
  config_parse_options opts;
  opts.base_dir = dir.path();
  const config c = parse_ok("top = T\na { b { include \"inner.conf\" } }", opts);
  CHECK(c.keys("a.b") == std::vector<std::string>{"x", "y", "z", "l"});
  CHECK(c.get_int("a.b.x").value() == 1);
  CHECK(c.get_int("a.b.y").value() == 1);       // relative to the include point
  CHECK(c.get_string("a.b.z").value() == "T");  // not found there: looked up from the root
  CHECK(c.get_string_list("a.b.l").value() == std::vector<std::string>{"e"});
  CHECK_FALSE(c.has("x"));
}

TEST_CASE("substitutions in an included file resolve against the final root") {
  temp_dir dir;
  dir.write("defaults.conf", "greeting = \"hello \"${name}");
  config_parse_options opts;
  opts.base_dir = dir.path();
  const config c = parse_ok("include \"defaults.conf\"\nname = world", opts);
  CHECK(c.get_string("greeting").value() == "hello world");
}

TEST_CASE("a missing non-required include is silently ignored") {
  temp_dir dir;
  config_parse_options opts;
  opts.base_dir = dir.path();
  const config c = parse_ok(
      "include \"nope.conf\"\ninclude file(\"nope2.conf\")\ninclude classpath(\"nope3\")\na = 1",
      opts);
  CHECK(c.keys() == std::vector<std::string>{"a"});
}

TEST_CASE("a missing required include is an error naming the file") {
  temp_dir dir;
  config_parse_options opts;
  opts.base_dir = dir.path();
  const auto e = parse_error("a = 1\n  include required(file(\"missing.conf\"))", opts);
  CHECK(e.origin.file == "bad.conf");
  CHECK(e.origin.line == 2);
  CHECK(e.origin.column == 3);
  CHECK(e.message.find("required include \"missing.conf\" not found") != std::string::npos);
  CHECK(e.message.find((dir.path() / "missing.conf").string()) != std::string::npos);
}

TEST_CASE("classpath includes go through the resource loader") {
  config_parse_options opts;
  opts.resources = resources_of({{"lib/reference.conf", "lib { x = 1 }\ninclude \"extra.conf\""},
                                 {"lib/extra.conf", "lib.y = 2"}});
  const config c = parse_ok("include required(classpath(\"lib/reference.conf\"))", opts);
  CHECK(c.get_int("lib.x").value() == 1);
  CHECK(c.get_int("lib.y").value() ==
        2);  // relative include from a resource stays on the classpath
  CHECK(c.origin_of("lib.x").file == "classpath:lib/reference.conf");
  CHECK(c.origin_of("lib.y").file == "classpath:lib/extra.conf");
}

TEST_CASE("a plain include that is not a file falls back to the classpath") {
  temp_dir dir;
  config_parse_options opts;
  opts.base_dir = dir.path();
  opts.resources = resources_of({{"only-resource.conf", "r = 1"}});
  CHECK(parse_ok("include \"only-resource.conf\"", opts).get_int("r").value() == 1);
}

TEST_CASE("a syntax error inside an included file names that file") {
  temp_dir dir;
  const auto broken = dir.write("broken.conf", "ok = 1\nbad = [1,");
  config_parse_options opts;
  opts.base_dir = dir.path();
  const auto e = parse_error("include \"broken.conf\"", opts);
  CHECK(e.origin.file == broken.string());
  CHECK(e.origin.line == 2);
}

TEST_CASE("an include cycle stops at the include depth bound") {
  temp_dir dir;
  dir.write("a.conf", "include \"b.conf\"\nx = 1");
  dir.write("b.conf", "include \"a.conf\"\ny = 1");
  config_parse_options opts;
  opts.max_include_depth = 5;
  auto c = config::parse_file(dir.path() / "a.conf", opts);
  REQUIRE_FALSE(c);
  CHECK(c.error().message.find("deeper than 5") != std::string::npos);
  CHECK(c.error().origin.line == 1);
}

TEST_CASE("url includes are reported as unsupported") {
  const auto e = parse_error("include url(\"http://example.com/x.conf\")");
  CHECK(e.origin.line == 1);
  CHECK(e.message.find("url(...) includes are not supported") != std::string::npos);
}

TEST_CASE("parse_resource names its origin after the resource") {
  config_parse_options opts;
  opts.resources = resources_of({{"reference.conf", "a = 1"}});
  auto c = config::parse_resource("reference.conf", opts);
  REQUIRE(c);
  CHECK(c->origin_of("a").file == "classpath:reference.conf");
  auto missing = config::parse_resource("nope.conf", opts);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().origin.file == "classpath:nope.conf");
}

TEST_CASE("parse_file of a missing file is an error naming the file") {
  temp_dir dir;
  auto c = config::parse_file(dir.path() / "absent.conf");
  REQUIRE_FALSE(c);
  CHECK(c.error().origin.file == (dir.path() / "absent.conf").string());
  CHECK(c.error().message.find("cannot read") != std::string::npos);
}

TEST_CASE("the deployment guide's production config works as documented") {
  config_parse_options opts;
  opts.resources = resources_of(
      {{"application-prod.conf",
        "pekko.actor.system-name = \"pekko-cluster-system-prod\"\n"
        "pekko.cluster.sharding { number-of-shards = 200, passivate-idle-entity-after = 2h }\n"
        "pekko.workflow.event-sourcing { snapshot-every = 200 }\n"
        "pekko.remote.artery.canonical.port = 25520\n"}});
  const config c = parse_ok(R"(include classpath("application-prod.conf")

pekko {
  cluster {
    seed-nodes = [
      "pekko://pekko-cluster-system-prod@node1:2551",
      "pekko://pekko-cluster-system-prod@node2:2551",
      "pekko://pekko-cluster-system-prod@node3:2551"
    ]
    roles = ["coordinator", "worker"]
  }
  
  remote.artery.canonical {
    hostname = "node1"
    port = 2551
  }
}
)",
                            opts);
  CHECK(c.get_string("pekko.actor.system-name").value() == "pekko-cluster-system-prod");
  CHECK(c.get_string_list("pekko.cluster.seed-nodes").value() ==
        std::vector<std::string>{"pekko://pekko-cluster-system-prod@node1:2551",
                                 "pekko://pekko-cluster-system-prod@node2:2551",
                                 "pekko://pekko-cluster-system-prod@node3:2551"});
  CHECK(c.get_string_list("pekko.cluster.roles").value() ==
        std::vector<std::string>{"coordinator", "worker"});
  CHECK(c.get_string("pekko.remote.artery.canonical.hostname").value() == "node1");
  CHECK(c.get_int("pekko.remote.artery.canonical.port").value() ==
        2551);  // the file wins over the include
  CHECK(c.origin_of("pekko.remote.artery.canonical.port").line == 15);
  CHECK(c.get_int("pekko.cluster.sharding.number-of-shards").value() == 200);
  CHECK(c.get_duration("pekko.cluster.sharding.passivate-idle-entity-after").value() ==
        std::chrono::hours(2));
  CHECK(c.get_int("pekko.workflow.event-sourcing.snapshot-every").value() == 200);
  CHECK(c.keys("pekko") == std::vector<std::string>{"actor", "cluster", "workflow", "remote"});
  CHECK(c.keys("pekko.cluster") == std::vector<std::string>{"sharding", "seed-nodes", "roles"});
}
