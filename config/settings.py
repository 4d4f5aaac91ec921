"""Opportunity Engine settings: one module, configured from the environment.

Out of a fresh checkout it runs on a SQLite file with tasks executed in-process, so the demo
needs no server. Production sets DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment, or set DEBUG=1 for local "
            "development (which uses an insecure development key)."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "testserver"] if DEBUG else ["127.0.0.1", "localhost"],
)
CSRF_TRUSTED_ORIGINS = (
    env_list("CSRF_TRUSTED_ORIGINS", []) if env_str("CSRF_TRUSTED_ORIGINS") else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # sign-in lockout (workspaces/auth.py)
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "workspaces",
    "jtbd",
    "surveys",
    "analysis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.faults.DatabaseUnavailableMiddleware",
    # Signed-in writes commit once their answer is built (config/faults.py).
    "config.faults.AtomicWritesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.security.RequestSizeLimitMiddleware",
    "config.security.PublicRateLimitMiddleware",
    # Before anything reads the session, the user or a form: NUL, lone surrogates, bytes that
    # are not UTF-8 in the URL, headers or form body are a 400 (config/inputs.py).
    "config.inputs.RefuseUnreadableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked sign-in into its 429 (workspaces/auth.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "workspaces.context_processors.current_workspace",
            ],
            # {% load style_nonce %}: the CSP nonce on the app's own inline <style>
            # (config/security.py).
            "libraries": {"style_nonce": "config.security"},
        },
    },
]


def _database_from_env() -> dj_database_url.DBConfig:
    url = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    try:
        config = dj_database_url.parse(
            url,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            # A persistent connection the server dropped while idle (restart, failover) is
            # noticed and replaced at the start of the next request instead of failing it.
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", default=True),
        )
    except Exception as exc:  # dj-database-url raises several types for a malformed URL
        raise ImproperlyConfigured(
            f"DATABASE_URL={url!r} is not a valid database URL: {exc}"
        ) from None
    if config.get("ENGINE") not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        raise ImproperlyConfigured(
            f"DATABASE_URL={url!r}: only postgres:// and sqlite:/// URLs are supported."
        )
    prepared = env_bool("DB_PREPARED_STATEMENTS", default=True)  # checked on SQLite too
    if config["ENGINE"] == "django.db.backends.postgresql" and prepared:
        # The submission's statements (surveys/fastpath/sql.py) are prepared on their first
        # run on a connection; no other query is (Django binds those on the client). Off
        # (DB_PREPARED_STATEMENTS=0) behind a pooler in transaction mode that cannot keep
        # prepared statements (PgBouncer before 1.22, or without max_prepared_statements).
        config.setdefault("OPTIONS", {})["prepare_threshold"] = 0
    return config


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "jtbd:job-list"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: a locked username or address is refused before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers the files that whitenoise serves.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic` first, as every deployment runs it.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded catalogue and response files are read in memory up to this size, and refused above it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# Seconds a request body may pause before the answer is 408 (config/wsgi.py).
REQUEST_BODY_TIMEOUT = env_int("REQUEST_BODY_TIMEOUT", 10, minimum=1)

REST_FRAMEWORK = {
    # Token first: DRF answers a request without valid credentials with the first class's
    # challenge, so API clients get 401 + `WWW-Authenticate: Token` (as the schema says) rather
    # than the 403 that session authentication, which has no challenge, would give.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular plus the error answers every operation can give (config/api.py).
    "DEFAULT_SCHEMA_CLASS": "config.api.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 200,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Opportunity Engine API",
    "DESCRIPTION": "Jobs-to-be-done catalogue, outcome surveys, opportunity scores and segments.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery: with no REDIS_URL the tasks run in-process (eagerly), so nothing else has to run.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and urlparse(REDIS_URL).scheme not in ("redis", "rediss"):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must start with redis:// or rediss://.")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# A broker that is down must not hold up a respondent's request for long: give up quickly and
# leave the request in the outbox, which is dispatched again later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A worker never gives up on the broker: while Redis is gone it keeps reconnecting (at start too)
# and takes work again once Redis is back. Its supervisor restarts it if it exits all the same
# (docker-compose.yml, deploy/supervisord.conf).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # None: forever
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Catch-up for background requests made while the broker was unreachable (run the worker with -B
# or a separate `celery beat`).
# A queued analysis whose message a restarted Redis lost is sent again this long after it was
# last sent (a duplicate is harmless: one delivery claims the run).
ANALYSIS_REQUEUE_SECONDS = env_int("ANALYSIS_REQUEUE_SECONDS", 300, minimum=1)
ANALYSIS_SWEEP_SECONDS = env_int("ANALYSIS_SWEEP_SECONDS", 60, minimum=1)
# An outbox entry (a response's request for re-analysis) still unprocessed this long after it was
# last sent is sent again: its message may have died with Redis, or its task with a dropped
# database connection. A duplicate is harmless (processing an entry twice does nothing more).
OUTBOX_RESEND_SECONDS = env_int("OUTBOX_RESEND_SECONDS", 60, minimum=1)
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 30, minimum=1)
# Retries of a task whose database connection dropped (config/retries.py): exponential backoff
# from this many seconds, with jitter, this many times.
TASK_RETRY_BACKOFF = env_int("TASK_RETRY_BACKOFF", 5, minimum=1)
TASK_MAX_RETRIES = env_int("TASK_MAX_RETRIES", 5, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "dispatch-pending-outbox": {
        "task": "surveys.tasks.dispatch_pending_outbox",
        "schedule": float(OUTBOX_SWEEP_SECONDS),
    },
    "sweep-analysis-runs": {
        "task": "analysis.tasks.sweep_analysis_runs",
        "schedule": float(ANALYSIS_SWEEP_SECONDS),
    },
    "sweep-export-jobs": {
        "task": "analysis.tasks.sweep_export_jobs",
        "schedule": float(ANALYSIS_SWEEP_SECONDS),
    },
}
# Without a broker an analysis started from its page runs in a thread of the web process, so the
# page answers at once and follows the run's progress (tests set it off to run synchronously).
ANALYSIS_IN_THREAD = env_bool("ANALYSIS_IN_THREAD", default=True)
# Time limits of one analysis run (seconds): the soft limit fails the run with a clear message,
# the hard limit kills the worker process.
ANALYSIS_TIME_LIMIT = env_int("ANALYSIS_TIME_LIMIT", 1800, minimum=2)
ANALYSIS_SOFT_TIME_LIMIT = env_int(
    "ANALYSIS_SOFT_TIME_LIMIT", max(1, ANALYSIS_TIME_LIMIT - 60), minimum=1
)
if ANALYSIS_SOFT_TIME_LIMIT >= ANALYSIS_TIME_LIMIT:
    raise ImproperlyConfigured("ANALYSIS_SOFT_TIME_LIMIT must be below ANALYSIS_TIME_LIMIT.")
# Redis hands an unacknowledged message to another worker after the visibility timeout: that is
# how a run whose worker was killed gets finished. It must exceed the longest task, or a run
# still being worked on would be delivered a second time (analysis/runs.py relies on it).
BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", ANALYSIS_TIME_LIMIT + 300)
if BROKER_VISIBILITY_TIMEOUT <= ANALYSIS_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT={BROKER_VISIBILITY_TIMEOUT} must exceed "
        f"ANALYSIS_TIME_LIMIT={ANALYSIS_TIME_LIMIT}, or running analyses would be delivered twice."
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    # A Redis that accepts connections but never answers (frozen, half-open TCP) would otherwise
    # hold a publish, and with it a respondent's final submit, forever. Above the workers' 1 s
    # BRPOP polls, so consuming is unaffected.
    "socket_timeout": 3,
    "socket_connect_timeout": 2,
}

# Result exports of runs with more respondents than this are built by a background task.
EXPORT_INLINE_LIMIT = env_int("EXPORT_INLINE_LIMIT", 20_000, minimum=0)

CSRF_FAILURE_VIEW = "config.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files. The one
# inline <style> (the landscape chart's hover rules) carries the request's nonce, which the header
# names only on pages that used it ({% nonce_styles %}, config/security.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Production security (docs/security.md) ---------------------------------------------------
# Proxies in front of gunicorn that each append to X-Forwarded-For: the client address is the
# n-th from the right. 0 = gunicorn faces clients directly and the header is ignored (a client
# could write anything in it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT  # the same rule for DRF's throttles
# TLS ends at a proxy that sets X-Forwarded-Proto; a trusted proxy is taken to be that proxy.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", default=TRUSTED_PROXY_COUNT > 0)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Off by default: tests and a plain-HTTP local gunicorn use http://. Behind a TLS proxy the proxy
# redirects http:// to https:// itself; without one, set it on.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
# HSTS is sent on HTTPS responses only, so it cannot break a plain-HTTP run; on by default
# outside DEBUG. Preloading is an operator's commitment for the whole domain: opt in only.
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = []
if BEHIND_TLS_PROXY and not SECURE_SSL_REDIRECT:
    # W008 (SECURE_SSL_REDIRECT off): the TLS proxy redirects plain HTTP, as the check allows.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD:
    # W021 (no HSTS preload): submitting the domain to browsers' preload lists is opt-in.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# Counters shared by every process (the public rate limit, DRF throttles). Redis when
# there is one; an unreachable Redis answers quickly and counts nothing (FailOpenRedisCache).
CACHES = {
    "default": {
        "BACKEND": "config.security.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "oe",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# How the public submission API reads and stores a response (surveys/fastpath/): "fast", or
# "reference", the plain DRF and ORM path the fast one is tested against and measured beside.
PUBLIC_SUBMISSION_PATH = env_str("PUBLIC_SUBMISSION_PATH", "fast").strip().lower()
if PUBLIC_SUBMISSION_PATH not in ("fast", "reference"):
    raise ImproperlyConfigured(
        f"PUBLIC_SUBMISSION_PATH={PUBLIC_SUBMISSION_PATH!r}: use fast or reference."
    )
# Requests per minute per client address to /s/<token>/, /i/<token>/ and the public submission
# API; 0 = no limit.
RATE_LIMIT_PUBLIC = env_int("RATE_LIMIT_PUBLIC", 300, minimum=0)
# Failed sign-ins that lock a username, and a client address, for LOGIN_LOCKOUT_SECONDS (failures
# are forgotten LOGIN_LOCKOUT_SECONDS after the latest); 0 = never lock. An address is allowed
# more: offices share one.
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5, minimum=0)
LOGIN_LOCKOUT_ADDRESS_FAILURES = env_int(
    "LOGIN_LOCKOUT_ADDRESS_FAILURES", 4 * LOGIN_LOCKOUT_FAILURES, minimum=0
)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# django-axes records failures as rows in the database, so the lockout holds in every process and
# while Redis is down. It has one failure limit for all scopes: workspaces.auth.LockoutHandler
# applies the two above, and reads them (and LOGIN_LOCKOUT_SECONDS) on every sign-in.
AXES_HANDLER = "workspaces.auth.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each locks on its own
AXES_FAILURE_LIMIT = 1  # LockoutHandler.get_failures counts the scopes that reached their limit
AXES_COOLOFF_TIME = "workspaces.auth.lockout_duration"
AXES_CLIENT_IP_CALLABLE = "config.security.client_address"  # TRUSTED_PROXY_COUNT's rule
AXES_LOCKOUT_CALLABLE = "workspaces.auth.locked_response"
AXES_RESET_ON_SUCCESS = True  # the username's failures only (LockoutHandler.reset_user_attempts)
# A lock lasts LOGIN_LOCKOUT_SECONDS from the failure that started it; attempts while locked are
# refused without being counted, so they neither extend it nor tell a guesser anything.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # no table of every successful sign-in

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors": {"()": "config.logs.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Everything reaches the one root handler once: Django's own console handler (DEBUG)
        # printed each of its records a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["client_errors"]},
        # django-axes logs each failed sign-in and lock as a warning, and its bookkeeping as info.
        "axes": {"level": "WARNING"},
    },
}
