"""Settings shared by every environment.

Every value comes from the environment (django-environ). With no environment at all the
app runs on embedded defaults: SQLite, the in-memory channel layer, tasks run in-process
and a local-memory cache (docs/configuration.md). Setting DATABASE_URL and
REDIS_URL switches to PostgreSQL, the Redis channel layer, Celery on Redis and a Redis
cache. Each variable is documented in docs/configuration.md.
"""

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from gmail.scopes import GMAIL_MODIFY, IDENTITY_SCOPES, can_use_mailbox

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Daphne serves Django over ASGI, where Django's docs advise against persistent
    # connections (they leak across threads); pool with PgBouncer if needed.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    # daphne first so that `runserver` serves ASGI (HTTP and WebSocket).
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "axes",
    "accounts",
    "mail",
    "sync",
    "monitoring",
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/"
LOGIN_REDIRECT_URL = "/mail/"

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "monitoring.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the web process, whatever serves it (runserver,
    # uvicorn or daphne directly, the Procfile): before anything that reads the session.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, as django-axes asks: turns a lockout into its 429 response.
    "axes.middleware.AxesMiddleware",
]

# Password logins (only /admin/ has them; people sign in with Google) are throttled by
# django-axes: 5 failures for one username from one address lock that pair out for 15
# minutes. `manage.py axes_reset` lifts every lockout.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Lockouts are listed in admin (Access attempts); no INFO lines at every start.
AXES_VERBOSE = False

# TEMPLATES AND STATIC FILES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "mail.toast.toast_pop",
            ],
        },
    }
]
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Compressed files with content-hashed names (cached for a year by browsers), from
# `collectstatic`, which the Procfile's `web` line runs before the server starts.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Email HTML is shown in a sandboxed iframe (srcdoc), so "self" scripts and styles are
# all the app itself needs; nothing remote loads unless the user asks to show images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        # The sign-in forms POST to us and are redirected to Google's consent page;
        # browsers apply form-action to that redirect too (set below, with the URLs).
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Request bodies above these sizes are refused (413) before they are read
# (config/limits.py): the longest matching path prefix wins. Pushes are a few hundred
# bytes; attachments are uploaded with compose (Gmail takes 25 MB per message).
REQUEST_BODY_LIMIT_DEFAULT = 3 * 1024 * 1024
REQUEST_BODY_LIMITS = {
    "/webhooks/": 64 * 1024,
    "/mail/compose/": 30 * 1024 * 1024,
    "/mail/drafts/": 30 * 1024 * 1024,
}

# COMPOSE (mail/compose.py, mail/services.py)
# ------------------------------------------------------------------------------
# A message waits this long in the outbox after Send, while "Undo" brings the draft back
# (0: sent at once, no Undo).
UNDO_SEND_SECONDS = env.int("UNDO_SEND_SECONDS", default=10)
if not 0 <= UNDO_SEND_SECONDS <= 60:
    raise ImproperlyConfigured("UNDO_SEND_SECONDS must be between 0 and 60.")

# IMAGE PROXY (mail/views/images.py)
# ------------------------------------------------------------------------------
# A remote image larger than this is refused, its download stopped at the limit.
IMAGE_PROXY_MAX_BYTES = env.int("IMAGE_PROXY_MAX_BYTES", default=5 * 1024 * 1024)
# Images up to this size are kept in the cache for a day; larger ones are fetched again.
IMAGE_PROXY_CACHE_MAX_BYTES = env.int("IMAGE_PROXY_CACHE_MAX_BYTES", default=1024 * 1024)
if IMAGE_PROXY_MAX_BYTES <= 0 or IMAGE_PROXY_CACHE_MAX_BYTES < 0:
    raise ImproperlyConfigured(
        "IMAGE_PROXY_MAX_BYTES must be positive and IMAGE_PROXY_CACHE_MAX_BYTES not negative."
    )
# "address:port" pairs the proxy may fetch from although they are not public. For tests'
# servers on loopback only: never read from the environment.
IMAGE_PROXY_TEST_ALLOWED_ADDRESSES: list[str] = []

# CACHES, CHANNELS AND TASKS
# ------------------------------------------------------------------------------
# One switch: REDIS_URL. Unset means everything runs inside the web process.
REDIS_URL = env("REDIS_URL", default=None)
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="tern")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_KEY_PREFIX}:asgi"},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    # No broker: run tasks in the process that enqueues them.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Tasks are idempotent, so a task interrupted by a dying worker runs again instead of
# being lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers any unacked message older than the visibility timeout, including
# running acks_late tasks: keep it well above the longest task (a full-sync slice).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60

