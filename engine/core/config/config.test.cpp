// Parsing: syntax, values, concatenation, merging of duplicate keys, syntax errors.
#include <doctest/doctest.h>

#include "engine/core/config/config.hpp"
#include "engine/core/config/config_test_support.hpp"

using wfe::core::config;
using wfe::core::config_value_type;
using namespace wfe::core::config_test;

TEST_CASE("root braces are optional and both separators and brace forms mean the same") {
  const config a = parse_ok("{ x = 1, y : two, z { w = 3 } }");
  const config b = parse_ok("x = 1\ny : two\nz { w = 3 }\n");
  for (const config* c : {&a, &b}) {
    CHECK(c->get_int("x").value() == 1);
    CHECK(c->get_string("y").value() == "two");
    CHECK(c->get_int("z.w").value() == 3);
    CHECK(c->keys() == std::vector<std::string>{"x", "y", "z"});
  }
}

TEST_CASE("trailing commas and newline separators are accepted in objects and lists") {
  const config c = parse_ok("a = [\n  1\n  2,\n  3,\n],\nb = { x = 1, },\n");
  auto list = c.get_string_list("a");
  REQUIRE(list);
  CHECK(*list == std::vector<std::string>{"1", "2", "3"});
  CHECK(c.get_int("b.x").value() == 1);
}

