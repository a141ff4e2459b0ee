"""What every scenario script starts with: warnings on stderr, and the honeyhive tracer.

Not a scenario itself: the scripts import it from their own directory (the first entry
of `sys.path` when Python runs a script).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any

from honeyhive import HoneyHiveTracer


def init_tracer(session_name: str, **options: Any) -> HoneyHiveTracer:
    """`HoneyHiveTracer.init` for the server and key the test gave (`SCENARIO_SERVER_URL`,
    `SCENARIO_API_KEY`), in project `e2e-project` with source `e2e-test`."""
    # Export failures are logged, never raised: send every warning to stderr for the test.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    warnings.filterwarnings("ignore", "The 'project' argument", DeprecationWarning)
    return HoneyHiveTracer.init(
        api_key=os.environ["SCENARIO_API_KEY"],
        server_url=os.environ["SCENARIO_SERVER_URL"],
        project="e2e-project",
        source="e2e-test",
        session_name=session_name,
        **options,
    )
