from jobs.views.health import DetailedHealthView, HealthView

__all__ = ["DetailedHealthView", "HealthView"]
