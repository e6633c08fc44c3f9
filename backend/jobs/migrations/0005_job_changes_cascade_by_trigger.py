"""A job's changes go with it through a statement trigger, not a foreign key.

The foreign key checked every change row as it was inserted: 466,693 checks of the same job row,
a third of a dry run's time against a full catalog (docs/benchmarks.md). The engine now locks its
job's row once (`FOR KEY SHARE`, what each check took) before it records changes, so the job
cannot go while they are written; deleting jobs deletes their changes in the same statement.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE imports_jobchange DROP CONSTRAINT imports_jobchange_job_id_fk;
CREATE FUNCTION imports_job_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM imports_jobchange c USING deleted d WHERE c.job_id = d.id;
    RETURN NULL;
END $$;
CREATE TRIGGER imports_job_deleted AFTER DELETE ON imports_job
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION imports_job_deleted();
"""
BACKWARD = """
DROP TRIGGER imports_job_deleted ON imports_job;
DROP FUNCTION imports_job_deleted();
DELETE FROM imports_jobchange c WHERE NOT EXISTS (SELECT FROM imports_job j WHERE j.id = c.job_id);
ALTER TABLE imports_jobchange ADD CONSTRAINT imports_jobchange_job_id_fk
    FOREIGN KEY (job_id) REFERENCES imports_job (id) ON DELETE CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("imports", "0004_dry_runs_and_profiles")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
