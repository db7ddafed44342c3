"""A proposal measured, not the product: the bench settings with persistent SQLite connections.

Linli opens a new SQLite connection for every request (``conn_max_age=0``), which runs the
WAL and busy-timeout PRAGMAs each time. Compare with::

    python -m bench api --db sqlite --settings bench.site.settings_sqlite_persistent
"""

from bench.site.settings import *  # noqa: F403
from bench.site.settings import DATABASES

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 60
