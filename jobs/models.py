from django.conf import settings
from django.db import models
from django.utils import timezone

CALENDAR_COMPONENTS = ["VEVENT", "VTODO", "VJOURNAL"]


def default_components() -> list[str]:
    return list(CALENDAR_COMPONENTS)


class SyncJob(models.Model):
    """What to sync from where to where, how, and when."""

    class Mode(models.TextChoices):
        COPY = "copy", "Copy (one-way, never deletes)"
        MIRROR = "mirror", "Mirror (one-way, propagates deletions)"
        TWO_WAY = "two-way", "Two-way"

    class ConflictPolicy(models.TextChoices):
        SOURCE = "source", "Source wins"
        DESTINATION = "destination", "Destination wins"
        MANUAL = "manual", "Manual (wait in the admin)"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_jobs")
    name = models.CharField(max_length=200)
    source = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="source_jobs")
    destination = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="destination_jobs")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.COPY)
    conflict_policy = models.CharField(max_length=12, choices=ConflictPolicy.choices, default=ConflictPolicy.SOURCE)
    sync_calendars = models.BooleanField("calendars and task lists", default=True)
    sync_contacts = models.BooleanField("address books", default=True)
    components = models.JSONField(default=default_components, help_text="Calendar components to copy.")
    create_collections = models.BooleanField("create missing collections", default=True)
    collection_map = models.JSONField(
        default=dict,
        blank=True,
        help_text="Source collection URL → destination collection URL. Empty: match by display name.",
    )
    # ICS imports: past events too (otherwise only current and future occurrences), and keep
    # destination events the feed no longer has.
    sync_all = models.BooleanField(default=True)
    keep_local = models.BooleanField(default=False)
    # DAV jobs: an object the destination refuses for a reason a minimal repair removes (an empty
    # property, an end not after the start, a vCard 2.1…) is repaired and written, and the repair
    # reported. Strict: reported as refused instead, nothing changed.
    strict = models.BooleanField(
        default=False, help_text="Report objects the destination refuses instead of repairing them to land."
    )
    schedule = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    # Follow-ups: a run that leaves items owed (or fails for a transient reason) sets when the
    # next try is due; a beat sweep starts it (jobs.followups). ``retry_step`` picks the delay.
    retry_at = models.DateTimeField("next retry due", null=True, blank=True, db_index=True)
    retry_step = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="syncjob_unique_name_per_owner"),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("destination")), name="syncjob_distinct_accounts"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SyncRun(models.Model):
    """One execution of a job: its status, counters, progress and log."""

    class Status(models.TextChoices):
        PENDING = "pending"
        QUEUED = "queued"
        RUNNING = "running"
        PAUSED = "paused"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.PENDING, Status.QUEUED, Status.RUNNING, Status.PAUSED)

    class Trigger(models.TextChoices):
        MANUAL = "manual"
        SCHEDULE = "schedule"
        API = "api"
        WEBHOOK = "webhook"
        CLI = "cli"
        FOLLOWUP = "followup"  # started by the sweep because an earlier run left items owed

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirm_empty = models.BooleanField(
        default=False, help_text="Allow propagating the deletion of everything when a side suddenly lists nothing."
    )
    pause_requested = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    # Set when the worker running it is told to stop (SIGTERM): the runner ends the batch in
    # flight and puts the run back in the queue.
    requeue_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True, help_text="The worker that runs (or last ran) it.")
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # Items still owed (to be retried) and needing attention (refused for good) when it ended.
    owed = models.PositiveIntegerField(default=0)
    needs_attention = models.PositiveIntegerField(default=0)
    # Per collection counters: {source url: {"name", "destination", "created", ...}}.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One run per job at a time, enforced by the database rather than by a check-then-insert.
            models.UniqueConstraint(
                fields=["job"],
                condition=models.Q(status__in=["pending", "queued", "running", "paused"]),
                name="syncrun_one_active_per_job",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def state(self) -> str:
        """The status as a person needs it: a pause or cancel on its way, an unclean finish."""
        if self.status == self.Status.RUNNING and self.cancel_requested:
            return "cancelling"
        if self.status == self.Status.RUNNING and self.pause_requested:
            return "pausing"
        if self.status == self.Status.COMPLETED and (self.owed or self.needs_attention or self.errors):
            return "completed-with-owed-items" if self.owed or self.needs_attention else "completed-with-errors"
        return self.status

    @property
    def is_clean(self) -> bool:
        """Finished and nothing left behind: no errors, nothing owed, nothing needing attention.

        Not named ``clean``: that is ``Model.clean()``, which every model form calls."""
        return self.status == self.Status.COMPLETED and not (self.owed or self.needs_attention or self.errors)


class SyncLog(models.Model):
    class Level(models.TextChoices):
        DEBUG = "debug"
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="logs")
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField()
    item = models.CharField("item href", max_length=1000, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


class ItemLink(models.Model):
    """The sync state of one item pair: what makes every run idempotent and resumable.

    It remembers both hrefs as the servers gave them, the etags and content hashes both sides had
    at the last sync, and the UID. A linked item whose href disappears was deleted; an item
    without a link was never synced.
    """

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="links")
    source_collection = models.CharField(max_length=1000)
    dest_collection = models.CharField(max_length=1000)
    uid = models.CharField(max_length=1000, blank=True)
    source_href = models.CharField(max_length=1000)
    source_etag = models.CharField(max_length=200, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)
    dest_href = models.CharField(max_length=1000)
    dest_etag = models.CharField(max_length=200, blank=True)
    dest_hash = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)
    # The run that last wrote it: a resumed run does not count its own earlier work as unchanged.
    run = models.ForeignKey("SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "source_href"], name="itemlink_unique_source"),
            models.UniqueConstraint(fields=["job", "dest_href"], name="itemlink_unique_dest"),
        ]
        indexes = [models.Index(fields=["job", "source_collection"])]

    def __str__(self) -> str:
        return f"{self.source_href} → {self.dest_href}"


