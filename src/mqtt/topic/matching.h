// Matching of one topic name against one topic filter (MQTT 3.1.1 / 5.0 §4.7), the reference
// semantics that SubscriptionTree and RetainedIndex implement over many filters/names at once.
// Thread-safety: pure function; safe from any thread.
// Invariants / rules implemented:
//  - levels are separated by '/'; empty levels are levels ("a//b" has three, "/a" and "a/" two);
//  - '+' matches exactly one level (possibly empty); "+/+" matches "/finance";
//  - '#' matches the parent level and any number of further levels: "sport/#" matches "sport";
//  - a name starting with '$' is not matched by a filter whose first level is '+' or '#'
//    (MQTT-4.7.2-1), so "#" matches everything except "$SYS/..." and other '$' topics.
// The arguments are assumed valid (validate_topic_filter / validate_topic_name); for other input
// the result is well-defined but meaningless (e.g. a misplaced '#' is compared literally).
#pragma once

#include <string_view>

namespace imet::mqtt {

// True if topic `name` matches topic `filter`. No allocation.
bool topic_matches(std::string_view filter, std::string_view name);

}  // namespace imet::mqtt
