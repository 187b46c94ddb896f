"""The station database: the one place that runs SQL against it.

    store = Store.open(config)
    store.append_response(Response(nps=9, csat=5, reasons=["staff"], language="vi"))
    for event in store.pending_outbox(after_seq=0, limit=100):
        ...                                   # cx-sync publishes them
    store.mark_acked(up_to_seq=42)            # HQ confirmed everything up to 42

Every row that HQ must see is written together with its outbox row in one transaction, so a
killed process leaves either both or neither. Services call the named methods below; nobody
else writes SQL against the station DB.
"""
from station.store.records import (AGE_BRACKETS, Case, Complaint, Crossing, Event, Presence, Response,
                                 StoreError, TrafficMinute, Visit)
from station.store.store import Store

__all__ = ["Store", "StoreError", "Response", "Case", "Complaint", "Visit", "Crossing", "Presence",
           "TrafficMinute", "Event", "AGE_BRACKETS"]
