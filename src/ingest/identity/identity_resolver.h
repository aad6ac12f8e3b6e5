#pragma once
// Deterministic identity resolution: identifiers shared between records resolve to one customer.
//
// Given the identifiers a message carries (user id, anonymous id, email, phone, alias), finds the customers
// that already own any of them. None: a new customer. One: that customer. Several: they are merged into the
// oldest (smallest id), with lineage recorded — except that two customers known under different user ids are
// never merged on a weaker identifier (a shared family email must not fuse two accounts); then the message
// resolves to the owner of its user id and the conflicting identifier stays where it was.

#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "ingest/segment_message.h"
#include "storage/records.h"

namespace panorama::storage {
class WriteTxn;
}

namespace panorama::ingest {

struct IdentityKey {
  std::string type;  // user_id | anonymous_id | email | phone | external_id | wechat_openid
  std::string value;
};

struct Resolution {
  CustomerId customer;
  bool created = false;
  std::vector<storage::MergeRecord> merges;  // performed by this call, in order
};

// Applies `patch` to `customer`: given fields overwrite, custom traits are merged key by key (new wins).
void ApplyProfilePatch(storage::CustomerRecord& customer, const ProfilePatch& patch);

// Merges two JSON objects given as text, keys of `patch` winning; invalid input leaves `base` unchanged.
std::string MergeJsonObjects(const std::string& base, const std::string& patch);

class IdentityResolver {
 public:
  // `keys` must hold at least one identifier; `patch` may be empty. Runs inside the caller's transaction.
  // `explicit_link` (a Segment alias) says outright that all records owning `keys` are one person, so even
  // records known under different user ids are merged.
  Result<Resolution> Resolve(storage::WriteTxn& txn, const std::vector<IdentityKey>& keys, const ProfilePatch& patch,
                             Timestamp at, const std::string& merge_reason = "shared identifier",
                             bool explicit_link = false);
};

}  // namespace panorama::ingest
