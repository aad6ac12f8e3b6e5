#pragma once
// Event data protection at ingest (SECURITY.md §2.3 "Event properties"): values of property keys the data-class
// catalogue marks personal are taken out of the plain JSON and sealed by the store under the customer's data
// key (EventRecord::personal_json), so erasure shreds them; context.ip is cut to its network (/24, /48).
// Non-personal properties stay plain, for segment rules and behaviour analytics. Catalogue paths reach into nested
// objects ("user.email"): the personal value is moved and its parent object stays in place (possibly empty), so
// personal_json keeps the same nesting, e.g. {"properties":{"user":{"email":…}}}. Arrays are transparent to paths
// (as in Segment/Mixpanel property paths): "contacts.email" reaches the email of every object in the `contacts`
// array, arrays of arrays too; personal_json then holds an array of what was taken from each element (null where
// nothing was), e.g. {"properties":{"contacts":[{"email":…},null,{"email":…}]}}. Arrays nested directly in
// arrays more than 16 deep are not looked into: the whole value at the key is sealed.

#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "privacy/data_class_catalogue.h"
#include "storage/records.h"

namespace panorama::ingest {

// How a path of `properties`/`traits` or of `context.traits` ("email", "user.email") is classed; see
// privacy::ClassifyPath. Only objects classed kHoldsPersonal are looked into.
using PathClassifier = std::function<privacy::PathClass(std::string_view path)>;

struct ProtectedEventData {
  std::string properties_json;  // the plain rest
  std::string context_json;     // ip truncated, personal context.traits removed
  std::string personal_json;    // {"properties":{…},"context.traits":{…}}; empty when nothing was personal
};

// Splits one event's JSON. Input that is not a JSON object is passed through unchanged (the parser already
// checked it); never fails on values.
ProtectedEventData ProtectEventData(std::string_view properties_json, std::string_view context_json,
                                    const PathClassifier& classify);

// For output: puts the personal values back into properties_json / context_json.traits when `reveal`, or the
// same keys with null values otherwise (the caller may not read personal data), nested values inside their
// parent objects and array elements. A no-op without personal_json.
void RestoreEventData(storage::EventRecord& event, bool reveal);

}  // namespace panorama::ingest
