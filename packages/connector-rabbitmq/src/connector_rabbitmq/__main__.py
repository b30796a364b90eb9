"""`python -m connector_rabbitmq JOB_ID [SPEC_ID ...]`: purge a crashed run's leftovers."""

from __future__ import annotations

import sys

from connector_rabbitmq.purge import main

sys.exit(main())
