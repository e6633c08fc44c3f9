import type { ReactNode } from "react";
import { Button, ErrorMessage, ProgressBar } from "@/components/ui";
import { NOT_YOUR_JOB, useAccess } from "@/features/auth";
import { formatDate, formatDuration, formatNumber } from "@/lib/format";
import { useCancelJob } from "./api";
import { isFinished, sitePath, type Job } from "./types";
import { jobName, progressDetails, stateWords } from "./words";

/** Where a job is, in the words its card uses too (`stateWords`). */
export function StatusBadge({ job }: { job: Job }) {
  return <span className={`badge badge--${job.status.toLowerCase()}`}>{stateWords(job)}</span>;
}

function countsOf(job: Job): [string, number][] {
  if (job.kind === "bulk_delete") return [["Deleted", job.deleted_count]];
  if (job.kind === "revert") {
    return [
      ["Deleted", job.deleted_count],
      ["Given their previous values", job.updated_count],
      ["Brought back", job.created_count],
      ["Conflicts", job.conflict_count],
    ];
  }
  const [created, updated] = job.dry_run ? ["To create", "To update"] : ["Created", "Updated"];
  return [
    [created, job.created_count],
    [updated, job.updated_count],
    ["Unchanged", job.unchanged_count],
    ["Skipped", job.skipped_count],
    ["Duplicates in the file", job.duplicate_count],
    ["Invalid rows", job.invalid_count],
  ];
}

export function JobCounts({ job }: { job: Job }) {
  const counts = countsOf(job);
  return (
    <dl className="counts">
      {counts.map(([label, value]) => (
        <div key={label} className="counts__item">
          <dt>{label}</dt>
          <dd>{formatNumber(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

export interface JobProgressProps {
  job: Job;
  title?: string;
  onRetry?: (job: Job) => void;
  retrying?: boolean;
  retryError?: unknown;
  /** Shown once the job has ended: hides the card. */
  onDismiss?: () => void;
  /** More about the job, after its counts or its failure: a preview's changes, a mapping form. */
  children?: ReactNode;
}

/**
 * A job's stage in words, its progress bar, rows, speed and time left, and Cancel while it runs
 * (for whoever may act on it); then its counts, or why it failed or that it was cancelled, and a
 * retry.
 */
export function JobProgress({
  job,
  title,
  onRetry,
  retrying,
  retryError,
  onDismiss,
  children,
}: JobProgressProps) {
  const access = useAccess();
  const cancel = useCancelJob();
  const finished = isFinished(job);
  const tone =
    job.status === "FAILED" ? "danger" : job.status === "COMPLETED" ? "success" : "normal";
  const heading = title ?? jobName(job);
  // While it runs, the words of the history too; once ended, the server's ("Import complete").
  const stage = finished ? job.message || stateWords(job) : stateWords(job);
  const details = progressDetails(job);
  const ended = job.status === "FAILED" || job.status === "CANCELLED";
  const mayRetry = onRetry && job.kind === "import" && ended;
  return (
    <section
      className="card job"
      aria-label={`${job.dry_run ? "Preview" : "Progress"} of ${heading}`}
    >
      <div className="job__header">
        <h3 className="job__title">{heading}</h3>
        <div className="job__status">
          {job.dry_run && <span className="badge">Preview</span>}
          {finished && <StatusBadge job={job} />}
          {!finished && job.cancel_url && access.canActOn(job) && (
            <Button
              size="small"
              onClick={() => cancel.mutate(job)}
              busy={cancel.isPending}
              disabled={job.cancel_requested}
            >
              Cancel
            </Button>
          )}
          {finished && onDismiss && (
            <Button size="small" variant="ghost" onClick={onDismiss}>
              Dismiss
            </Button>
          )}
        </div>
      </div>
      <p className="job__stage" aria-live="polite">
        <strong>{stage}</strong>
        {details && ` – ${details}`}
      </p>
      <div className="job__bar">
        <ProgressBar
          value={job.percent}
          label={`${heading}: progress`}
          valueText={`${job.percent} %`}
          tone={tone}
        />
        <span className="job__percent">{job.percent} %</span>
      </div>
      {cancel.variables?.id === job.id && (
        <ErrorMessage error={cancel.error} prefix="Could not cancel:" />
      )}
      {job.status === "COMPLETED" && <JobCounts job={job} />}
      {ended && (
        <div className="job__failure">
          {job.status === "FAILED" ? (
            <p className="error-message" role="alert">
              {job.error_message || "The job failed."}
            </p>
          ) : (
            <p>Nothing was changed: the catalog is as it was before this job.</p>
          )}
          {mayRetry && access.canActOn(job) && (
            <Button variant="primary" onClick={() => onRetry(job)} busy={retrying}>
              Retry
            </Button>
          )}
          {mayRetry && !access.canActOn(job) && <p className="note">{NOT_YOUR_JOB}</p>}
          <ErrorMessage error={retryError} prefix="Retry failed:" />
        </div>
      )}
      {children}
      <p className="muted small">
        Started {formatDate(job.started_at ?? job.created_at)}
        {job.created_by ? ` by ${job.created_by}` : ""}
        {job.finished_at ? ` · finished ${formatDate(job.finished_at)}` : ""}
        {finished && job.duration_s !== null ? ` · took ${formatDuration(job.duration_s)}` : ""}
        {job.errors_url && access.canReadFilesOf(job) && (
          <>
            {" · "}
            <a href={sitePath(job.errors_url)} download>
              {job.kind === "revert"
                ? "Download the conflicts (CSV)"
                : "Download the error report (CSV)"}
            </a>
          </>
        )}
      </p>
    </section>
  );
}
