// Typed getters: coercion, durations, byte sizes, lists, sub-configs and their errors.
#include <doctest/doctest.h>

#include "engine/core/config/config.hpp"
#include "engine/core/config/config_test_support.hpp"

using namespace std::chrono_literals;
using wfe::core::config;
using wfe::core::config_error;
using wfe::core::config_origin;
using namespace wfe::core::config_test;

TEST_CASE("strings holding numbers and booleans coerce to those types") {
  const config c = parse_ok(
      "port = \"8080\"\nratio = \" 0.5 \"\nb1 = yes\nb2 = \"off\"\nb3 = on\nb4 = no\nb5 = "
      "\"true\"");
  CHECK(c.get_int("port").value() == 8080);
  CHECK(c.get_double("ratio").value() == doctest::Approx(0.5));
  CHECK(c.get_bool("b1").value() == true);
  CHECK(c.get_bool("b2").value() == false);
  CHECK(c.get_bool("b3").value() == true);
  CHECK(c.get_bool("b4").value() == false);
  CHECK(c.get_bool("b5").value() == true);
}

TEST_CASE("numbers and booleans read as strings with their source text") {
  const config c = parse_ok("i = 42\nd = 1.50\nb = false\nn = -0");
  CHECK(c.get_string("i").value() == "42");
  CHECK(c.get_string("d").value() == "1.50");
  CHECK(c.get_string("b").value() == "false");
  CHECK(c.get_double("i").value() == doctest::Approx(42.0));
}

TEST_CASE("a missing key is an error saying so and naming the parent's origin") {
  const config c = parse_ok("a {\n  b = 1\n}");
  const auto e = c.get_int("a.c").error();
  CHECK(e.key == "a.c");
  CHECK(e.message == "missing required key");
  CHECK(e.origin.line == 1);
  CHECK(e.origin.column == 3);
  CHECK(e.describe() == "test.conf:1:3: a.c: missing required key");
}

TEST_CASE("a value of the wrong type is an error naming the key, the value and its origin") {
  const config c = parse_ok("x = 1\npekko.cluster.roles = 5\nname = abc\nlist = [1]\nnul = null");
  const auto e = c.get_string_list("pekko.cluster.roles").error();
  CHECK(e.describe() ==
        "test.conf:2:23: pekko.cluster.roles: expected a list of strings, got number 5");
  CHECK(c.get_int("name").error().message == "expected an integer, got string \"abc\"");
  CHECK(c.get_bool("name").error().message.find("expected a boolean") != std::string::npos);
  CHECK(c.get_string("list").error().message == "expected a string, got list");
  CHECK(c.get_string("nul").error().message == "expected a string, got null");
  CHECK(c.get_config("x").error().message == "expected an object, got number 1");
  CHECK(c.get_int("list").error().origin.line == 4);
}

TEST_CASE("a decimal is not an integer") {
  const config c = parse_ok("d = 1.5\ne = 2.0");
  CHECK(c.get_int("d").error().message == "expected an integer, got number 1.5");
  CHECK(c.get_int("e").value() == 2);
}

TEST_CASE("an integer too large for 64 bits is not an integer") {
  const config c = parse_ok("big = 99999999999999999999");
  CHECK_FALSE(c.get_int("big").has_value());
  CHECK(c.get_double("big").value() == doctest::Approx(1e20));
}

