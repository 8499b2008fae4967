"""Zammad → Kimai time sheets: normalised entries, a pure plan, the engine, webhooks."""
