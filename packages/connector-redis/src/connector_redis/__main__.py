"""`python -m connector_redis purge JOB_ID`: delete a crashed run's keys."""

from __future__ import annotations

import sys

from connector_redis.purge import main

sys.exit(main())