class CollectionCursor(models.Model):
    """A job's own sync-token per collection: two jobs reading one collection must not share it.

    Saved only after a collection pair was processed completely, so a crash replays a delta
    instead of losing it.
    """

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="cursors")
    url = models.CharField(max_length=1000)
    sync_token = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "url"], name="cursor_unique_url_per_job")]

    def __str__(self) -> str:
        return f"{self.url} @ {self.sync_token}"


class OwedItem(models.Model):
    """The ledger of what a job still owes: an item whose write or read did not happen.

    Recorded when an item fails (retries exhausted, connection refused, 5xx, timeout, a refusal),
    planned again by every later run whatever the listing says, and deleted when it lands. An
    item refused for good CALSYNC_OWED_MAX_ATTEMPTS times waits as "needs attention" instead.
    ``href`` is the source href, or the destination href of an item that exists only there.
    """

    class State(models.TextChoices):
        OWED = "owed", "Owed (retried automatically)"
        NEEDS_ATTENTION = "needs_attention", "Needs attention (refused by the server)"

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="owed_items")
    source_collection = models.CharField(max_length=1000)
    href = models.CharField(max_length=1000)
    dest_href = models.CharField(max_length=1000, blank=True)
    uid = models.CharField(max_length=1000, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    operation = models.CharField(max_length=30)
    reason = models.TextField()
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The server's HTTP status, if any.")
    etag = models.CharField(max_length=200, blank=True, help_text="The version of the item that failed.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.OWED)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_failed_at = models.DateTimeField(default=timezone.now)
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="owed_items")

    class Meta:
        ordering = ["job", "source_collection", "href"]
        constraints = [
            models.UniqueConstraint(fields=["job", "source_collection", "href"], name="oweditem_unique_item")
        ]

    def __str__(self) -> str:
        return f"{self.href} ({self.state}): {self.reason[:80]}"


class Conflict(models.Model):
    class Resolution(models.TextChoices):
        SOURCE = "source", "Use source"
        DESTINATION = "destination", "Use destination"
        IGNORE = "ignore", "Ignore"

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="conflicts")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="conflict_set")
    link = models.ForeignKey(ItemLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="conflicts")
    uid = models.CharField(max_length=1000, blank=True)
    source_collection = models.CharField(max_length=1000, blank=True)
    dest_collection = models.CharField(max_length=1000, blank=True)
    source_href = models.CharField(max_length=1000, blank=True)
    source_etag = models.CharField(max_length=200, blank=True)
    source_data = models.TextField(blank=True)
    dest_href = models.CharField(max_length=1000, blank=True)
    dest_etag = models.CharField(max_length=200, blank=True)
    dest_data = models.TextField(blank=True)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.uid or self.source_href}: {self.reason}"

    @property
    def is_open(self) -> bool:
        return not self.resolution


class WriteSlot(models.Model):
    """A counting semaphore per destination host, so parallel jobs never hammer one server.

    A run takes a free slot number by inserting a row (the unique constraint arbitrates between
    workers on any database) and deletes it when done; a slot whose run stopped beating expires.
    """

    host = models.CharField(max_length=300)
    slot = models.PositiveSmallIntegerField()
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="+")
    acquired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "slot"], name="writeslot_unique")]

    def __str__(self) -> str:
        return f"{self.host}#{self.slot}"
