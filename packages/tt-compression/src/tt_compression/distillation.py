"""Knowledge distillation (Hinton et al., 2015): a small student learns from a teacher.

A trained teacher's softmax says more than the label: a "7" that looks a bit
like a "1" gets some probability on "1". Softening both distributions with a
temperature T > 1 exposes those small probabilities, and the student is trained
to match them:

    loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T))
         + (1 - alpha) * cross_entropy(s, labels)

The T^2 keeps the soft term's gradient on the same scale as the hard term's
when T changes (the soft gradients shrink like 1/T^2). KL(p || q) is computed
as cross-entropy(q's logits, p) minus p's entropy, so it reuses tt-losses'
numerically stable cross_entropy; the entropy is a constant of the teacher.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tt_losses import cross_entropy
from tt_tensor import Tensor


def _softmax(logits: np.ndarray[Any, Any], axis: int = 1) -> np.ndarray[Any, Any]:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=axis, keepdims=True))


def soft_kl_divergence(
    student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0
) -> Tensor:
    """Batch-mean KL(softmax(teacher / T) || softmax(student / T)).

    Gradients reach the student only: the teacher is a constant target.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} must have the same shape"
        )
    if student_logits.ndim != 2:
        raise ValueError(
            f"distillation expects (batch, classes) logits, got shape {tuple(student_logits.shape)}"
        )
    t = teacher_logits.data.astype(student_logits.data.dtype) / temperature
    p = _softmax(t)
    log_p = t - t.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    entropy = float(-(p * log_p).sum(axis=1).mean())
    ce = cross_entropy(student_logits / temperature, Tensor(p))
    return ce - entropy


class DistillationLoss:
    """`loss(student_logits, teacher_logits, labels)`: softened KL * T^2 and hard-label CE."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.temperature = float(temperature)
        self.alpha = float(alpha)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor) -> Tensor:
        t = self.temperature
        soft = soft_kl_divergence(student_logits, teacher_logits.detach(), t) * (t * t)
        if self.alpha == 1.0:
            return soft
        hard = cross_entropy(student_logits, target)
        if self.alpha == 0.0:
            return hard
        return soft * self.alpha + hard * (1.0 - self.alpha)

    def __call__(self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor) -> Tensor:
        return self.forward(student_logits, teacher_logits, target)

    def __repr__(self) -> str:
        return f"DistillationLoss(temperature={self.temperature}, alpha={self.alpha})"
