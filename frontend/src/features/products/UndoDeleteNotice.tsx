import { useEffect, useState } from "react";
import { Button, ErrorMessage } from "@/components/ui";
import { useAccess } from "@/features/auth";
import { useJobs, useRevertJob, type Job } from "@/features/imports";
import { formatDate, plural } from "@/lib/format";

// setTimeout's longest wait, 24.8 days (an undo is kept UNDO_KEEP_DAYS, 7 by default).
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The newest completed delete-all while this user can undo it: the server says until when
 * (`revert_until`); the notice goes at that time without waiting for the next answer.
 */
function useUndoableDelete(): Job | null {
  const access = useAccess();
  const latest = useJobs({ page: 1, pageSize: 1, kind: "bulk_delete", status: "COMPLETED" });
  const job = latest.data?.results[0];
  const [expired, setExpired] = useState<string | null>(null);
  const until = job?.revert_until ?? null;
  useEffect(() => {
    if (until === null) return;
    const wait = Date.parse(until) - Date.now();
    // Beyond setTimeout's reach, the next visit's answer says it.
    if (wait > MAX_TIMEOUT_MS) return;
    const timer = window.setTimeout(() => setExpired(until), Math.max(0, wait));
    return () => window.clearTimeout(timer);
  }, [until]);
  if (!job || !job.revertible || !job.revert_url || !access.canActOn(job)) return null;
  return expired !== null && expired === until ? null : job;
}

/**
 * After a delete-all, for as long as it can be reverted: Undo, which brings every product back
 * (its revert, followed by the page as the delete was).
 */
export function UndoDeleteNotice({ onUndoing }: { onUndoing: (revert: Job) => void }) {
  const job = useUndoableDelete();
  const revert = useRevertJob();
  const [dismissed, setDismissed] = useState<string | null>(null);
  const undone = revert.isSuccess && revert.variables.job.id === job?.id;
  if (!job || dismissed === job.id || undone) return null;
  return (
    <section className="card undo" aria-label="Undo delete all">
      <p className="undo__text">
        {plural(job.deleted_count, "product")} {job.deleted_count === 1 ? "was" : "were"} deleted by
        Delete all on {formatDate(job.finished_at)}
        {job.created_by ? ` (${job.created_by})` : ""}. Undo brings{" "}
        {job.deleted_count === 1 ? "it" : "them"} back
        {job.revert_until ? `, until ${formatDate(job.revert_until)}` : ""}.
      </p>
      <div className="undo__actions">
        <Button
          variant="primary"
          size="small"
          busy={revert.isPending}
          onClick={() => revert.mutate({ job, force: false }, { onSuccess: onUndoing })}
        >
          Undo
        </Button>
        <Button size="small" variant="ghost" onClick={() => setDismissed(job.id)}>
          Dismiss
        </Button>
      </div>
      <ErrorMessage error={revert.error} prefix="Could not undo:" />
    </section>
  );
}
