"""Google identities and the OAuth artefacts issued to them: codes, grants and tokens.

All methods are called with the emulator lock held.
"""

import hashlib
import secrets
from dataclasses import dataclass, field

from .clock import Clock

# Google widens the short OIDC scopes to their full names in token responses.
SCOPE_ALIASES = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
IDENTITY_SCOPES = {"openid", *SCOPE_ALIASES.values()}


def normalize_scopes(scope_string: str) -> frozenset[str]:
    return frozenset(SCOPE_ALIASES.get(s, s) for s in scope_string.split() if s)


@dataclass
class Identity:
    email: str
    name: str
    sub: str
    # Google says whether it verified the address; an unverified one must not sign in.
    email_verified: bool = True
    # A Google account without Gmail (made for YouTube or Docs, or a Workspace user
    # whose admin turned Gmail off) signs in, and every Gmail API call of it answers
    # 400 failedPrecondition "Mail service not enabled".
    gmail: bool = True

    @property
    def given_name(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def family_name(self) -> str:
        parts = self.name.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""


@dataclass
class AuthCode:
    code: str
    email: str
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    offline: bool
    force_refresh_token: bool
    code_challenge: str | None
    code_challenge_method: str
    nonce: str | None
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    email: str
    client_id: str
    scopes: frozenset[str]
    issued_at: float = 0.0


@dataclass
class AccessToken:
    token: str
    email: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    refresh_token: str | None = None


@dataclass
class Identities:
    clock: Clock
    users: dict[str, Identity] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    # (email, client_id) -> scopes the user consented to with offline access; Google
    # sends a refresh token only on the first such consent or when prompt=consent.
    offline_grants: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def add_user(
        self,
        email: str,
        name: str,
        *,
        sub: str | None = None,
        email_verified: bool = True,
        gmail: bool = True,
    ) -> Identity:
        # A stable 21-digit subject, like Google's, derived from the address; a given one
        # plays a Google account that changed its address.
        digest = int(hashlib.sha256(email.encode()).hexdigest(), 16)
        sub = sub or str(10**20 + digest % 10**20)
        identity = Identity(
            email=email, name=name, sub=sub, email_verified=email_verified, gmail=gmail
        )
        self.users[email] = identity
        return identity

    def new_code(self, **fields) -> AuthCode:
        code = AuthCode(code="4/0A" + secrets.token_urlsafe(48), **fields)
        self.codes[code.code] = code
        return code

    def issue_access_token(
        self,
        *,
        email: str,
        client_id: str,
        scopes: frozenset[str],
        ttl: int,
        refresh_token: str | None,
    ) -> AccessToken:
        token = AccessToken(
            token="ya29.a0" + secrets.token_urlsafe(120),
            email=email,
            client_id=client_id,
            scopes=scopes,
            expires_at=self.clock.now() + ttl,
            refresh_token=refresh_token,
        )
        self.access_tokens[token.token] = token
        return token

    def issue_refresh_token(
        self, *, email: str, client_id: str, scopes: frozenset[str]
    ) -> RefreshToken:
        token = RefreshToken(
            token="1//0" + secrets.token_urlsafe(72),
            email=email,
            client_id=client_id,
            scopes=scopes,
            issued_at=self.clock.now(),
        )
        self.refresh_tokens[token.token] = token
        self.offline_grants[(email, client_id)] = scopes
        return token

    def expire_refresh_tokens(self, ttl: float | None) -> int:
        """Drop refresh tokens issued more than `ttl` seconds ago; answers how many.

        As for an app in "Testing" status the authorization itself expires: a grant left
        with no refresh token is forgotten, so the next consent issues a new one.
        """
        if not ttl:
            return 0
        cutoff = self.clock.now() - ttl
        doomed = [r for r in self.refresh_tokens.values() if r.issued_at <= cutoff]
        for grant in doomed:
            del self.refresh_tokens[grant.token]
        for grant in doomed:
            key = (grant.email, grant.client_id)
            if not any((r.email, r.client_id) == key for r in self.refresh_tokens.values()):
                self.offline_grants.pop(key, None)
        return len(doomed)

    def live_access_token(self, token: str) -> AccessToken | None:
        found = self.access_tokens.get(token)
        if found is None:
            return None
        if found.expires_at <= self.clock.now():
            del self.access_tokens[token]
            return None
        return found

    def revoke_user(self, email: str) -> int:
        """Every token of this user stops working; answers how many were revoked."""
        doomed_access = [t for t, a in self.access_tokens.items() if a.email == email]
        doomed_refresh = [t for t, r in self.refresh_tokens.items() if r.email == email]
        for token in doomed_access:
            del self.access_tokens[token]
        for token in doomed_refresh:
            del self.refresh_tokens[token]
        for key in [k for k in self.offline_grants if k[0] == email]:
            del self.offline_grants[key]
        return len(doomed_access) + len(doomed_refresh)

    def revoke_token(self, token: str) -> bool:
        """Google's /revoke: revoking either token of a grant revokes the whole grant."""
        access = self.access_tokens.get(token)
        refresh = self.refresh_tokens.get(token)
        if access is None and refresh is None:
            return False
        refresh_value = refresh.token if refresh else access.refresh_token
        if refresh_value:
            grant = self.refresh_tokens.pop(refresh_value, None)
            if grant:
                self.offline_grants.pop((grant.email, grant.client_id), None)
            tied = [t for t, a in self.access_tokens.items() if a.refresh_token == refresh_value]
            for value in tied:
                del self.access_tokens[value]
        self.access_tokens.pop(token, None)
        return True

    def live_tokens(self, email: str) -> dict:
        now = self.clock.now()
        return {
            "access_tokens": [
                {"token": a.token, "scopes": sorted(a.scopes), "expires_at": int(a.expires_at)}
                for a in self.access_tokens.values()
                if a.email == email and a.expires_at > now
            ],
            "refresh_tokens": [
                {"token": r.token, "scopes": sorted(r.scopes)}
                for r in self.refresh_tokens.values()
                if r.email == email
            ],
        }
