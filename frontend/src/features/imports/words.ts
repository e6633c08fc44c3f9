import { formatDuration, formatNumber, formatRate } from "@/lib/format";
import { isFinished, type Job } from "./types";

const ENDED: Record<"COMPLETED" | "FAILED" | "CANCELLED", string> = {
  COMPLETED: "Done",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
};

/**
 * Where a job is, in the same words on its card and in the history: its stage (the server's
 * `message`, "Waiting for the job before it") while it runs, how it ended once it has.
 */
export function stateWords(job: Job): string {
  if (job.status === "COMPLETED" || job.status === "FAILED" || job.status === "CANCELLED") {
    return ENDED[job.status];
  }
  if (job.cancel_requested) return "Cancelling…";
  return job.message || (job.status === "PENDING" ? "Queued" : "Running");
}

/** What the job is, as its card is titled and its row named. */
export function jobName(job: Job): string {
  if (job.kind === "bulk_delete") return "Delete all products";
  if (job.kind === "revert") return job.file_name ? `Revert of ${job.file_name}` : "Revert";
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
