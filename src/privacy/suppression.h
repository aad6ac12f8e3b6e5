#pragma once
// The one question ingest and import ask about erased subjects: is this identifier on the suppression list?
// privacy::DsarService answers it (keyed hashes, dsar_service.h); ingest/ sees only this interface.

#include <string_view>

#include "core/result.h"

namespace panorama::privacy {

class SuppressionCheck {
 public:
  virtual ~SuppressionCheck() = default;
  // `type`: email | phone | external_id | user_id | anonymous_id; `value` in its canonical (normalised) form.
  virtual Result<bool> IsSuppressed(std::string_view type, std::string_view value) = 0;
};

}  // namespace panorama::privacy