# GOOGLE
# ------------------------------------------------------------------------------
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="")
# When set, every Google endpoint (OAuth, Gmail API, Pub/Sub certs) goes to this base URL.
GOOGLE_EMULATOR_URL = env("GOOGLE_EMULATOR_URL", default=None)
if GOOGLE_EMULATOR_URL:
    GOOGLE_EMULATOR_URL = GOOGLE_EMULATOR_URL.rstrip("/")
GMAIL_PUBSUB_TOPIC = env("GMAIL_PUBSUB_TOPIC", default="")
PUBSUB_VERIFICATION_TOKEN = env("PUBSUB_VERIFICATION_TOKEN", default="")
PUBSUB_AUDIENCE = env("PUBSUB_AUDIENCE", default="")
PUBSUB_SERVICE_ACCOUNT = env("PUBSUB_SERVICE_ACCOUNT", default="")
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])
# Gmail's per-user quota; the sync engine spends 95% of it steadily plus a 5% burst.
GMAIL_QUOTA_UNITS_PER_MINUTE = env.int("GMAIL_QUOTA_UNITS_PER_MINUTE", default=15_000)

# MONITORING
# ------------------------------------------------------------------------------
HEALTH_API_KEY = env("HEALTH_API_KEY", default=None)
SENTRY_DSN = env("SENTRY_DSN", default=None)
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if not 0.0 <= SENTRY_TRACES_SAMPLE_RATE <= 1.0:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "monitoring.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "filters": {"redact": {"()": "monitoring.logging.RedactingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # httpx logs every request URL at INFO; URLs may carry ids, keep them out.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The web server's own logs go through the redacting handler; its access log
        # (full query strings: the push secret, OAuth codes) is off, and
        # monitoring.middleware logs each request by path instead.
        "uvicorn": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        # A worker's start and stop ("celery@host ready.") whatever LOG_LEVEL says: the
        # one line that tells an operator (and the benchmarks) a worker is up.
        "celery.apps.worker": {"level": "INFO"},
        # django-axes notes every successful login at INFO; lockouts are warnings.
        "axes": {"level": "WARNING"},
    },
}

if SENTRY_DSN:
    from monitoring.sentry import init as init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# SIGN-IN (django-allauth, Google only)
# ------------------------------------------------------------------------------
# allauth's Google provider reads these URLs once, at import time (its views module), so they
# are fixed here from GOOGLE_EMULATOR_URL rather than overridden in tests.
_GOOGLE_ACCOUNTS = GOOGLE_EMULATOR_URL or "https://accounts.google.com"
_GOOGLE_OAUTH2 = GOOGLE_EMULATOR_URL or "https://oauth2.googleapis.com"
_GOOGLE_APIS = GOOGLE_EMULATOR_URL or "https://www.googleapis.com"
# The Gmail scopes sign-in asks for. gmail.modify (the default) reads, labels, trashes and
# sends; adding https://mail.google.com/ lets people delete forever (docs/google-setup.md).
# Separated by commas or spaces (OAuth writes scopes space-separated); empty: the default.
GMAIL_SCOPES = env.str("GMAIL_SCOPES", default="").replace(",", " ").split() or [GMAIL_MODIFY]
if not can_use_mailbox(GMAIL_SCOPES):
    raise ImproperlyConfigured(
        "GMAIL_SCOPES must include https://www.googleapis.com/auth/gmail.modify "
        f"or https://mail.google.com/ (it is {' '.join(GMAIL_SCOPES)!r})."
    )
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(_GOOGLE_ACCOUNTS)
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APPS": [
            {"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""},
        ],
        # accounts.adapter.TernGoogleProvider reads GMAIL_SCOPES at each sign-in instead.
        "SCOPE": [*IDENTITY_SCOPES, *GMAIL_SCOPES],
        # No consent screen for a returning person (each consent mints another refresh
        # token, up to Google's cap of 100 per account and client): TernGoogleProvider
        # asks for consent when connecting a mailbox, and the adapter when Tern holds no
        # working refresh token for the account that signed in.
        "AUTH_PARAMS": {"access_type": "offline", "prompt": "select_account"},
        "OAUTH_PKCE_ENABLED": True,
        "FETCH_USERINFO": True,
        "AUTHORIZE_URL": f"{_GOOGLE_ACCOUNTS}/o/oauth2/v2/auth",
        "ACCESS_TOKEN_URL": f"{_GOOGLE_OAUTH2}/token",
        "IDENTITY_URL": f"{_GOOGLE_APIS}/oauth2/v3/userinfo",
        "CERTS_URL": f"{_GOOGLE_APIS}/oauth2/v1/certs",
        "ID_TOKEN_ISSUER": "https://accounts.google.com",
    }
}
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
# Tokens live only in GmailAccount, encrypted (accounts/credentials.py).
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
SOCIALACCOUNT_ONLY = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
SOCIALACCOUNT_LOGIN_ON_GET = False
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
