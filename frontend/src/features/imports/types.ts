export type JobStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED";
export type JobKind = "import" | "bulk_delete";

/** A job as the API answers it (`/api/job/<id>/status/`, `/api/jobs/`). */
export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  stage: string;
  message: string;
  total_rows: number | null;
  processed_rows: number;
  percent: number;
  created_count: number;
  updated_count: number;
  invalid_count: number;
  duplicate_count: number;
  deleted_count: number;
  error_message: string;
  file_name: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** The id of the user who started it; null for jobs of the command line. */
  created_by: number | null;
  status_url: string;
  events_url?: string | null;
  errors_url: string | null;
}

export function isFinished(job: Pick<Job, "status">): boolean {
  return job.status === "COMPLETED" || job.status === "FAILED";
}

/** A URL of the API as a path of this site, whatever host name the server saw. */
export function sitePath(url: string): string {
  const parsed = new URL(url, window.location.href);
  return `${parsed.pathname}${parsed.search}`;
}
