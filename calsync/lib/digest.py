"""HTTP Digest authentication (RFC 7616) for the servers and feed hosts that refuse Basic.

Only ``qop=auth`` (and the qop-less RFC 2069 form) is spoken: ``auth-int`` would hash every
body, and no DAV server we know of insists on it. A challenge that offers nothing we speak is
ignored, so the 401 reaches the caller as an ordinary "wrong password" answer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from calsync.lib.transport import Fields, RawResponse

# RFC 7616 section 6.1 names MD5, SHA-256 and SHA-512-256; SHA and SHA-512 are seen in the wild.
ALGORITHMS = {"MD5": "md5", "SHA": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}

_SCHEME = re.compile(r"(?:^|,)\s*Digest\s+", re.IGNORECASE)
# One auth-param (RFC 9110 section 11.2); a bare token with no "=" starts the next challenge.
_PARAM = re.compile(r"""\s*([!#$%&'*+.^_`|~\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)""")


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str  # a key of ALGORITHMS, upper case, without "-SESS"
    session: bool  # the "-sess" variants hash the client nonce into HA1
    qop: str  # "auth", or "" for a server that predates RFC 2617
    opaque: str | None
    stale: bool


def parse_challenge(values: list[str]) -> Challenge | None:
    """The first usable Digest challenge among the ``WWW-Authenticate`` header values."""
    for value in values:
        found = _SCHEME.search(value)
        if not found:
            continue
        params: dict[str, str] = {}
        position = found.end()
        while (param := _PARAM.match(value, position)) and param.end() > position:
            name, raw = param.group(1).lower(), param.group(2)
            params[name] = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
            position = param.end()
        algorithm = params.get("algorithm", "MD5").upper()
        session = algorithm.endswith("-SESS")
        algorithm = algorithm.removesuffix("-SESS")
        offered = {qop.strip().lower() for qop in params.get("qop", "").split(",") if qop.strip()}
        if "nonce" not in params or algorithm not in ALGORITHMS or (offered and "auth" not in offered):
            continue
        return Challenge(
            realm=params.get("realm", ""),
            nonce=params["nonce"],
            algorithm=algorithm,
            session=session,
            qop="auth" if offered else "",
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
        )
    return None


class DigestAuth:
    """Answers challenges and, once challenged, signs every later request up front.

    Signing up front saves the extra round trip per request; a server that has since expired the
    nonce answers 401 with ``stale=true`` and the caller resends once with the new challenge.
    """

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self._challenge: Challenge | None = None
        self._nonce_count = 0

    @property
    def challenged(self) -> bool:
        return self._challenge is not None

    def exchange(self, send: Callable[[Fields], RawResponse], method: str, uri: str, fields: Fields) -> RawResponse:
        """``send(fields)`` signed with the latest challenge; a 401 with a new challenge is answered once.

        The 401 came before the server acted on the request, so resending is safe for any method.
        """
        signed = self.header(method, uri)
        # UTF-8 bytes: a username need not fit in Latin-1.
        response = send(fields if signed is None else {**fields, "Authorization": signed.encode()})
        if response.status == 401 and self.accept(response.headers.get_all("www-authenticate") or []):
            response = send({**fields, "Authorization": (self.header(method, uri) or "").encode()})
        return response

    def accept(self, www_authenticate: list[str]) -> bool:
        """Take the challenge from a 401; True when it is worth answering (the first challenge, a
        stale nonce, or a new nonce). A repeat of the challenge just answered means a wrong password."""
        challenge = parse_challenge(www_authenticate)
        if challenge is None:
            return False
        previous, self._challenge = self._challenge, challenge
        if previous is not None and challenge.nonce == previous.nonce and not challenge.stale:
            return False
        if previous is None or challenge.nonce != previous.nonce:
            self._nonce_count = 0  # nc counts uses of one nonce (RFC 7616 section 3.4)
        return True

    def header(self, method: str, uri: str) -> str | None:
        """The ``Authorization`` value for ``method`` on ``uri`` (path and query), or None before a challenge."""
        challenge = self._challenge
        if challenge is None:
            return None
        hash_name = ALGORITHMS[challenge.algorithm]

        def digest(*parts: str) -> str:
            return hashlib.new(hash_name, ":".join(parts).encode()).hexdigest()

        self._nonce_count += 1
        nc = f"{self._nonce_count:08x}"
        cnonce = secrets.token_hex(16)
        ha1 = digest(self._username, challenge.realm, self._password)
        if challenge.session:
            ha1 = digest(ha1, challenge.nonce, cnonce)
        ha2 = digest(method, uri)
        if challenge.qop:
            response = digest(ha1, challenge.nonce, nc, cnonce, challenge.qop, ha2)
        else:
            response = digest(ha1, challenge.nonce, ha2)
        algorithm = challenge.algorithm + ("-sess" if challenge.session else "")
        fields = [
            f"username={_quoted(self._username)}",
            f"realm={_quoted(challenge.realm)}",
            f"nonce={_quoted(challenge.nonce)}",
            f"uri={_quoted(uri)}",
            f'response="{response}"',
            f"algorithm={algorithm}",
        ]
        if challenge.opaque is not None:
            fields.append(f"opaque={_quoted(challenge.opaque)}")
        if challenge.qop:
            fields += [f"qop={challenge.qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        return "Digest " + ", ".join(fields)

    def __repr__(self) -> str:
        return f"<DigestAuth challenged={self.challenged}>"  # never the username or password


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
