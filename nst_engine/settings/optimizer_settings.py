"""The optimisers' settings: the chosen one, its learning rate, and each one's own parameters.

Frozen dataclasses, checked when built; `nst_engine.settings.config` re-exports them. No torch here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nst_engine.errors import ConfigError, about_setting
from nst_engine.settings.values import parse_bool, parse_choice, parse_float, parse_int

OPTIMIZERS = ("adam", "adadelta", "rmsprop", "sgd", "lbfgs")
OPTIMIZER_LABELS = {
    "adam": "Adam",
    "adadelta": "Adadelta",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
    "lbfgs": "L-BFGS",
}


def _check(
    settings: object, parameter: str, parse: Callable[..., Any], label: str, *bounds, **options
) -> None:
    """Store `parse(label, value, *bounds, **options)` as the parameter's value (the settings
    are frozen: once, here); the error it raises says it is about `parameter`."""
    with about_setting(parameter):
        value = parse(label, getattr(settings, parameter), *bounds, **options)
    object.__setattr__(settings, parameter, value)


@dataclass(frozen=True)
class AdamSettings:
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        _check(self, "beta1", parse_float, "adam beta1", 0.0, below=1.0)
        _check(self, "beta2", parse_float, "adam beta2", 0.0, below=1.0)
        _check(self, "eps", parse_float, "adam eps", above=0.0)


@dataclass(frozen=True)
class AdadeltaSettings:
    rho: float = 0.9
    eps: float = 1e-6

    def __post_init__(self) -> None:
        _check(self, "rho", parse_float, "adadelta rho", 0.0, maximum=1.0)
        _check(self, "eps", parse_float, "adadelta eps", above=0.0)


@dataclass(frozen=True)
class RMSpropSettings:
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0

    def __post_init__(self) -> None:
        _check(self, "alpha", parse_float, "rmsprop alpha", 0.0, maximum=1.0)
        _check(self, "eps", parse_float, "rmsprop eps", above=0.0)
        _check(self, "momentum", parse_float, "rmsprop momentum", 0.0, below=1.0)


@dataclass(frozen=True)
class SGDSettings:
    momentum: float = 0.9
    nesterov: bool = False

    def __post_init__(self) -> None:
        _check(self, "momentum", parse_float, "sgd momentum", 0.0, below=1.0)
        _check(self, "nesterov", parse_bool, "sgd nesterov")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("sgd nesterov needs a momentum above 0", setting="nesterov")


@dataclass(frozen=True)
class LBFGSSettings:
    history_size: int = 100

    def __post_init__(self) -> None:
        _check(self, "history_size", parse_int, "lbfgs history_size", 1)


OPTIMIZER_PARAMETERS: dict[str, type] = {
    "adam": AdamSettings,
    "adadelta": AdadeltaSettings,
    "rmsprop": RMSpropSettings,
    "sgd": SGDSettings,
    "lbfgs": LBFGSSettings,
}
# Every optimiser's own parameters, each once, in order: beta1, beta2, eps, rho, ... history_size.
OPTIMIZER_PARAMETER_NAMES = tuple(
    dict.fromkeys(
        field.name for kind in OPTIMIZER_PARAMETERS.values() for field in dataclasses.fields(kind)
    )
)


def optimizers_with(parameter: str) -> tuple[str, ...]:
    """The optimisers that have `parameter` (`eps`: adam, adadelta, rmsprop)."""
    return tuple(
        name
        for name, kind in OPTIMIZER_PARAMETERS.items()
        if parameter in {field.name for field in dataclasses.fields(kind)}
    )


def parse_parameter(optimizer: str, parameter: str, value: object) -> Any:
    """`value` (text as typed) for `optimizer`'s own `parameter`, checked by that optimiser's
    settings themselves: their bounds and words are written there only."""
    return getattr(OPTIMIZER_PARAMETERS[optimizer](**{parameter: value}), parameter)


def read_parameter(settings: OptimizerSettings, parameter: str, label: str, value: object):
    """A value typed for the chosen optimiser's `parameter` (a flag, a sweep's value), named
    `label` in errors; refused where the chosen optimiser has no such parameter. Its own
    bounds are the parameter's dataclass's (checked when it is replaced)."""
    applies_to = optimizers_with(parameter)
    if settings.name not in applies_to:
        raise ConfigError(
            f"{label} applies to {', '.join(applies_to)}; the optimizer is {settings.name}"
        )
    if parameter == "history_size":
        return parse_int(label, value, 1)
    if parameter == "nesterov":
        return parse_bool(label, value)
    return parse_float(label, value, 0.0)


# Pixels are 0-255: a learning rate beyond a million is a typo, and beyond ~1e38 torch
# cannot even hold it in float32.
LEARNING_RATE_MAXIMUM = 1e6


def parse_learning_rate(name: str, value: object) -> float:
    """A learning rate above 0 and at most LEARNING_RATE_MAXIMUM (named `name` in errors)."""
    return parse_float(name, value, above=0.0, maximum=LEARNING_RATE_MAXIMUM)


@dataclass(frozen=True)
class OptimizerSettings:
    """The chosen optimiser, its learning rate, and the own parameters of every optimiser.

    Each optimiser keeps its parameters even while another is chosen, so switching back
    and forth in the form loses nothing. The learning rate is in pixel units (0-255).
    """

    name: str = "lbfgs"
    lr: float = 1.0
    adam: AdamSettings = field(default_factory=AdamSettings)
    adadelta: AdadeltaSettings = field(default_factory=AdadeltaSettings)
    rmsprop: RMSpropSettings = field(default_factory=RMSpropSettings)
    sgd: SGDSettings = field(default_factory=SGDSettings)
    lbfgs: LBFGSSettings = field(default_factory=LBFGSSettings)

    def __post_init__(self) -> None:
        # Stored normalised: "L-BFGS" or "Adam" from a preset must select lbfgs or adam.
        with about_setting("optimizer"):  # the setting's name everywhere but here
            object.__setattr__(self, "name", parse_choice("optimizer", self.name, OPTIMIZERS))
        _check(self, "lr", parse_learning_rate, "lr")

    @property
    def parameters(self) -> Any:
        """The parameters of the chosen optimiser."""
        return getattr(self, self.name)

    @property
    def label(self) -> str:
        return OPTIMIZER_LABELS[self.name]


def optimizer_from_dict(value: Any, base: OptimizerSettings) -> OptimizerSettings:
    """A TOML table of optimiser settings laid over `base` (its own tables merged)."""
    if not isinstance(value, dict):
        raise ConfigError("optimizer must be a table")
    changes: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("name", "lr"):
            changes[key] = item
        elif key in OPTIMIZER_PARAMETERS:
            if not isinstance(item, dict):
                raise ConfigError(f"optimizer.{key} must be a table")
            parameter_class = OPTIMIZER_PARAMETERS[key]
            allowed = {f.name for f in dataclasses.fields(parameter_class)}
            extra = sorted(set(item) - allowed)
            if extra:
                raise ConfigError(f"unknown setting 'optimizer.{key}.{extra[0]}'")
            changes[key] = dataclasses.replace(getattr(base, key), **item)
        else:
            raise ConfigError(f"unknown setting 'optimizer.{key}'")
    return dataclasses.replace(base, **changes)
