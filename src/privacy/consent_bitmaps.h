#pragma once
// ConsentService's "granted now" bitmaps, for the segment engine (include from .cc files only: roaring.hh is
// heavy). Bit i of a bitmap is customer id i, the dense index segments::AudienceIndex uses (ids 1 … 2^32 − 1;
// larger ids are not in any bitmap, and the audience index rejects them anyway).
//
// Debian 12's CRoaring 0.2.66 declares the class at global scope (`::Roaring`, what segments::Bitmap names).

#include <roaring/roaring.hh>

#include <array>
#include <string_view>

#include "privacy/consent_service.h"

namespace panorama::privacy {

// Slot layout as ConsentService::Slot: purpose index * (channels + 1) + channel index (0 = purpose level).
// granted[slot] holds exactly the customers for whom MayProcess(c, purpose) (channel 0) or
// MaySend(c, purpose, channel) is true.
struct ConsentBitmaps {
  std::array<::Roaring, kPurposes.size() * (kChannels.size() + 1)> granted;
};

class ConsentBitmapReader {
 public:
  // The customers of `with` for whom MaySend(c, purpose, channel) — or, with an empty `channel`,
  // MayProcess(c, purpose) — is true: the same set as ConsentService::Permitted, restricted to `with`, read
  // under the service's shared lock. Empty for an unknown purpose or channel.
  static ::Roaring Intersect(const ConsentService& service, std::string_view purpose, std::string_view channel,
                             const ::Roaring& with);
  // A copy of the whole bitmap (tests).
  static ::Roaring Granted(const ConsentService& service, std::string_view purpose, std::string_view channel);
};

}  // namespace panorama::privacy
