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

// Moves the personal members of `from` (the object at `path`, "" for the top) into `moved`, looking into the
// objects that hold personal paths; a parent object stays in `from` even when emptied, which is how PutBack tells
// a nested value from a whole object moved.
void MoveMembers(rapidjson::Value& from, std::string& path, const PathClassifier& classify, rapidjson::Value& moved,
                 rapidjson::Document::AllocatorType& alloc) {
  for (auto it = from.MemberBegin(); it != from.MemberEnd();) {
    size_t parent = path.size();
    if (!path.empty()) path += '.';
    path.append(it->name.GetString(), it->name.GetStringLength());
    privacy::PathClass cls = classify(path);
    if (cls == privacy::PathClass::kPersonal) {
      moved.AddMember(rapidjson::Value(it->name, alloc), rapidjson::Value(it->value, alloc), alloc);
      it = from.EraseMember(it);
    } else {
      if (cls == privacy::PathClass::kHoldsPersonal && it->value.IsObject()) {
        rapidjson::Value inner(rapidjson::kObjectType);
        MoveMembers(it->value, path, classify, inner, alloc);
        if (inner.MemberCount() > 0) moved.AddMember(rapidjson::Value(it->name, alloc), inner, alloc);
      }
      ++it;
    }
    path.resize(parent);
  }
}

// Moves the personal members of `from` into a new object added to `into` under `name`; true if any moved.
bool MovePersonal(rapidjson::Value& from, const PathClassifier& classify, rapidjson::Document& into,
                  const char* name) {
  auto& alloc = into.GetAllocator();
  rapidjson::Value moved(rapidjson::kObjectType);
  std::string path;
  MoveMembers(from, path, classify, moved, alloc);
  if (moved.MemberCount() == 0) return false;
  into.AddMember(rapidjson::Value(name, alloc), moved, alloc);
  return true;
}

// Sets each member of `source` on `target` (the value, or null when hidden). An object still in `target` where
// `source` has one held nested personal values: they go back inside it.
void PutBack(rapidjson::Value& target, const rapidjson::Value& source, bool reveal,
             rapidjson::Document::AllocatorType& alloc) {
  for (auto& m : source.GetObject()) {
    auto existing = target.FindMember(m.name);
    if (existing != target.MemberEnd() && existing->value.IsObject() && m.value.IsObject()) {
      PutBack(existing->value, m.value, reveal, alloc);
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

}  // namespace

ProtectedEventData ProtectEventData(std::string_view properties_json, std::string_view context_json,
                                    const PathClassifier& classify) {
  ProtectedEventData out{std::string(properties_json), std::string(context_json), ""};
  rapidjson::Document personal(rapidjson::kObjectType);

  rapidjson::Document properties;
  if (ParseObject(properties_json, properties) && MovePersonal(properties, classify, personal, kProperties)) {
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
        MovePersonal(traits->value, classify, personal, kContextTraits)) {
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
