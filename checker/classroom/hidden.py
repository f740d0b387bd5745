"""Hidden inputs: what a graded run draws its check inputs from, so nothing a student saw replays.

A check's inputs come from a seed (:meth:`nncheck.model.Check.rng`). With
the public seed 0 they are the same for everyone, every time: a student who
records what their own ``nncheck submit`` run used and expected could hand
in a table of answers. So every graded run (``nncheck grade``, the
Gradescope and PrairieLearn graders) takes its seed from a course secret
combined with the submission's content (:func:`hidden_seed`: HMAC-SHA256 of
the secret over :func:`~nncheck.classroom.state.submission_digest`). Any
change to the submission gives new inputs; the same secret and the same
submission always give the same inputs, hence the same grade.

The secret stays in the grading process. The sandbox gets the seed (as
today), never the secret: inputs are computed grader-side, and the worker's
environment is allow-listed. Reports carry ``inputs`` (:func:`hidden`,
:func:`by_seed`): the kind of run and, for a hidden one, the secret's
fingerprint (:func:`fingerprint`), never the secret.

Where the secret comes from (:func:`find_secret`), first found wins: an
explicit ``--secret``, ``$NNCHECK_SECRET``, the config's ``[grading]
secret``, then the run's saved state (the class run's ``OUT/secret.txt``,
the Gradescope zip's ``nncheck-secret``, PrairieLearn's
``tests/nncheck-secret``). ``nncheck grade`` creates one on first use
(:func:`create_secret`) and saves it in ``OUT``, readable by its owner
only; the Gradescope builder puts a new one in the zip. PrairieLearn's
grader, which keeps nothing between jobs, makes one per job when none is
configured: hidden still, but a regrade draws new inputs.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

SECRET_VAR = "NNCHECK_SECRET"
STATE_FILE = "secret.txt"        # in a class run's --out folder
ZIP_FILE = "nncheck-secret"      # in the Gradescope zip, beside the manifest
MIN_LENGTH = 16                  # a short secret could be guessed from its fingerprint
SEED_BITS = 53                   # seeds stay exact wherever the JSON report is read (JavaScript too)


class SecretError(ValueError):
    """A configured secret cannot be used (the message says why)."""


def fingerprint(value: str) -> str:
    """What reports say about the secret: enough to tell two secrets apart, nothing to grade with."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Secret:
    """A course secret and where it was found (``option``, ``env``, ``config``, ``state``, ``created``,
    ``ephemeral``). ``repr`` leaves the value out, so a log or a traceback never shows it."""

    value: str = field(repr=False)
    source: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)

    def seed_for(self, submission_sha: str) -> int:
        return hidden_seed(self.value, submission_sha)

    def inputs(self) -> dict:
        return hidden(self)


def hidden_seed(secret: str, submission_sha: str) -> int:
    """The seed of a submission's inputs: HMAC-SHA256(secret, its digest), cut to :data:`SEED_BITS`.

    Without the secret no one can tell which inputs a submission will get,
    and a submission cannot be written to fit its own seed: the seed changes
    with every byte of it. Never 0, the public seed."""
    mac = hmac.new(secret.encode(), b"nncheck-inputs\0" + submission_sha.encode(), hashlib.sha256).digest()
    return (int.from_bytes(mac[:8], "big") & ((1 << SEED_BITS) - 1)) or 1


def hidden(secret: Secret) -> dict:
    """A report's ``inputs`` for a hidden run."""
    return {"kind": "hidden", "secret_fingerprint": secret.fingerprint, "secret_source": secret.source}


def by_seed(seed: int) -> dict:
    """A report's ``inputs`` for a run on one seed: ``public`` for 0 (what students' own runs use),
    else ``seed`` (``--seed N``, the same for every submission)."""
    return {"kind": "public"} if int(seed) == 0 else {"kind": "seed"}


def _checked(value, where: str) -> str:
    value = str(value).strip()
    if len(value) < MIN_LENGTH:
        raise SecretError(f"the course secret from {where} is too short ({len(value)} characters; at least "
                          f"{MIN_LENGTH}): a short one could be guessed from the fingerprint reports show. "
                          "Make one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    return value


def read_secret_file(path) -> str | None:
    """The secret saved in ``path``, or ``None`` when there is no such file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretError(f"cannot read the course secret in {path}: {exc}") from None
    return _checked(text, str(path))


def find_secret(option: str | None = None, config=None, state=None) -> Secret | None:
    """The course secret, by precedence: ``option`` (``--secret``), ``$NNCHECK_SECRET``, the
    config's ``[grading] secret``, the file ``state``; ``None`` when none is set.

    :raises SecretError: a secret that is set but unusable (too short, unreadable): never
        silently replaced by another one.
    """
    if option:
        return Secret(_checked(option, "--secret"), "option")
    if os.environ.get(SECRET_VAR):
        return Secret(_checked(os.environ[SECRET_VAR], f"${SECRET_VAR}"), "env")
    if config is not None and getattr(config, "secret", None):
        return Secret(_checked(config.secret, f"{config.path}: [grading] secret"), "config")
    if state is not None:
        value = read_secret_file(state)
        if value is not None:
            return Secret(value, "state")
    return None


def create_secret(save_to=None) -> Secret:
    """A new secret (256 random bits), written to ``save_to`` (mode 0600) when given."""
    value = secrets.token_hex(32)
    if save_to is None:
        return Secret(value, "ephemeral")
    save_secret(save_to, value)
    return Secret(value, "created")


def save_secret(path, value: str) -> None:
    """Write ``value`` to ``path``, readable and writable by its owner only, from the first byte."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    os.replace(tmp, path)