TEST_CASE("comments with // and # are ignored everywhere whitespace may go") {
  const config c =
      parse_ok("# header\na = 1 // trailing\n// whole line\nb = [ # in a list\n 2 ]\n");
  CHECK(c.get_int("a").value() == 1);
  CHECK(c.get_string_list("b").value() == std::vector<std::string>{"2"});
  CHECK(c.keys() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("dotted keys expand into nested objects and merge with braces") {
  const config c = parse_ok("a.b.c = 1\na { b { d = 2 } }\na.e = 3");
  CHECK(c.get_int("a.b.c").value() == 1);
  CHECK(c.get_int("a.b.d").value() == 2);
  CHECK(c.get_int("a.e").value() == 3);
  CHECK(c.keys("a") == std::vector<std::string>{"b", "e"});
  CHECK(c.keys("a.b") == std::vector<std::string>{"c", "d"});
}

TEST_CASE("a quoted key is one path element even with dots in it") {
  const config c = parse_ok("\"a.b\" = 1\n\"\" = empty\nx.\"y.z\".w = 2");
  CHECK(c.keys() == std::vector<std::string>{"a.b", "", "x"});
  CHECK(c.get_int("\"a.b\"").value() == 1);
  CHECK(c.get_string("\"\"").value() == "empty");
  CHECK(c.get_int("x.\"y.z\".w").value() == 2);
  CHECK_FALSE(c.has("a.b"));
}

TEST_CASE("whitespace inside an unquoted key is part of the key") {
  const config c = parse_ok("foo bar = 1\n  spaced key  : 2");
  CHECK(c.keys() == std::vector<std::string>{"foo bar", "spaced key"});
  CHECK(c.get_int("spaced key").value() == 2);
}

TEST_CASE("numeric keys split on dots like any other path") {
  const config c = parse_ok("10.5 = x");
  CHECK(c.get_string("10.5").value() == "x");
  CHECK(c.keys("10") == std::vector<std::string>{"5"});
}

TEST_CASE("the value types are null, booleans, numbers, strings, lists and objects") {
  const config c = parse_ok(
      "n = null\nt = true\nf = false\ni = 42\nneg = -7\nd = 1.5\ne = 1e3\nE = 2.5E-1\ns = \"str\"\n"
      "u = unquoted\nl = [1, two]\no { k = v }");
  CHECK(c.type_of("n") == config_value_type::null);
  CHECK(c.type_of("t") == config_value_type::boolean);
  CHECK(c.get_bool("f").value() == false);
  CHECK(c.type_of("i") == config_value_type::number);
  CHECK(c.get_int("i").value() == 42);
  CHECK(c.get_int("neg").value() == -7);
  CHECK(c.get_double("d").value() == doctest::Approx(1.5));
  CHECK(c.get_int("e").value() == 1000);
  CHECK(c.get_double("E").value() == doctest::Approx(0.25));
  CHECK(c.type_of("s") == config_value_type::string);
  CHECK(c.get_string("u").value() == "unquoted");
  CHECK(c.type_of("l") == config_value_type::list);
  CHECK(c.type_of("o") == config_value_type::object);
  CHECK_FALSE(c.type_of("missing").has_value());
}

TEST_CASE("quoted strings decode JSON escapes including surrogate pairs") {
  const config c = parse_ok(R"(a = "tab\tquote\"slash\/back\\nl\n" 
b = "\u00e9\ud83d\ude00")");
  CHECK(c.get_string("a").value() == "tab\tquote\"slash/back\\nl\n");
  CHECK(c.get_string("b").value() == "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("triple-quoted strings keep newlines, quotes and backslashes verbatim") {
  const config c = parse_ok("a = \"\"\"line one\n  \"two\" \\n\"\"\"\nb = \"\"\"x\"\"\"\"\"\n");
  CHECK(c.get_string("a").value() == "line one\n  \"two\" \\n");
  CHECK(c.get_string("b").value() == "x\"\"");  // extra closing quotes belong to the string
}

TEST_CASE("unquoted text that only starts like a number or keyword is a string") {
  const config c = parse_ok("a = 10.0.1\nb = 500ms\nc = truex\nd = nullable\ne = 1.5s");
  CHECK(c.type_of("a") == config_value_type::string);
  CHECK(c.get_string("a").value() == "10.0.1");
  CHECK(c.get_string("b").value() == "500ms");
  CHECK(c.get_string("c").value() == "truex");
  CHECK(c.get_string("d").value() == "nullable");
  CHECK(c.get_string("e").value() == "1.5s");
}

TEST_CASE("value concatenation joins strings keeping the whitespace between them") {
  const config c = parse_ok(
      "a = foo bar   baz  // comment\nb = \"x\" y \"z\"\nc = 1 2\nd = true \"!\"\ne = foo\"bar\"");
  CHECK(c.get_string("a").value() == "foo bar   baz");
  CHECK(c.get_string("b").value() == "x y z");
  CHECK(c.type_of("c") == config_value_type::string);
  CHECK(c.get_string("c").value() == "1 2");
  CHECK(c.get_string("d").value() == "true !");
  CHECK(c.get_string("e").value() == "foobar");
}

TEST_CASE("lists concatenate into one list and objects into one merged object") {
  const config c =
      parse_ok("a = [1, 2] [3]\nb = {x : 1, y : 1} {y : 2, z : 3}\nc { p = 1 } { q = 2 }");
  CHECK(c.get_string_list("a").value() == std::vector<std::string>{"1", "2", "3"});
  CHECK(c.get_int("b.x").value() == 1);
  CHECK(c.get_int("b.y").value() == 2);
  CHECK(c.get_int("b.z").value() == 3);
  CHECK(c.keys("c") == std::vector<std::string>{"p", "q"});
}

TEST_CASE("duplicate keys merge objects recursively and otherwise the later value wins") {
  // HOCON.md "Duplicate keys" examples.
  const config c = parse_ok(
      "foo : { a : 42 }\nfoo : { b : 43 }\n"
      "bar : { a : 42 }\nbar : null\nbar : { b : 43 }\n"
      "baz : 1\nbaz : { c : 2 }\nqux : { d : 1 }\nqux : 5\n");
  CHECK(c.get_int("foo.a").value() == 42);
  CHECK(c.get_int("foo.b").value() == 43);
  CHECK_FALSE(c.has("bar.a"));  // null in between cut the merge
  CHECK(c.get_int("bar.b").value() == 43);
  CHECK(c.get_int("baz.c").value() == 2);
  CHECK(c.get_int("qux").value() == 5);
  CHECK(c.keys() == std::vector<std::string>{"foo", "bar", "baz", "qux"});
}

TEST_CASE("every value remembers the file, line and column it came from") {
  const config c = parse_ok("a = 1\nb {\n  c = \"x\"\n}\n");
  const auto o = c.origin_of("b.c");
  CHECK(o.file == "test.conf");
  CHECK(o.line == 3);
  CHECK(o.column == 7);
  CHECK(o.describe() == "test.conf:3:7");
  CHECK(c.origin_of("a").line == 1);
  CHECK(c.origin_of("missing").file.empty());
}

TEST_CASE("has is false for null and missing values and true for present ones") {
  const config c = parse_ok("a = null\nb = 0\nc = \"\"");
  CHECK_FALSE(c.has("a"));
  CHECK_FALSE(c.has("nope"));
  CHECK_FALSE(c.has("b.deeper"));
  CHECK(c.has("b"));
  CHECK(c.has("c"));
  CHECK(c.keys() == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("a key named include that is not followed by a file name is an ordinary key") {
  const config c = parse_ok("include = 1\ninclude.x = 2\nobj { include { y = 3 } }");
  CHECK(c.get_int("obj.include.y").value() == 3);
  CHECK(c.get_int("include.x").value() == 2);
  CHECK(c.keys() == std::vector<std::string>{"include", "obj"});
}

TEST_CASE("render produces HOCON that parses back to the same values") {
  const config c = parse_ok("a { b = [1, \"two\", {c = null}] }\n\"d.e\" = \"q\\\"uote\"\nf = {}");
  const std::string text = c.render();
  CHECK(text.find("\"d.e\" = \"q\\\"uote\"") != std::string::npos);
  const config back = parse_ok(text);
  CHECK(back.get_string("\"d.e\"").value() == "q\"uote");
  CHECK(back.type_of("a.b") == config_value_type::list);
  CHECK(back.render() == text);
}

TEST_CASE("an empty document is an empty resolved config") {
  const config c = parse_ok("  \n# only a comment\n");
  CHECK(c.keys().empty());
  CHECK(c.is_resolved());
  CHECK(config().keys().empty());
  CHECK(config().is_resolved());
}

// -- syntax errors -------------------------------------------------------------------------

TEST_CASE("an unterminated string names its line and column") {
  const auto e = parse_error("a = 1\nb = \"abc\nc = 2");
  CHECK(e.origin.file == "bad.conf");
  CHECK(e.origin.line == 2);
  CHECK(e.origin.column == 9);
  CHECK(e.message.find("unterminated string") != std::string::npos);
  CHECK(e.describe().rfind("bad.conf:2:9: unterminated string", 0) == 0);
}

TEST_CASE("an unterminated triple-quoted string is reported") {
  const auto e = parse_error("a = \"\"\"never\nclosed");
  CHECK(e.origin.line == 2);
  CHECK(e.message.find("unterminated string") != std::string::npos);
}

TEST_CASE("an unterminated object says a closing brace or a key was expected") {
  const auto e = parse_error("a {\n  b = 1\n");
  CHECK(e.origin.line == 3);
  CHECK(e.origin.column == 1);
  CHECK(e.message == "expected '}' or a key");
}

TEST_CASE("an unterminated list says a comma or closing bracket was expected") {
  const auto e = parse_error("a = [1, 2");
  CHECK(e.origin.line == 1);
  CHECK(e.origin.column == 10);
  CHECK(e.message.find("']'") != std::string::npos);
}

TEST_CASE("a key with an empty path element is a bad key") {
  const auto e = parse_error("ok = 1\n  a..b = 1");
  CHECK(e.origin.line == 2);
  CHECK(e.origin.column == 3);
  CHECK(e.message.find("invalid key 'a..b'") != std::string::npos);
}

TEST_CASE("a key followed by a forbidden character asks for a separator") {
  const auto e = parse_error("a $ 1");
  CHECK(e.origin.line == 1);
  CHECK(e.origin.column == 3);
  CHECK(e.message == "expected '=', ':', '+=' or '{' after the key");
}

TEST_CASE("a missing value after the separator is reported") {
  const auto e = parse_error("a = 1\nb = ,\nc = 1");
  CHECK(e.origin.line == 2);
  CHECK(e.origin.column == 5);
  CHECK(e.message == "expected a value");
}

TEST_CASE("two fields on one line without a separator are an error") {
  const auto e = parse_error("a = 1 b = 2");
  CHECK(e.origin.line == 1);
  CHECK(e.origin.column == 9);
  CHECK(e.message == "expected a key, ',' or a newline");
}

TEST_CASE("double commas are rejected") {
  const auto e = parse_error("a = [1,,2]");
  CHECK(e.origin.column == 8);
  CHECK(e.message.find("']'") != std::string::npos);
}

TEST_CASE("an unclosed substitution is reported at its position") {
  const auto e = parse_error("a = 1\nb = ${a");
  CHECK(e.origin.line == 2);
  CHECK(e.origin.column == 8);
  CHECK(e.message.find("'}' to close the substitution") != std::string::npos);
}

TEST_CASE("an invalid escape sequence is reported") {
  const auto e = parse_error("a = \"x\\qy\"");
  CHECK(e.origin.column == 8);
  CHECK(e.message.find("invalid escape") != std::string::npos);
}

TEST_CASE("concatenating a list with an object is an error naming both types") {
  const auto e = parse_error("\na = [1] {x = 1}");
  CHECK(e.origin.line == 2);
  CHECK(e.message == "cannot concatenate a list with an object");
}

TEST_CASE("an unknown include kind is a syntax error") {
  const auto e = parse_error("include foo(\"x.conf\")");
  CHECK(e.origin.line == 1);
  CHECK(e.origin.column == 9);
  CHECK(e.message.find("after include") != std::string::npos);
}

TEST_CASE("a stray closing brace at the root is reported") {
  const auto e = parse_error("a = 1\n}\n");
  CHECK(e.origin.line == 2);
  CHECK(e.origin.column == 1);
  CHECK(e.describe() == "bad.conf:2:1: expected a key, ',' or a newline");
}

TEST_CASE("a UTF-8 byte order mark and CRLF line endings are accepted") {
  const config c = parse_ok(
      "\xEF\xBB\xBF"
      "a = foo bar\r\nb = [1,\r\n 2]\r\nc { d = \"x\" }\r\n");
  CHECK(c.get_string("a").value() == "foo bar");
  CHECK(c.get_string_list("b").value() == std::vector<std::string>{"1", "2"});
  CHECK(c.get_string("c.d").value() == "x");
  CHECK(c.origin_of("c.d").line == 4);
}
