// Substitutions, self references, +=, with_fallback layering and -D overrides.
#include <doctest/doctest.h>

#include "engine/core/config/config.hpp"
#include "engine/core/config/config_test_support.hpp"

using wfe::core::config;
using wfe::core::config_value_type;
using namespace wfe::core::config_test;

TEST_CASE("a parsed config with substitutions is unresolved until resolve") {
  auto parsed = config::parse_string("a = 1\nb = ${a}", "t.conf");
  REQUIRE(parsed);
  CHECK_FALSE(parsed->is_resolved());
  CHECK_FALSE(parsed->get_int("b").has_value());
  auto resolved = parsed->resolve(env_of());
  REQUIRE(resolved);
  CHECK(resolved->is_resolved());
  CHECK(resolved->get_int("b").value() == 1);
}

TEST_CASE("substitutions copy values of any type, wherever they are defined") {
  const config c = parse_ok(
      "x = ${a.b}\na.b = 42\nl = ${list}\nlist = [1, 2]\no = ${obj}\nobj { k = v }\nn = "
      "${nul}\nnul = null");
  CHECK(c.get_int("x").value() == 42);
  CHECK(c.type_of("x") == config_value_type::number);
  CHECK(c.get_string_list("l").value() == std::vector<std::string>{"1", "2"});
  CHECK(c.get_string("o.k").value() == "v");
  CHECK(c.type_of("n") == config_value_type::null);
}

TEST_CASE("string concatenation with substitutions keeps the whitespace between pieces") {
  const config c = parse_ok(
      "name = world\ngreeting = \"hello\" ${name} \"!\"\nport = 80\nurl = \"http://h:\"${port}/x");
  CHECK(c.get_string("greeting").value() == "hello world !");
  CHECK(c.get_string("url").value() == "http://h:80/x");
}

TEST_CASE("substitutions inside lists and nested objects are resolved") {
  const config c =
      parse_ok("h = node1\nseeds = [\"a@\"${h}\":2551\", ${h}]\nnested { deep { v = ${h} } }");
  CHECK(c.get_string_list("seeds").value() == std::vector<std::string>{"a@node1:2551", "node1"});
  CHECK(c.get_string("nested.deep.v").value() == "node1");
}

TEST_CASE("the spec's object merge through substitution example works") {
  // HOCON.md: bar.baz refers to the merged bar.foo
  const config c = parse_ok("bar : { foo : 42, baz : ${bar.foo} }\nbar : { foo : 43 }");
  CHECK(c.get_int("bar.baz").value() == 43);
}

TEST_CASE("object concatenation with a substitution inherits the referenced object") {
  const config c = parse_ok(
      "data-center-generic = { cluster-size = 6 }\n"
      "data-center-east = ${data-center-generic} { name = \"east\" }\n");
  CHECK(c.get_int("data-center-east.cluster-size").value() == 6);
  CHECK(c.get_string("data-center-east.name").value() == "east");
}

TEST_CASE("a missing substitution falls back to the environment") {
  const config c =
      parse_ok("home = ${HOME}\nopt = ${?PORT}", {}, env_of({{"HOME", "/home/u"}, {"PORT", "9"}}));
  CHECK(c.get_string("home").value() == "/home/u");
  CHECK(c.get_int("opt").value() == 9);
  CHECK(c.origin_of("home").file == "env HOME");
}

TEST_CASE("the config wins over the environment") {
  const config c = parse_ok("HOME = conf\nh = ${HOME}", {}, env_of({{"HOME", "/env"}}));
  CHECK(c.get_string("h").value() == "conf");
}

TEST_CASE("an undefined optional substitution removes the field or keeps the previous value") {
  const config c =
      parse_ok("a = ${?NOPE}\nb = 10\nb = ${?NOPE}\nc = [1, ${?NOPE}, 2]\nd = x${?NOPE}y");
  CHECK_FALSE(c.has("a"));
  CHECK(c.keys() == std::vector<std::string>{"b", "c", "d"});
  CHECK(c.get_int("b").value() == 10);
  CHECK(c.get_string_list("c").value() == std::vector<std::string>{"1", "2"});
  CHECK(c.get_string("d").value() == "xy");
}

TEST_CASE("a defined optional substitution overrides the previous value") {
  const config c = parse_ok("b = 10\nb = ${?PORT}", {}, env_of({{"PORT", "20"}}));
  CHECK(c.get_int("b").value() == 20);
}

