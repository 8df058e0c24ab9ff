// Tests of mosquitto-format ACL files: parsing (every rejection with file and line), mosquitto
// 2.0's decision order (anonymous list, user blocks, deny first, patterns with %c/%u, default
// deny), identities that could subvert patterns, and the subscription rule built on the
// topic-filter algebra (intersection and coverage), which is also checked against brute force.
#include <random>

#include <gtest/gtest.h>

#include "mqtt/auth/acl.h"
#include "mqtt/topic/matching.h"

namespace imet::mqtt::auth {
namespace {

AclFile parse_ok(std::string_view text) {
  auto r = AclFile::parse(text, "acl.conf");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : AclFile{};
}

std::string parse_error(std::string_view text) {
  auto r = AclFile::parse(text, "acl.conf");
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

ClientIdentity anon(std::string id = "c1") {
  return {std::move(id), std::nullopt};
}
ClientIdentity user(std::string name, std::string id = "c1") {
  return {std::move(id), std::move(name)};
}

TEST(MqttAcl, AnonymousListIsTheTopicLinesBeforeAnyUser) {
  AclFile acl = parse_ok(
      "# anonymous\n"
      "topic read public/#\n"
      "user alice\n"
      "topic alice/#\n");
  EXPECT_TRUE(acl.can_receive(anon(), "public/weather"));
  EXPECT_FALSE(acl.can_publish(anon(), "public/weather"));
  EXPECT_FALSE(acl.can_receive(anon(), "alice/x"));
  // A user gets only its own block: not the anonymous lines.
  EXPECT_TRUE(acl.can_publish(user("alice"), "alice/x"));
  EXPECT_TRUE(acl.can_receive(user("alice"), "alice/x"));
  EXPECT_FALSE(acl.can_receive(user("alice"), "public/weather"));
  // A user without a block (and no patterns) gets nothing: the file is default-deny.
  EXPECT_FALSE(acl.can_receive(user("bob"), "public/weather"));
  EXPECT_FALSE(acl.can_publish(user("bob"), "alice/x"));
}

TEST(MqttAcl, AccessWords) {
  AclFile acl = parse_ok(
      "user u\n"
      "topic read r/#\n"
      "topic write w/#\n"
      "topic readwrite rw/#\n"
      "topic both/#\n");
  ClientIdentity u = user("u");
  EXPECT_TRUE(acl.can_receive(u, "r/1"));
  EXPECT_FALSE(acl.can_publish(u, "r/1"));
  EXPECT_FALSE(acl.can_receive(u, "w/1"));
  EXPECT_TRUE(acl.can_publish(u, "w/1"));
  EXPECT_TRUE(acl.can_receive(u, "rw/1"));
  EXPECT_TRUE(acl.can_publish(u, "rw/1"));
  EXPECT_TRUE(acl.can_receive(u, "both/1"));  // no access word: readwrite
  EXPECT_TRUE(acl.can_publish(u, "both/1"));
  EXPECT_FALSE(acl.can_publish(u, "other"));
  EXPECT_EQ(acl.rule_count(), 4u);
}

TEST(MqttAcl, DenyOverridesGrantsWhateverTheOrder) {
  AclFile acl = parse_ok(
      "user u\n"
      "topic readwrite home/#\n"
      "topic deny home/secret/#\n"
      "topic read home/secret/open\n");
  ClientIdentity u = user("u");
  EXPECT_TRUE(acl.can_publish(u, "home/kitchen"));
  EXPECT_FALSE(acl.can_publish(u, "home/secret/x"));
  EXPECT_FALSE(acl.can_receive(u, "home/secret/x"));
  EXPECT_FALSE(acl.can_receive(u, "home/secret/open"));  // deny is checked before any grant
  EXPECT_FALSE(acl.can_receive(u, "home/secret"));       // '#' matches the parent level
}

TEST(MqttAcl, BlocksOfOneUserMerge) {
  AclFile acl = parse_ok("user a\ntopic read x\nuser b\ntopic read y\nuser a\ntopic read z\n");
  EXPECT_TRUE(acl.can_receive(user("a"), "x"));
  EXPECT_TRUE(acl.can_receive(user("a"), "z"));
  EXPECT_FALSE(acl.can_receive(user("a"), "y"));
  EXPECT_TRUE(acl.can_receive(user("b"), "y"));
}

TEST(MqttAcl, UsernamesAndTopicsMayContainSpaces) {
  AclFile acl = parse_ok("user  John Smith  \ntopic read  my topic/with spaces  \n");
  EXPECT_TRUE(acl.can_receive(user("John Smith"), "my topic/with spaces"));
  EXPECT_FALSE(acl.can_receive(user("John"), "my topic/with spaces"));
}

TEST(MqttAcl, MosquittoParsingQuirks) {
  // "topic read" alone: the single word is the topic, access readwrite (mosquitto does the same).
  AclFile acl = parse_ok("topic read\n");
  EXPECT_TRUE(acl.can_publish(anon(), "read"));
  EXPECT_TRUE(acl.can_receive(anon(), "read"));
  // Tabs separate words, indented comments and CRLF line ends are accepted.
  AclFile tabs = parse_ok("  # indented comment\r\nuser\tbob\r\ntopic\twrite\tb/#\r\n");
  EXPECT_TRUE(tabs.can_publish(user("bob"), "b/1"));
  EXPECT_FALSE(tabs.can_receive(user("bob"), "b/1"));
}

TEST(MqttAcl, DollarTopicsNeedDollarRules) {
  AclFile acl = parse_ok(
      "user admin\n"
      "topic read #\n"
      "topic read $SYS/#\n"
      "user plain\n"
      "topic read #\n"
      "user plus\n"
      "topic read +/broker/#\n");
  EXPECT_TRUE(acl.can_receive(user("admin"), "$SYS/broker/uptime"));
  EXPECT_FALSE(acl.can_receive(user("plain"), "$SYS/broker/uptime"));
  EXPECT_TRUE(acl.can_receive(user("plain"), "a/b"));
  EXPECT_FALSE(acl.can_receive(user("plus"), "$SYS/broker/uptime"));
}

TEST(MqttAcl, PatternsSubstituteClientIdAndUsername) {
  AclFile acl = parse_ok(
      "pattern read sensors/%c/#\n"
      "pattern readwrite users/%u/#\n"
      "pattern write log/%u/%c\n");
  ClientIdentity dev{"dev-7", "alice"};
  EXPECT_TRUE(acl.can_receive(dev, "sensors/dev-7/temp"));
  EXPECT_FALSE(acl.can_publish(dev, "sensors/dev-7/temp"));
  EXPECT_FALSE(acl.can_receive(dev, "sensors/dev-8/temp"));
  EXPECT_TRUE(acl.can_publish(dev, "users/alice/x"));
  EXPECT_FALSE(acl.can_publish(dev, "users/bob/x"));
  EXPECT_TRUE(acl.can_publish(dev, "log/alice/dev-7"));
  EXPECT_FALSE(acl.can_publish(dev, "log/dev-7/alice"));
  // Patterns apply to anonymous clients too, except those using %u.
  EXPECT_TRUE(acl.can_receive(anon("dev-7"), "sensors/dev-7/x"));
  EXPECT_FALSE(acl.can_publish(anon("dev-7"), "users/%u/x"));
  EXPECT_FALSE(acl.can_publish(anon("dev-7"), "log/%u/dev-7"));
  // Patterns apply to users with a block, after the block.
  AclFile both = parse_ok("user alice\ntopic read a\npattern read p/%u\n");
  EXPECT_TRUE(both.can_receive(user("alice"), "a"));
  EXPECT_TRUE(both.can_receive(user("alice"), "p/alice"));
  EXPECT_TRUE(both.can_receive(user("bob"), "p/bob"));
  EXPECT_FALSE(both.can_receive(user("bob"), "a"));
}

TEST(MqttAcl, PatternDenyAndOrderBetweenListsFollowMosquitto) {
  // A user's own grant wins over a pattern deny (the user list is decided first) ...
  AclFile acl = parse_ok(
      "user alice\n"
      "topic read shared/#\n"
      "pattern deny shared/%u/private\n"
      "pattern read shared/#\n");
  EXPECT_TRUE(acl.can_receive(user("alice"), "shared/alice/private"));
  // ... while for everyone else the pattern deny beats the pattern grant.
  EXPECT_FALSE(acl.can_receive(user("bob"), "shared/bob/private"));
  EXPECT_TRUE(acl.can_receive(user("bob"), "shared/alice/private"));
  EXPECT_TRUE(acl.can_receive(user("bob"), "shared/x"));
  // A user-list deny is final: patterns are not consulted.
  AclFile deny = parse_ok("user bob\ntopic deny x/#\npattern read x/%u\n");
  EXPECT_FALSE(deny.can_receive(user("bob"), "x/bob"));
  EXPECT_TRUE(deny.can_receive(user("carol"), "x/carol"));
}

TEST(MqttAcl, IdentitiesWithWildcardsOrSlashesGetNoPatternAccess) {
  AclFile acl = parse_ok(
      "user ok\n"
      "topic read own/#\n"
      "pattern readwrite devices/%c/#\n");
  EXPECT_TRUE(acl.can_publish(anon("d1"), "devices/d1/t"));
  EXPECT_FALSE(acl.can_receive(anon("+"), "devices/+/t"));
  EXPECT_FALSE(acl.can_receive(anon("#"), "devices/#"));
  EXPECT_FALSE(acl.can_receive(anon("d1/x"), "devices/d1/x/t"));     // '/' would reach d1's subtree
  EXPECT_FALSE(acl.can_receive(user("a+b", "d1"), "devices/d1/t"));  // username checked too
  EXPECT_FALSE(acl.can_receive(user("a/b", "d1"), "devices/d1/t"));
  // The user's own block still applies (it is decided before patterns, as in mosquitto).
  EXPECT_TRUE(acl.can_receive(user("ok", "bad#id"), "own/x"));
  EXPECT_FALSE(acl.can_subscribe(anon("d/1"), "devices/d/1/#"));
}

TEST(MqttAcl, EmptyClientIdSubstitutesAsEmptyLevel) {
  AclFile acl = parse_ok("pattern read d/%c/x\n");
  EXPECT_TRUE(acl.can_receive(anon(""), "d//x"));
  EXPECT_FALSE(acl.can_receive(anon(""), "d/x"));
}

TEST(MqttAcl, PatternWithoutSubstitutionWarns) {
  AclFile acl = parse_ok("topic a\n\npattern read everyone/#\npattern read %c\n");
  ASSERT_EQ(acl.warnings().size(), 1u);
  EXPECT_EQ(acl.warnings()[0],
            "acl.conf:3: pattern 'everyone/#' contains neither %c nor %u (it applies to every "
            "client)");
  EXPECT_TRUE(acl.can_receive(user("x"), "everyone/1"));
}

TEST(MqttAcl, EmptyFileDeniesEverything) {
  AclFile acl = parse_ok("# nothing\n\n");
  EXPECT_FALSE(acl.can_receive(anon(), "a"));
  EXPECT_FALSE(acl.can_publish(user("u"), "a"));
  EXPECT_FALSE(acl.can_subscribe(user("u"), "#"));
  AclFile none;
  EXPECT_FALSE(none.can_receive(anon(), "a"));
}

TEST(MqttAcl, ParseErrorsNameFileAndLine) {
  EXPECT_EQ(parse_error("topic a\nusr bob\n"),
            "acl.conf:2: unknown keyword 'usr' (expected topic, pattern or user)");
  EXPECT_EQ(parse_error("user\n"), "acl.conf:1: 'user' needs a username");
  EXPECT_EQ(parse_error("\n\ntopic\n"), "acl.conf:3: 'topic' needs a topic");
  EXPECT_EQ(parse_error("pattern   \n"), "acl.conf:1: 'pattern' needs a topic");
  EXPECT_EQ(parse_error("topic rw a/b\n"),
            "acl.conf:1: unknown access 'rw' (expected read, write, readwrite or deny)");
  EXPECT_EQ(parse_error("topic a b c\n"),
            "acl.conf:1: unknown access 'a' (expected read, write, readwrite or deny)");
  EXPECT_EQ(parse_error("topic read a/#/b\n"),
            "acl.conf:1: invalid topic filter 'a/#/b': topic filter wildcard must occupy a whole "
            "level, and '#' must be the last level");
  EXPECT_EQ(parse_error("pattern read a+/%c\n"),
            "acl.conf:1: invalid topic filter 'a+/%c': topic filter wildcard must occupy a whole "
            "level, and '#' must be the last level");
  // A comment must start the line: '#' after a keyword is not a comment.
  EXPECT_EQ(parse_error("topic read # x\n"),
            "acl.conf:1: invalid topic filter '# x': topic filter wildcard must occupy a whole "
            "level, and '#' must be the last level");
}

TEST(MqttAcl, LoadErrorsNameTheFile) {
  auto r = AclFile::load("/nonexistent/imet/acl");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cannot read the MQTT ACL file: '/nonexistent/imet/acl' does not exist");
}

TEST(MqttAcl, SubstitutePattern) {
  EXPECT_EQ(substitute_pattern("a/%c/%u/%c", "id", std::string("u")), "a/id/u/id");
  EXPECT_EQ(substitute_pattern("a/%u", "id", std::nullopt), "a/%u");
  EXPECT_EQ(substitute_pattern("%%c%", "id", std::nullopt), "%id%");
  EXPECT_EQ(substitute_pattern("x%cy", "id", std::nullopt), "xidy");
  EXPECT_EQ(substitute_pattern("%x/%", "id", std::nullopt), "%x/%");
  // One pass: substituted text is not scanned again.
  EXPECT_EQ(substitute_pattern("u/%u/%c", "%u", std::string("%c")), "u/%c/%u");
}

TEST(MqttAclFilters, Intersection) {
  auto i = [](std::string_view a, std::string_view b) { return intersect_filters(a, b); };
  EXPECT_EQ(i("a/b", "a/b"), "a/b");
  EXPECT_EQ(i("a/+", "a/b"), "a/b");
  EXPECT_EQ(i("a/+", "+/b"), "a/b");
  EXPECT_EQ(i("a/#", "a/+/c"), "a/+/c");
  EXPECT_EQ(i("a/#", "+/b/#"), "a/b/#");
  EXPECT_EQ(i("a/#", "a"), "a");  // '#' includes the parent level
  EXPECT_EQ(i("#", "#"), "#");
  EXPECT_EQ(i("+/+", "#"), "+/+");
  EXPECT_EQ(i("foo/+/bar", "foo/#"), "foo/+/bar");  // mosquitto's hard case (bug 1374291)
  EXPECT_EQ(i("a/b", "a/c"), std::nullopt);
  EXPECT_EQ(i("a/+", "a"), std::nullopt);
  EXPECT_EQ(i("a/+/c", "a/b"), std::nullopt);
  EXPECT_EQ(i("#", "$SYS/x"), std::nullopt);
  EXPECT_EQ(i("+/x", "$SYS/x"), std::nullopt);
  EXPECT_EQ(i("$SYS/#", "$SYS/+/x"), "$SYS/+/x");
  EXPECT_EQ(i("a//b", "a/+/b"), "a//b");
}

TEST(MqttAclFilters, Coverage) {
  EXPECT_TRUE(filter_covers("#", "a/b/#"));
  EXPECT_TRUE(filter_covers("a/#", "a"));
  EXPECT_TRUE(filter_covers("a/#", "a/#"));
  EXPECT_TRUE(filter_covers("a/+", "a/b"));
  EXPECT_TRUE(filter_covers("a/+", "a/+"));
  EXPECT_TRUE(filter_covers("+/+", "a/+"));
  EXPECT_FALSE(filter_covers("a/+", "a/#"));
  EXPECT_FALSE(filter_covers("a/b", "a/+"));
  EXPECT_FALSE(filter_covers("a/b/#", "a"));
  EXPECT_FALSE(filter_covers("a/b/#", "a/#"));
  EXPECT_FALSE(filter_covers("a", "a/b"));
  EXPECT_FALSE(filter_covers("#", "$SYS/x"));
  EXPECT_TRUE(filter_covers("$SYS/#", "$SYS/x"));
  EXPECT_TRUE(filter_covers("#", "+/x"));
}

// The algebra agrees with topic_matches on every topic of a small universe.
TEST(MqttAclFilters, AgreeWithBruteForce) {
  const std::vector<std::string> levels = {"a", "b", "$s"};
  std::vector<std::string> topics;
  for (const auto& l1 : levels) {
    topics.push_back(l1);
    for (const std::string l2 : {"a", "b", ""}) {
      topics.push_back(l1 + "/" + l2);
      for (const std::string l3 : {"a", "b"})
        topics.push_back(l1 + "/" + l2 + "/" + l3);
    }
  }
  std::vector<std::string> filters = {"#", "+", "a", "$s", "$s/#"};
  for (const std::string l1 : {"a", "+", "$s"}) {
    for (const std::string l2 : {"a", "b", "+", "#", ""}) {
      filters.push_back(l1 + "/" + l2);
      if (l2 != "#") {
        for (const std::string l3 : {"a", "+", "#"})
          filters.push_back(l1 + "/" + l2 + "/" + l3);
      }
    }
  }
  for (const auto& f : filters) {
    for (const auto& g : filters) {
      auto both = intersect_filters(f, g);
      bool covers = true;
      for (const auto& t : topics) {
        bool in_f = topic_matches(f, t);
        bool in_g = topic_matches(g, t);
        bool in_both = both && topic_matches(*both, t);
        ASSERT_EQ(in_both, in_f && in_g) << f << " ∩ " << g << " on " << t;
        if (in_g && !in_f) covers = false;
      }
      // Coverage on a finite universe can only be refuted, so check the direction that can be.
      if (filter_covers(f, g)) {
        ASSERT_TRUE(covers) << f << " claimed to cover " << g;
      }
    }
  }
}

TEST(MqttAclSubscribe, RefusedOnlyWhenNothingCouldBeDelivered) {
  AclFile acl = parse_ok(
      "user u\n"
      "topic read sensors/#\n"
      "topic write cmd/#\n"
      "topic read home/+/temp\n"
      "topic deny sensors/secret/#\n");
  ClientIdentity u = user("u");
  EXPECT_TRUE(acl.can_subscribe(u, "sensors/#"));
  EXPECT_TRUE(acl.can_subscribe(u, "sensors/a/b"));
  EXPECT_TRUE(acl.can_subscribe(u, "#"));  // accepted; delivery filters each message
  EXPECT_TRUE(acl.can_subscribe(u, "+/kitchen/#"));
  EXPECT_TRUE(acl.can_subscribe(u, "home/#"));  // overlaps home/+/temp
  EXPECT_FALSE(acl.can_subscribe(u, "cmd/#"));  // write-only
  EXPECT_FALSE(acl.can_subscribe(u, "admin/#"));
  EXPECT_FALSE(acl.can_subscribe(u, "home/kitchen/humidity"));
  EXPECT_FALSE(acl.can_subscribe(u, "sensors/secret/#"));    // entirely denied
  EXPECT_FALSE(acl.can_subscribe(u, "sensors/secret/a/+"));  // entirely denied
  EXPECT_FALSE(acl.can_subscribe(u, "$SYS/#"));              // '#' grants exclude '$' topics
  EXPECT_TRUE(acl.can_subscribe(u, "$share/g/sensors/#"));   // shared: the inner filter counts
  EXPECT_FALSE(acl.can_subscribe(u, "$share/g/admin/#"));
  EXPECT_FALSE(acl.can_subscribe(user("other"), "sensors/#"));
}

TEST(MqttAclSubscribe, PatternsAndDeniesAcrossLists) {
  AclFile acl = parse_ok(
      "topic read public/#\n"
      "user bob\n"
      "topic deny devices/#\n"
      "pattern read devices/%c/#\n"
      "pattern deny devices/%c/keys/#\n");
  EXPECT_TRUE(acl.can_subscribe(anon("d1"), "devices/d1/#"));
  EXPECT_TRUE(acl.can_subscribe(anon("d1"), "devices/+/status"));
  EXPECT_FALSE(acl.can_subscribe(anon("d1"), "devices/d2/#"));
  EXPECT_FALSE(acl.can_subscribe(anon("d1"), "devices/d1/keys/#"));  // pattern deny covers it
  EXPECT_TRUE(acl.can_subscribe(anon("d1"), "public/#"));
  // bob's own deny covers every pattern grant under devices/.
  EXPECT_FALSE(acl.can_subscribe(user("bob", "d1"), "devices/d1/#"));
  EXPECT_FALSE(acl.can_subscribe(user("bob", "d1"), "#"));
  EXPECT_TRUE(acl.can_subscribe(user("carol", "d1"), "#"));
}

// can_subscribe never refuses a filter under which some message would be delivered: checked
// against can_receive over a universe of topics, for random small ACLs.
TEST(MqttAclSubscribe, NeverRefusesADeliverableFilter) {
  std::mt19937 rng(20251121);
  const std::vector<std::string> rule_topics = {"#",   "a/#",   "a/+",   "a/b",     "+/b",
                                                "b/#", "%c/#",  "a/%c",  "%u/+",    "$s/#",
                                                "a",   "+/+/c", "a/b/c", "$s/%c/#", "+"};
  const std::vector<std::string> accesses = {"read", "write", "readwrite", "deny"};
  std::vector<std::string> topics;
  for (const std::string l1 : {"a", "b", "c1", "u", "$s"}) {
    topics.push_back(l1);
    for (const std::string l2 : {"a", "b", "c1", "u"}) {
      topics.push_back(l1 + "/" + l2);
      for (const std::string l3 : {"b", "c"})
        topics.push_back(l1 + "/" + l2 + "/" + l3);
    }
  }
  const std::vector<std::string> filters = {"#",     "+",     "a/#",     "a/+",   "+/b",
                                            "a/b/#", "c1/#",  "u/+",     "$s/#",  "+/+/c",
                                            "a/b",   "b/+/b", "$s/c1/#", "a/+/c", "+/c1/#"};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    auto add_rules = [&](int n, const char* keyword) {
      for (int k = 0; k < n; ++k) {
        text += std::string(keyword) + " " + accesses[rng() % accesses.size()] + " " +
                rule_topics[rng() % rule_topics.size()] + "\n";
      }
    };
    add_rules(static_cast<int>(rng() % 3), "topic");
    text += "user u\n";
    add_rules(static_cast<int>(rng() % 4), "topic");
    add_rules(static_cast<int>(rng() % 3), "pattern");
    auto acl = AclFile::parse(text, "random");
    ASSERT_TRUE(acl.ok()) << acl.status().message() << "\n" << text;
    for (const ClientIdentity& who : {user("u", "c1"), anon("c1"), user("v", "c1")}) {
      for (const auto& f : filters) {
        bool deliverable = false;
        for (const auto& t : topics) {
          if (topic_matches(f, t) && acl->can_receive(who, t)) deliverable = true;
        }
        if (deliverable) {
          ASSERT_TRUE(acl->can_subscribe(who, f))
              << "filter " << f << " refused for " << who.username.value_or("(anon)")
              << " although a message is deliverable\n"
              << text;
        }
      }
    }
  }
}

}  // namespace
}  // namespace imet::mqtt::auth
