"""Train small models end to end through the composed `tinytorch`."""

from pathlib import Path

import numpy as np
import tinytorch as torch
from tinytorch import nn
from tinytorch.utils.data import DataLoader, TensorDataset


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters in 4-D: a task an MLP must learn, not memorise."""
    centres = np.random.default_rng(100).standard_normal((3, 4)) * 3
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = centres[y] + rng.standard_normal((n, 4))
    return x.astype(np.float32), y.astype(np.int64)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 3))


def test_dataloader_adam_onecycle_trainer_learn_and_resume_exactly(tmp_path: Path) -> None:
    x, y = blobs(600, seed=1)
    xv, yv = blobs(200, seed=2)
    val = DataLoader(TensorDataset(torch.tensor(xv), torch.tensor(yv)), batch_size=100)

    def build() -> tuple[nn.Module, torch.training.Trainer, DataLoader]:
        torch.manual_seed(0)
        order = np.random.default_rng(3)  # shared by loader and trainer: checkpointed
        train = DataLoader(
            TensorDataset(torch.tensor(x), torch.tensor(y)),
            batch_size=32,
            shuffle=True,
            generator=order,
        )
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-2, total_steps=4 * len(train))
        trainer = torch.training.Trainer(
            model,
            nn.CrossEntropyLoss(),
            opt,
            scheduler=sched,
            scheduler_step="batch",
            max_grad_norm=5.0,
            generator=order,
            progress=False,
        )
        return model, trainer, train

    model_a, trainer_a, train_a = build()
    history = trainer_a.fit(train_a, epochs=4, val_data=val)
    assert history["val_accuracy"][-1] > 0.9
    assert history["train_loss"][-1] < history["train_loss"][0]

    # the same run, stopped after 2 epochs and resumed from a checkpoint in new objects
    _, trainer_b, train_b = build()
    trainer_b.fit(train_b, epochs=2, val_data=val, checkpoint_path=tmp_path / "run.ckpt")
    model_c, trainer_c, train_c = build()
    trainer_c.load_checkpoint(tmp_path / "run.ckpt")
    trainer_c.fit(train_c, epochs=2, val_data=val)
    assert trainer_c.history["train_loss"] == history["train_loss"]
    for (name, a), (_, c) in zip(
        model_a.state_dict().items(), model_c.state_dict().items(), strict=True
    ):
        np.testing.assert_array_equal(a.data, c.data, err_msg=name)


def test_state_dict_save_load_roundtrip_gives_identical_predictions(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = make_model()
    model.eval()
    x = torch.randn(5, 4)
    with torch.no_grad():
        before = model(x).data.copy()
    torch.save(model.state_dict(), tmp_path / "m.safetensors")
    torch.manual_seed(1)
    fresh = make_model()
    fresh.load_state_dict(torch.load(tmp_path / "m.safetensors"))
    fresh.eval()
    with torch.no_grad():
        np.testing.assert_array_equal(fresh(x).data, before)
