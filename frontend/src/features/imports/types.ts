export type JobStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED" | "CANCELLED";
export type JobKind = "import" | "bulk_delete" | "revert";

/** A field of a product that a column of a file can fill. */
export type ProductField = "sku" | "name" | "description" | "active";
/** From a column of the file, exactly as in its header, to a field; null ignores the column. */
export type Mapping = Record<string, ProductField | null>;
export type OnError = "skip" | "abort";

/** How an import reads its file: what a saved profile keeps, and what an upload may send. */
export interface ImportOptions {
  on_error: OnError;
  update_existing: boolean;
  mapping: Mapping;
}

/** An import's options as the server applied them (mapping null: guessed from the header). */
export interface AppliedOptions {
  on_error?: OnError;
  update_existing?: boolean;
  mapping?: Mapping | null;
  profile?: number | null;
}

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
  /** The username of who started it (for the command line, the OS user or `--user`). */
  created_by: string | null;
  /** Seconds from its start to its end, or to now while it runs; null before it starts. */
  duration_s: number | null;
  /** Rows a second; null until it has moved. */
  rows_per_s: number | null;
  /** Seconds left while it runs; null when unknown or finished. */
  eta_s: number | null;
  /** A cancel was asked and the worker has not stopped yet. */
  cancel_requested: boolean;
  /** A revert: the products changed since the job it reverts (left as they are unless forced). */
  conflict_count: number;
  /** A revert: the id of the job it reverts. */
  reverts: string | null;
  /** A reverted job: the id of its revert, once one ran or runs. */
  reverted_by: string | null;
  /** A completed import or delete-all whose undo is kept and not used yet. */
  revertible: boolean;
  /** Until when it can be reverted. */
  revert_until: string | null;
  /** Where to cancel it while it is PENDING or PROCESSING; null otherwise. */
  cancel_url: string | null;
  /** Where to revert it while it is revertible; null otherwise. */
  revert_url: string | null;
  status_url: string;
  events_url?: string | null;
  /** The refused rows of an import, or the conflicts of a revert, as CSV; null when none. */
  errors_url: string | null;
  /** A preview: the import is checked and its changes kept, nothing is written. */
  dry_run: boolean;
  options: AppliedOptions | null;
  unchanged_count: number;
  skipped_count: number;
  /** A completed preview's (or import's) changes while they are kept; null otherwise. */
  changes_url: string | null;
  changes_csv_url: string | null;
  /** Where to import a completed preview's changes, while it can be; null otherwise. */
  apply_url: string | null;
  /** The preview this import applies, or null. */
  source_job: string | null;
  /** The header of the file once it was read, else null. */
  file_columns: string[] | null;
  /** A failed job whose header could not be mapped to sku and name. */
  needs_mapping: boolean;
  preview_expires_at: string | null;
}

/** A product as a preview would leave it, and as it was (`previous_*`, null for a new one). */
export interface Change {
  action: "create" | "update";
  sku: string;
  name: string;
  description: string;
  active: boolean;
  previous_sku: string | null;
  previous_name: string | null;
  previous_description: string | null;
  previous_active: boolean | null;
}

/** A saved way of reading files: `/api/import-profiles/`. */
export interface ImportProfile extends ImportOptions {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
}

export function isFinished(job: Pick<Job, "status">): boolean {
  return job.status === "COMPLETED" || job.status === "FAILED" || job.status === "CANCELLED";
}

/** A URL of the API as a path of this site, whatever host name the server saw. */
export function sitePath(url: string): string {
  const parsed = new URL(url, window.location.href);
  return `${parsed.pathname}${parsed.search}`;
}
