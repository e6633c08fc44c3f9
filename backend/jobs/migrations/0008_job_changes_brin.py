"""A job's changes are found by a BRIN index, not a primary key's B-tree.

Each import now writes its before-images as changes (issue 17), and the two B-trees, the key
`(job_id, seq)` and the foreign key's index on `job_id`, took most of what they cost the
500,000-row import (docs/benchmarks.md). A
job's changes are written together, in `seq` order, by one transaction at a time (the catalog
lock): they lie in pages of their own, which a BRIN index over `(job_id, seq)` finds at the cost
of a summary per 16 pages. Ranges filled since the last summary are read whole until
autovacuum summarizes them (`autosummarize`). `seq` stays unique per job by construction.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
ALTER TABLE imports_jobchange DROP CONSTRAINT imports_jobchange_pkey;
CREATE INDEX imports_jobchange_job_seq_brin ON imports_jobchange
    USING brin (job_id, seq) WITH (pages_per_range = 16, autosummarize = on);
"""
BACKWARD = """
DROP INDEX imports_jobchange_job_seq_brin;
ALTER TABLE imports_jobchange ADD PRIMARY KEY (job_id, seq);
"""


class Migration(migrations.Migration):
    dependencies = [("imports", "0007_cancel_revert_and_who")]

    operations = [
        migrations.AlterField(
            model_name="jobchange",
            name="job",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                to="imports.job",
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