TEST_CASE("self-referential substitutions see the previous value of the field") {
  const config c = parse_ok(
      "path = [a]\npath = ${path} [b]\npath = ${path} [c]\n"
      "s = foo\ns = ${s}bar\n"
      "o { x = 1 }\no = ${o} { y = 2 }\n");
  CHECK(c.get_string_list("path").value() == std::vector<std::string>{"a", "b", "c"});
  CHECK(c.get_string("s").value() == "foobar");
  CHECK(c.get_int("o.x").value() == 1);
  CHECK(c.get_int("o.y").value() == 2);
}

TEST_CASE("a self reference with no previous value looks in the environment") {
  const config c = parse_ok("PATH = ${PATH}\":/opt/bin\"", {}, env_of({{"PATH", "/bin"}}));
  CHECK(c.get_string("PATH").value() == "/bin:/opt/bin");
}

TEST_CASE("a self reference inside a nested object uses the full path") {
  const config c = parse_ok("a { b = [1] }\na { b = ${a.b} [2] }");
  CHECK(c.get_string_list("a.b").value() == std::vector<std::string>{"1", "2"});
}

TEST_CASE("plus-equals appends to a list and starts one when the field is missing") {
  const config c = parse_ok("a = [1]\na += 2\na += ${x}\nx = 3\nb += first\nnested { l += q }");
  CHECK(c.get_string_list("a").value() == std::vector<std::string>{"1", "2", "3"});
  CHECK(c.get_string_list("b").value() == std::vector<std::string>{"first"});
  CHECK(c.get_string_list("nested.l").value() == std::vector<std::string>{"q"});
}

TEST_CASE("plus-equals on a non-list is an error naming both types") {
  const auto e = resolve_error("a = 1\na += 2");
  CHECK(e.origin.line == 2);
  CHECK(e.key == "a");
  CHECK(e.message == "cannot concatenate a number with a list");
}

TEST_CASE("an unresolvable substitution names the substitution, the field and its origin") {
  const auto e = resolve_error("a = 1\nb {\n  c = ${nope.x}\n}");
  CHECK(e.origin.file == "bad.conf");
  CHECK(e.origin.line == 3);
  CHECK(e.origin.column == 7);
  CHECK(e.key == "b.c");
  CHECK(e.message.find("${nope.x}") != std::string::npos);
}

TEST_CASE("a self reference without previous value or environment is unresolvable") {
  const auto e = resolve_error("foo : ${foo}");
  CHECK(e.key == "foo");
  CHECK(e.message.find("${foo}") != std::string::npos);
}

TEST_CASE("a substitution cycle is detected and reported") {
  const auto e = resolve_error("a = ${b}\nb = ${c}\nc = ${a}");
  CHECK(e.message.find("cycle") != std::string::npos);
  CHECK(e.message.find("${b} -> ${c} -> ${a}") != std::string::npos);
  CHECK(e.origin.line == 3);
}

TEST_CASE("an object that refers to itself as a whole is a cycle") {
  const auto e = resolve_error("bar : { foo : 42, baz : ${bar} }");
  CHECK(e.message.find("cycle") != std::string::npos);
  CHECK(e.origin.column == 25);
}

TEST_CASE("two fields overriding each other through substitutions are a cycle") {
  const auto e = resolve_error("a : 1\nb : 2\na : ${b}\nb : ${a}");
  CHECK(e.message.find("cycle") != std::string::npos);
}

TEST_CASE("resolving an already resolved config returns it unchanged") {
  const config c = parse_ok("a = 1");
  auto again = c.resolve(env_of());
  REQUIRE(again);
  CHECK(again->get_int("a").value() == 1);
}

// -- with_fallback ---------------------------------------------------------------------

TEST_CASE("with_fallback lets the receiver win and merges objects recursively") {
  auto app = config::parse_string("a { x = app }\nb = app\nlist = [1]", "application.conf");
  auto ref = config::parse_string(
      "a { x = ref, y = ref }\nb { nested = 1 }\nc = ref\nlist = [2, 3]", "reference.conf");
  REQUIRE(app);
  REQUIRE(ref);
  auto c = app->with_fallback(*ref).resolve(env_of());
  REQUIRE(c);
  CHECK(c->get_string("a.x").value() == "app");
  CHECK(c->get_string("a.y").value() == "ref");
  CHECK(c->get_string("b").value() == "app");
  CHECK(c->get_string("c").value() == "ref");
  CHECK(c->get_string_list("list").value() == std::vector<std::string>{"1"});
  CHECK(c->origin_of("a.x").file == "application.conf");
  CHECK(c->origin_of("a.y").file == "reference.conf");
  CHECK(c->keys() == std::vector<std::string>{"a", "b", "c", "list"});
}

