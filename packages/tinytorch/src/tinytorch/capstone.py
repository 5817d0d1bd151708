"""`tinytorch.capstone`: The end-to-end optimization pipeline (module 20)."""

from tt_capstone import (
    DeployedModel,
    build,
    load_deployed,
    optimize,
    save_deployed,
)

__all__ = [
    "DeployedModel",
    "build",
    "load_deployed",
    "optimize",
    "save_deployed",
]
