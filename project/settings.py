"""Settings, all from the environment (12-factor). Names are listed in README.md "Settings".

DJANGO_ENV=development (the default) allows an insecure secret key and DEBUG; DJANGO_ENV=production
requires DJANGO_SECRET_KEY and turns on the deployment hardening that `check --deploy` asks for.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / ".data"))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("DJANGO_ENV", "development") == "production"
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_ENV=production")
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")


def env_origins(name: str) -> list[str]:
    """A list of origins ("https://example.com[:port]", nothing after it); a malformed one stops the start."""
    origins = env_list(name, "")
    for origin in origins:
        parts = urlsplit(origin)
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is no number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username:  # fmt: skip
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin like https://example.com or http://host:8080"
            )
    return origins


# Pages of other origins allowed to open WebSockets: this site's own origin is always allowed;
# everything else is refused (realtime/handshake.py). Apart from ALLOWED_HOSTS (which names this site).
WEBSOCKET_ALLOWED_ORIGINS = env_origins("WEBSOCKET_ALLOWED_ORIGINS")
# Sites allowed to frame the embeds (/embed/...) in an iframe: their CSP frame-ancestors. Every other
# page is never framed (frame-ancestors 'none', X-Frame-Options DENY).
EMBED_ALLOWED_ORIGINS = env_origins("EMBED_ALLOWED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "axes",
    "tournaments",
    "realtime",
    "webhooks",
]

MIDDLEWARE = [
    # First: API answers are the JSON error envelope whatever goes wrong, in any middleware or view.
    "tournaments.api.error_handling.JsonErrorsMiddleware",
    "project.metrics.request_timing",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it sees failed logins after authentication ran (django-axes).
    "axes.middleware.AxesMiddleware",
]

# The console (tournaments/console.py) behind Django's own login views.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console"
LOGOUT_REDIRECT_URL = "login"

# --- Hardening: logins, headers ----------------------------------------------------------------
# Failed logins (admin, and any Django login view) are counted per account and per client address
# by django-axes, in the shared cache (so across every web process); after AXES_FAILURE_LIMIT
# failures either is locked out (429) for AXES_COOLOFF_TIME.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: an account, or an address
AXES_RESET_ON_SUCCESS = True
# The client address is REMOTE_ADDR, which uvicorn sets from X-Forwarded-For only for trusted
# proxies (FORWARDED_ALLOW_IPS): a client cannot pick its own address to dodge the count.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Pages load only this site's own scripts, styles and sockets; nothing may frame them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb",
    )
}  # fmt: skip

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# No persistent connections: under ASGI each request's sync code runs in a thread of its own, and a
# connection kept per thread is a connection leaked per thread (PostgreSQL: "too many clients").
# PostgreSQL gets a pool per process instead (psycopg_pool, DATABASE_POOL_SIZE connections at most).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=0,
        conn_health_checks=True,
    )
}
DATABASE_POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_SIZE > 0:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": 10,  # waiting longer for a free connection: 503 (OperationalError), retry later
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, tests' live servers) share the file: wait for locks
    # instead of failing, and give the test database a file so other processes can open it
    # (under pytest, a file of each session's own unless TEST_DATABASE_PATH is set: tests/conftest.py).
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_PATH", str(DATA_DIR / "test-db.sqlite3"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Serve app static files straight from the apps (no collectstatic step needed to run or test).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Redis: coalescing state, channel layer, Celery broker -----------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6390/0")

# Shared by every process, so API throttling counts a token's requests across all web processes.
CACHES = {
    "default": {
        "BACKEND": "project.cache.SharedPoolRedisCache",  # one connection pool per process
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
    }
}

CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer: PUBLISH fans out to every ASGI process at once (p99 0.3 s vs 2.2 s
        # for the core layer at 1000 clients, docs/benchmarks.md), and the realtime Lua scripts publish
        # frames into it atomically with the sequence they assign (docs/architecture.md).
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            # socket_timeout None: an idle reader must never time out (redis-py 8 changed the
            # default to 5 s and killed idle WebSockets; channels_redis#422).
            "hosts": [{"address": REDIS_URL, "socket_timeout": None, "health_check_interval": 30}],
            "prefix": "asgi",
            "serializer_format": "json",
        },
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Countdown tasks wait in the worker's memory; a worker killed with SIGKILL can lose them and the
# Redis broker would only redeliver after visibility_timeout. The sweep (realtime.tasks) bounds
# that loss to seconds instead; acks_late lets a flush whose worker died mid-run be redelivered
# (flushes are idempotent: token-checked). visibility_timeout must be in transport options.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Write last_run_at back after every run (one small UPDATE per sweep) so `manage.py beat_health` can tell.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_TIMEZONE = TIME_ZONE

# --- Realtime (docs/architecture.md) ------------------------------------------------------------
# Score updates to one match are broadcast at most once per window (latest wins). A batch still
# pending after max-wait (its flush task lost or stuck) is re-armed by the next update and flushed
# by the sweep, which runs every REALTIME_SWEEP_INTERVAL_S seconds (django-celery-beat).
REALTIME_WINDOW_MS = int(os.environ.get("REALTIME_WINDOW_MS", "100"))
# Like lodash's maxWait, max-wait is never shorter than the window.
REALTIME_MAX_WAIT_MS = max(REALTIME_WINDOW_MS, int(os.environ.get("REALTIME_MAX_WAIT_MS", "300")))
# Tournament rooms (a bracket page shows every match) get the latest scores of all matches that
# changed in one `batch` frame at most once per room window (docs/protocol.md "Batches").
REALTIME_ROOM_WINDOW_MS = int(os.environ.get("REALTIME_ROOM_WINDOW_MS", "200"))
# Realtime's keys and channels carry the database's namespace (realtime/models.py) unless this names
# one: for the test suite, whose processes share a database that every test empties. Leave it empty.
REALTIME_NAMESPACE = os.environ.get("REALTIME_NAMESPACE", "")
REALTIME_SWEEP_INTERVAL_S = float(os.environ.get("REALTIME_SWEEP_INTERVAL_S", "2"))
# django-celery-beat's DatabaseScheduler copies this entry into its tables when beat starts, so it is
# visible (and can be paused) in the admin under "Periodic tasks", and always matches the setting.
# /metrics (project/metrics.py): callers from these networks, or with "Authorization: Bearer <token>".
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Server-sent events (realtime/sse.py): a comment this often keeps proxies from closing an idle stream.
SSE_HEARTBEAT_S = float(os.environ.get("SSE_HEARTBEAT_S", "15"))

# --- Webhooks (docs/integrations.md) -------------------------------------------------------------
# Deliveries run on their own queue, served by their own worker (`python -m project.processes
# webhooks`): a receiver that hangs for WEBHOOK_TIMEOUT_S holds up other deliveries, never a flush.
WEBHOOK_QUEUE = "webhooks"
WEBHOOK_TIMEOUT_S = float(os.environ.get("WEBHOOK_TIMEOUT_S", "5"))
# An attempt's claim: a worker that died mid-attempt leaves its delivery to the sweep after this long.
WEBHOOK_LEASE_S = float(os.environ.get("WEBHOOK_LEASE_S", str(WEBHOOK_TIMEOUT_S + 30)))
WEBHOOK_RETRY_BASE_S = float(os.environ.get("WEBHOOK_RETRY_BASE_S", "10"))
WEBHOOK_RETRY_MAX_S = float(os.environ.get("WEBHOOK_RETRY_MAX_S", "3600"))
WEBHOOK_RETRY_FOR_S = float(os.environ.get("WEBHOOK_RETRY_FOR_S", str(24 * 3600)))
WEBHOOK_DISABLE_AFTER = int(os.environ.get("WEBHOOK_DISABLE_AFTER", "50"))
WEBHOOK_ROTATION_GRACE_S = float(os.environ.get("WEBHOOK_ROTATION_GRACE_S", str(24 * 3600)))
WEBHOOK_SWEEP_INTERVAL_S = float(os.environ.get("WEBHOOK_SWEEP_INTERVAL_S", "5"))
WEBHOOK_SWEEP_BATCH = 500
WEBHOOKS_PER_TOURNAMENT = int(os.environ.get("WEBHOOKS_PER_TOURNAMENT", "10"))
# Loopback, private and link-local targets are refused unless this is set (development, tests).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
CELERY_TASK_ROUTES = {"webhooks.tasks.*": {"queue": WEBHOOK_QUEUE}}
# Realtime calls these, in the transaction, for every event it will publish (it knows nothing of them).
REALTIME_EVENT_HOOKS = ["webhooks.outbox.record"]

CELERY_BEAT_SCHEDULE = {
    "realtime-sweep-overdue-batches": {
        "task": "realtime.tasks.sweep_overdue_batches",
        "schedule": REALTIME_SWEEP_INTERVAL_S,
        # A sweep older than its interval is pointless: the next one is already queued.
        "options": {"expires": REALTIME_SWEEP_INTERVAL_S},
    },
    "webhooks-sweep": {
        "task": "webhooks.tasks.sweep",
        "schedule": WEBHOOK_SWEEP_INTERVAL_S,
        "options": {"expires": WEBHOOK_SWEEP_INTERVAL_S},
    },
}
REALTIME_STATE_TTL_S = int(os.environ.get("REALTIME_STATE_TTL_S", str(7 * 24 * 3600)))
# Live scores are taken in Redis first (docs/architecture.md "The path of one score update"): the
# flush that publishes a window's score writes it to the database at most once per save interval
# per match (a save task at the interval's end; the sweep for what a dead worker left), through the
# domain's saver. The database lags live scores by up to this much; losing Redis loses at most this.
REALTIME_SAVE_INTERVAL_MS = int(os.environ.get("REALTIME_SAVE_INTERVAL_MS", "2000"))
REALTIME_SCORE_SAVER = "tournaments.services.live_scores.save_published_scores"
# Redis answers "is this match live, is this user an official" from what the services told it; a
# change whose announcement was lost (Redis away at that moment) is read again from the database
# after this long at most.
REALTIME_GATE_LEASE_S = float(os.environ.get("REALTIME_GATE_LEASE_S", "30"))
# Resuming clients are replayed what they missed from the tournament's history: the last
# REALTIME_HISTORY_LENGTH frames, none older than REALTIME_HISTORY_AGE_S. Beyond that: a snapshot.
REALTIME_HISTORY_LENGTH = int(os.environ.get("REALTIME_HISTORY_LENGTH", "1000"))
REALTIME_HISTORY_AGE_S = int(os.environ.get("REALTIME_HISTORY_AGE_S", "600"))
# Spectator counts: a connection counts while its ASGI process refreshes it (every third of the
# TTL); connections of a process that died stop counting within one TTL.
REALTIME_VIEWER_TTL_S = float(os.environ.get("REALTIME_VIEWER_TTL_S", "30"))
# A client that stops reading is dropped once a frame cannot be written to it for this long.
REALTIME_SEND_TIMEOUT_S = float(os.environ.get("REALTIME_SEND_TIMEOUT_S", "5"))
# WebSocket clients: frames per second allowed from one client, and burst.
REALTIME_CLIENT_RATE = float(os.environ.get("REALTIME_CLIENT_RATE", "10"))
REALTIME_CLIENT_BURST = int(os.environ.get("REALTIME_CLIENT_BURST", "30"))
# WebSocket connections one ASGI process holds, in all and from one client address (a venue's
# spectators can share one address behind NAT: keep it generous). Over either: close code 1013.
REALTIME_MAX_CONNECTIONS = int(os.environ.get("REALTIME_MAX_CONNECTIONS", "10000"))
REALTIME_MAX_CONNECTIONS_PER_ADDRESS = int(os.environ.get("REALTIME_MAX_CONNECTIONS_PER_ADDRESS", "256"))

# --- HTTP API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tournaments.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tournaments.api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",  # DRF's test client, like every API client, sends JSON
    # ?format= picks a renderer; there is one (JSON), and a wrong value must not become an odd 404.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tournaments.api.error_handling.exception_handler",
    # Per token (or per address for anonymous callers), counted in the shared cache.
    "DEFAULT_THROTTLE_RATES": {
        "score": os.environ.get("SCORE_THROTTLE_RATE", "6000/min"),
        "bracket": os.environ.get("BRACKET_THROTTLE_RATE", "30/hour"),
        "dispute": os.environ.get("DISPUTE_THROTTLE_RATE", "20/hour"),
    },
}
# A valid API token's user is remembered per web process this long: a revoked token or a deactivated
# user is refused at most this late (tournaments/api/authentication.py). 0: read it every request.
API_TOKEN_CACHE_S = float(os.environ.get("API_TOKEN_CACHE_S", "10"))
# A JSON body larger than this is refused (413) before it is parsed: the API's bodies are tiny.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(64 * 1024)))
SPECTACULAR_SETTINGS = {
    "TITLE": "Live tournament scores API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
