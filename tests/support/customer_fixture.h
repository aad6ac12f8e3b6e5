#pragma once
// The representative write of the storage fault sweeps (SECURITY.md §3 R3, R5, R7): a customer with its email
// and phone identities, as POST /api/v1/customers does, and the checks that tell whether it is whole, absent or
// half-applied. One helper so the sweeps test the same write; `family` keeps each sweep's identities apart.

#include <string>

#include "core/time.h"
#include "storage/store.h"

namespace panorama::testing {

class TestCustomers {
 public:
  // `family` prefixes the emails ("wang" → wang7@example.cn); `phone_prefix` is followed by 8000 + n.
  TestCustomers(std::string family, std::string phone_prefix)
      : family_(std::move(family)), phone_prefix_(std::move(phone_prefix)) {}

  std::string Email(int n) const { return family_ + std::to_string(n) + "@example.cn"; }
  std::string Phone(int n) const { return phone_prefix_ + std::to_string(8000 + n); }

  // One write transaction: the customer row and both identities, or nothing.
  Result<void> Create(storage::Store& store, int n) const {
    Timestamp at = *ParseIso8601("2026-01-02T03:04:05Z");
    return store.Write([&](storage::WriteTxn& txn) -> Result<void> {
      storage::CustomerRecord c;
      c.name = "王小明 " + std::to_string(n);
      c.email = Email(n);
      c.phone = Phone(n);
      c.tags = {"vip"};
      c.created_at = c.updated_at = at;
      ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(c));
      RETURN_IF_ERROR(txn.AddIdentity({"email", c.email, id, at}));
      return txn.AddIdentity({"phone", c.phone, id, at});
    });
  }

  // How many of customer n's two identities the store finds (0 = absent, 2 = whole, 1 = torn); -1 on error.
  int IdentitiesFound(storage::Store& store, int n) const {
    auto email = store.FindIdentity("email", Email(n));
    auto phone = store.FindIdentity("phone", Phone(n));
    if (!email || !phone) return -1;
    return (email->has_value() ? 1 : 0) + (phone->has_value() ? 1 : 0);
  }

 private:
  std::string family_;
  std::string phone_prefix_;
};

}  // namespace panorama::testing
