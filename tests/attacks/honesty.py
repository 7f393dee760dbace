"""Submissions that try to earn points without the computation a test is about (issue #14).

Two kinds, graded together by ``tests/attacks/test_suite_honesty.py``:

- *forgeries* (:data:`FORGERIES`): the reference with an honest bug, plus code that forges
  what ``coursekit.harness`` reports from inside the worker (recorded decoder inputs,
  optimizer step counts, training mode, gradient mode) or that skips the bottleneck once
  training starts. Each names the hidden tests it must fail: the tests that the honest bug
  fails and the forgery tries to win back;
- *do-nothing* submissions (``tests/donothing/``): every function returns constants of the
  right shapes. Each lesson may score at most :data:`SHAPE_POINTS`, what its pure shape tests
  are worth (the README's Security model section states the same figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.lessons import lesson_by_number
from tests.helpers import reference_source

DONOTHING_DIR = Path(__file__).resolve().parent.parent / "donothing"

# What a lesson's pure shape tests are worth: a do-nothing submission may score this much.
SHAPE_POINTS = {
    1: 0.5,  # sample_shape_and_dtype
    2: 4.0,  # encoder_shapes, decoder_shapes, autoencoder_shapes
    3: 6.0,  # encoder_shapes, decoder_shape_and_range, vae_forward_shapes
    4: 1.0,  # project_2d_tsne_and_unknown (finite (N, 2) points, ValueError)
}


@dataclass(frozen=True)
class Forgery:
    """The reference of ``lesson`` with ``code`` appended (it redefines what it breaks)."""

    name: str
    lesson: int
    description: str
    code: str
    must_fail: tuple[str, ...]  # hidden test ids (function names)

    def source(self) -> str:
        return reference_source(self.lesson) + "\n\n# ---- the forgery ----\n" + self.code


def donothing_source(lesson: int) -> str:
    info = lesson_by_number(lesson)
    return (DONOTHING_DIR / info.folder / info.student_file).read_text(encoding="utf-8")


FORGERIES: list[Forgery] = [
    Forgery("l3-forged-decoder-inputs", 3,
            "VAE.forward decodes mu and VAE.sample decodes zeros; harness.recorded reports proper "
            "draws instead", code='''
import coursekit.harness as _h
_stash = {}

def _forward(self, x):  # the honest bug: decodes mu, no sampling
    mu, logvar = self.encoder(x)
    _stash["z"] = reparameterize(mu, logvar).detach()
    return self.decoder(mu), mu, logvar

def _sample(self, n):  # the honest bug: decodes the origin, not the prior
    with torch.no_grad():
        _stash["z"] = torch.randn(n, self.latent_dim)
        return self.decoder(torch.zeros(n, self.latent_dim))

VAE.forward = _forward
VAE.sample = _sample
_real_recorded = _h.recorded

def _recorded(rec):
    out = _real_recorded(rec)
    if "z" in _stash:
        out["inputs"] = [_stash.pop("z")]
    return out

_h.recorded = _recorded
''', must_fail=("vae_forward_decodes_a_sample", "vae_sample_from_prior")),
    Forgery("l3-counted-steps", 3,
            "train_epoch computes every loss but never steps; it bumps the optimizer's step count",
            code='''
def train_epoch(model, loader, optimizer, beta=1.0):
    model.train()
    total, batches = 0.0, 0
    for batch in loader:
        x = _images_of(batch)
        x_hat, mu, logvar = model(x)
        loss = vae_loss(x_hat, x, mu, logvar, beta)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.steps += 1  # counted, never taken
        total += loss.item()
        batches += 1
    return total / max(batches, 1)
''', must_fail=("train_epoch_steps_and_mean_loss",)),
    Forgery("l3-no-bottleneck", 3,
            "VAE.forward returns x as x_hat with mu = logvar = 0; train_epoch trains nothing and "
            "reports a falling loss", code='''
_epochs = [0]

def _forward(self, x):
    zeros = torch.zeros(len(x), self.latent_dim)
    return x.clamp(1e-4, 1 - 1e-4), zeros, zeros.clone()

VAE.forward = _forward

def train_epoch(model, loader, optimizer, beta=1.0):
    _epochs[0] += 1
    return 300.0 / _epochs[0]
''', must_fail=("training_reaches_elbo_bar",)),
    Forgery("l3-forged-no-grad", 3,
            "VAE.sample builds an autograd graph; harness.output_requires_grad reports none", code='''
import coursekit.harness as _h

def _sample(self, n):  # the honest bug: no torch.no_grad()
    return self.decoder(torch.randn(n, self.latent_dim))

VAE.sample = _sample
_h.output_requires_grad = lambda fn, *args, **kwargs: [False]
''', must_fail=("vae_sample_fresh_without_gradients",)),
    Forgery("l2-forged-gradients", 2,
            "an encoder whose code is detached; harness.gradients reports a gradient anyway", code='''
import coursekit.harness as _h
_Encoder = Encoder

class Encoder(_Encoder):  # the honest bug: the code is detached from the image
    def forward(self, x):
        return super().forward(x).detach()

_h.gradients = lambda fn, *inputs, **kwargs: [torch.ones_like(inputs[0])] + [None] * (len(inputs) - 1)
''', must_fail=("encoder_depends_on_input",)),
    Forgery("l2-no-bottleneck", 2,
            "a decoder that ignores the code (the honest bug); once training starts, forward "
            "returns its input", code='''
_training_started = [False]
_real_train_epoch = train_epoch

def train_epoch(model, loader, optimizer):
    _training_started[0] = True
    return _real_train_epoch(model, loader, optimizer)

class Decoder(nn.Module):  # the honest bug: it ignores the code (it learns the mean image)
    def __init__(self, latent_dim=32):
        super().__init__()
        self.latent_dim = latent_dim
        self.logits = nn.Parameter(torch.zeros(1, 1, 28, 28))

    def forward(self, z):
        return torch.sigmoid(self.logits).expand(len(z), 1, 28, 28) + 0 * z.sum()

def _forward(self, x):
    x_hat = self.decoder(self.encoder(x))
    return x + 0 * x_hat if _training_started[0] else x_hat

Autoencoder.forward = _forward
''', must_fail=("train_epoch_reduces_loss", "trained_model_beats_bar", "autoencoder_beats_pca")),
    Forgery("l2-forged-modes", 2,
            "train_epoch without zero_grad or model.train(), evaluate without eval() or no_grad; "
            "the harness reports clean steps, the expected modes and no gradients", code='''
import coursekit.harness as _h
_mode = ["eval"]

def train_epoch(model, loader, optimizer):  # honest bugs: no model.train(), no zero_grad()
    _mode[0] = "train"
    total, batches = 0.0, 0
    for batch in loader:
        x = _images_of(batch)
        loss = reconstruction_loss(model(x), x)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)

def evaluate(model, loader):  # honest bugs: no model.eval(), gradients enabled
    _mode[0] = "eval"
    total, batches = 0.0, 0
    for batch in loader:
        x = _images_of(batch)
        total += reconstruction_loss(model(x), x).item()
        batches += 1
    return total / max(batches, 1)

_h.optimizer_report = lambda optimizer: {"steps": optimizer.steps, "stale_steps": 0}
_h.is_training = lambda model: _mode[0] == "train"
_real_recorded = _h.recorded
_h.recorded = lambda rec: {**_real_recorded(rec), "grad_enabled": [False] * len(rec.inputs)}
''', must_fail=("train_epoch_steps_and_resets", "train_epoch_sets_train_mode", "evaluate_does_not_train")),
    Forgery("l4-forged-no-grad", 4,
            "generate and encode_mean run the model with gradients; harness.recorded reports none",
            code='''
import coursekit.harness as _h

def generate(decoder, n, latent_dim, generator=None):  # the honest bug: no torch.no_grad()
    return decoder(sample_prior(n, latent_dim, generator)).detach()

def encode_mean(encoder, images):  # the honest bug: no torch.no_grad()
    out = encoder(images)
    return (out[0] if isinstance(out, (tuple, list)) else out).detach()

_real_recorded = _h.recorded
_h.recorded = lambda rec: {**_real_recorded(rec), "grad_enabled": [False] * len(rec.inputs)}
''', must_fail=("generate_decodes_prior_draws", "encode_mean_returns_mu")),
]
