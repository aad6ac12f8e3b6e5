#pragma once
// Strong identifier types (STYLE.md §3): never a bare integer across a context boundary.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace panorama {

template <typename Tag>
class StrongId {
 public:
  constexpr StrongId() = default;
  constexpr explicit StrongId(int64_t value) : value_(value) {}
  constexpr int64_t value() const { return value_; }
  constexpr bool valid() const { return value_ > 0; }
  std::string ToString() const { return std::to_string(value_); }
  friend constexpr auto operator<=>(StrongId, StrongId) = default;

 private:
  int64_t value_ = 0;
};

using CustomerId = StrongId<struct CustomerIdTag>;
using OrderId = StrongId<struct OrderIdTag>;
using ProductId = StrongId<struct ProductIdTag>;
using EventId = StrongId<struct EventIdTag>;
using InteractionId = StrongId<struct InteractionIdTag>;
using UserId = StrongId<struct UserIdTag>;
using ApiKeyId = StrongId<struct ApiKeyIdTag>;
using TeamId = StrongId<struct TeamIdTag>;
using SegmentId = StrongId<struct SegmentIdTag>;

}  // namespace panorama

template <typename Tag>
struct std::hash<panorama::StrongId<Tag>> {
  size_t operator()(panorama::StrongId<Tag> id) const noexcept { return std::hash<int64_t>{}(id.value()); }
};
