"""netstep's engine: a from-scratch NumPy neural network (NumPy only, no UI imports)."""

from . import activations, datasets, features, io, jsonsafe, limits, losses, optim, reference, safefile, stepper
from .config import RunConfig, build, presets
from .errors import ConfigError, DataError, FileFormatError, NetstepError
from .gradcheck import GradcheckReport, gradcheck
from .gradcheck import fixed_masks as gradcheck_masks
from .network import MLP
from .trainer import NonFinite, Op, Phase, StepResult, Trainer
from . import diagnostics, scenarios  # noqa: E402  (they build on the names above)

__all__ = [
    "MLP", "Trainer", "RunConfig", "ConfigError", "DataError", "FileFormatError", "NetstepError",
    "GradcheckReport", "NonFinite", "Op", "Phase", "StepResult",
    "activations", "build", "datasets", "diagnostics", "features", "gradcheck", "io", "jsonsafe", "limits", "losses", "optim",
    "presets", "reference", "safefile", "scenarios",
]
