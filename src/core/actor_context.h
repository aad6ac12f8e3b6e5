#pragma once
// Who is acting on this thread, for the audit ledger (SECURITY.md §2.6). The HTTP auth wrapper, the CLI and
// the ingest writer set an ActorScope; audit::LedgeredStore reads CurrentActor() when it appends an entry.
// std only, so every context can set the actor without depending on audit/.
//
// Thread-safety: the context is thread-local; a scope affects only the thread that created it.

#include <string>
#include <utility>

namespace panorama {

struct ActorContext {
  std::string actor = "system";  // "user:<id>", "key:<id>", "cli", "system"
  std::string request_id;
  std::string ip;                // already truncated (/24, /48) by whoever sets it
};

namespace internal {
inline ActorContext*& CurrentActorSlot() {
  thread_local ActorContext* current = nullptr;
  return current;
}
}  // namespace internal

// The innermost active scope's context on this thread, or the "system" default.
inline const ActorContext& CurrentActor() {
  static const ActorContext kSystem;
  const ActorContext* current = internal::CurrentActorSlot();
  return current ? *current : kSystem;
}

// Sets the thread's actor until destroyed; scopes nest and restore the outer one.
class ActorScope {
 public:
  explicit ActorScope(ActorContext context) : context_(std::move(context)), outer_(internal::CurrentActorSlot()) {
    internal::CurrentActorSlot() = &context_;
  }
  ActorScope(const ActorScope&) = delete;
  ActorScope& operator=(const ActorScope&) = delete;
  ~ActorScope() { internal::CurrentActorSlot() = outer_; }

 private:
  ActorContext context_;
  ActorContext* outer_;
};

// The IP address cut to its network (/24 for IPv4, /48 for IPv6) so the ledger holds no full address.
inline std::string TruncateIp(const std::string& ip) {
  if (ip.find(':') == std::string::npos) {
    size_t last = ip.rfind('.');
    if (last == std::string::npos) return "";
    return ip.substr(0, last) + ".0/24";
  }
  // Keep the first three 16-bit groups; "::" shortening inside them is rare enough to keep as written.
  size_t pos = 0;
  for (int groups = 0; groups < 3; ++groups) {
    pos = ip.find(':', pos);
    if (pos == std::string::npos) return ip + "/48";
    ++pos;
  }
  return ip.substr(0, pos) + ":/48";
}

}  // namespace panorama
