from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    # The app was called `imports` before it owned every kind of job: the label keeps its table
    # (imports_job) and its migration history, so an existing database needs no migration.
    label = "imports"
    verbose_name = "Jobs"
