"""Under pytest-xdist: which worker judges which account, and facts fetched once for all workers."""
