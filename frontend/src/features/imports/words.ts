import { formatDuration, formatNumber, formatRate, plural } from "@/lib/format";
import { isFinished, type Job, type JobStatus } from "./types";

const ENDED: Partial<Record<JobStatus, string>> = {
  COMPLETED: "Done",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
};

/**
 * Where a job is, in the same words on its card and in the history: its stage (the server's
 * `message`, "Waiting for the job before it") while it runs, how it ended once it has.
 */
export function stateWords(job: Job): string {
  const ended = ENDED[job.status];
  if (ended) return ended;
  if (job.cancel_requested) return "Cancelling…";
  return job.message || (job.status === "PENDING" ? "Queued" : "Running");
}

/** What the job is, as its card is titled and its row named. */
export function jobName(job: Job): string {
  if (job.kind === "bulk_delete") return "Delete all products";
  // A revert carries the file name of the job it reverts; only a delete-all has none.
  if (job.kind === "revert") return `Revert of ${job.file_name || "Delete all products"}`;
  return job.file_name || "Import";
}

/** A running job's rows, speed and time left: "400 of 1,000 rows · 100 rows/s · about 6 s left". */
export function progressDetails(job: Job): string {
  if (isFinished(job) || job.processed_rows === 0) return "";
  const parts = [
    job.total_rows === null
      ? `${formatNumber(job.processed_rows)} rows so far`
      : `${formatNumber(job.processed_rows)} of ${formatNumber(job.total_rows)} rows`,
  ];
  if (job.rows_per_s !== null) parts.push(formatRate(job.rows_per_s));
  if (job.eta_s !== null) parts.push(`about ${formatDuration(Math.ceil(job.eta_s))} left`);
  return parts.join(" · ");
}

/** What reverting a completed import or delete-all will do, in numbers. */
export function revertEffect(job: Job): string {
  if (job.kind === "bulk_delete") {
    return `${plural(job.deleted_count, "deleted product")} will be brought back.`;
  }
  const their = job.updated_count === 1 ? "its" : "their";
  return (
    `${plural(job.created_count, "product")} created by this import will be deleted; ` +
    `${formatNumber(job.updated_count)} will get ${their} previous values back.`
  );
}

/** A finished job's outcome in one line, for its row in the history. */
export function outcomeOf(job: Job): string {
  // A job that failed or was cancelled wrote nothing: its work is one transaction.
  if (job.status !== "COMPLETED") return "Nothing changed";
  if (job.kind === "bulk_delete") return `${formatNumber(job.deleted_count)} deleted`;
  if (job.kind === "revert") {
    const parts = [];
    if (job.deleted_count) parts.push(`${formatNumber(job.deleted_count)} deleted`);
    if (job.updated_count) parts.push(`${formatNumber(job.updated_count)} restored`);
    if (job.created_count) parts.push(`${formatNumber(job.created_count)} brought back`);
    parts.push(plural(job.conflict_count, "conflict"));
    return parts.join(", ");
  }
  const [created, updated] = job.dry_run ? ["to create", "to update"] : ["created", "updated"];
  const parts = [
    `${formatNumber(job.created_count)} ${created}`,
    `${formatNumber(job.updated_count)} ${updated}`,
  ];
  if (job.invalid_count) parts.push(`${formatNumber(job.invalid_count)} invalid`);
  return parts.join(", ");
}
