"""The audit period: a ledger built from many evidence packs (`rootguard ledger`), and reproducible samples drawn from it (`rootguard sample`)."""
