"""Jobs: the long work that runs in a worker (imports and bulk deletes), and everything about them.

The app owns the Job model and its lifecycle (`lifecycle`: claim, stage, heartbeat, finish, the
dead-worker sweep), the endpoints that create and show jobs (`views`, with the seed's URLs
`/api/products/upload/`, `/api/products/bulk_delete/` and `/api/job/<uuid>/status/`), their
queueing (`services`, which queue `tasks`), the catalog lock and the job's own database
connection (`db`), and each kind of job as a small unit of its own (`kinds`: run, progress,
outcome). The import engine (`engine`) turns a CSV stream into one set-based upsert.
"""
