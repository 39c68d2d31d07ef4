"""Running the service: gunicorn serving (serve), the garbage-collector pause around requests (gc_pause), the log
line format, text or JSON (logs), and Prometheus metrics (metrics)."""