TEST_CASE("durations accept every Lightbend unit spelling") {
  const config c = parse_ok(
      "a = 2h\nb = 30 seconds\nc = 500ms\nd = \"1.5s\"\ne = 100\nf = 3 nanoseconds\ng = 4 micros\n"
      "h = 5 millis\ni = 6 milliseconds\nj = 1 second\nk = 2 minute\nl = 3 minutes\nm = 4 hour\n"
      "n = 1 day\no = 2 days\np = 7us\nq = 8ns\nr = 9m\ns = 1d\nt = 1.5\nu = 1 milli\nv = 2 "
      "micro\nw = 3 nano");
  CHECK(c.get_duration("a").value() == 2h);
  CHECK(c.get_duration("b").value() == 30s);
  CHECK(c.get_duration("c").value() == 500ms);
  CHECK(c.get_duration("d").value() == 1500ms);
  CHECK(c.get_duration("e").value() == 100ms);
  CHECK(c.get_duration("f").value() == 3ns);
  CHECK(c.get_duration("g").value() == 4us);
  CHECK(c.get_duration("h").value() == 5ms);
  CHECK(c.get_duration("i").value() == 6ms);
  CHECK(c.get_duration("j").value() == 1s);
  CHECK(c.get_duration("k").value() == 2min);
  CHECK(c.get_duration("l").value() == 3min);
  CHECK(c.get_duration("m").value() == 4h);
  CHECK(c.get_duration("n").value() == 24h);
  CHECK(c.get_duration("o").value() == 48h);
  CHECK(c.get_duration("p").value() == 7us);
  CHECK(c.get_duration("q").value() == 8ns);
  CHECK(c.get_duration("r").value() == 9min);
  CHECK(c.get_duration("s").value() == 24h);
  CHECK(c.get_duration("t").value() == 1500us);  // a bare number is milliseconds
  CHECK(c.get_duration("u").value() == 1ms);
  CHECK(c.get_duration("v").value() == 2us);
  CHECK(c.get_duration("w").value() == 3ns);
}

TEST_CASE("a duration with an unknown unit is an error naming the unit") {
  const config c = parse_ok("a = 1\nt = 5 fortnights\nu = seconds\nv = [1]");
  const auto e = c.get_duration("t").error();
  CHECK(e.key == "t");
  CHECK(e.origin.line == 2);
  CHECK(e.origin.column == 5);
  CHECK(e.message.find("unknown time unit 'fortnights'") != std::string::npos);
  CHECK(c.get_duration("u").error().message.find("no number") != std::string::npos);
  CHECK(c.get_duration("v").error().message == "expected a duration, got list");
  CHECK_FALSE(c.get_duration("missing").has_value());
}

TEST_CASE("an out-of-range duration is an error") {
  const config c = parse_ok("t = 9999999999999 days");
  CHECK(c.get_duration("t").error().message.find("out of range") != std::string::npos);
}

TEST_CASE("byte sizes use powers of ten for kB/MB and powers of two for K/KiB/M/MiB") {
  const config c = parse_ok(
      "a = 1024\nb = 10B\nc = 512k\nd = 2K\ne = 3KiB\nf = 1kB\ng = 8MiB\nh = 1 MB\ni = 2M\nj = 1G\n"
      "k = 1 GB\nl = 1GiB\nm = 1 TB\nn = 1T\no = 2 kilobytes\np = 2 kibibytes\nq = 1 megabyte\nr = "
      "1 mebibyte\n"
      "s = 1.5K\nt = 1 byte\nu = 3 bytes\nv = 1 Mi\nw = 1m\nx = 1 PiB\ny = 1 EB\nz = 1g");
  CHECK(c.get_bytes("a").value() == 1024u);
  CHECK(c.get_bytes("b").value() == 10u);
  CHECK(c.get_bytes("c").value() == 512u * 1024u);
  CHECK(c.get_bytes("d").value() == 2048u);
  CHECK(c.get_bytes("e").value() == 3072u);
  CHECK(c.get_bytes("f").value() == 1000u);
  CHECK(c.get_bytes("g").value() == 8u * 1024u * 1024u);
  CHECK(c.get_bytes("h").value() == 1'000'000u);
  CHECK(c.get_bytes("i").value() == 2u * 1024u * 1024u);
  CHECK(c.get_bytes("j").value() == 1024ull * 1024 * 1024);
  CHECK(c.get_bytes("k").value() == 1'000'000'000ull);
  CHECK(c.get_bytes("l").value() == 1024ull * 1024 * 1024);
  CHECK(c.get_bytes("m").value() == 1'000'000'000'000ull);
  CHECK(c.get_bytes("n").value() == 1024ull * 1024 * 1024 * 1024);
  CHECK(c.get_bytes("o").value() == 2000u);
  CHECK(c.get_bytes("p").value() == 2048u);
  CHECK(c.get_bytes("q").value() == 1'000'000u);
  CHECK(c.get_bytes("r").value() == 1024u * 1024u);
  CHECK(c.get_bytes("s").value() == 1536u);
  CHECK(c.get_bytes("t").value() == 1u);
  CHECK(c.get_bytes("u").value() == 3u);
  CHECK(c.get_bytes("v").value() == 1024u * 1024u);
  CHECK(c.get_bytes("w").value() == 1024u * 1024u);
  CHECK(c.get_bytes("x").value() == 1ull << 50);
  CHECK(c.get_bytes("y").value() == 1'000'000'000'000'000'000ull);
  CHECK(c.get_bytes("z").value() == 1ull << 30);
}

TEST_CASE("a byte size beyond 64 bits is an overflow error") {
  const config c =
      parse_ok("a = 16EiB\nb = 20000000000000000000\nc = 1 ZB\nd = 17179869184 GiB\ne = 15EiB");
  for (const char* key : {"a", "b", "c", "d"}) {
    CAPTURE(key);
    const auto r = c.get_bytes(key);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("out of range") != std::string::npos);
    CHECK(r.error().key == key);
  }
  CHECK(c.get_bytes("e").value() == 15ull << 60);
}

