"""The read-only JSON API under /api/: published poles, projects, themes and
territories, with the same French field names as the open-data files."""
