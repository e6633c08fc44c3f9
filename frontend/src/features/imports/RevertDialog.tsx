import { useState, type FormEvent } from "react";
import { Button, Dialog, ErrorMessage } from "@/components/ui";
import { formatDate } from "@/lib/format";
import { useRevertJob } from "./api";
import type { Job } from "./types";
import { jobName, revertEffect } from "./words";

export interface RevertDialogProps {
  /** The completed import or delete-all to revert; null keeps the dialog closed. */
  job: Job | null;
  onClose: () => void;
  onStarted: (revert: Job) => void;
}

/** Says what a revert will do, in numbers, and starts it, forced over conflicts if asked. */
export function RevertDialog({ job, onClose, onStarted }: RevertDialogProps) {
  const title =
    job?.kind === "bulk_delete" ? "Undo delete all" : `Revert ${job ? jobName(job) : ""}`;
  return (
    <Dialog
      open={job !== null}
      onClose={onClose}
      role="alertdialog"
      title={title}
      description={job && revertEffect(job)}
    >
      {job && <RevertForm job={job} onCancel={onClose} onStarted={onStarted} />}
    </Dialog>
  );
}

function RevertForm({
  job,
  onCancel,
  onStarted,
}: {
  job: Job;
  onCancel: () => void;
  onStarted: (revert: Job) => void;
}) {
  const [force, setForce] = useState(false);
  const revert = useRevertJob();
  const what = job.kind === "bulk_delete" ? "delete" : "import";

  function submit(event: FormEvent) {
    event.preventDefault();
    revert.mutate({ job, force }, { onSuccess: onStarted });
  }

  return (
    <form onSubmit={submit} className="form">
      <p className="muted">
        {job.kind === "bulk_delete"
          ? "A product whose SKU was created again since is a conflict: it is left as it is now."
          : `A product changed since this ${what}, by hand or by a later job, is a conflict: it is left as it is now.`}{" "}
        The conflicts are counted and listed in the revert&apos;s report.
        {job.revert_until && ` This ${what} can be reverted until ${formatDate(job.revert_until)}.`}
      </p>
      <label className="checkbox">
        <input
          type="checkbox"
          name="force"
          checked={force}
          onChange={(event) => setForce(event.target.checked)}
        />
        Revert the conflicts too (force), overwriting what changed since
      </label>
      <ErrorMessage error={revert.error} prefix="Could not revert:" />
      <div className="dialog__actions">
        <Button onClick={onCancel} data-autofocus>
          Cancel
        </Button>
        <Button type="submit" variant="danger" busy={revert.isPending}>
          {job.kind === "bulk_delete" ? "Bring them back" : "Revert"}
        </Button>
      </div>
    </form>
  );
}