TEST_CASE("a byte size with an unknown unit or a negative number is an error") {
  const config c = parse_ok("a = 5 parsecs\nb = -1K\nc = {}");
  const auto e = c.get_bytes("a").error();
  CHECK(e.origin.line == 1);
  CHECK(e.message.find("unknown size unit 'parsecs'") != std::string::npos);
  CHECK(c.get_bytes("b").error().message.find("negative") != std::string::npos);
  CHECK(c.get_bytes("c").error().message == "expected a size in bytes, got object");
}

TEST_CASE("a string list accepts strings and numbers and rejects nested values") {
  const config c = parse_ok("a = [x, 2, \"y z\", true]\nb = [x, [y]]\nc = []");
  CHECK(c.get_string_list("a").value() == std::vector<std::string>{"x", "2", "y z", "true"});
  const auto e = c.get_string_list("b").error();
  CHECK(e.origin.column == 9);
  CHECK(e.message == "expected a list of strings, element 1 is list");
  CHECK(c.get_string_list("c").value().empty());
}

TEST_CASE("get_config returns the sub-object with its origins") {
  const config c = parse_ok("pekko {\n  remote { port = 1 }\n  loglevel = INFO\n}");
  auto sub = c.get_config("pekko");
  REQUIRE(sub);
  CHECK(sub->keys() == std::vector<std::string>{"remote", "loglevel"});
  CHECK(sub->get_int("remote.port").value() == 1);
  CHECK(sub->origin_of("loglevel").line == 3);
  CHECK(sub->is_resolved());
  CHECK(c.get_config("nope").error().message == "missing required key");
}

TEST_CASE("keys of a non-object or missing path are empty") {
  const config c = parse_ok("a = 1");
  CHECK(c.keys("a").empty());
  CHECK(c.keys("b.c").empty());
}

TEST_CASE("a getter path with an empty element is rejected") {
  const config c = parse_ok("a = 1");
  CHECK(c.get_int("a..b").error().message == "invalid path expression");
  CHECK_FALSE(c.has(""));
}

TEST_CASE("describe omits what is unknown") {
  CHECK(config_origin{"f.conf", 3, 0}.describe() == "f.conf:3");
  CHECK(config_origin{"f.conf", 0, 0}.describe() == "f.conf");
  CHECK(config_origin{}.describe().empty());
  CHECK(config_error{{}, "k", "msg"}.describe() == "k: msg");
  CHECK(config_error{{"f.conf", 1, 2}, "", "msg"}.describe() == "f.conf:1:2: msg");
}