TEST_CASE("substitutions in a fallback layer see values from higher layers") {
  auto overrides = config::from_override("pekko.remote.hostname", "10.0.0.5", "command line");
  auto app = config::parse_string("pekko.remote.port = 2552", "application.conf");
  auto ref = config::parse_string(
      "pekko.remote { hostname = localhost, port = 2551\n"
      "  address = ${pekko.remote.hostname}\":\"${pekko.remote.port}\n"
      "  bind = ${?pekko.remote.bind-hostname} }\n",
      "reference.conf");
  REQUIRE(overrides);
  REQUIRE(app);
  REQUIRE(ref);
  auto c = overrides->with_fallback(*app).with_fallback(*ref).resolve(env_of());
  REQUIRE(c);
  CHECK(c->get_string("pekko.remote.address").value() == "10.0.0.5:2552");
  CHECK_FALSE(c->has("pekko.remote.bind"));
  CHECK(c->origin_of("pekko.remote.hostname").file == "command line");
}

TEST_CASE("a higher layer's self reference sees the lower layer's value") {
  auto app = config::parse_string("roles = ${roles} [worker]", "application.conf");
  auto ref = config::parse_string("roles = [base]", "reference.conf");
  REQUIRE(app);
  REQUIRE(ref);
  auto c = app->with_fallback(*ref).resolve(env_of());
  REQUIRE(c);
  CHECK(c->get_string_list("roles").value() == std::vector<std::string>{"base", "worker"});
}

TEST_CASE("a higher layer's optional environment override replaces the lower value only when set") {
  auto app = config::parse_string("port = ${?APP_PORT}", "application.conf");
  auto ref = config::parse_string("port = 2551", "reference.conf");
  REQUIRE(app);
  REQUIRE(ref);
  const config stacked = app->with_fallback(*ref);
  CHECK(stacked.resolve(env_of()).value().get_int("port").value() == 2551);
  CHECK(stacked.resolve(env_of({{"APP_PORT", "7"}})).value().get_int("port").value() == 7);
}

// -- from_override ---------------------------------------------------------------------------

TEST_CASE("an override is a plain string unless it starts with a bracket or brace") {
  auto s = config::from_override("pekko.loglevel", "DEBUG", "command line");
  REQUIRE(s);
  auto r = s->resolve(env_of());
  REQUIRE(r);
  CHECK(r->get_string("pekko.loglevel").value() == "DEBUG");
  CHECK(r->origin_of("pekko.loglevel").file == "command line");
  CHECK(r->origin_of("pekko.loglevel").line == 0);

  auto plain = config::from_override("a", "x = ${y} // not parsed", "command line");
  REQUIRE(plain);
  CHECK(plain->is_resolved());
  CHECK(plain->get_string("a").value() == "x = ${y} // not parsed");
}

TEST_CASE("an override starting with a bracket is parsed as a HOCON list") {
  auto o = config::from_override("pekko.cluster.roles", "[\"a\", b]", "command line");
  REQUIRE(o);
  CHECK(o->get_string_list("pekko.cluster.roles").value() == std::vector<std::string>{"a", "b"});
  CHECK(o->origin_of("pekko.cluster.roles").file == "command line");
}

TEST_CASE("an override object merges into the lower layers and may use substitutions") {
  auto o = config::from_override("pekko.remote", "{ port = ${base-port} }", "command line");
  auto app =
      config::parse_string("base-port = 9000\npekko.remote { hostname = h, port = 1 }", "app.conf");
  REQUIRE(o);
  REQUIRE(app);
  auto c = o->with_fallback(*app).resolve(env_of());
  REQUIRE(c);
  CHECK(c->get_int("pekko.remote.port").value() == 9000);
  CHECK(c->get_string("pekko.remote.hostname").value() == "h");
}

TEST_CASE("a malformed override value is an error naming the origin") {
  auto o = config::from_override("pekko.cluster.roles", "[a, b", "-Dpekko.cluster.roles");
  REQUIRE_FALSE(o);
  CHECK(o.error().origin.file == "-Dpekko.cluster.roles");
  CHECK(o.error().origin.column == 6);
  CHECK(o.error().key == "pekko.cluster.roles");
  CHECK(o.error().message.find("']'") != std::string::npos);
  auto trailing = config::from_override("a", "[1] x ]", "cli");
  CHECK_FALSE(trailing.has_value());
}
