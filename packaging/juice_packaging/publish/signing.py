"""The signing key: which one, signing with it, exporting and checking with its public part.

The private key never leaves gpg: it is used from a keyring directory (``--gnupghome``)
or from the user's running gpg agent (``--key``). Nothing private is written anywhere.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from juice_packaging.publish.errors import PublishError
from juice_packaging.publish.tools import run, which

# apt refuses SHA1 signatures; SHA512 is accepted by every apt, dnf and rpm we target.
_DIGEST = "SHA512"


@dataclass(frozen=True)
class Signer:
    """A resolved signing key: its primary fingerprint and how to reach gpg."""

    fingerprint: str
    uid: str
    gnupghome: Path | None = None
    passphrase_file: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment for gpg and rpmsign: the keyring directory, if one was given."""
        return {"GNUPGHOME": str(self.gnupghome)} if self.gnupghome else {}

    def _gpg_args(self) -> list[str]:
        args = ["gpg", "--no-tty", "--yes", "--digest-algo", _DIGEST]
        if self.passphrase_file:
            # Without this, gpg would ask the agent's pinentry for the passphrase.
            args += ["--batch", "--pinentry-mode", "loopback"]
            args += ["--passphrase-file", str(self.passphrase_file)]
        return [*args, "--local-user", self.fingerprint]

    def clearsign(self, src: Path, dest: Path) -> None:
        """Write ``dest``: ``src`` with an inline signature (apt's InRelease)."""
        run([*self._gpg_args(), "--clearsign", "-o", dest, src], env=self.env, what="gpg")

    def detach_sign(self, src: Path, dest: Path) -> None:
        """Write ``dest``: an ASCII-armoured detached signature of ``src``."""
        run(
            [*self._gpg_args(), "--armor", "--detach-sign", "-o", dest, src],
            env=self.env,
            what="gpg",
        )

    def export_public(self, *, armor: bool) -> bytes:
        """The public key (primary and subkeys), binary or ASCII-armoured."""
        args = ["gpg", "--batch", "--export", "--export-options", "export-minimal"]
        if armor:
            args.append("--armor")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "key"
            run([*args, "-o", out, self.fingerprint], env=self.env, what="gpg --export")
            data = out.read_bytes()
        if not data:
            raise PublishError(f"gpg exported an empty public key for {self.fingerprint}")
        return data

    def sign_rpm(self, rpm_file: Path) -> None:
        """Add this key's signature to an RPM header in place (rpmsign --addsign)."""
        extra = ["--batch", "--pinentry-mode", "loopback", "--passphrase-file"]
        defines = {
            # Debian's rpm points %__gpg at gpg2, which Debian does not ship.
            "__gpg": which("gpg"),
            "_gpg_name": self.fingerprint,
            "_gpg_digest_algo": _DIGEST.lower(),
        }
        if self.gnupghome:
            defines["_gpg_path"] = str(self.gnupghome)
        if self.passphrase_file:
            defines["_gpg_sign_cmd_extra_args"] = " ".join([*extra, str(self.passphrase_file)])
        argv: list[str | Path] = ["rpmsign"]
        for name, value in defines.items():
            argv += ["--define", f"{name} {value}"]
        run([*argv, "--addsign", rpm_file], env=self.env, what="rpmsign")


def resolve_signer(key: str | None, gnupghome: Path | None, passphrase_file: Path | None) -> Signer:
    """Find the one secret signing key meant by ``--key``/``--gnupghome``.

    With only ``--gnupghome``, the keyring must hold exactly one usable secret key. With
    neither, refuse: silently picking a key from a personal agent is how repos end up
    signed by the wrong person.
    """
    if key is None and gnupghome is None:
        raise PublishError(
            "no signing key given",
            "pass --key ID (a key in your gpg agent) or --gnupghome DIR (a keyring directory)",
        )
    if gnupghome is not None and not gnupghome.is_dir():
        raise PublishError(f"--gnupghome {gnupghome}: not a directory")
    if passphrase_file is not None and not passphrase_file.is_file():
        raise PublishError(f"--passphrase-file {passphrase_file}: no such file")
    env = {"GNUPGHOME": str(gnupghome)} if gnupghome else {}
    argv = ["gpg", "--batch", "--with-colons", "--fixed-list-mode", "--list-secret-keys"]
    if key:
        argv += ["--", key]
    try:
        listing = run(argv, env=env, what="gpg --list-secret-keys")
    except PublishError as err:
        where = f"in {gnupghome}" if gnupghome else "in your gpg keyring"
        raise PublishError(
            f"no secret key {key or ''} {where}".replace("  ", " "),
            "check the key with: gpg --list-secret-keys"
            + (f" --homedir {gnupghome}" if gnupghome else ""),
        ) from err
    keys = _usable_signing_keys(listing)
    if not keys:
        raise PublishError(
            "no usable secret signing key found (expired, revoked or not able to sign)",
            "create one (see docs/publishing.md) or pass another --key",
        )
    if len(keys) > 1:
        listed = ", ".join(f"{fpr} ({uid})" for fpr, uid in keys)
        raise PublishError(f"more than one secret key matches: {listed}", "pass --key FINGERPRINT")
    fingerprint, uid = keys[0]
    return Signer(fingerprint, uid, gnupghome, passphrase_file)


def _usable_signing_keys(colons: str) -> list[tuple[str, str]]:
    """Primary keys (fingerprint, first uid) in gpg --with-colons output that can sign."""
    keys: list[list[str]] = []
    usable = False
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            # Field 2 is validity (e expired, r revoked), field 12 the key's capabilities:
            # an upper-case S means the key as a whole (with its subkeys) can sign.
            usable = fields[1] not in ("e", "r", "d") and "S" in fields[11]
            if usable:
                keys.append(["", ""])
        elif fields[0] in ("ssb", "sub"):
            usable = False  # later fpr/uid lines belong to a subkey
        elif usable and fields[0] == "fpr" and not keys[-1][0]:
            keys[-1][0] = fields[9]
        elif usable and fields[0] == "uid" and not keys[-1][1]:
            keys[-1][1] = fields[9]
    return [(fpr, uid) for fpr, uid in keys if fpr]


def fingerprints_in(public_key: bytes) -> set[str]:
    """Primary-key fingerprints in exported public key data (armoured or binary)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "key"
        path.write_bytes(public_key)
        out = run(
            ["gpg", "--batch", "--with-colons", "--show-keys", path],
            env={"GNUPGHOME": tmp},
            what="gpg --show-keys",
        )
    fprs: set[str] = set()
    after_pub = False
    for line in out.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            after_pub = True
        elif fields[0] == "fpr" and after_pub:
            fprs.add(fields[9])
            after_pub = False
    return fprs


def verify_detached(public_keyring: Path, signature: Path, data: Path) -> None:
    """Check a detached signature against exactly the exported public key."""
    run(["gpgv", "--keyring", public_keyring.resolve(), signature, data], what="gpgv")


def verify_inline(public_keyring: Path, signed: Path) -> None:
    """Check a clearsigned file (InRelease) against exactly the exported public key."""
    run(["gpgv", "--keyring", public_keyring.resolve(), signed], what="gpgv")
