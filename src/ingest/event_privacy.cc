#include "ingest/event_privacy.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/actor_context.h"

namespace panorama::ingest {
namespace {

constexpr const char* kProperties = "properties";
constexpr const char* kContextTraits = "context.traits";

std::string Serialize(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool ParseObject(std::string_view text, rapidjson::Document& doc) {
  doc.Parse(text.data(), text.size());
  return !doc.HasParseError() && doc.IsObject();
}

using Allocator = rapidjson::Document::AllocatorType;

// Arrays are transparent to catalogue paths: the objects inside `contacts` are at path "contacts", so
// "contacts.email" reaches the email of each of them, through arrays of arrays too. Arrays nested directly
// inside arrays more than this deep (no real payload does) are not looked into: the whole value is sealed.
constexpr int kMaxNestedArrays = 16;

bool ArraysNestTooDeep(const rapidjson::Value& array, int depth = 1) {
  if (depth > kMaxNestedArrays) return true;
  for (const auto& element : array.GetArray()) {
    if (element.IsArray() && ArraysNestTooDeep(element, depth + 1)) return true;
  }
  return false;
}

// One walk over a plain object: `plain` allocates for the object's own document, `personal` for the moved
// values' document; `path` is the dotted path of the value being visited ("" for the top).
struct Walk {
  const PathClassifier& classify;
  Allocator& plain;
  Allocator& personal;
  std::string path;
};

rapidjson::Value MoveInside(rapidjson::Value& value, Walk& walk);

// Moves the personal members of the object `from` into `moved` and looks into the values that hold personal
// paths. Kept members are moved into a new object (not erased one by one), so an object with many personal
// members costs linear time. A parent object stays in `from` even when emptied, which is how PutBack tells a
// nested value from a whole value moved.
void MoveMembers(rapidjson::Value& from, Walk& walk, rapidjson::Value& moved) {
  rapidjson::Value kept(rapidjson::kObjectType);
  for (auto& m : from.GetObject()) {
    size_t parent = walk.path.size();
    if (!walk.path.empty()) walk.path += '.';
    walk.path.append(m.name.GetString(), m.name.GetStringLength());
    privacy::PathClass cls = walk.classify(walk.path);
    if (cls == privacy::PathClass::kHoldsPersonal && m.value.IsArray() && ArraysNestTooDeep(m.value)) {
      cls = privacy::PathClass::kPersonal;  // fail closed rather than leave values unlooked-at
    }
    if (cls == privacy::PathClass::kPersonal) {
      moved.AddMember(rapidjson::Value(m.name, walk.personal), rapidjson::Value(m.value, walk.personal),
                      walk.personal);
    } else {
      if (cls == privacy::PathClass::kHoldsPersonal) {
        rapidjson::Value inner = MoveInside(m.value, walk);
        if (!inner.IsNull()) moved.AddMember(rapidjson::Value(m.name, walk.personal), inner, walk.personal);
      }
      kept.AddMember(m.name, m.value, walk.plain);
    }
    walk.path.resize(parent);
  }
  from = kept;
}

// What is taken out of `value` (at walk.path, which holds personal paths): for an object, its moved members;
// for an array, an array whose element i is what was taken out of element i (an object or a nested array),
// null where nothing was, trailing nulls dropped. Null when nothing was taken (scalars, nothing personal).
rapidjson::Value MoveInside(rapidjson::Value& value, Walk& walk) {
  if (value.IsObject()) {
    rapidjson::Value moved(rapidjson::kObjectType);
    MoveMembers(value, walk, moved);
    if (moved.MemberCount() == 0) return rapidjson::Value();
    return moved;
  }
  if (!value.IsArray()) return rapidjson::Value();
  rapidjson::Value moved(rapidjson::kArrayType);
  rapidjson::SizeType used = 0;  // elements up to the last one something was taken from
  for (auto& element : value.GetArray()) {
    rapidjson::Value inner = MoveInside(element, walk);
    if (inner.IsNull()) {
      moved.PushBack(rapidjson::Value(), walk.personal);
    } else {
      moved.PushBack(inner, walk.personal);
      used = moved.Size();
    }
  }
  if (used == 0) return rapidjson::Value();
  while (moved.Size() > used) moved.PopBack();
  return moved;
}

// Moves the personal members of `from` (an object of a document allocating with `plain`) into a new object
// added to `into` under `name`; true if any moved.
bool MovePersonal(rapidjson::Value& from, Allocator& plain, const PathClassifier& classify,
                  rapidjson::Document& into, const char* name) {
  Walk walk{classify, plain, into.GetAllocator(), {}};
  rapidjson::Value moved(rapidjson::kObjectType);
  MoveMembers(from, walk, moved);
  if (moved.MemberCount() == 0) return false;
  into.AddMember(rapidjson::Value(name, into.GetAllocator()), moved, into.GetAllocator());
  return true;
}

void PutBackInArray(rapidjson::Value& target, const rapidjson::Value& source, bool reveal, Allocator& alloc);

// Sets each member of `source` on `target` (the value, or null when hidden). An object or array still in
// `target` where `source` has one of the same kind held nested personal values: they go back inside it.
void PutBack(rapidjson::Value& target, const rapidjson::Value& source, bool reveal, Allocator& alloc) {
  for (auto& m : source.GetObject()) {
    auto existing = target.FindMember(m.name);
    if (existing != target.MemberEnd() && existing->value.IsObject() && m.value.IsObject()) {
      PutBack(existing->value, m.value, reveal, alloc);
      continue;
    }
    if (existing != target.MemberEnd() && existing->value.IsArray() && m.value.IsArray()) {
      PutBackInArray(existing->value, m.value, reveal, alloc);
      continue;
    }
    rapidjson::Value value = reveal ? rapidjson::Value(m.value, alloc) : rapidjson::Value(rapidjson::kNullType);
    if (existing != target.MemberEnd()) {
      existing->value = value;
    } else {
      target.AddMember(rapidjson::Value(m.name, alloc), value, alloc);
    }
  }
}

// Element i of `source` goes back into element i of `target` (null: nothing was taken from it).
void PutBackInArray(rapidjson::Value& target, const rapidjson::Value& source, bool reveal, Allocator& alloc) {
  for (rapidjson::SizeType i = 0; i < source.Size() && i < target.Size(); ++i) {
    if (source[i].IsObject() && target[i].IsObject()) {
      PutBack(target[i], source[i], reveal, alloc);
    } else if (source[i].IsArray() && target[i].IsArray()) {
      PutBackInArray(target[i], source[i], reveal, alloc);
    }
  }
}

}  // namespace

ProtectedEventData ProtectEventData(std::string_view properties_json, std::string_view context_json,
                                    const PathClassifier& classify) {
  ProtectedEventData out{std::string(properties_json), std::string(context_json), ""};
  rapidjson::Document personal(rapidjson::kObjectType);

  rapidjson::Document properties;
  if (ParseObject(properties_json, properties) &&
      MovePersonal(properties, properties.GetAllocator(), classify, personal, kProperties)) {
    out.properties_json = Serialize(properties);
  }

  rapidjson::Document context;
  if (ParseObject(context_json, context)) {
    bool changed = false;
    auto ip = context.FindMember("ip");
    if (ip != context.MemberEnd() && ip->value.IsString()) {
      std::string cut = TruncateIp(std::string(ip->value.GetString(), ip->value.GetStringLength()));
      ip->value.SetString(cut.data(), static_cast<rapidjson::SizeType>(cut.size()), context.GetAllocator());
      changed = true;
    }
    auto traits = context.FindMember("traits");
    if (traits != context.MemberEnd() && traits->value.IsObject() &&
        MovePersonal(traits->value, context.GetAllocator(), classify, personal, kContextTraits)) {
      changed = true;
    }
    if (changed) out.context_json = Serialize(context);
  }
  if (personal.MemberCount() > 0) out.personal_json = Serialize(personal);
  return out;
}

void RestoreEventData(storage::EventRecord& event, bool reveal) {
  if (event.personal_json.empty()) return;
  rapidjson::Document personal;
  if (!ParseObject(event.personal_json, personal)) return;
  if (auto p = personal.FindMember(kProperties); p != personal.MemberEnd() && p->value.IsObject()) {
    rapidjson::Document properties;
    if (!ParseObject(event.properties_json, properties)) properties.SetObject();
    PutBack(properties, p->value, reveal, properties.GetAllocator());
    event.properties_json = Serialize(properties);
  }
  if (auto t = personal.FindMember(kContextTraits); t != personal.MemberEnd() && t->value.IsObject()) {
    rapidjson::Document context;
    if (!ParseObject(event.context_json, context)) context.SetObject();
    auto& alloc = context.GetAllocator();
    auto traits = context.FindMember("traits");
    if (traits == context.MemberEnd() || !traits->value.IsObject()) {
      context.RemoveMember("traits");
      context.AddMember("traits", rapidjson::Value(rapidjson::kObjectType), alloc);
      traits = context.FindMember("traits");
    }
    PutBack(traits->value, t->value, reveal, alloc);
    event.context_json = Serialize(context);
  }
}

}  // namespace panorama::ingest
