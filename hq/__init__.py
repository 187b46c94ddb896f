"""HQ side: the receiver (cx-hq run), its database, and the analyst commands."""
