"""`QConfig`: how weights and activations are quantized."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from .observers import MinMaxObserver, MovingAverageMinMaxObserver, Observer, PercentileObserver
from .qscheme import check_bits

ObserverKind = Literal["minmax", "percentile"]


@dataclass(frozen=True)
class QConfig:
    """Quantization scheme for a whole model.

    Defaults are the usual int8 recipe: weights symmetric per output channel,
    activations asymmetric per tensor with a min/max observer, and each layer's
    int32 accumulator requantized to int8 with a calibrated output range.
    """

    weight_bits: int = 8
    per_channel: bool = True
    weight_symmetric: bool = True
    activation_bits: int = 8
    activation_symmetric: bool = False
    observer: ObserverKind = "minmax"
    percentile: float = 99.99
    requantize_output: bool = True

    def __post_init__(self) -> None:
        check_bits(self.weight_bits)
        check_bits(self.activation_bits)
        if self.observer not in ("minmax", "percentile"):
            raise ValueError(f"observer must be 'minmax' or 'percentile', got {self.observer!r}")
        if not 50.0 < self.percentile <= 100.0:
            raise ValueError(f"percentile must be in (50, 100], got {self.percentile}")

    def weight_observer(self) -> MinMaxObserver:
        """Weights are known in full: min/max, per output channel (axis 0) or per tensor."""
        axis = 0 if self.per_channel else None
        return MinMaxObserver(self.weight_bits, self.weight_symmetric, axis)

    def activation_observer(self) -> Observer:
        if self.observer == "percentile":
            return PercentileObserver(
                self.percentile, self.activation_bits, self.activation_symmetric
            )
        return MinMaxObserver(self.activation_bits, self.activation_symmetric)

    def qat_activation_observer(self) -> Observer:
        """During QAT ranges drift while weights learn: a moving average follows them."""
        return MovingAverageMinMaxObserver(self.activation_bits, self.activation_symmetric)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown QConfig fields {unknown}")
        return cls(**data)
