"""Each kind of job, as a unit of its own: how it runs, how it reports progress, what it leaves.

A kind's `run(job)` is called by its Celery task once the job is claimed (`jobs.tasks`); it holds
the job's heartbeat, its connection and the catalog lock while it works, and ends the job through
`jobs.lifecycle.finish`, whatever happens.
"""
