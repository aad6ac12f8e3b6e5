#pragma once
// The /v1/batch bookkeeping of the ingest durability harnesses (SECURITY.md §3 R1 kill -9, R6 disk full): batches
// of track events with unique messageIds, what the database file holds of each messageId, and the tally that
// says whether an acknowledged event was lost, an event stored twice or a batch half-applied.
// Header-only; reads the database file with the SQLite C API while the server is down, as the intruder tests do.

#include <sqlite3.h>

#include <cstddef>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace panorama::testing {

struct Batch {
  std::vector<std::string> message_ids;
  std::string body;  // the JSON posted to /v1/batch
  bool acknowledged = false;
};

struct TrackEvent {
  std::string message_id;
  std::string user_id;
  std::string properties_json;  // a JSON object
};

// A Segment /v1/batch of track events named `event`, one per entry of `events`.
inline Batch MakeTrackBatch(const std::string& event, const std::vector<TrackEvent>& events) {
  Batch batch;
  batch.body = R"({"batch":[)";
  for (size_t i = 0; i < events.size(); ++i) {
    const TrackEvent& e = events[i];
    batch.message_ids.push_back(e.message_id);
    batch.body += (i ? "," : "") + std::string(R"({"type":"track","event":")") + event + R"(","userId":")" +
                  e.user_id + R"(","messageId":")" + e.message_id + R"(","properties":)" + e.properties_json + "}";
  }
  batch.body += "]}";
  return batch;
}

// message_id → how many events with it the database file at `db_path` holds; with `integrity`, also the first
// line of PRAGMA integrity_check. Aborts when the file cannot be read at all.
inline std::map<std::string, int> StoredMessageCounts(const std::string& db_path, std::string* integrity = nullptr) {
  std::map<std::string, int> counts;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) std::abort();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT message_id, count(*) FROM events GROUP BY message_id", -1, &stmt, nullptr) !=
      SQLITE_OK) {
    std::abort();
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    counts[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] = sqlite3_column_int(stmt, 1);
  }
  sqlite3_finalize(stmt);
  if (integrity != nullptr) {
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
    if (sqlite3_step(stmt) == SQLITE_ROW) *integrity = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return counts;
}

// What the stored counts say about the batches sent; every field must be 0 but acked_events (and unacked where
// the harness retried to the end).
struct BatchTally {
  size_t acked_events = 0;  // events in acknowledged batches
  size_t lost = 0;          // of those, not stored
  size_t duplicated = 0;    // events stored more than once
  size_t torn = 0;          // batches partly stored
  size_t unacked = 0;       // batches never acknowledged

  void Add(const Batch& batch, const std::map<std::string, int>& stored) {
    size_t present = 0;
    for (const auto& id : batch.message_ids) {
      auto it = stored.find(id);
      if (it == stored.end()) continue;
      ++present;
      if (it->second != 1) ++duplicated;
    }
    if (present != 0 && present != batch.message_ids.size()) ++torn;
    if (batch.acknowledged) {
      acked_events += batch.message_ids.size();
      lost += batch.message_ids.size() - present;
    } else {
      ++unacked;
    }
  }
};

}  // namespace panorama::testing
