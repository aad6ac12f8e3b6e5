#pragma once
// JSON of the RFM and lifecycle sections, shared by the analytics routes and the 360° view. Internal to
// http/handlers.

#include <optional>

#include "core/ids.h"
#include "core/time.h"
#include "http/handlers/api_services.h"
#include "http/json.h"

namespace panorama::http {

// {"customer_id", "recency_days", …, "segment"} with nulls for a customer without orders (or a plain null
// when `null_when_unscored`, as the 360° view shows it).
void WriteCustomerRfm(JsonWriter& w, ApiServices& services, CustomerId id, std::optional<Timestamp> as_of,
                      bool null_when_unscored = false);
// {"stage", "since"}.
void WriteCustomerLifecycle(JsonWriter& w, ApiServices& services, CustomerId id, std::optional<Timestamp> as_of);

}  // namespace panorama::http
