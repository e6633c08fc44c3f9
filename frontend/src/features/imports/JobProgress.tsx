import type { ReactNode } from "react";
import { Button, ErrorMessage, ProgressBar } from "@/components/ui";
import { NOT_YOUR_JOB, useAccess } from "@/features/auth";
import { formatDate, formatNumber } from "@/lib/format";
import { isFinished, sitePath, type Job } from "./types";

const STATUS_WORDS: Record<Job["status"], string> = {
  PENDING: "Waiting",
  PROCESSING: "Running",
  COMPLETED: "Done",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
};

export function StatusBadge({ status }: { status: Job["status"] }) {
  return <span className={`badge badge--${status.toLowerCase()}`}>{STATUS_WORDS[status]}</span>;
}

function rowsText(job: Job): string {
  if (job.total_rows === null) return `${formatNumber(job.processed_rows)} rows so far`;
  return `${formatNumber(job.processed_rows)} of ${formatNumber(job.total_rows)} rows`;
}

function countsOf(job: Job): [string, number][] {
  if (job.kind !== "import") return [["Deleted", job.deleted_count]];
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

/** A job's stage in words, its progress bar and rows, then its counts, or its error and a retry. */
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
  const finished = isFinished(job);
  const tone =
    job.status === "FAILED" ? "danger" : job.status === "COMPLETED" ? "success" : "normal";
  const heading =
    title ?? (job.kind === "import" ? job.file_name || "Import" : "Delete all products");
  return (
    <section
      className="card job"
      aria-label={`${job.dry_run ? "Preview" : "Progress"} of ${heading}`}
    >
      <div className="job__header">
        <h3 className="job__title">{heading}</h3>
        <div className="job__status">
          {job.dry_run && <span className="badge">Preview</span>}
          <StatusBadge status={job.status} />
          {finished && onDismiss && (
            <Button size="small" variant="ghost" onClick={onDismiss}>
              Dismiss
            </Button>
          )}
        </div>
      </div>
      <p className="job__stage" aria-live="polite">
        <strong>{job.message}</strong>
        {!finished && job.kind === "import" && job.processed_rows > 0 ? ` – ${rowsText(job)}` : ""}
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
      {job.status === "COMPLETED" && <JobCounts job={job} />}
      {job.status === "FAILED" && (
        <div className="job__failure">
          <p className="error-message" role="alert">
            {job.error_message || "The job failed."}
          </p>
          {onRetry && job.kind === "import" && access.canActOn(job) && (
            <Button variant="primary" onClick={() => onRetry(job)} busy={retrying}>
              Retry
            </Button>
          )}
          {onRetry && job.kind === "import" && !access.canActOn(job) && (
            <p className="note">{NOT_YOUR_JOB}</p>
          )}
          <ErrorMessage error={retryError} prefix="Retry failed:" />
        </div>
      )}
      {children}
      <p className="muted small">
        Started {formatDate(job.started_at ?? job.created_at)}
        {job.finished_at ? ` · finished ${formatDate(job.finished_at)}` : ""}
        {job.errors_url && access.canReadFilesOf(job) && (
          <>
            {" · "}
            <a href={sitePath(job.errors_url)} download>
              Download the error report (CSV)
            </a>
          </>
        )}
      </p>
    </section>
  );
}
