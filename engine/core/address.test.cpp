#include "engine/core/address.hpp"

#include <doctest/doctest.h>

using wfe::core::address;

TEST_CASE("a pekko address parses into system, host and port and prints back") {
  auto a = address::parse("pekko://pekko-cluster-system-prod@node1:2551");
  REQUIRE(a);
  CHECK(a->system == "pekko-cluster-system-prod");
  CHECK(a->host == "node1");
  CHECK(a->port == 2551);
  CHECK(a->to_string() == "pekko://pekko-cluster-system-prod@node1:2551");
}

TEST_CASE("malformed addresses are refused with the reason") {
  std::string why;
  SUBCASE("wrong scheme") {
    CHECK_FALSE(address::parse("akka://sys@h:1", &why));
    CHECK(why.find("pekko://") != std::string::npos);
  }
  SUBCASE("no system") {
    CHECK_FALSE(address::parse("pekko://h:2551", &why));
    CHECK(why.find("'@'") != std::string::npos);
  }
  SUBCASE("no port") {
    CHECK_FALSE(address::parse("pekko://sys@host", &why));
    CHECK(why.find("port") != std::string::npos);
  }
  SUBCASE("port out of range") {
    CHECK_FALSE(address::parse("pekko://sys@host:70000", &why));
    CHECK(why.find("70000") != std::string::npos);
  }
  SUBCASE("port not a number") {
    CHECK_FALSE(address::parse("pekko://sys@host:25x1", &why));
    CHECK(why.find("25x1") != std::string::npos);
  }
  SUBCASE("bad system name") {
    CHECK_FALSE(address::parse("pekko://-sys@host:1", &why));
    CHECK(why.find("-sys") != std::string::npos);
  }
  SUBCASE("bad host") {
    CHECK_FALSE(address::parse("pekko://sys@ho st:1", &why));
    CHECK(why.find("ho st") != std::string::npos);
  }
}

TEST_CASE("addresses order by system, host, then port") {
  auto a = *address::parse("pekko://s@10.0.0.1:2552");
  auto b = *address::parse("pekko://s@10.0.0.1:2553");
  auto c = *address::parse("pekko://s@10.0.0.2:2551");
  CHECK(a < b);
  CHECK(b < c);
  CHECK_FALSE(c < a);
}
