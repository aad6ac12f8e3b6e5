#include "ingest/identity/identity_resolver.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>
#include <set>

#include "storage/store.h"

namespace panorama::ingest {

std::string MergeJsonObjects(const std::string& base, const std::string& patch) {
  if (patch.empty() || patch == "{}") return base;
  rapidjson::Document merged;
  merged.Parse(base.c_str(), base.size());
  if (merged.HasParseError() || !merged.IsObject()) merged.SetObject();
  rapidjson::Document incoming;
  incoming.Parse(patch.c_str(), patch.size());
  if (incoming.HasParseError() || !incoming.IsObject()) return base;
  auto& alloc = merged.GetAllocator();
  for (auto& member : incoming.GetObject()) {
    rapidjson::Value value(member.value, alloc);
    auto existing = merged.FindMember(member.name);
    if (existing != merged.MemberEnd()) {
      existing->value = value;
    } else {
      merged.AddMember(rapidjson::Value(member.name, alloc), value, alloc);
    }
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  merged.Accept(writer);
  return buffer.GetString();
}

void ApplyProfilePatch(storage::CustomerRecord& c, const ProfilePatch& patch) {
  if (patch.name) c.name = *patch.name;
  if (patch.email) c.email = *patch.email;
  if (patch.phone) c.phone = *patch.phone;
  if (patch.gender) c.gender = *patch.gender;
  if (patch.birthday) c.birthday = *patch.birthday;
  if (patch.city) c.city = *patch.city;
  if (patch.country) c.country = *patch.country;
  c.traits_json = MergeJsonObjects(c.traits_json, patch.custom_traits_json);
}

namespace {

// Fills the survivor's empty profile fields from a merged-away record; the survivor's own values win.
void FillBlanks(storage::CustomerRecord& into, const storage::CustomerRecord& from) {
  auto fill = [](std::string& a, const std::string& b) {
    if (a.empty()) a = b;
  };
  fill(into.name, from.name);
  fill(into.email, from.email);
  fill(into.phone, from.phone);
  fill(into.gender, from.gender);
  fill(into.birthday, from.birthday);
  fill(into.city, from.city);
  fill(into.country, from.country);
  fill(into.external_id, from.external_id);
  for (const auto& tag : from.tags) {
    if (std::find(into.tags.begin(), into.tags.end(), tag) == into.tags.end()) into.tags.push_back(tag);
  }
  into.traits_json = MergeJsonObjects(from.traits_json, into.traits_json);
  into.created_at = std::min(into.created_at, from.created_at);
}

Result<std::set<std::string>> UserIdsOf(storage::WriteTxn& txn, CustomerId customer) {
  ASSIGN_OR_RETURN(auto identities, txn.ListIdentities(customer));
  std::set<std::string> out;
  for (const auto& identity : identities) {
    if (identity.type == "user_id") out.insert(identity.value);
  }
  return out;
}

}  // namespace

Result<Resolution> IdentityResolver::Resolve(storage::WriteTxn& txn, const std::vector<IdentityKey>& keys,
                                             const ProfilePatch& patch, Timestamp at,
                                             const std::string& merge_reason, bool explicit_link) {
  if (keys.empty()) return Error::InvalidArgument("at least one identifier is required");
  // Which customer owns each identifier now.
  std::map<int64_t, std::vector<const IdentityKey*>> owners;
  std::vector<const IdentityKey*> unowned;
  std::optional<CustomerId> user_id_owner;
  for (const auto& key : keys) {
    ASSIGN_OR_RETURN(auto owner, txn.FindIdentity(key.type, key.value));
    if (owner) {
      owners[owner->value()].push_back(&key);
      if (key.type == "user_id" && !user_id_owner) user_id_owner = *owner;
    } else {
      unowned.push_back(&key);
    }
  }

  std::string message_user_id;
  for (const auto& key : keys) {
    if (key.type == "user_id" && message_user_id.empty()) message_user_id = key.value;
  }
  // A record known under a different user id is another account: it keeps its identifiers.
  std::map<int64_t, std::set<std::string>> eligible;
  for (auto& [id, owned] : owners) {
    ASSIGN_OR_RETURN(auto user_ids, UserIdsOf(txn, CustomerId(id)));
    if (!explicit_link && !message_user_id.empty() && !user_ids.empty() && !user_ids.contains(message_user_id)) {
      continue;
    }
    eligible.emplace(id, std::move(user_ids));
  }

  Resolution resolution;
  if (eligible.empty()) {
    storage::CustomerRecord customer;
    customer.created_at = customer.updated_at = at;
    ApplyProfilePatch(customer, patch);
    ASSIGN_OR_RETURN(resolution.customer, txn.InsertCustomer(customer));
    resolution.created = true;
  } else {
    // Survivor: the owner of the message's user id, else the oldest record (smallest id), so ids handed out
    // earlier stay valid.
    CustomerId survivor = user_id_owner ? *user_id_owner : CustomerId(eligible.begin()->first);
    resolution.customer = survivor;
    // Most messages (a track from a known visitor) change no profile: skip the read and the write then.
    if (eligible.size() == 1 && patch.empty()) {
      for (const IdentityKey* key : unowned) {
        RETURN_IF_ERROR(txn.AddIdentity({key->type, key->value, resolution.customer, at}));
      }
      return resolution;
    }
    ASSIGN_OR_RETURN(storage::CustomerRecord into, txn.GetCustomer(survivor));
    const storage::CustomerRecord before = into;
    std::set<std::string> survivor_user_ids = eligible[survivor.value()];
    if (!message_user_id.empty()) survivor_user_ids.insert(message_user_id);
    for (auto& [id, other_user_ids] : eligible) {
      CustomerId other(id);
      if (other == survivor) continue;
      // Two different known accounts are never fused on a weaker shared identifier.
      bool conflict = false;
      for (const auto& uid : other_user_ids) {
        if (!survivor_user_ids.empty() && !survivor_user_ids.contains(uid)) conflict = true;
      }
      if (conflict && !explicit_link) continue;
      ASSIGN_OR_RETURN(storage::CustomerRecord from, txn.GetCustomer(other));
      storage::MergeRecord merge{other, survivor, merge_reason, at};
      FillBlanks(into, from);
      RETURN_IF_ERROR(txn.MergeCustomers(merge));
      resolution.merges.push_back(merge);
      survivor_user_ids.insert(other_user_ids.begin(), other_user_ids.end());
    }
    ApplyProfilePatch(into, patch);
    bool changed = !resolution.merges.empty() || into.name != before.name || into.email != before.email ||
                   into.phone != before.phone || into.gender != before.gender || into.birthday != before.birthday ||
                   into.city != before.city || into.country != before.country || into.tags != before.tags ||
                   into.traits_json != before.traits_json || into.created_at != before.created_at;
    if (changed) {
      into.updated_at = std::max(into.updated_at, at);
      RETURN_IF_ERROR(txn.UpdateCustomer(into));
    }
  }
  for (const IdentityKey* key : unowned) {
    RETURN_IF_ERROR(txn.AddIdentity({key->type, key->value, resolution.customer, at}));
  }
  return resolution;
}

}  // namespace panorama::ingest
